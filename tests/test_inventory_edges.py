"""The inventory loader at its edges. Internal links (a routers' link written once, in the
owner's peers/ directory): the two views derived from the one file, field by field, and each
refusal with the file, line and field it names. The files of the repo: README.md and dotfiles
skipped, anything else that is not a readable <name>.yaml refused, saying why."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.model import DEFAULT_CRYPTO, Crypto, Ipv4Pair, Ipv6Config, Peering, Phase
from agent.repo.cache import load_inventory_cached
from agent.repo.inventory import load_inventory
from tests.conftest import edit as edit_text
from tests.keytools import material

LINK = "peers/rtr1/rtr2.yaml"


def rewrite(repo: Path, rel: str, change: Any) -> None:
    """Load a YAML file of the repo, let change edit the dict, write it back."""
    path = repo / rel
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def sides(repo: Path) -> tuple[Peering, Peering]:
    inventory, problems = load_inventory(repo)
    assert inventory is not None, [str(p) for p in problems]
    (one,) = [p for p in inventory.for_router("rtr1") if p.peer == "rtr2"]
    (two,) = [p for p in inventory.for_router("rtr2") if p.peer == "rtr1"]
    return one, two


def errors(repo: Path) -> list[str]:
    inventory, problems = load_inventory(repo)
    assert inventory is None
    return [str(p) for p in problems]


def test_both_views_of_a_link_field_by_field(state_copy: Path) -> None:
    """Interfaces per side, the owner's default MTU, the link's own crypto, the transfer
    pairs mirrored for the other side, the description and the source on both."""

    def link(doc: dict[str, Any]) -> None:
        doc["gre"].update(interface="gre3", peer_interface="gre7", description="core link")
        del doc["gre"]["mtu"]  # rtr1's gre.mtu applies
        doc["gre"]["ipv6"] = {"router": "fd42:4242:9::", "peer": "fd42:4242:9::1"}
        doc["crypto"] = {"main": {"group": "modp3072"}, "quick": {"lifetime": 1800}}

    rewrite(state_copy, LINK, link)
    rewrite(state_copy, "routers/rtr1.yaml", lambda d: d["gre"].update(mtu=1380))
    one, two = sides(state_copy)
    crypto = Crypto(
        main=dataclasses.replace(DEFAULT_CRYPTO.main, group="modp3072"),
        quick=dataclasses.replace(DEFAULT_CRYPTO.quick, lifetime=1800),
    )
    assert isinstance(crypto.main, Phase)
    common = {"internal": True, "crypto": crypto, "mtu": 1380, "description": "core link",
              "source": LINK}
    assert (one.router, one.peer, one.asn, one.interface) == ("rtr1", "rtr2", 4242420002, "gre3")
    assert (two.router, two.peer, two.asn, two.interface) == ("rtr2", "rtr1", 4242420001, "gre7")
    for side in (one, two):
        assert {k: getattr(side, k) for k in common} == common
    assert (one.local_endpoint, one.remote_endpoint) == ("192.0.2.1", "192.0.2.2")
    assert (two.local_endpoint, two.remote_endpoint) == ("192.0.2.2", "192.0.2.1")
    assert one.ipv4 == Ipv4Pair("172.20.0.1", "172.20.0.2")
    assert two.ipv4 == Ipv4Pair("172.20.0.2", "172.20.0.1")
    assert one.ipv6 == Ipv6Config("ula", "fd42:4242:9::", "fd42:4242:9::1")
    assert two.ipv6 == Ipv6Config("ula", "fd42:4242:9::1", "fd42:4242:9::")


def test_a_link_between_ipv6_only_ends_runs_over_ipv6(state_copy: Path) -> None:
    def v6(doc: dict[str, Any]) -> None:
        doc["endpoints"] = {"ipv6": "2001:db8:2::2"}
        doc.pop("identity", None)

    rewrite(state_copy, "routers/rtr2.yaml", v6)
    rewrite(state_copy, "peers/rtr2/carol.yaml", lambda d: d.update(endpoint="2001:db8:3::3"))
    one, two = sides(state_copy)
    assert (one.local_endpoint, one.remote_endpoint) == ("2001:db8:1::1", "2001:db8:2::2")
    assert (two.local_endpoint, two.remote_endpoint) == ("2001:db8:2::2", "2001:db8:1::1")


def test_a_link_between_ends_of_no_common_family(state_copy: Path) -> None:
    # rtr1 IPv6 only, rtr2 IPv4 only (alice's IPv4 endpoint is refused too)
    v6 = {"ipv6": "2001:db8:1::1"}
    rewrite(state_copy, "routers/rtr1.yaml", lambda d: d.update(endpoints=v6))
    assert [e for e in errors(state_copy) if e.startswith(LINK)] == [
        f"{LINK}:8:1: router: rtr1 and rtr2 share no endpoint address family"
    ]


def test_a_link_to_a_router_without_a_key(state_copy: Path) -> None:
    rewrite(state_copy, "routers/rtr2.yaml", lambda d: d.pop("public_key"))
    assert f"{LINK}:8:1: router: routers/rtr2.yaml needs public_key for this internal link" in (
        errors(state_copy)
    )


def test_a_link_crypto_error_names_the_link_file(state_copy: Path) -> None:
    rewrite(state_copy, LINK, lambda d: d.update(crypto={"main": {"group": "modp1024"}}))
    (error,) = errors(state_copy)
    assert error.startswith(f"{LINK}:16:5: crypto.main.group: modp1024 is below this router's")


def test_a_link_transfer_pair_error_stops_the_link(state_copy: Path) -> None:
    rewrite(state_copy, LINK, lambda d: d["gre"]["ipv4"].update(peer="172.20.0.1"))
    assert errors(state_copy) == [
        f"{LINK}:9:5: gre.ipv4.peer: the router and the peer have the same address"
    ]


def test_a_link_mtu_that_does_not_fit_names_the_link_file(state_copy: Path) -> None:
    rewrite(state_copy, LINK, lambda d: d["gre"].update(mtu=1500))
    (error,) = set(errors(state_copy))
    assert error.startswith(f"{LINK}:") and ": gre.mtu: mtu 1500 does not fit" in error


@pytest.mark.parametrize("name", ["README.md", ".gitattributes", ".keep"])
def test_readme_and_dotfiles_are_skipped(state_copy: Path, name: str) -> None:
    for directory in ("routers", "peers/rtr1"):
        (state_copy / directory / name).write_text("# notes, not YAML: [\n")
    inventory, problems = load_inventory(state_copy)
    assert problems == [] and inventory is not None


NAMES = (
    "file names are <name>.yaml with a lower-case name (a letter, then letters, digits or "
    "hyphens)"
)


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("readme.md", b"# notes\n", "expected a .yaml file here"),
        ("README.MD", b"# notes\n", "expected a .yaml file here"),
        ("notes.md", b"# notes\n", "expected a .yaml file here"),
        ("Dave.yaml", b"name: dave\n", NAMES),
        ("dave.yaml", b"name: d\xffve\n", "not UTF-8 text: invalid start byte"),
    ],
)
def test_other_files_are_refused(state_copy: Path, name: str, content: bytes, why: str) -> None:
    for directory in ("routers", "peers/rtr1"):
        (state_copy / directory / name).write_bytes(content)
    assert errors(state_copy) == [
        f"{directory}/{name}:1:1: (file): {why}" for directory in ("peers/rtr1", "routers")
    ]


def test_a_shared_identity_shows_the_key_path_below_pubkeys(state_copy: Path) -> None:
    rewrite(state_copy, "peers/rtr1/bob.yaml",
            lambda d: d.update(identity={"type": "fqdn", "value": "alice.example.org"}))
    found = [e for e in errors(state_copy) if "identity (same key file)" in e]
    assert found and all(
        "identity: identity (same key file) fqdn/alice.example.org is also used by" in e
        for e in found
    )


# -- a router file's own refusals: file, line, field and words ----------------------------------

ROUTER_REFUSALS = [
    ("identity", {"identity": {"value": "-bad-.example.net", "type": "fqdn"}},
     "routers/rtr2.yaml:{line}:3: identity.value: '-bad-.example.net' must be a host name: "
     "labels of letters, digits and hyphens separated by dots, the last label starting with a "
     "letter, e.g. alice.example.org"),
    ("public-key", {"public_key": "not a key"},
     "routers/rtr2.yaml:{line}:1: public_key: not a public key peerops can read: expected a PEM "
     "public key (-----BEGIN PUBLIC KEY----- or -----BEGIN RSA PUBLIC KEY-----), an RFC 3110 key "
     "(0s...), hex DER (Cisco key-string) or one OpenSSH ssh-rsa line"),
    ("weak-public-key", {"public_key": "{rsa1024}"},
     "routers/rtr2.yaml:{line}:1: public_key: RSA key has 1024 bits; at least 2048 are "
     "required: generate a new key pair (`openssl genrsa 2048`) and send its public half"),
    ("public-key-not-ascii", {"public_key": "{spki}\u2028"},
     "routers/rtr2.yaml:{line}:1: public_key: a public key is ASCII text"),
    ("crypto-floor", {"crypto": {"main": {"group": "modp1024"}}},
     "routers/rtr2.yaml:{line}:5: crypto.main.group: modp1024 is below this router's crypto "
     "floor (policy.min_crypto: default); use one of modp2048, modp3072, modp4096, modp6144, "
     "modp8192, ecp256, ecp384, ecp521, bp256, bp384, bp512, or the router's operator sets "
     "policy.min_crypto: legacy in the agent's configuration"),
    ("ipv4-endpoint-in-ipv6-form", {"endpoints": {"ipv4": "2001:db8::2"}},
     "routers/rtr2.yaml:{line}:3: endpoints.ipv4: '2001:db8::2' must be an IPv4 address in "
     "dotted-quad form (four numbers 0-255, no leading zeros, no prefix length), e.g. 192.0.2.1"),
]


@pytest.mark.parametrize(("change", "expected"), [r[1:] for r in ROUTER_REFUSALS],
                         ids=[r[0] for r in ROUTER_REFUSALS])
def test_a_router_file_refusal(state_copy: Path, change: dict[str, Any], expected: str) -> None:
    if change.get("public_key", "").startswith("{"):  # keys made by openssl (tests/keytools)
        m = material()
        key = change["public_key"].format(rsa1024=m.rsa1024_spki, spki=m.spki)
        change = {"public_key": key}
    rewrite(state_copy, "routers/rtr2.yaml", lambda d: d.update(change))
    text = (state_copy / "routers/rtr2.yaml").read_text().splitlines()
    field = next(iter(change))
    line = next(n for n, ln in enumerate(text, 1) if ln.startswith(f"{field}:"))
    value = change[field]
    while isinstance(value, dict):  # the line of the innermost key
        leaf = next(iter(value))
        line = next(n for n, ln in enumerate(text, 1) if n > line and f"{leaf}:" in ln)
        value = value[leaf]
    assert expected.format(line=line) in errors(state_copy)


def test_a_peering_with_a_problem_is_not_cached(state_copy: Path, tmp_path: Path) -> None:
    """alice's MTU does not fit: the loader still builds her peering (and reports it); the
    parse cache must not keep it, or the next load would take it without the report."""
    rewrite(state_copy, "peers/rtr1/alice.yaml", lambda d: d["gre"].update(mtu=1500))
    first = load_inventory_cached(state_copy, tmp_path / "cache")
    second = load_inventory_cached(state_copy, tmp_path / "cache")
    assert first[0] is None and second[0] is None
    (problem,) = first[1]
    assert "gre.mtu: mtu 1500 does not fit a 1500-byte path" in str(problem)
    assert [str(p) for p in second[1]] == [str(problem)]


def test_peer_files_of_a_missing_router_are_refused_at_their_document(state_copy: Path) -> None:
    (state_copy / "routers/rtr2.yaml").unlink()
    carol = (state_copy / "peers/rtr2/carol.yaml").read_text().splitlines()
    line = next(n for n, ln in enumerate(carol, 1) if not ln.startswith("#"))  # after comments
    assert line > 1
    assert (f"peers/rtr2/carol.yaml:{line}:1: (document): peers/rtr2/ names no router: "
            "routers/rtr2.yaml is missing or invalid") in errors(state_copy)


ESP = "(sys/netinet/ip_esp.c esp_output)"
MTU_REFUSALS = [
    ("written-in-the-peer-file", "peers/rtr1/alice.yaml", {"gre": {"mtu": 1500}},
     [f"peers/rtr1/alice.yaml: gre.mtu: mtu 1500 does not fit a 1500-byte path once ESP "
      f"(aes-256/hmac-sha2-256) over IPv4 wraps it: use 1418 or less {ESP}"]),
    ("aead-has-no-auth", "peers/rtr1/alice.yaml",
     {"gre": {"mtu": 1500}, "crypto": {"quick": {"enc": "aes-256-gcm"}}},
     [f"peers/rtr1/alice.yaml: gre.mtu: mtu 1500 does not fit a 1500-byte path once ESP "
      f"(aes-256-gcm) over IPv4 wraps it: use 1434 or less {ESP}"]),
    ("the-routers-default", "routers/rtr1.yaml", {"gre": {"mtu": 1500}},
     [f"peers/rtr1/alice.yaml: gre: mtu 1500 (gre.mtu of routers/rtr1.yaml) does not fit a "
      f"1500-byte path once ESP (aes-256/hmac-sha2-256) over IPv4 wraps it: use 1418 or less "
      f"here {ESP}",
      f"peers/rtr1/bob.yaml: gre: mtu 1500 (gre.mtu of routers/rtr1.yaml) does not fit a "
      f"1500-byte path once ESP (aes-128/hmac-sha2-256) over IPv6 wraps it: use 1402 or less "
      f"here {ESP}"]),
]


@pytest.mark.parametrize(("rel", "change", "expected"), [r[1:] for r in MTU_REFUSALS],
                         ids=[r[0] for r in MTU_REFUSALS])
def test_an_mtu_that_does_not_fit_says_where_it_comes_from(
    state_copy: Path, rel: str, change: dict[str, Any], expected: list[str]
) -> None:
    def edit(doc: dict[str, Any]) -> None:
        for key, value in change.items():
            doc.setdefault(key, {}).update(value)

    rewrite(state_copy, rel, edit)
    assert [re.sub(r":\d+:\d+:", ":", e, count=1) for e in errors(state_copy)] == expected


GRE_RECURSION = "is a public tunnel endpoint of rtr1 or alice: a transfer address inside the tunnel must differ (GRE recursion)"  # noqa: E501


@pytest.mark.parametrize(("router6", "peer6", "field"), [
    ("fd42:4242:7::", "fd42:4242:7::1", "peer"),
    ("fd42:4242:7::1", "fd42:4242:7::", "router"),
], ids=["peer-address-is-the-endpoint", "router-address-is-the-endpoint"])
def test_an_ipv6_transfer_address_that_is_a_tunnel_endpoint_is_refused(
    state_copy: Path, router6: str, peer6: str, field: str
) -> None:
    """alice's endpoint is a ULA address; an end of the ULA /127 inside the tunnel equal to it
    would route the tunnel's own packets into the tunnel."""

    def ula(doc: dict[str, Any]) -> None:
        doc["endpoint"] = "fd42:4242:7::1"
        doc["gre"]["ipv6"] = {"router": router6, "peer": peer6}

    rewrite(state_copy, "peers/rtr1/alice.yaml", ula)
    assert [re.sub(r":\d+:\d+:", ":", e, count=1) for e in errors(state_copy)] == [
        f"peers/rtr1/alice.yaml: gre.ipv6.{field}: fd42:4242:7::1 {GRE_RECURSION}"
    ]


