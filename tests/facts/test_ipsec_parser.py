"""parse_ipsecctl: every capture of openbsd-captures.md, every documented variant, garbage.

Expectations were written by hand from the capture text and openbsd-reference.md §1
(ipsecctl.c ipsecctl_print_flow/ipsecctl_print_sa, pfkdump.c pfkey_print_sa).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ParseError
from agent.facts.ipsec import SA, Flow, IpsecFacts, normalize_enc, parse_ipsecctl

CAPTURES = Path(__file__).parent / "captures"
ANY4 = "0.0.0.0"  # noqa: S104 - an address in ipsecctl output, nothing binds to it


def read_capture(name: str) -> str:
    """Return a capture file exactly as stored (tabs kept, no newline translation)."""
    return (CAPTURES / name).read_bytes().decode("utf-8")


def console_outputs(text: str, prompts: set[str]) -> dict[str, str]:
    """Split a console capture at its prompt/echo lines: {prompt line: output text}."""
    outputs: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line in prompts:
            current = outputs.setdefault(line, [])
        elif current is not None:
            current.append(line)
    return {prompt: "".join(f"{line}\n" for line in lines) for prompt, lines in outputs.items()}


def flow(satype: str, direction: str, src: str, dst: str, type_: str, **kw: str | None) -> Flow:
    """Build an expected Flow; keyword arguments fill the optional parts."""
    base: dict[str, str | None] = dict(proto=None, src_port=None, dst_port=None, local=None,
                                       peer=None, srcid=None, dstid=None)
    base.update(kw)
    return Flow(satype=satype, direction=direction, src=src, dst=dst, type=type_, **base)


def sa(satype: str, mode: str | None, src: str, dst: str, spi: str, auth: str | None = None,
       enc: str | None = None, comp: str | None = None) -> SA:
    """Build an expected SA."""
    return SA(satype, mode, src, dst, spi, auth, enc, comp)


# --------------------------------------------------------------------------------------------
# Captures (tests/facts/captures/README.md names their sources)

A1 = IpsecFacts(
    flows=(
        flow("esp", "in", "1.3.3.7", "3.4.5.6", "use", proto="gre", peer="1.3.3.7",
             srcid="3.4.5.6/32", dstid="1.3.3.7/32"),
        flow("esp", "out", "3.4.5.6", "1.3.3.7", "require", proto="gre", peer="1.3.3.7",
             srcid="3.4.5.6/32", dstid="1.3.3.7/32"),
    ),
    sas=(
        sa("esp", "transport", "1.3.3.7", "3.4.5.6", "0xdeadbeef", "hmac-sha1", "aes"),
        sa("esp", "transport", "3.4.5.6", "1.3.3.7", "0xf00df00d", "hmac-sha1", "aes"),
    ),
)
A2 = IpsecFacts(
    flows=(
        flow("esp", "in", "A.B.C.D", "W.X.Y.Z", "use", proto="udp", src_port="l2tp",
             peer="A.B.C.D", srcid="my.client.fqdn", dstid="A.B.C.D/32"),
        flow("esp", "out", "W.X.Y.Z", "A.B.C.D", "require", proto="udp", dst_port="l2tp",
             peer="A.B.C.D", srcid="my.client.fqdn", dstid="A.B.C.D/32"),
    ),
    sas=(
        sa("esp", "transport", "A.B.C.D", "W.X.Y.Z", "0x0d16ad1c", "hmac-sha1", "aes"),
        sa("esp", "transport", "W.X.Y.Z", "A.B.C.D", "0xcd0549ba", "hmac-sha1", "aes"),
    ),
)
_A3_A4_SAS = (
    sa("esp", "tunnel", "192.0.2.1", "198.51.100.1", "0xabb5968a", "hmac-sha2-256", "aes-256"),
    sa("esp", "tunnel", "198.51.100.1", "192.0.2.1", "0xb1fc90b8", "hmac-sha2-256", "aes-256"),
)
_DENY_V6 = flow("esp", "out", "::/0", "::/0", "deny")
A3 = IpsecFacts(
    flows=(
        flow("esp", "in", "10.0.2.0/24", "10.0.1.0/24", "use", peer="198.51.100.1",
             srcid="FQDN/server1.domain", dstid="FQDN/server2.domain"),
        flow("esp", "out", "10.0.1.0/24", "10.0.2.0/24", "require", peer="198.51.100.1",
             srcid="FQDN/server1.domain", dstid="FQDN/server2.domain"),
        _DENY_V6,
    ),
    sas=_A3_A4_SAS,
)
A4 = IpsecFacts(
    flows=(
        flow("esp", "in", "10.0.1.0/24", "10.0.2.0/24", "use", peer="192.0.2.1",
             srcid="FQDN/server2.domain", dstid="FQDN/server1.domain"),
        flow("esp", "out", "10.0.2.0/24", "10.0.1.0/24", "require", peer="192.0.2.1",
             srcid="FQDN/server2.domain", dstid="FQDN/server1.domain"),
        _DENY_V6,
    ),
    sas=_A3_A4_SAS,
)
A5 = IpsecFacts(
    flows=(
        flow("esp", "in", "192.0.2.0/24", "192.0.1.0/24", "use", peer="192.1.2.23",
             srcid="FQDN/west", dstid="FQDN/east"),
        flow("esp", "out", "192.0.1.0/24", "192.0.2.0/24", "require", peer="192.1.2.23",
             srcid="FQDN/west", dstid="FQDN/east"),
        _DENY_V6,
    ),
    sas=(
        sa("esp", "tunnel", "192.1.2.23", "192.1.2.45", "0x351977b3", "hmac-sha2-256", "aes-256"),
        sa("esp", "tunnel", "192.1.2.45", "192.1.2.23", "0x531511aa", "hmac-sha2-256", "aes-256"),
    ),
)
# AEAD: no auth on the main line; the libreswan author replaced SPIs by 0xSPISPI.
A9_STATE = IpsecFacts(
    flows=(),
    sas=(
        sa("esp", "transport", "192.1.2.23", "192.1.2.45", "0xSPISPI", None, "aes-256-gcm"),
        sa("esp", "transport", "192.1.2.45", "192.1.2.23", "0xSPISPI", None, "aes-256-gcm"),
    ),
)
A9_POLICY = IpsecFacts(
    flows=(
        flow("esp", "in", "192.1.2.23", "192.1.2.45", "require", local="192.1.2.45",
             peer="192.1.2.23"),
        flow("esp", "out", "192.1.2.45", "192.1.2.23", "require", local="192.1.2.45",
             peer="192.1.2.23"),
    ),
    sas=(),
)
A11 = IpsecFacts(
    flows=(flow("esp", "out", "192.1.2.45", "192.1.2.23", "acquire", local=ANY4, peer=ANY4),),
    sas=(),
)
EMPTY = IpsecFacts((), ())

# (file, prompt/echo lines of the console, {prompt: expected facts of its output})
CAPTURE_CASES = [
    ("A1_ipsecctl_sa.txt", {"# ipsecctl -sa": A1}),
    ("A2_ipsecctl_sa.txt", {"# rcctl start isakmpd": EMPTY, "# ipsecctl -f /etc/ipsec.conf": EMPTY,
                            "# ipsecctl -sa": A2}),
    ("A3_ipsecctl_sa.txt", {"server1# ipsecctl -sa": A3}),
    ("A4_ipsecctl_sa.txt", {"server2# ipsecctl -sa": A4}),
    ("A5_ipsecctl_s_all.txt", {"openbsd# ipsecctl -s all": A5}),
    ("A9_ipsecctl_k_vv.txt", {" ipsec _kernel state": A9_STATE, " ipsec _kernel policy": A9_POLICY,
                              "west #": EMPTY}),
    ("A11_ipsecctl_s_flow.txt", {" ipsec _kernel policy": A11}),
]
# Config text, not command output: must be refused at its first line.
NOT_OUTPUT = ["A1_ipsec.conf.txt"]


def test_every_ipsec_capture_is_covered() -> None:
    files = {p.name for p in CAPTURES.glob("A*.txt")}  # Part A: ipsecctl
    assert files == {name for name, _ in CAPTURE_CASES} | set(NOT_OUTPUT)


@pytest.mark.parametrize(("name", "expected"), CAPTURE_CASES, ids=[c[0] for c in CAPTURE_CASES])
def test_capture_outputs(name: str, expected: dict[str, IpsecFacts]) -> None:
    outputs = console_outputs(read_capture(name), set(expected))
    assert set(outputs) == set(expected)
    for prompt, facts in expected.items():
        assert parse_ipsecctl(outputs[prompt], name) == facts, prompt


@pytest.mark.parametrize("name", [c[0] for c in CAPTURE_CASES] + NOT_OUTPUT)
def test_whole_capture_with_prompt_is_refused_at_line_1(name: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse_ipsecctl(read_capture(name), name)
    assert exc.value.line_no == 1
    assert exc.value.source == name
    assert exc.value.line == read_capture(name).splitlines()[0].rstrip()


def test_capture_files_keep_tabs() -> None:
    text = read_capture("A9_ipsecctl_k_vv.txt")
    assert "\n\tauthkey 0xHASHKEY \\\n" in text
    assert "\n\t\t0 input packets\n" in text


def test_to_json_shape() -> None:
    data = A1.to_json()
    assert list(data) == ["flows", "sas"]
    assert list(data["flows"][0]) == ["satype", "direction", "proto", "src", "src_port", "dst",
                                      "dst_port", "local", "peer", "srcid", "dstid", "type"]
    assert list(data["sas"][0]) == ["satype", "mode", "src", "dst", "spi", "auth", "enc", "comp"]
    assert data["flows"][0]["local"] is None
    assert data["sas"][1] == {"satype": "esp", "mode": "transport", "src": "3.4.5.6",
                              "dst": "1.3.3.7", "spi": "0xf00df00d", "auth": "hmac-sha1",
                              "enc": "aes", "comp": None}


# --------------------------------------------------------------------------------------------
# Documented variants (synthesised from the printf formats)


@pytest.mark.parametrize("flow_type", ["use", "acquire", "require", "deny", "bypass", "dontacq"])
def test_every_flow_type(flow_type: str) -> None:
    facts = parse_ipsecctl(f"flow esp out from 10.0.0.0/8 to 0.0.0.0/0 type {flow_type}\n")
    assert facts.flows == (flow("esp", "out", "10.0.0.0/8", "0.0.0.0/0", flow_type),)


@pytest.mark.parametrize("satype", ["esp", "ah", "ipcomp", "tcpmd5", "ipip"])
def test_every_flow_satype(satype: str) -> None:
    facts = parse_ipsecctl(f"flow {satype} in from 192.0.2.1 to 192.0.2.2 peer 192.0.2.1 type use")
    assert facts.flows[0].satype == satype


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("flow esp in proto tcp from 192.0.2.1 port 179 to 192.0.2.2 port 33000 peer 192.0.2.1 "
         "type require",
         flow("esp", "in", "192.0.2.1", "192.0.2.2", "require", proto="tcp", src_port="179",
              dst_port="33000", peer="192.0.2.1")),
        ("flow esp out proto udp from 192.0.2.2 to 192.0.2.1 port domain type use",
         flow("esp", "out", "192.0.2.2", "192.0.2.1", "use", proto="udp", dst_port="domain")),
        ("flow ah in proto 253 from 10.1.0.0/16 to 10.2.0.0/16 type bypass",
         flow("ah", "in", "10.1.0.0/16", "10.2.0.0/16", "bypass", proto="253")),
        ("flow esp in proto gre from 2001:db8::1 to 2001:db8::2 peer 2001:db8::1 "
         "srcid 2001:db8::2/128 dstid 2001:db8::1/128 type require",
         flow("esp", "in", "2001:db8::1", "2001:db8::2", "require", proto="gre",
              peer="2001:db8::1", srcid="2001:db8::2/128", dstid="2001:db8::1/128")),
        ("flow esp out from 2001:db8:1::/48 port 4500 to fd42:4242::/32 local 2001:db8::2 "
         "peer 2001:db8::1 type acquire",
         flow("esp", "out", "2001:db8:1::/48", "fd42:4242::/32", "acquire", src_port="4500",
              local="2001:db8::2", peer="2001:db8::1")),
        ("flow esp out from 10.0.0.1 to 10.0.0.2 srcid UFQDN/alice@example.org "
         "dstid FQDN/bob.example.org type require",
         flow("esp", "out", "10.0.0.1", "10.0.0.2", "require", srcid="UFQDN/alice@example.org",
              dstid="FQDN/bob.example.org")),
        ("flow esp in from 10.0.0.2 to 10.0.0.1 peer 10.0.0.2 "
         "srcid ASN1_DN//C=DE/O=Example Org/CN=left host "
         "dstid ASN1_DN//C=DE/O=Example Org/CN=right host type use",
         flow("esp", "in", "10.0.0.2", "10.0.0.1", "use", peer="10.0.0.2",
              srcid="ASN1_DN//C=DE/O=Example Org/CN=left host",
              dstid="ASN1_DN//C=DE/O=Example Org/CN=right host")),
        # dstid only; an ID may itself contain the word "type" (the last " type " counts).
        ("flow esp out from 10.0.0.1 to 10.0.0.2 dstid ASN1_DN//CN=some type of host type deny",
         flow("esp", "out", "10.0.0.1", "10.0.0.2", "deny", dstid="ASN1_DN//CN=some type of host")),
        ("flow esp out from 10.0.0.1 to 10.0.0.2 srcid my.fqdn type dontacq",
         flow("esp", "out", "10.0.0.1", "10.0.0.2", "dontacq", srcid="my.fqdn")),
    ],
)
def test_flow_variants(line: str, expected: Flow) -> None:
    assert parse_ipsecctl(line).flows == (expected,)
    assert parse_ipsecctl(f"@7 {line}\n").flows == (expected,)  # -vv rule number


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("tcpmd5 from 192.0.2.1 to 192.0.2.2 spi 0x00001000",
         sa("tcpmd5", None, "192.0.2.1", "192.0.2.2", "0x00001000")),
        ("tcpmd5 from 192.0.2.1 to 192.0.2.2 spi 0x00001000 authkey 0x6162636465",  # -k
         sa("tcpmd5", None, "192.0.2.1", "192.0.2.2", "0x00001000")),
        ("ipip from 192.0.2.1 to 192.0.2.2 spi 0x00000002",
         sa("ipip", None, "192.0.2.1", "192.0.2.2", "0x00000002")),
        ("ipcomp tunnel from 192.0.2.1 to 192.0.2.2 spi 0x0000abcd comp deflate",
         sa("ipcomp", "tunnel", "192.0.2.1", "192.0.2.2", "0x0000abcd", comp="deflate")),
        ("ah transport from 2001:db8::1 to 2001:db8::2 spi 0x12345678 auth hmac-sha2-512",
         sa("ah", "transport", "2001:db8::1", "2001:db8::2", "0x12345678", auth="hmac-sha2-512")),
        ("esp tunnel from 192.0.2.1 to 192.0.2.2 spi 0xcafe0001 enc aes-128-gcm",
         sa("esp", "tunnel", "192.0.2.1", "192.0.2.2", "0xcafe0001", enc="aes-128-gcm")),
        ("esp transport from 192.0.2.1 to 192.0.2.2 spi 0xcafe0002 enc chacha20-poly1305",
         sa("esp", "transport", "192.0.2.1", "192.0.2.2", "0xcafe0002", enc="chacha20-poly1305")),
        ("esp transport from 192.0.2.1 to 192.0.2.2 spi 0xcafe0003 auth hmac-sha2-256 enc null",
         sa("esp", "transport", "192.0.2.1", "192.0.2.2", "0xcafe0003", "hmac-sha2-256", "null")),
        ("esp transport from 192.0.2.1 to 192.0.2.2 spi 0xcafe0004 auth hmac-sha1",
         sa("esp", "transport", "192.0.2.1", "192.0.2.2", "0xcafe0004", auth="hmac-sha1")),
    ],
)
def test_sa_variants(line: str, expected: SA) -> None:
    assert parse_ipsecctl(line).sas == (expected,)
    assert parse_ipsecctl(f"@0 {line}\n").sas == (expected,)


def test_idle_box_sa_all() -> None:
    assert parse_ipsecctl("FLOWS:\nNo flows\n\nSAD:\nNo entries\n") == EMPTY


@pytest.mark.parametrize("text", ["", "\n", "\n\n"])
def test_empty_sf_ss(text: str) -> None:
    assert parse_ipsecctl(text) == EMPTY


def test_titles_without_entries() -> None:
    # ipsecctl_show prints the FLOWS: title but no "No flows" when the SPD dump is non-empty
    # yet yields no rule; accept a section with no lines.
    assert parse_ipsecctl("FLOWS:\n\nSAD:\nNo entries\n") == EMPTY
    assert parse_ipsecctl("SAD:\nNo entries\n") == EMPTY


def test_facts_are_hashable_values() -> None:
    assert hash(A1) == hash(parse_ipsecctl(read_capture("A1_ipsecctl_sa.txt").split("\n", 1)[1]))
    assert len({*A1.flows, *A1.flows}) == 2


def test_flows_without_sas_and_sas_without_flows() -> None:
    text = ("FLOWS:\nflow esp out from 10.0.0.1 to 10.0.0.2 peer 10.0.0.2 type require\n\n"
            "SAD:\nNo entries\n")
    facts = parse_ipsecctl(text)
    assert len(facts.flows) == 1 and facts.sas == ()
    text = "FLOWS:\nNo flows\n\nSAD:\nesp transport from 10.0.0.1 to 10.0.0.2 spi 0x00000001\n"
    facts = parse_ipsecctl(text)
    assert facts.flows == () and len(facts.sas) == 1


def test_headerless_mix_is_classified_by_first_word() -> None:
    text = ("esp transport from 10.0.0.1 to 10.0.0.2 spi 0x00000001 auth hmac-sha1 enc aes\n"
            "flow esp in proto gre from 10.0.0.2 to 10.0.0.1 peer 10.0.0.2 type use\n"
            "esp transport from 10.0.0.2 to 10.0.0.1 spi 0x00000002 auth hmac-sha1 enc aes\n")
    facts = parse_ipsecctl(text)
    assert [s.spi for s in facts.sas] == ["0x00000001", "0x00000002"]
    assert facts.flows[0].proto == "gre"


def test_rekeying_four_sas_for_one_peer() -> None:
    pairs = [("192.0.2.1", "198.51.100.7"), ("198.51.100.7", "192.0.2.1")] * 2
    text = "SAD:\n" + "".join(
        f"esp transport from {a} to {b} spi 0x0000000{n} auth hmac-sha2-256 enc aes-256\n"
        for n, (a, b) in enumerate(pairs)
    ) + "esp transport from 192.0.2.1 to 203.0.113.9 spi 0x00000009 enc aes-128-gcm\n"
    facts = parse_ipsecctl("FLOWS:\nNo flows\n\n" + text)
    assert len(facts.sas_between("192.0.2.1", "198.51.100.7")) == 4
    assert len(facts.sas_between("198.51.100.7", "192.0.2.1")) == 4
    assert len(facts.sas_between("192.0.2.1", "203.0.113.9")) == 1


def test_flows_with_peer() -> None:
    assert A1.flows_with("1.3.3.7") == A1.flows
    assert A3.flows_with("198.51.100.1") == A3.flows[:2]
    assert A3.flows_with("192.0.2.99") == ()


KEYS_K = (
    "@0 esp tunnel from 192.0.2.1 to 198.51.100.7 spi 0x1a2b3c4d auth hmac-sha2-256 enc aes-256"
    " \\\n"
    "\tauthkey 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff \\\n"
    "\tenckey 0xffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n"
    "@0 esp tunnel from 198.51.100.7 to 192.0.2.1 spi 0x5e6f7a8b auth hmac-sha2-256 enc aes-256"
    " \\\n"
    "\tauthkey 0x00 \\\n"
    "\tenckey 0x01\n"
)


def test_k_continuation_lines_are_skipped() -> None:
    facts = parse_ipsecctl(KEYS_K)
    assert [(s.src, s.spi, s.auth, s.enc) for s in facts.sas] == [
        ("192.0.2.1", "0x1a2b3c4d", "hmac-sha2-256", "aes-256"),
        ("198.51.100.7", "0x5e6f7a8b", "hmac-sha2-256", "aes-256"),
    ]


VERBOSE_V = """\
SAD:
esp transport from 192.0.2.1 to 198.51.100.7 spi 0x1a2b3c4d auth hmac-sha2-256 enc aes-256
\tsa: spi 0x1a2b3c4d auth hmac-sha2-256 enc aes
\t\tstate mature replay 64 flags 0x404<tunnel,esn>
\tlifetime_cur: alloc 0 bytes 1234 add 1700000000 first 1700000010
\tlifetime_hard: alloc 0 bytes 0 add 3600 first 0
\tlifetime_soft: alloc 0 bytes 0 add 3240 first 0
\taddress_src: 192.0.2.1
\taddress_dst: 198.51.100.7
\tidentity_src: type asn1_dn id 0: /C=DE/O=Example Org/CN=left host
\tidentity_dst: type prefix id 0: 198.51.100.7/32
\tudpencap: udpencap port 4500
\ttag: dn42
\tcounter:
\t\t12 input packets
\t\t1 output packet
\t\t0 packets dropped on output

