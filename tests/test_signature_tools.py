"""Peer key signatures when the tools misbehave or the keyring is unusual: a gpg or ssh-keygen
that hangs (the bound on each call holds, and the refusal says so), a signing subkey (accepted
as its primary key, never as a key of its own), and the defences behind gpg's status lines.

A hung tool is the real gpg / ssh-keygen behind a small wrapper on PATH that sleeps first when
its argv holds a given word. gpg's answers that the real gpg never gives (exit 0 without
GOODSIG, an old VALIDSIG without the primary's fingerprint, a keyring listing that fails or
lacks the signer's primary key) come from a scripted gpg: the only way to test the checks
that stand behind the status lines."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import AgentConfig, KeyPolicy
from agent.model import Peering
from agent.repo.inventory import load_inventory
from agent.repo.signatures import (
    Verdict,
    gpg_keyring_fingerprints,
    key_signature_gate,
    peer_signature_problem,
    verify_gpg,
    verify_ssh,
)
from tests.keytools import Material, gpg, gpg_sign, material, run, ssh_sign
from tests.test_keys import add_peer, to_key_file

IDENTITY = "alice@4242421234"
T = 30.0  # the agent's default command_timeout
SLOW = 3.0  # a bound the real tools meet on a loaded machine; the wrappers sleep 10 s


@pytest.fixture(scope="module")
def m() -> Material:
    return material()


@dataclasses.dataclass(frozen=True)
class Subkey:
    signer: Path  # GNUPGHOME whose key signs with a subkey (the primary only certifies)
    trust: Path  # its public key, and gpg.conf with with-subkey-fingerprint
    primary: str
    subkey: str


@pytest.fixture(scope="module")
def sub() -> Iterator[Subkey]:
    d = Path(tempfile.mkdtemp(prefix="pk-sub-"))  # short: gpg-agent's socket lives there
    signer, trust = d / "signer", d / "trust"
    try:
        for home in (signer, trust):
            home.mkdir(mode=0o700)
        uid = "carol <carol@example.org>"
        run(gpg(signer, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "cert", "never"))
        primary = _fingerprints(signer)[0]
        run(gpg(signer, "--passphrase", "", "--quick-add-key", primary, "ed25519", "sign", "never"))
        run(gpg(trust, "--import"), stdin=run(gpg(signer, "--armor", "--export")))
        (trust / "gpg.conf").write_text("with-subkey-fingerprint\n")
        fprs = _fingerprints(trust)
        assert len(fprs) == 2 and fprs[0] == primary
        yield Subkey(signer, trust, primary, fprs[1])
    finally:
        for home in (signer, trust):
            subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"],
                           capture_output=True, check=False)
        shutil.rmtree(d, ignore_errors=True)


def _fingerprints(home: Path) -> list[str]:
    listing = run(gpg(home, "--with-colons", "--with-subkey-fingerprint", "--list-keys"))
    return [ln.split(":")[9] for ln in listing.decode().splitlines() if ln.startswith("fpr:")]


def signed_file(tmp_path: Path, m: Material, how: str) -> tuple[Path, Path]:
    """alice.pub and its signature: gpg (.asc) by the trusted signer, ssh (.sig) by mallory."""
    key = tmp_path / "alice.pub"
    key.write_text(m.spki)
    if how == "gpg":
        signature = tmp_path / "alice.pub.asc"
        signature.write_bytes(gpg_sign(m.gpg_signer, key.read_bytes()))
    else:
        signature = tmp_path / "alice.pub.sig"
        signature.write_bytes(ssh_sign(m.ssh_mallory, key.read_bytes()))
    return key, signature


def allowed(tmp_path: Path, m: Material) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(f"{IDENTITY} {' '.join(m.ssh_signer_pub.split()[:2])}\n")
    return path


def slow_tool(bin_dir: Path, tool: str, when: str) -> None:
    """bin_dir/tool: the real tool, after sleeping 10 s when its argv holds `when`. One
    process: the timeout's kill ends it."""
    real = shutil.which(tool)
    assert real is not None, tool
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / tool
    script.write_text(
        f"#!{sys.executable}\nimport os, sys, time\n"
        f"if {when!r} in sys.argv:\n    time.sleep(10)\n"
        f"os.execv({real!r}, [{real!r}, *sys.argv[1:]])\n"
    )
    script.chmod(0o755)


# -- a tool that hangs: each call is bounded, and the refusal says it timed out ------------------