@pytest.mark.parametrize(("endpoint", "gre", "field"), [
    ("198.51.100.7", {"ipv4": {"router": "172.20.1.1", "peer": "198.51.100.7"}}, "ipv4.peer"),
    ("fd42:4242:7::1", {"ipv6": {"router": "fd42:4242:7::", "peer": "fd42:4242:7::1"}},
     "ipv6.peer"),
], ids=["ipv4", "ipv6-ula"])
def test_gre_recursion_is_the_one_problem_of_its_peering(
    state_copy: Path, endpoint: str, gre: dict[str, Any], field: str
) -> None:
    """A recursive peering is not built further: its MTU (too large here) is not checked."""

    def recursive(doc: dict[str, Any]) -> None:
        doc["endpoint"] = endpoint
        doc["gre"].update(gre, mtu=1500)

    rewrite(state_copy, "peers/rtr1/alice.yaml", recursive)
    assert [re.sub(r":\d+:\d+:", ":", e, count=1) for e in errors(state_copy)] == [
        f"peers/rtr1/alice.yaml: gre.{field}: {endpoint} {GRE_RECURSION}"
    ]


@pytest.mark.parametrize(("kind", "written", "path"), [
    ("ipv6", "2001:db8:0:0::5", "/etc/isakmpd/pubkeys/ipv6/2001:db8::5"),
    ("ipv4", "192.0.2.5", "/etc/isakmpd/pubkeys/ipv4/192.0.2.5"),
])
def test_an_address_identity_names_its_key_file_as_isakmpd_does(
    state_copy: Path, kind: str, written: str, path: str
) -> None:
    """isakmpd looks for an IPv6 peer's key under its compressed address."""
    rewrite(state_copy, "peers/rtr1/bob.yaml",
            lambda d: d.update(identity={"type": kind, "value": written}))
    inventory, problems = load_inventory(state_copy)
    assert inventory is not None, [str(p) for p in problems]
    (bob,) = [p for p in inventory.for_router("rtr1") if p.peer == "bob"]
    assert bob.remote_id.pubkey_path == path


