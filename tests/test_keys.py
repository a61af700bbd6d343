"""agent.keys against keys made by the real openssl and ssh-keygen: every accepted format in,
every format out, every refusal (message, no key material echoed, nothing written), the
schema and loader around public_key / public_key_file, and each format converging."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from agent.keys import (
    FORMATS,
    PRIVATE,
    PublicKeyError,
    fingerprint_of,
    loaded_fingerprint,
    parse_public_key,
)
from agent.lab.demo import build_demo_fleet
from agent.repo.inventory import load_inventory
from agent.run.converge import apply_router, plan_router
from agent.sim.fleet import refresh_external
from agent.sim.host import SimHost
from tests.keytools import Material, material, openssl_fingerprint, rfc3110_from_openssl, run

STATE = Path(__file__).resolve().parent.parent / "state"


@pytest.fixture(scope="session")
def m() -> Material:
    return material()


def hex_cisco(der: bytes, *, lower: bool = False) -> str:
    """Hex DER laid out like IOS `show crypto key mypubkey rsa`, built here, not by agent.keys."""
    digits = der.hex() if lower else der.hex().upper()
    words = [digits[i : i + 8] for i in range(0, len(digits), 8)]
    return "\n".join("  " + " ".join(words[i : i + 8]) for i in range(0, len(words), 8)) + "\n"


def inputs(m: Material) -> dict[str, tuple[str, str]]:
    """format -> (text made by the real tools, the SPKI PEM the tools say it is)."""
    return {
        "pem": (m.spki, m.spki),
        "pkcs1": (m.pkcs1, m.spki),
        "rfc3110": (rfc3110_from_openssl(m), m.spki),
        "der-hex": (hex_cisco(m.der), m.spki),
        "openssh": (m.ssh_rsa_pub, m.ssh_rsa_spki),
    }


# -- formats in -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_from_the_real_tools_becomes_the_spki_they_print(m: Material, fmt: str) -> None:
    text, spki = inputs(m)[fmt]
    key = parse_public_key(text)
    assert key.pem == spki  # byte for byte what `openssl rsa -pubout` / `ssh-keygen -e` write
    assert (key.format, key.bits) == (fmt, 2048)


def test_hex_der_in_any_case_and_spacing_and_pkcs1_der(m: Material) -> None:
    pkcs1_der = run(
        ["openssl", "rsa", "-pubin", "-RSAPublicKey_out", "-outform", "DER"], stdin=m.spki.encode()
    )
    for text in (
        hex_cisco(m.der, lower=True),
        m.der.hex(),
        "\n\t".join(m.der.hex().upper()),
        hex_cisco(pkcs1_der),
    ):
        assert parse_public_key(text).pem == m.spki


def test_fingerprint_is_the_openssl_spki_digest(m: Material) -> None:
    expected = openssl_fingerprint(m.spki)
    assert {parse_public_key(t).fingerprint for t, _ in list(inputs(m).values())[:4]} == {expected}
    assert parse_public_key(m.ssh_rsa_pub).fingerprint == openssl_fingerprint(m.ssh_rsa_spki)
    assert fingerprint_of(m.rsa1024_spki) == openssl_fingerprint(m.rsa1024_spki)  # no policy
    assert fingerprint_of("garbage") is None


def test_the_fingerprint_of_a_loaded_key_is_the_openssl_digest_without_a_parse(
    m: Material,
) -> None:
    for text, spki in inputs(m).values():
        loaded = parse_public_key(text).pem  # what a Peering holds
        assert loaded_fingerprint(loaded) == openssl_fingerprint(spki)
    assert loaded_fingerprint(m.pkcs1) == openssl_fingerprint(m.spki)  # not SPKI PEM: parsed
    assert loaded_fingerprint("") is None
    body = m.spki.replace("A", "*", 1)  # not base64: parsed, and refused
    assert loaded_fingerprint(body) is None


# -- formats out, read back by the real tools ---------------------------------------------------


def test_pem_and_pkcs1_output_equal_openssl(m: Material) -> None:
    key = parse_public_key(m.ssh_rsa_pub)
    assert key.convert("pem") == m.ssh_rsa_spki
    assert key.convert("pkcs1") == m.ssh_rsa_pkcs1
    ours = parse_public_key(m.spki)
    assert ours.convert("pkcs1") == m.pkcs1
    der = run(["openssl", "pkey", "-pubin", "-outform", "DER"], stdin=ours.convert("pem").encode())
    assert der == m.der


def test_openssh_output_is_what_ssh_keygen_reads_and_writes(m: Material) -> None:
    line = parse_public_key(m.spki).convert("openssh")
    path = m.dir / "from-openssl.pub"
    path.write_text(line)
    assert run(["ssh-keygen", "-e", "-m", "PKCS8", "-f", str(path)]).decode() == m.spki
    assert parse_public_key(m.ssh_rsa_pub).convert("openssh").split() == m.ssh_rsa_pub.split()[:2]


def test_der_hex_output_is_openssl_der_in_cisco_layout(m: Material) -> None:
    out = parse_public_key(m.pkcs1).convert("der-hex")
    assert bytes.fromhex("".join(out.split())) == m.der
    lines = out.splitlines()
    assert all(re.fullmatch(r"[0-9A-F]{8}( [0-9A-F]{1,8}){0,7}", ln) for ln in lines)
    assert all(len(ln.split()) == 8 for ln in lines[:-1])


def test_rfc3110_output_matches_rfc_layout_from_openssl_numbers(m: Material) -> None:
    out = parse_public_key(m.spki).convert("rfc3110")
    assert out == rfc3110_from_openssl(m) + "\n"
    raw = base64.b64decode(out[2:])
    assert raw[:4] == b"\x03\x01\x00\x01"  # exponent length 3, then 65537, then the modulus


@pytest.mark.parametrize("start", FORMATS)
def test_every_format_round_trips_through_every_other(m: Material, start: str) -> None:
    text, spki = inputs(m)[start]
    for fmt in FORMATS:
        again = parse_public_key(parse_public_key(text).convert(fmt))
        assert (again.pem, again.format) == (spki, fmt)


def test_long_exponent_uses_the_three_octet_length_form() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from agent.keys import rfc3110_bytes

    e = (1 << 2100) + 1  # 263 octets: RFC 3110 writes 0, then a two-octet length
    n = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    raw = rfc3110_bytes(e, n.public_numbers().n)
    assert raw[:3] == b"\x00\x01\x07" and int.from_bytes(raw[3 : 3 + 263], "big") == e


# -- refusals ---------------------------------------------------------------------------------


def _cut(text: str, keep: float) -> str:
    return text[: int(len(text) * keep)]


REFUSALS: dict[str, tuple[Callable[[Material], str], str]] = {
    "pkcs8 private (openssl genrsa)": (lambda m: m.rsa_private.read_text(), PRIVATE),
    "pkcs1 private": (lambda m: m.rsa_traditional_private, PRIVATE),
    "openssh private": (lambda m: m.ssh_rsa_private, PRIVATE),
    "ec private": (lambda m: m.ec_private, PRIVATE),
    "private der as hex": (lambda m: hex_cisco(m.rsa_private_der), PRIVATE),
    "private der as bare base64": (
        lambda m: base64.encodebytes(m.rsa_private_der).decode(),
        PRIVATE,
    ),
    "ec spki": (lambda m: m.ec_spki, "not an RSA key: isakmpd's IKEv1"),
    "ed25519 spki": (lambda m: m.ed25519_spki, "not an RSA key"),
    "ssh-ed25519 line": (lambda m: m.ssh_ed25519_pub, "not an RSA key"),
    "ec der hex": (
        lambda m: hex_cisco(
            run(["openssl", "pkey", "-pubin", "-outform", "DER"], stdin=m.ec_spki.encode())
        ),
        "not an RSA key",
    ),
    "rsa 1024": (lambda m: m.rsa1024_spki, "RSA key has 1024 bits; at least 2048 are required"),
    "rsa 1024 as rfc3110": (
        lambda m: parse_public_key(m.rsa1024_spki, min_bits=0).convert("rfc3110"),
        "1024 bits; at least 2048",
    ),
    "garbage": (lambda m: "please install my key, thanks!", "not a public key peerops can read"),
    "empty": (lambda m: "  \n", "empty: paste the peer's RSA public key"),
    "truncated pem": (lambda m: "\n".join(m.spki.splitlines()[:-3]), "damaged or truncated"),
    "pem with a broken body": (lambda m: m.spki.replace("A", "!", 3), "damaged or truncated"),
    "pem body cut short": (
        lambda m: "\n".join([*m.spki.splitlines()[:3], m.spki.splitlines()[-1]]),
        "damaged or truncated",
    ),
    "two pem blocks": (lambda m: m.spki + m.pkcs1, "more than one PEM block"),
    "pem without armour": (
        lambda m: "".join(m.spki.splitlines()[1:-1]),
        "without its -----BEGIN PUBLIC KEY-----",
    ),
    "truncated rfc3110": (lambda m: _cut(rfc3110_from_openssl(m), 0.02), "RFC 3110 (0s...) key"),
    "rfc3110 cut in the modulus": (lambda m: rfc3110_from_openssl(m)[:200], "damaged or truncated"),
    "odd hex": (lambda m: m.der.hex()[:-1], "odd number of digits"),
    "hex cut short": (lambda m: m.der.hex()[:300], "the hex DER key is damaged or truncated"),
    "hex with the IOS quit line": (lambda m: hex_cisco(m.der) + "quit\n", "remove the `quit`"),
    "truncated ssh-rsa": (lambda m: _cut(m.ssh_rsa_pub, 0.6), "the ssh-rsa key is damaged"),
    "two ssh lines": (lambda m: m.ssh_rsa_pub * 2, "more than one line"),
    "ssh2 rfc4716": (
        lambda m: run(["ssh-keygen", "-e", "-f", str(m.dir / "id_rsa.pub")]).decode(),
        "ssh-keygen -i -f FILE",
    ),
}


def secret_chunks(text: str) -> list[str]:
    """16-character pieces of every key-material line (what a message must never contain)."""
    lines = [ln.strip() for ln in text.splitlines() if not ln.startswith("-----")]
    body = "".join(lines)
    return [body[i : i + 16] for i in range(0, max(len(body) - 16, 1), 16) if len(body) >= 16]


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_refusal_says_what_to_do_and_never_echoes_the_key(m: Material, case: str) -> None:
    make, expected = REFUSALS[case]
    text = make(m)
    with pytest.raises(PublicKeyError) as info:
        parse_public_key(text)
    message = str(info.value)
    assert expected in message
    assert not [c for c in secret_chunks(text) if c in message]
    assert len(message) < 300


def test_min_bits_is_the_policy(m: Material) -> None:
    assert parse_public_key(m.rsa1024_spki, min_bits=1024).bits == 1024
    with pytest.raises(PublicKeyError, match="2048 bits; at least 3072"):
        parse_public_key(m.spki, min_bits=3072)


# -- the schema admits every form; the loader decides ------------------------------------------


def peer_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((STATE / "schema/peer.schema.json").read_text())
    cls = jsonschema.Draft202012Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def alice() -> dict:
    return yaml.safe_load((STATE / "peers/rtr1/alice.yaml").read_text())


@pytest.mark.parametrize("fmt", FORMATS)
def test_schema_accepts_every_format(m: Material, fmt: str) -> None:
    doc = alice()
    doc["public_key"] = inputs(m)[fmt][0]
    assert list(peer_validator().iter_errors(doc)) == []


def test_schema_key_file_rules() -> None:
    v = peer_validator()
    doc = alice()
    del doc["public_key"]
    doc["public_key_file"] = "alice.pub"
    assert list(v.iter_errors(doc)) == []
    doc["public_key"] = alice()["public_key"]  # both: the key must be given once
    both = [e for e in v.iter_errors(doc) for e in [e, *e.context]]
    assert any(list(e.absolute_path) == ["public_key_file"] and e.validator == "not" for e in both)
    link = yaml.safe_load((STATE / "peers/rtr1/rtr2.yaml").read_text())
    link["public_key_file"] = "rtr2.pub"
    assert list(v.iter_errors(link))
    for bad in ("peers/rtr1/alice.pub", "alice.pem", "../alice.pub", "Alice.pub"):
        doc = alice()
        del doc["public_key"]
        doc["public_key_file"] = bad
        assert list(v.iter_errors(doc)), bad


def errors(repo: Path, **kw: int) -> list[str]:
    inventory, problems = load_inventory(repo, **kw)
    assert inventory is None
    return [str(p) for p in problems]


def to_key_file(repo: Path, content: str, peer: str = "alice") -> Path:
    """Move peer's key from its YAML into peers/rtr1/<peer>.pub."""
    path = repo / f"peers/rtr1/{peer}.yaml"
    doc = yaml.safe_load(path.read_text())
    del doc["public_key"]
    doc["public_key_file"] = f"{peer}.pub"
    header = "# yaml-language-server: $schema=../../schema/peer.schema.json\n"
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False))
    (repo / f"peers/rtr1/{peer}.pub").write_text(content)
    return path