def test_a_hung_keyring_listing_refuses_the_signature(
    tmp_path: Path, m: Material, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, asc = signed_file(tmp_path, m, "gpg")
    slow_tool(tmp_path / "bin", "gpg", "--list-keys")  # the verification itself answers
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    assert verify_gpg(key, asc, m.gpg_trust, SLOW) == Verdict(
        False, f"gpg did not finish within command_timeout ({SLOW:g} s)"
    )


def test_a_hung_ssh_keygen_check_refuses_the_signature(
    tmp_path: Path, m: Material, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, sig = signed_file(tmp_path, m, "ssh")  # mallory: verify fails, check-novalidate runs
    slow_tool(tmp_path / "bin", "ssh-keygen", "check-novalidate")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    assert verify_ssh(key, sig, allowed(tmp_path, m), IDENTITY, SLOW) == Verdict(
        False, f"ssh-keygen did not finish within command_timeout ({SLOW:g} s)"
    )


def test_the_gate_bounds_each_tool_by_command_timeout(
    state_copy: Path, tmp_path: Path, m: Material, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hung gpg or ssh-keygen holds the peer with the reason, not the agent."""
    to_key_file(state_copy, m.spki)
    alice = state_copy / "peers/rtr1/alice.pub"
    alice.with_name("alice.pub.asc").write_bytes(gpg_sign(m.gpg_signer, alice.read_bytes()))
    bob_doc = state_copy / "peers/rtr1/bob.yaml"
    bob_key = bob_doc.read_text().split("public_key: |\n")[1].split("crypto:")[0]
    to_key_file(state_copy, "\n".join(ln.strip() for ln in bob_key.splitlines()) + "\n", "bob")
    bob = state_copy / "peers/rtr1/bob.pub"
    bob.with_name("bob.pub.sig").write_bytes(ssh_sign(m.ssh_signer, bob.read_bytes()))
    inventory, problems = load_inventory(state_copy)
    assert inventory is not None, problems
    keys = KeyPolicy(gpg_home=m.gpg_trust, allowed_signers=allowed(tmp_path, m))
    cfg = AgentConfig("rtr1", state_copy, state_copy, "simulated", state_copy, keys=keys,
                      command_timeout=1.0)
    # the verification hangs; the keyring listing or check-novalidate after it would answer
    slow_tool(tmp_path / "bin", "gpg", "--verify")
    slow_tool(tmp_path / "bin", "ssh-keygen", "verify")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    assert key_signature_gate(cfg, list(inventory.for_router("rtr1"))) == {
        "alice": "alice.pub.asc: gpg did not finish within command_timeout (1 s)",
        "bob": "bob.pub.sig: ssh-keygen did not finish within command_timeout (1 s)",
    }


# -- a signing subkey, with the real gpg ---------------------------------------------------------


def test_a_signing_subkey_is_accepted_as_its_primary_key(tmp_path: Path, sub: Subkey) -> None:
    key = tmp_path / "alice.pub"
    key.write_text("key\n")
    asc = tmp_path / "alice.pub.asc"
    asc.write_bytes(gpg_sign(sub.signer, key.read_bytes()))
    assert verify_gpg(key, asc, sub.trust, T) == Verdict(True, sub.primary)


def test_the_keyring_lists_primary_keys_only(sub: Subkey, m: Material) -> None:
    # the trust keyring's gpg.conf prints subkey fingerprints too: they are not trust roots
    assert gpg_keyring_fingerprints(sub.trust, T) == {sub.primary}
    assert gpg_keyring_fingerprints(m.gpg_trust, T) == {m.gpg_signer_fpr}


# -- gpg's answers the real gpg does not give: the checks behind the status lines ---------------

PRIMARY = "A" * 40
SUBKEY = "B" * 40
OTHER = "C" * 40
VALID = f"[GNUPG:] VALIDSIG {SUBKEY} 2026-11-30 1796074399 0 4 0 22 8 00 {PRIMARY}\n"
GOOD = "[GNUPG:] GOODSIG BBBBBBBBBBBBBBBB carol <carol@example.org>\n"


def listing(*primaries: str) -> str:
    out = "tru::1:1796074399:0:3:1:5\n"
    for n, fpr in enumerate(primaries):
        out += (
            f"pub:-:255:22:{fpr[-16:]}:1796074398:::-:::cSC:::::ed25519:::0:\n"
            f"fpr:::::::::{fpr}:\nuid:-::::1796074398::{n}::carol <carol@example.org>::::::::::0:\n"
            f"sub:-:255:22:{SUBKEY[-16:]}:1796074398::::::s:::::ed25519::\n"
            f"fpr:::::::::{SUBKEY}:\n"
        )
    return out


def could_not(rc: int) -> str:
    return (f"gpg could not verify the signature (exit {rc}): it must be a detached signature "
            "of this exact file (gpg -sb -a <peer>.pub)")


SCRIPTED = [
    ("good", GOOD + VALID, 0, listing(PRIMARY), 0, Verdict(True, PRIMARY)),
    ("goodsig-without-validsig", GOOD, 0, listing(PRIMARY), 0, Verdict(False, could_not(0))),
    ("validsig-without-goodsig", VALID, 0, listing(PRIMARY), 0, Verdict(False, could_not(0))),
    ("good-lines-but-exit-2", GOOD + VALID, 2, listing(PRIMARY), 0, Verdict(False, could_not(2))),
    ("old-validsig-without-primary",
     GOOD + f"[GNUPG:] VALIDSIG {PRIMARY} 2026-11-30 1796074399 0 4 0 22 8 00\n", 0,
     listing(PRIMARY), 0, Verdict(True, PRIMARY)),
    ("primary-not-in-keyring", GOOD + VALID, 0, listing(OTHER), 0,
     Verdict(False, f"signed by {PRIMARY}, which is not a key of {{home}}")),
    ("keyring-listing-fails", GOOD + VALID, 0, listing(PRIMARY), 2,
     Verdict(False, f"signed by {PRIMARY}, which is not a key of {{home}}")),
    ("subkey-as-primary",
     GOOD + f"[GNUPG:] VALIDSIG {SUBKEY} 2026-11-30 1796074399 0 4 0 22 8 00 {SUBKEY}\n", 0,
     listing(PRIMARY), 0, Verdict(False, f"signed by {SUBKEY}, which is not a key of {{home}}")),
]


@pytest.mark.parametrize(("status", "rc", "keys", "keys_rc", "expected"),
                         [row[1:] for row in SCRIPTED], ids=[row[0] for row in SCRIPTED])
def test_scripted_gpg_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    status: str, rc: int, keys: str, keys_rc: int, expected: Verdict,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    answers = bin_dir / "answers.json"
    answers.write_text(json.dumps({"verify": [status, rc], "list": [keys, keys_rc]}))
    script = bin_dir / "gpg"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"answers = json.load(open({str(answers)!r}))\n"
        "text, rc = answers['list' if '--list-keys' in sys.argv else 'verify']\n"
        "sys.stdout.write(text)\nsys.exit(rc)\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    (tmp_path / "alice.pub").write_text("key\n")
    (tmp_path / "alice.pub.asc").write_text("sig\n")
    home = tmp_path / "home"
    verdict = verify_gpg(tmp_path / "alice.pub", tmp_path / "alice.pub.asc", home, T)
    assert verdict == Verdict(expected.ok, expected.detail.format(home=home))


def test_an_ssh_keygen_answer_for_another_identity_is_not_taken(
    tmp_path: Path, m: Material, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "ssh-keygen"  # exit 0 for both -Y verify and -Y check-novalidate
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdin.read()\n"
                      "print('Good \"peerops\" signature for bob@4242425678 with ED25519 key x')\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    key, sig = signed_file(tmp_path, m, "ssh")
    assert verify_ssh(key, sig, allowed(tmp_path, m), IDENTITY, T) == Verdict(
        False, f"signed by a key that keys.allowed_signers does not allow for {IDENTITY}"
    )


# -- the gate: every present signature, every peer, in any order --------------------------------


def peerings(repo: Path, min_bits: int = 2048) -> list[Peering]:
    inventory, problems = load_inventory(repo, min_bits=min_bits)
    assert inventory is not None, problems
    return list(inventory.for_router("rtr1"))


def cfg_for(repo: Path, keys: KeyPolicy) -> AgentConfig:
    return AgentConfig("rtr1", repo, repo, "simulated", repo, keys=keys)


def test_a_signature_without_its_trust_root_does_not_end_the_check(
    state_copy: Path, tmp_path: Path, m: Material
) -> None:
    """No keys.gpg_home: the .asc cannot be checked (ignored when not required), and the bad
    .sig beside it is still refused; required, the .sig without allowed_signers is refused."""
    to_key_file(state_copy, m.spki)
    pub = state_copy / "peers/rtr1/alice.pub"
    pub.with_name("alice.pub.asc").write_bytes(gpg_sign(m.gpg_signer, pub.read_bytes()))
    pub.with_name("alice.pub.sig").write_bytes(ssh_sign(m.ssh_mallory, pub.read_bytes()))
    keys = KeyPolicy(gpg_home=None, allowed_signers=allowed(tmp_path, m))
    assert key_signature_gate(cfg_for(state_copy, keys), peerings(state_copy)) == {
        "alice": f"alice.pub.sig: signed by a key that keys.allowed_signers does not allow "
                 f"for {IDENTITY}"
    }
    pub.with_name("alice.pub.asc").unlink()
    keys = KeyPolicy(require_signatures=True, gpg_home=m.gpg_trust, allowed_signers=None)
    why = key_signature_gate(cfg_for(state_copy, keys), peerings(state_copy))["alice"]
    assert why == "alice.pub.sig: cannot verify it, keys.allowed_signers is not configured"


def test_every_external_peer_is_checked_whatever_comes_before_it(
    state_copy: Path, tmp_path: Path, m: Material
) -> None:
    """bob's bad signature is found after alice (no key file) and after rtr2 (internal)."""
    bob_doc = state_copy / "peers/rtr1/bob.yaml"
    bob_key = bob_doc.read_text().split("public_key: |\n")[1].split("crypto:")[0]
    to_key_file(state_copy, "\n".join(ln.strip() for ln in bob_key.splitlines()) + "\n", "bob")
    bob = state_copy / "peers/rtr1/bob.pub"
    bob.with_name("bob.pub.asc").write_bytes(gpg_sign(m.gpg_mallory, bob.read_bytes()))
    cfg = cfg_for(state_copy, KeyPolicy(gpg_home=m.gpg_trust))
    found = peerings(state_copy)
    internal = [p for p in found if p.internal]
    alice = [p for p in found if p.peer == "alice"]
    assert internal and alice
    for order in (alice + internal + [p for p in found if p.peer == "bob"], internal + found):
        assert list(key_signature_gate(cfg, order)) == ["bob"]


def test_a_peer_directory_gone_since_the_load_is_nothing_to_check(
    state_copy: Path, m: Material
) -> None:
    found = peerings(state_copy)
    shutil.rmtree(state_copy / "peers/rtr1")
    assert key_signature_gate(cfg_for(state_copy, KeyPolicy(gpg_home=m.gpg_trust)), found) == {}


def test_a_signed_file_that_is_not_a_key_is_refused(
    state_copy: Path, tmp_path: Path, m: Material
) -> None:
    to_key_file(state_copy, m.spki)
    alice = next(p for p in peerings(state_copy) if p.peer == "alice")
    pub = state_copy / "peers/rtr1/alice.pub"
    pub.write_text("not a key\n")  # replaced after the load, and signed
    pub.with_name("alice.pub.asc").write_bytes(gpg_sign(m.gpg_signer, pub.read_bytes()))
    keys = KeyPolicy(require_signatures=True, gpg_home=m.gpg_trust)
    assert peer_signature_problem(state_copy, alice, keys, T) == (
        "peers/rtr1/alice.pub is not the key this peering uses"
    )


def test_a_weak_key_allowed_by_min_bits_is_checked_by_its_signature(
    state_copy: Path, tmp_path: Path, m: Material
) -> None:
    """keys.min_bits 1024: a 1024-bit key file is the key in use, and its signature decides."""
    add_peer(state_copy, "dave", 2, None, key_file=m.rsa1024_spki)
    dave = next(p for p in peerings(state_copy, min_bits=1024) if p.peer == "dave")
    pub = state_copy / "peers/rtr1/dave.pub"
    pub.with_name("dave.pub.asc").write_bytes(gpg_sign(m.gpg_signer, pub.read_bytes()))
    keys = KeyPolicy(min_bits=1024, require_signatures=True, gpg_home=m.gpg_trust)
    assert peer_signature_problem(state_copy, dave, keys, T) is None
    pub.with_name("dave.pub.asc").write_bytes(gpg_sign(m.gpg_mallory, pub.read_bytes()))
    why = peer_signature_problem(state_copy, dave, keys, T) or ""
    assert why.startswith("dave.pub.asc: signed by key ") and "not in the keyring" in why