def test_the_parse_cache_sees_a_changed_key_file_and_a_raised_min_bits(
    state_copy: Path, tmp_path: Path
) -> None:
    m = material()
    rewrite(state_copy, "peers/rtr1/alice.yaml",
            lambda d: (d.pop("public_key"), d.update(public_key_file="alice.pub")))
    pub = state_copy / "peers/rtr1/alice.pub"
    pub.write_text(m.rsa1024_spki)
    cache = tmp_path / "cache"
    first, problems = load_inventory_cached(state_copy, cache, min_bits=1024)
    assert first is not None, problems
    assert {p.peer: p.public_key for p in first.for_router("rtr1")}["alice"] == m.rsa1024_spki
    raised, problems = load_inventory_cached(state_copy, cache)  # keys.min_bits 2048 again
    assert raised is None and any("RSA key has 1024 bits" in str(p) for p in problems)
    first, problems = load_inventory_cached(state_copy, cache, min_bits=1024)  # cached again
    assert first is not None, problems
    pub.write_text(m.spki)  # a new key in the same file
    second, problems = load_inventory_cached(state_copy, cache, min_bits=1024)
    assert second is not None, problems
    assert {p.peer: p.public_key for p in second.for_router("rtr1")}["alice"] == m.spki


# -- what a peer file resolves to, and what one refusal leaves out -------------------------------


