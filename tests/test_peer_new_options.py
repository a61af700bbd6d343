"""`peer new` options: a separate key file to sign, an FQDN identity, eui64, explicit pairs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from agent.keys import parse_public_key
from agent.repo.inventory import load_inventory


def peerops(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], capture_output=True, text=True, input=stdin,
        check=False, timeout=120,
    )  # fmt: skip


def test_key_file_identity_and_explicit_pairs(state_copy: Path) -> None:
    bob = yaml.safe_load((state_copy / "peers/rtr1/bob.yaml").read_text())
    ssh = subprocess.run(
        ["ssh-keygen", "-i", "-m", "PKCS8", "-f", "/dev/stdin"], input=bob["public_key"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ssh.returncode == 0, ssh.stderr  # the key goes in as an ssh-rsa line
    # frank is bob's second link (bob's AS, on rtr2): one operator may keep one key.
    key_text = ssh.stdout
    out = peerops(
        "peer", "new", "--repo", str(state_copy), "--router", "rtr2", "--name", "frank",
        "--asn", "4242425678", "--endpoint", "203.0.113.77", "--key", "-", "--key-file",
        "--identity", "frank.example.org", "--ipv4", "172.20.2.9,172.20.2.10",
        "--ipv6", "eui64",
        stdin=key_text,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    doc = yaml.safe_load((state_copy / "peers/rtr2/frank.yaml").read_text())
    assert doc["public_key_file"] == "frank.pub" and "public_key" not in doc
    assert doc["identity"] == {"type": "fqdn", "value": "frank.example.org"}
    assert doc["gre"]["ipv4"] == {"router": "172.20.2.9", "peer": "172.20.2.10"}
    assert doc["gre"]["ipv6"] == "eui64"
    pem = (state_copy / "peers/rtr2/frank.pub").read_text()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")  # normalised from the input form
    assert parse_public_key(pem).fingerprint == parse_public_key(bob["public_key"]).fingerprint
    inventory, problems = load_inventory(state_copy)
    assert inventory is not None, problems
    [frank] = [p for p in inventory.for_router("rtr2") if p.peer == "frank"]
    assert frank.remote_id.pubkey_path == "/etc/isakmpd/pubkeys/fqdn/frank.example.org"


def test_an_invalid_result_is_removed_again(state_copy: Path) -> None:
    alice = yaml.safe_load((state_copy / "peers/rtr1/alice.yaml").read_text())
    out = peerops(
        "peer", "new", "--repo", str(state_copy), "--router", "rtr1", "--name", "gina",
        "--asn", "4242421888", "--endpoint", "198.51.100.88", "--key", "-",
        "--ipv4", "172.20.1.1,172.20.1.77",  # alice's router-side address
        stdin=alice["public_key"],
    )  # fmt: skip
    assert out.returncode == 1
    assert "transfer address 172.20.1.1 is also used by alice" in out.stdout
    assert "nothing was kept" in out.stdout
    assert not (state_copy / "peers/rtr1/gina.yaml").exists()