\treplay: rpl 13
unknown ext: type 99 len 2
\tinterface: sec0 direction out
        rdomain: 0/0
esp transport from 198.51.100.7 to 192.0.2.1 spi 0x5e6f7a8b auth hmac-sha2-256 enc aes-256
[bundle esp to 192.0.2.1 spi 0x5e6f7a8b with ipcomp to 192.0.2.1 spi 0x00000100]
\tsa: spi 0x5e6f7a8b auth hmac-sha2-256 enc aes
"""


def test_v_lines_blank_lines_bundles_and_unknown_ext_are_skipped() -> None:
    facts = parse_ipsecctl(VERBOSE_V)
    assert facts.flows == ()
    assert [s.spi for s in facts.sas] == ["0x1a2b3c4d", "0x5e6f7a8b"]


NULL_ENC_KVV = """\
@0 esp tunnel from 192.0.2.23 to 192.0.2.45 spi 0x0badf00d auth hmac-sha2-256 enc null \\
\tauthkey 0x0011 \\
\tenckey 0x
\tsa: spi 0x0badf00d auth hmac-sha2-256 enc null
\t\tstate mature replay 64 flags 0x404<tunnel,esn>
\tkey_auth: bits 256: 0011
\tkey_encrypt: bits 0:
\tidentity_src: type fqdn id 0: FQDN/east
\ttag: IKED
\treplay: rpl 2
"""


def test_zero_length_enc_key_with_k_v_v() -> None:
    # enc null has a 0-bit key: ipsecctl_print_key prints nothing after "0x".
    facts = parse_ipsecctl(NULL_ENC_KVV)
    assert facts.sas == (sa("esp", "tunnel", "192.0.2.23", "192.0.2.45", "0x0badf00d",
                            "hmac-sha2-256", "null"),)


def test_collapsed_rule_numbers() -> None:
    facts = parse_ipsecctl("@0,1 flow esp out from 10.0.0.1 to 10.0.0.2 type require\n")
    assert facts.flows[0].type == "require"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("aes", "aes-128"), ("aes-128", "aes-128"), ("aes-192", "aes-192"), ("aes-256", "aes-256"),
        ("aesctr", "aes-128-ctr"), ("aes-128-ctr", "aes-128-ctr"), ("aes-256-ctr", "aes-256-ctr"),
        ("aes-256-gcm", "aes-256-gcm"), ("aes-128-gmac", "aes-128-gmac"), ("3des", "3des-cbc"),
        ("3des-cbc", "3des-cbc"), ("cast", "cast128"), ("blowfish", "blowfish"), ("null", "null"),
        ("chacha20-poly1305", "chacha20-poly1305"), ("AES", "aes-128"),
    ],
)
def test_normalize_enc(name: str, expected: str) -> None:
    assert normalize_enc(name) == expected


def test_normalize_enc_matches_config_to_sad() -> None:
    # A1: config "enc aes-128" shows up as "enc aes" in the SAD.
    assert normalize_enc(A1.sas[0].enc or "") == normalize_enc("aes-128")


# --------------------------------------------------------------------------------------------
# Garbage: ParseError with the right line number


GOOD_FLOW = "flow esp in proto gre from 10.0.0.2 to 10.0.0.1 peer 10.0.0.2 type use"
GOOD_SA = "esp transport from 10.0.0.2 to 10.0.0.1 spi 0x00000001 auth hmac-sha1 enc aes"


@pytest.mark.parametrize(
    ("text", "line_no"),
    [
        ("# ipsecctl -sa\nFLOWS:\nNo flows\n\nSAD:\nNo entries\n", 1),
        ("ipsecctl: Unknown show modifier 'x'\n", 1),
        ("usage: ipsecctl [-cdFkmnv] [-D macro=value] [-f file] [-i fifo] [-s modifier]\n", 1),
        ("FLOWS:\n" + GOOD_FLOW + "\nflow esp in from 10.0.0.2 to 10.0.0.1 peer 10.0.0.2\n", 3),
        ("flow esp in from 10.0.0.2 to 10.0.0.1 type maybe\n", 1),
        ("flow esp sideways from 10.0.0.2 to 10.0.0.1 type use\n", 1),
        ("flow xyz in from 10.0.0.2 to 10.0.0.1 type use\n", 1),
        ("flow esp in from 10.0.0.2 to 10.0.0.1 proto gre type use\n", 1),
        ("flow esp in from 10.0.0.2 to 10.0.0.1 peer type use\n", 1),
        ("flow esp in from ? to 10.0.0.1 type use\n", 1),
        ("flow esp in from { 10.0.0.2, 10.0.0.3 } to 10.0.0.1 type use\n", 1),  # -c lists
        ("flow esp in from 10.0.0.2 to 10.0.0.1 srcid  dstid x type use\n", 1),
        ("flow esp in from 10.0.0.2 to 10.0.0.1 extra words type use\n", 1),
        (GOOD_SA + "\nesp transport from 10.0.0.1 to 10.0.0.2 auth hmac-sha1\n", 2),
        ("esp transport from 10.0.0.1 to 10.0.0.2 spi deadbeef\n", 1),
        ("esp from 10.0.0.1 to 10.0.0.2 spi 0x00000001 enc aes\n", 1),
        ("tcpmd5 transport from 10.0.0.1 to 10.0.0.2 spi 0x00000001\n", 1),
        ("tcpmd5 from 10.0.0.1 to 10.0.0.2 spi 0x00000001 auth hmac-md5\n", 1),
        ("esp transport from 10.0.0.1 to 10.0.0.2 spi 0x00000001 enc aes auth hmac-sha1\n", 1),
        ("esp transport from 10.0.0.1 to 10.0.0.2 spi 0x00000001 enc aes garbage\n", 1),
        ("FLOWS:\n" + GOOD_SA + "\n", 2),  # SA under FLOWS:
        ("FLOWS:\nNo flows\n\nSAD:\n" + GOOD_FLOW + "\n", 5),  # flow under SAD:
        ("FLOWS:\nNo flows\n" + GOOD_FLOW + "\n", 3),
        ("FLOWS:\n" + GOOD_FLOW + "\nNo flows\n", 3),
        ("SAD:\nNo flows\n", 2),
        ("No entries\n", 1),
        (GOOD_FLOW + "\nFLOWS:\n", 2),  # title after records
        ("FLOWS:\nNo flows\nFLOWS:\n", 3),
        ("SAD:\nNo entries\n\nFLOWS:\nNo flows\n", 4),
        ("\tauthkey 0x00\n", 1),  # continuation with nothing before it
        ("FLOWS:\n" + GOOD_FLOW + "\n\tsa: spi 0x1 auth x enc y\n", 3),  # verbose after a flow
        (GOOD_SA + "\n\tgarbage here\n", 2),
        (GOOD_SA + "\n    more garbage\n", 2),
        (GOOD_SA + " \\\n" + GOOD_SA + "\n", 2),  # " \" promised a continuation line
        ("[bundle esp to 10.0.0.1 spi 0x00000001 with ipcomp to 10.0.0.1 spi 0x00000002]\n", 1),
        ("unknown ext: type 99 len 2\n", 1),
        ("@x flow esp in from 10.0.0.2 to 10.0.0.1 type use\n", 1),
        ("west #\n", 1),
    ],
)
def test_garbage_raises_parse_error_on_the_right_line(text: str, line_no: int) -> None:
    with pytest.raises(ParseError) as exc:
        parse_ipsecctl(text, "ipsecctl -sa")
    assert exc.value.line_no == line_no
    assert exc.value.line == text.split("\n")[line_no - 1].rstrip()
    assert str(exc.value).startswith(f"ipsecctl -sa: line {line_no}: ")