def peering(repo: Path, router: str, peer: str) -> Peering:
    inventory, problems = load_inventory(repo)
    assert inventory is not None, [str(p) for p in problems]
    (found,) = [p for p in inventory.for_router(router) if p.peer == peer]
    return found


def line_of(repo: Path, rel: str, needle: str) -> int:
    (line,) = [n for n, ln in enumerate((repo / rel).read_text().splitlines(), 1) if needle in ln]
    return line


@pytest.mark.parametrize(("pair", "expected"), [
    (None, Ipv6Config("ula", "fd42:4242:b0b::", "fd42:4242:b0b::1")),
    ({"router": "FE80:0:0::B:1", "peer": "fe80::b:0002"}, Ipv6Config("link-local", "fe80::b:1",
                                                                     "fe80::b:2")),
    ({"router": "fd42:4242:b0b:0::1", "peer": "FD42:4242:B0B::"},
     Ipv6Config("ula", "fd42:4242:b0b::1", "fd42:4242:b0b::")),
], ids=["ula-as-written", "link-local-compressed", "ula-compressed"])
def test_an_ipv6_transfer_pair_resolves_to_its_mode_in_compressed_form(
    state_copy: Path, pair: dict[str, str] | None, expected: Ipv6Config
) -> None:
    """ifconfig and the observed state print compressed lower-case addresses: the loader
    must hand the plan the same form, with the mode the template renders."""
    if pair:
        rewrite(state_copy, "peers/rtr1/bob.yaml", lambda d: d["gre"].update(ipv6=pair))
    assert peering(state_copy, "rtr1", "bob").ipv6 == expected


