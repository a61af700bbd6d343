"""`peerops validate`: schema plus semantic checks, every error at once as path:line:col."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from agent.repo.inventory import load_inventory
from tests.conftest import edit


def errors(repo: Path) -> list[str]:
    inventory, problems = load_inventory(repo)
    assert (inventory is None) == bool(problems)
    return [str(p) for p in problems]


def test_example_repo_is_valid_and_internal_link_has_two_sides(state_copy: Path) -> None:
    inventory, problems = load_inventory(state_copy)
    assert problems == [] and inventory is not None
    (rtr1_side,) = [p for p in inventory.for_router("rtr1") if p.peer == "rtr2"]
    (rtr2_side,) = [p for p in inventory.for_router("rtr2") if p.peer == "rtr1"]
    assert (rtr1_side.local_endpoint, rtr1_side.remote_endpoint) == ("192.0.2.1", "192.0.2.2")
    assert (rtr2_side.local_endpoint, rtr2_side.remote_endpoint) == ("192.0.2.2", "192.0.2.1")
    assert rtr1_side.ipv4 and rtr2_side.ipv4
    assert (rtr2_side.ipv4.router, rtr2_side.ipv4.peer) == (
        rtr1_side.ipv4.peer,
        rtr1_side.ipv4.router,
    )
    assert rtr1_side.public_key == inventory.routers["rtr2"].public_key
    assert rtr2_side.public_key == inventory.routers["rtr1"].public_key
    # rtr2 presents an FQDN identity: rtr1 must look for its key under fqdn/
    assert rtr1_side.remote_id.pubkey_path == "/etc/isakmpd/pubkeys/fqdn/rtr2.example.net"
    assert rtr1_side.crypto == rtr2_side.crypto


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "description: dn42 peer alice",
            'description: "x $(reboot)"',
            "peers/rtr1/alice.yaml:{line}:3: gre.description: contains '$', '(', ')'",
        ),
        ("description: dn42 peer alice", 'description: "a\\n!reboot"', "gre.description: contains"),
        ("description: dn42 peer alice", "description: 'say \"hi\"'", "gre.description"),
        (
            "    router: 172.20.1.1   # on rtr1",
            "    router: 172.20.0.1",
            "peers/rtr1/alice.yaml:{line}:5: gre.ipv4.router: "
            "transfer address 172.20.0.1 is also used by rtr2",
        ),
        (
            "    router: 172.20.1.1   # on rtr1",
            "    router: 172.20.1.300",
            "peers/rtr1/alice.yaml:{line}:5: gre.ipv4.router: '172.20.1.300' is not an IP address",
        ),
        (
            "  ipv6: eui64",
            "  ipv6: eui64\n  mtu: 1400\n  mtu: 1300",
            "gre.mtu: duplicate key 'mtu'",
        ),
        (
            "endpoint: 198.51.100.7",
            "endpoint: 192.0.2.2",
            "peers/rtr1/alice.yaml:{line}:1: endpoint: endpoint 192.0.2.2 is also used by rtr2",
        ),
        ("  value: alice.example.org", "  value: -bad-.example", "identity.value: "),
        ("  ipv6: eui64", "  ipv6: eui64\n  colour: blue", "gre.colour: unknown field 'colour'"),
    ],
)
def test_broken_alice_reports_place_and_field(
    state_copy: Path, old: str, new: str, expected: str
) -> None:
    alice = state_copy / "peers/rtr1/alice.yaml"
    edit(alice, old, new)
    line = next(
        i
        for i, text in enumerate(alice.read_text().splitlines(), 1)
        if text.endswith(new.splitlines()[0].strip())
    )
    expected = expected.replace("{line}", str(line))
    found = errors(state_copy)
    assert any(expected in e for e in found), found


def test_the_old_ambiguous_pair_names_are_refused(state_copy: Path) -> None:
    """local/remote were read as "mine" by peers: they are gone, with no compatibility shim."""
    alice = state_copy / "peers/rtr1/alice.yaml"
    edit(
        alice,
        "    router: 172.20.1.1   # on rtr1\n    peer: 172.20.1.2     # on alice",
        "    local: 172.20.1.1\n    remote: 172.20.1.2",
    )
    found = errors(state_copy)
    assert any("gre.ipv4.local: unknown field 'local'" in e for e in found), found
    assert any("'router' is required" in e for e in found), found


def test_phase1_restrictions_and_lifetime_range(state_copy: Path) -> None:
    bob = state_copy / "peers/rtr1/bob.yaml"
    text = bob.read_text()
    assert "crypto:" in text
    bob.write_text(
        text.replace("crypto:", "crypto:\n  main:\n    enc: aes-128-gcm\n    lifetime: 30", 1)
    )
    found = errors(state_copy)
    assert any("crypto.main.enc" in e and "aes-128-gcm" in e for e in found), found
    assert any("crypto.main.lifetime" in e for e in found), found


def test_all_errors_of_all_files_at_once(state_copy: Path) -> None:
    edit(state_copy / "peers/rtr1/alice.yaml", "asn: 4242421234", "asn: many")
    edit(state_copy / "peers/rtr2/carol.yaml", "name: carol", "name: carol\nname: carol2")
    found = errors(state_copy)
    assert any(e.startswith("peers/rtr1/alice.yaml:5:") and "asn" in e for e in found), found
    assert any(
        e.startswith("peers/rtr2/carol.yaml:") and "duplicate key 'name'" in e for e in found
    ), found


def test_internal_link_written_twice_is_an_error(state_copy: Path) -> None:
    (state_copy / "peers/rtr2/rtr1.yaml").write_text(
        "name: rtr1\nrouter: rtr1\ngre:\n  ipv4: {router: 172.20.9.1, peer: 172.20.9.2}\n"
    )
    found = errors(state_copy)
    assert any("already has a peering named" in e for e in found), found


def test_peer_directory_without_router(state_copy: Path) -> None:
    (state_copy / "peers/rtr9").mkdir()
    (state_copy / "peers/rtr1/alice.yaml").rename(state_copy / "peers/rtr9/alice.yaml")
    assert any("peers/rtr9/ names no router" in e for e in errors(state_copy))


def _pem_in(path: Path, pem: str) -> None:
    text = path.read_text()
    start, end = (
        text.index("  -----BEGIN PUBLIC KEY-----"),
        text.index("-----END PUBLIC KEY-----") + 24,
    )
    path.write_text(
        text[:start]
        + "".join("  " + line + "\n" for line in pem.strip().splitlines())
        + text[end + 1 :]
    )


def test_pasted_private_key_is_refused_without_echoing_it(state_copy: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    _pem_in(state_copy / "peers/rtr1/alice.yaml", pem)
    found = errors(state_copy)
    assert any("this is a private key: remove it from the repo and rotate it" in e for e in found)
    secret_line = pem.splitlines()[1]
    assert all(secret_line not in e for e in found)


@pytest.mark.parametrize("kind", ["rsa1024", "ec"])
def test_weak_or_non_rsa_keys_are_refused(state_copy: Path, kind: str) -> None:
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
        if kind == "rsa1024"
        else ec.generate_private_key(ec.SECP256R1())
    )
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    _pem_in(state_copy / "peers/rtr1/alice.yaml", pem)
    expected = "1024 bits; at least 2048" if kind == "rsa1024" else "not an RSA key"
    assert any(expected in e and "public_key" in e for e in errors(state_copy))


def test_cli_exit_codes_and_json(state_copy: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "agent", "validate", str(state_copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    edit(
        state_copy / "peers/rtr1/alice.yaml", "description: dn42 peer alice", "description: '`id`'"
    )
    bad = subprocess.run(
        [sys.executable, "-m", "agent", "validate", "--json", str(state_copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert report["errors"][0]["file"] == "peers/rtr1/alice.yaml"
    assert report["errors"][0]["field"] == "gre.description"


def test_oversized_file_is_refused_unread(state_copy: Path) -> None:
    huge = state_copy / "peers/rtr1/zed.yaml"
    huge.write_text("name: zed\n# " + "x" * 70_000 + "\n")
    assert any(
        e.startswith("peers/rtr1/zed.yaml:1:1: (file): larger than") for e in errors(state_copy)
    )


def _key_line(path: Path) -> int:
    return path.read_text().splitlines().index("public_key: |") + 1


def test_a_key_shared_by_two_peers_is_refused_on_both_files(state_copy: Path) -> None:
    """carol (rtr2) pastes alice's (rtr1) key: both files are named, at the key's line."""
    import yaml

    alice, carol = state_copy / "peers/rtr1/alice.yaml", state_copy / "peers/rtr2/carol.yaml"
    _pem_in(carol, yaml.safe_load(alice.read_text())["public_key"])
    found = errors(state_copy)
    assert f"peers/rtr2/carol.yaml:{_key_line(carol)}:1: public_key: this public key is also " \
        "the key of rtr1/alice (AS4242421234) in peers/rtr1/alice.yaml" in "\n".join(found)
    assert f"peers/rtr1/alice.yaml:{_key_line(alice)}:1: public_key: this public key is also " \
        "the key of rtr2/carol (AS4242429876) in peers/rtr2/carol.yaml" in "\n".join(found)
    assert len(found) == 2


def test_a_peer_with_the_routers_own_key_is_refused(state_copy: Path) -> None:
    import yaml

    rtr1 = yaml.safe_load((state_copy / "routers/rtr1.yaml").read_text())["public_key"]
    _pem_in(state_copy / "peers/rtr1/bob.yaml", rtr1)
    found = "\n".join(errors(state_copy))
    assert "peers/rtr1/bob.yaml:" in found and "also the key of router rtr1 in " \
        "routers/rtr1.yaml" in found
    assert "routers/rtr1.yaml:" in found and "also the key of rtr1/bob (AS4242425678)" in found


def test_one_as_may_use_its_key_on_two_peerings_and_distinct_keys_pass(
    state_copy: Path,
) -> None:
    """The boundary: the same operator (one ASN) peering with two routers keeps one
    local.key; peers with keys of their own are valid."""
    import yaml

    alice, carol = state_copy / "peers/rtr1/alice.yaml", state_copy / "peers/rtr2/carol.yaml"
    assert errors(state_copy) == []  # every key distinct
    _pem_in(carol, yaml.safe_load(alice.read_text())["public_key"])
    edit(carol, "asn: 4242429876", "asn: 4242421234")  # carol is alice's AS after all
    assert errors(state_copy) == []