def test_key_file_loads_in_any_format(state_copy: Path, m: Material) -> None:
    to_key_file(state_copy, inputs(m)["der-hex"][0])
    inventory, problems = load_inventory(state_copy)
    assert problems == [] and inventory is not None
    assert {p.peer: p.public_key for p in inventory.for_router("rtr1")}["alice"] == m.spki


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (
            lambda r, m: (r / "peers/rtr1/alice.pub").write_text(m.ec_spki),
            "public_key_file: peers/rtr1/alice.pub: not an RSA key",
        ),
        (
            lambda r, m: (r / "peers/rtr1/alice.pub").write_text(m.rsa_traditional_private),
            f"public_key_file: peers/rtr1/alice.pub: {PRIVATE}",
        ),
        (
            lambda r, m: (r / "peers/rtr1/alice.pub").unlink(),
            "public_key_file: peers/rtr1/alice.pub does not exist",
        ),
        (
            lambda r, m: (
                (r / "peers/rtr1/alice.pub").unlink(),
                (r / "peers/rtr1/alice.pub").symlink_to("/etc/passwd"),
            ),
            "peers/rtr1/alice.pub is a symbolic link",
        ),
        (
            lambda r, m: (r / "peers/rtr1/alice.yaml").write_text(
                (r / "peers/rtr1/alice.yaml").read_text().replace("alice.pub", "bob.pub")
            ),
            "public_key_file: must be 'alice.pub'",
        ),
        (
            lambda r, m: (r / "peers/rtr1/bob.pub").write_text(m.spki),
            "peers/rtr1/bob.pub:1:1: (file): not used: peers/rtr1/bob.yaml has an inline",
        ),
        (
            lambda r, m: (r / "peers/rtr1/zed.pub.asc").write_text("x"),
            "peers/rtr1/zed.pub.asc:1:1: (file): not used: there is no peers/rtr1/zed.yaml",
        ),
        (
            lambda r, m: (r / "peers/rtr1/bob.yaml.asc").write_text("x"),
            "peers/rtr1/bob.yaml.asc:1:1: (file): signatures cover a key file",
        ),
    ],
)
def test_key_file_mistakes_are_reported_at_their_field(
    state_copy: Path, m: Material, setup: Callable[[Path, Material], object], expected: str
) -> None:
    to_key_file(state_copy, m.spki)
    setup(state_copy, m)
    found = errors(state_copy)
    assert any(expected in e for e in found), found
    if "public_key_file" in expected:  # placed at the referencing field: path:line:col
        line = next(
            i
            for i, ln in enumerate(
                (state_copy / "peers/rtr1/alice.yaml").read_text().splitlines(), 1
            )
            if ln.startswith("public_key_file:")
        )
        assert any(e.startswith(f"peers/rtr1/alice.yaml:{line}:") for e in found), found
    assert not [c for e in found for c in secret_chunks(m.rsa_traditional_private) if c in e]