def test_eui64_resolves_to_the_kernel_link_local_mode(state_copy: Path) -> None:
    alice = peering(state_copy, "rtr1", "alice")
    assert alice.ipv6 == Ipv6Config("eui64") and alice.ipv4 == Ipv4Pair("172.20.1.1", "172.20.1.2")


def test_an_aead_cipher_drops_the_inherited_auth(state_copy: Path) -> None:
    """ipsecctl refuses `auth` next to an AEAD cipher: the built-in hmac-sha2-256 must not
    reach the rendered rule (auth None, not an empty string the template would print)."""
    rewrite(state_copy, "peers/rtr1/bob.yaml",
            lambda d: d.update(crypto={"quick": {"enc": "aes-256-gcm"}}))
    quick = peering(state_copy, "rtr1", "bob").crypto.quick
    assert quick == Phase(None, "aes-256-gcm", DEFAULT_CRYPTO.quick.group,
                          DEFAULT_CRYPTO.quick.lifetime)
    assert quick.auth is None


def test_every_value_below_the_floor_in_one_phase_is_reported(state_copy: Path) -> None:
    rewrite(state_copy, "peers/rtr1/bob.yaml", lambda d: d.update(crypto={"quick": {
        "enc": "3des-cbc", "auth": "hmac-md5", "group": "modp1024"}}))
    found = [re.sub(r":\d+:\d+:", ":", e, count=1).split(" is below")[0]
             for e in errors(state_copy)]
    assert found == [f"peers/rtr1/bob.yaml: crypto.quick.{key}: {value}" for key, value in (
        ("enc", "3des-cbc"), ("auth", "hmac-md5"), ("group", "modp1024"))]


@pytest.mark.parametrize(("rel", "change", "field", "says"), [
    # bob has no IPv4: a refused IPv6 pair is not also "no transfer addresses", and the
    # MTU of a peering that is not built is not checked
    ("peers/rtr1/bob.yaml",
     {"ipv6": {"router": "fd42:4242:b0b::1", "peer": "fd42:4242:b0b::1"}, "mtu": 1500},
     "gre.ipv6.peer", "the router and the peer have the same address"),
    # one refusal per pair: the first that applies
    ("peers/rtr1/alice.yaml", {"ipv4": {"router": "224.0.0.1", "peer": "224.0.0.1"}, "mtu": 1500},
     "gre.ipv4.peer", "the router and the peer have the same address"),
    ("peers/rtr1/alice.yaml", {"ipv4": {"router": "224.0.0.1", "peer": "172.20.1.2"}},
     "gre.ipv4.router", "224.0.0.1 cannot be a transfer address"),
    ("peers/rtr1/alice.yaml", {"ipv4": {"router": "172.20.1.1", "peer": "255.255.255.255"}},
     "gre.ipv4.peer", "255.255.255.255 is reserved (240.0.0.0/4, including the broadcast "
     "255.255.255.255)"),
], ids=["ipv6-same-address", "ipv4-same-multicast", "ipv4-multicast", "ipv4-broadcast"])
def test_a_refused_transfer_pair_is_the_one_problem_of_its_peering(
    state_copy: Path, rel: str, change: dict[str, Any], field: str, says: str
) -> None:
    rewrite(state_copy, rel, lambda d: d["gre"].update(change))
    assert [re.sub(r":\d+:\d+:", ":", e, count=1) for e in errors(state_copy)] == [
        f"{rel}: {field}: {says}"
    ]


def test_one_interface_on_two_peerings_is_refused_on_both_files(state_copy: Path) -> None:
    for peer in ("alice", "bob"):
        edit_text(state_copy / f"peers/rtr1/{peer}.yaml", "gre:\n", "gre:\n  interface: gre5\n")
    at = {p: line_of(state_copy, f"peers/rtr1/{p}.yaml", "interface: gre5")
          for p in ("alice", "bob")}
    assert errors(state_copy) == [
        f"peers/rtr1/alice.yaml:{at['alice']}:3: gre.interface: interface gre5 is also used by "
        "bob on rtr1 (peers/rtr1/bob.yaml)",
        f"peers/rtr1/bob.yaml:{at['bob']}:3: gre.interface: interface gre5 is also used by "
        "alice on rtr1 (peers/rtr1/alice.yaml)",
    ]


def test_one_peer_transfer_address_on_two_peerings_is_refused_on_both_files(
    state_copy: Path,
) -> None:
    """bob's new IPv4 pair reuses alice's peer address: refused at the peer field of each."""
    bob = "peers/rtr1/bob.yaml"
    edit_text(state_copy / bob, "gre:\n", "gre:\n  ipv4:\n    router: 172.20.9.1\n"
              "    peer: 172.20.1.2\n")
    alice_at = line_of(state_copy, "peers/rtr1/alice.yaml", "peer: 172.20.1.2")
    bob_at = line_of(state_copy, bob, "peer: 172.20.1.2")
    assert errors(state_copy) == [
        f"peers/rtr1/alice.yaml:{alice_at}:5: gre.ipv4.peer: transfer address 172.20.1.2 is "
        "also used by bob on rtr1 (peers/rtr1/bob.yaml)",
        f"{bob}:{bob_at}:5: gre.ipv4.peer: transfer address 172.20.1.2 is also used by alice on "
        "rtr1 (peers/rtr1/alice.yaml)",
    ]


# -- the top of the repo: routers/ and peers/ --------------------------------------------------


def test_a_directory_without_routers_is_not_a_state_repo(tmp_path: Path) -> None:
    (tmp_path / "peers").mkdir()
    assert errors(tmp_path) == [
        f"routers/:1:1: (repo): no routers/ directory in {tmp_path}: not a state repo"
    ]