def test_loader_applies_the_configured_min_bits(state_copy: Path) -> None:
    assert load_inventory(state_copy, min_bits=2048)[0] is not None
    found = errors(state_copy, min_bits=3072)
    assert any(e.startswith("peers/rtr1/alice.yaml:") and "at least 3072" in e for e in found)
    assert any(e.startswith("routers/rtr1.yaml:") and "at least 3072" in e for e in found)


# -- in the simulated fleet ------------------------------------------------------------------


def add_peer(repo: Path, name: str, n: int, key: str | None, key_file: str | None = None) -> None:
    """A copy of alice with its own endpoint, fqdn identity and transfer pair."""
    doc = alice()
    doc.update(name=name, endpoint=f"198.51.100.{100 + n}")
    doc["identity"] = {"type": "fqdn", "value": f"{name}.example.org"}
    doc["gre"] = {"ipv4": {"router": f"172.20.9.{2 * n}", "peer": f"172.20.9.{2 * n + 1}"}}
    doc.pop("public_key")
    if key_file is not None:
        doc["public_key_file"] = f"{name}.pub"
        (repo / f"peers/rtr1/{name}.pub").write_text(key_file)
    else:
        doc["public_key"] = key
    header = "# yaml-language-server: $schema=../../schema/peer.schema.json\n"
    (repo / f"peers/rtr1/{name}.yaml").write_text(header + yaml.safe_dump(doc, sort_keys=False))