def test_a_repo_without_peers_has_routers_and_no_peerings(state_copy: Path) -> None:
    shutil.rmtree(state_copy / "peers")
    inventory, problems = load_inventory(state_copy)
    assert problems == [] and inventory is not None
    assert sorted(inventory.routers) == ["rtr1", "rtr2"]
    assert [inventory.for_router(r) for r in ("rtr1", "rtr2")] == [(), ()]


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_peers_must_be_a_directory(state_copy: Path, kind: str) -> None:
    shutil.move(state_copy / "peers", state_copy / "elsewhere")
    if kind == "file":
        (state_copy / "peers").write_text("peers/rtr1/alice.yaml\n")
    else:
        (state_copy / "peers").symlink_to("elsewhere")
    assert errors(state_copy) == [
        "peers:1:1: (file): must be a directory (a symbolic link is not followed)"
    ]


def test_a_stray_file_in_peers_is_refused_and_the_rest_still_read(state_copy: Path) -> None:
    """README.md and dotfiles beside the router directories are skipped; any other file is
    refused, and the peer files after it are still checked (carol's wrong name)."""
    for name in ("a-note.txt", ".gitkeep", "README.md"):
        (state_copy / "peers" / name).write_text("notes\n")
    carol = "peers/rtr2/carol.yaml"
    edit_text(state_copy / carol, "name: carol", "name: carol2")
    at = line_of(state_copy, carol, "name: carol2")
    assert errors(state_copy) == [
        "peers/a-note.txt:1:1: (file): peer files live in peers/<router>/<peer>.yaml",
        f"{carol}:{at}:1: name: must equal the file name 'carol'",
    ]


def test_an_internal_link_written_in_both_directories_is_refused_at_the_second(
    state_copy: Path,
) -> None:
    """A link is written once, in its owner's directory: the copy in rtr2's directory would
    give each router a second peering of the same name."""
    text = (state_copy / LINK).read_text()
    for old, new in (("router: rtr2", "router: rtr1"), ("name: rtr2", "name: rtr1"),
                     ("172.20.0.", "172.20.5."), ("fe80::42:", "fe80::43:")):
        text = text.replace(old, new)
    second = "peers/rtr2/rtr1.yaml"
    (state_copy / second).write_text(text)
    at = line_of(state_copy, second, "name: rtr1")
    assert sorted(errors(state_copy)) == [  # one line, field and file: in no fixed order
        f"{second}:{at}:1: name: {router} already has a peering named {peer} ({LINK})"
        for router, peer in (("rtr1", "rtr2"), ("rtr2", "rtr1"))
    ]


# -- one key, one owner; key and signature files ------------------------------------------------

OWN_KEY = ("each router and each peer proves itself with a key of its own (a peer puts its "
           "router's /etc/isakmpd/local.pub here)")


def test_a_router_key_pasted_into_peer_files_is_refused_on_every_file(state_copy: Path) -> None:
    """rtr1's own key in four peer files: alice and dave (one AS, which may share a key) in
    key files, bob and carol inline. Each file is refused at its key field, naming up to three
    other owners and how many more."""
    key = yaml.safe_load((state_copy / "routers/rtr1.yaml").read_text())["public_key"]
    rewrite(state_copy, "peers/rtr1/alice.yaml",
            lambda d: (d.pop("public_key"), d.update(public_key_file="alice.pub")))
    (state_copy / "peers/rtr1/alice.pub").write_text(key)
    for rel in ("peers/rtr1/bob.yaml", "peers/rtr2/carol.yaml"):
        rewrite(state_copy, rel, lambda d: d.update(public_key=key))
    dave = (state_copy / "peers/rtr1/alice.yaml").read_text()
    for old, new in (("alice", "dave"), ("198.51.100.7", "198.51.100.8"),
                     ("172.20.1.1", "172.20.1.5"), ("172.20.1.2", "172.20.1.6")):
        dave = dave.replace(old, new)
    (state_copy / "peers/rtr1/dave.yaml").write_text(dave)
    (state_copy / "peers/rtr1/dave.pub").write_text(key)
    router = "router rtr1 in routers/rtr1.yaml"
    alice, dave_ = (f"rtr1/{p} (AS4242421234) in peers/rtr1/{p}.yaml" for p in ("alice", "dave"))
    bob = "rtr1/bob (AS4242425678) in peers/rtr1/bob.yaml"
    carol = "rtr2/carol (AS4242429876) in peers/rtr2/carol.yaml"
    expected = {
        "peers/rtr1/alice.yaml": ("public_key_file", f"{router}, {bob}, {carol}"),
        "peers/rtr1/bob.yaml": ("public_key", f"{router}, {alice}, {dave_} and 1 more"),
        "peers/rtr1/dave.yaml": ("public_key_file", f"{router}, {bob}, {carol}"),
        "peers/rtr2/carol.yaml": ("public_key", f"{router}, {alice}, {bob} and 1 more"),
        "routers/rtr1.yaml": ("public_key", f"{alice}, {bob}, {dave_} and 1 more"),
    }
    assert errors(state_copy) == [
        f"{rel}:{line_of(state_copy, rel, field + ':')}:1: {field}: this public key is also "
        f"the key of {others}: {OWN_KEY}"
        for rel, (field, others) in expected.items()
    ]


def test_routers_without_a_key_share_none(state_copy: Path) -> None:
    """A router needs public_key only for internal links: two without one own no key."""
    (state_copy / LINK).unlink()
    for rel in ("routers/rtr1.yaml", "routers/rtr2.yaml"):
        rewrite(state_copy, rel, lambda d: d.pop("public_key"))
    inventory, problems = load_inventory(state_copy)
    assert problems == [] and inventory is not None
    assert inventory.routers["rtr1"].public_key is None


def test_a_key_file_of_a_broken_peer_file_does_not_stop_the_key_file_check(
    state_copy: Path,
) -> None:
    """alice.yaml is refused (and reported once, not again for its alice.pub); zed.pub after
    it, with no zed.yaml, is still reported."""
    rewrite(state_copy, "peers/rtr1/alice.yaml",
            lambda d: (d.pop("public_key"), d.update(public_key_file="alice.pub", asn=0)))
    (state_copy / "peers/rtr1/alice.pub").write_text(material().spki)
    (state_copy / "peers/rtr1/zed.pub").write_text(material().spki)
    found = errors(state_copy)
    assert [e.split(":")[0] for e in found] == ["peers/rtr1/alice.yaml", "peers/rtr1/zed.pub"]
    assert found[1] == "peers/rtr1/zed.pub:1:1: (file): not used: there is no " \
                       "peers/rtr1/zed.yaml for it"


@pytest.mark.parametrize(("name", "why"), [
    ("alice.sig", "signatures cover a key file: put the key in <name>.pub"),
    ("alice.asc", "signatures cover a key file: put the key in <name>.pub"),
    ("alice.yaml.sig", "signatures cover a key file: put the key in <name>.pub"),
])
def test_a_signature_of_anything_but_a_key_file_is_refused(
    state_copy: Path, name: str, why: str
) -> None:
    (state_copy / "peers/rtr1" / name).write_text("-----BEGIN PGP SIGNATURE-----\n")
    (error,) = errors(state_copy)
    assert error.startswith(f"peers/rtr1/{name}:1:1: (file): {why}")


def test_a_key_file_name_that_is_a_directory_is_refused(state_copy: Path) -> None:
    (state_copy / "peers/rtr1/alice.pub").mkdir()
    assert errors(state_copy) == ["peers/rtr1/alice.pub:1:1: (file): not a file"]


def test_a_nul_in_an_inline_key_is_refused(state_copy: Path) -> None:
    """The schema's ssh-rsa form takes any comment up to the end of the line, a NUL too."""
    key = material().ssh_rsa_pub.strip() + " alice\0laptop"
    rewrite(state_copy, "peers/rtr1/alice.yaml", lambda d: d.update(public_key=key))
    at = line_of(state_copy, "peers/rtr1/alice.yaml", "public_key:")
    assert errors(state_copy) == [
        f"peers/rtr1/alice.yaml:{at}:1: public_key: a public key is ASCII text"
    ]


def test_a_link_to_a_router_without_a_key_is_not_built_further(state_copy: Path) -> None:
    """Only the missing key is reported: the link's MTU (too large here) is not checked."""
    rewrite(state_copy, "routers/rtr2.yaml", lambda d: d.pop("public_key"))
    rewrite(state_copy, LINK, lambda d: d["gre"].update(mtu=1500))
    at = line_of(state_copy, LINK, "router: rtr2")
    assert errors(state_copy) == [
        f"{LINK}:{at}:1: router: routers/rtr2.yaml needs public_key for this internal link"
    ]