def test_a_peer_in_each_format_converges(tmp_path: Path, m: Material) -> None:
    cfg = build_demo_fleet(tmp_path)["rtr1"]
    names = {fmt: f"p-{fmt}" for fmt in FORMATS}
    for n, (fmt, (text, _)) in enumerate(inputs(m).items(), start=1):
        add_peer(cfg.repo, names[fmt], n, text)
    add_peer(cfg.repo, "p-file", 9, None, key_file=inputs(m)["rfc3110"][0])
    inventory, problems = load_inventory(cfg.repo)
    assert inventory is not None, problems
    refresh_external(cfg.root.parent.parent / "fleet.json", inventory)
    outcome = apply_router(cfg)
    assert outcome.problems == [] and outcome.peer_errors == {}
    states = {h.peer: h.state for h in plan_router(cfg).health}
    assert {states[n] for n in [*names.values(), "p-file"]} == {"up"}
    assert plan_router(cfg).plan == []
    host = SimHost(cfg.root)
    for fmt, name in names.items():
        installed = host.read_file(f"/etc/isakmpd/pubkeys/fqdn/{name}.example.org")
        assert installed == inputs(m)[fmt][1].encode()  # the SPKI PEM the tools print


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_repo_refusals_write_nothing_on_the_router(tmp_path: Path, m: Material) -> None:
    cfg = build_demo_fleet(tmp_path)["rtr1"]
    apply_router(cfg)
    before = snapshot(cfg.root)
    original = (cfg.repo / "peers/rtr1/alice.yaml").read_text()
    for case in ("pkcs1 private", "ec spki", "rsa 1024", "truncated pem", "garbage"):
        make, expected = REFUSALS[case]
        doc = yaml.safe_load(original)
        doc["public_key"] = make(m)
        (cfg.repo / "peers/rtr1/alice.yaml").write_text(yaml.safe_dump(doc))
        outcome = apply_router(cfg)
        assert outcome.result == "stalled", case
        assert any(
            p.file == "peers/rtr1/alice.yaml" and expected in p.message for p in outcome.problems
        ), case
        assert outcome.results == [] and snapshot(cfg.root) == before, case
