"""Detached signatures on peer key files, verified by the real gpg and ssh-keygen, and the gate
that holds a peer whose signature is bad (or missing under keys.require_signatures)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agent.config import AgentConfig, KeyPolicy
from agent.lab.demo import build_demo_fleet
from agent.model import Peering
from agent.repo.inventory import load_inventory
from agent.repo.signatures import (
    Verdict,
    _gpg_problem,
    _gpg_status,
    key_signature_gate,
    peer_signature_problem,
    verify_gpg,
    verify_ssh,
)
from agent.run.converge import apply_router, plan_router
from agent.sim.fleet import refresh_external
from agent.sim.host import SimHost
from tests.keytools import Material, gpg_sign, material, ssh_sign
from tests.test_keys import add_peer, to_key_file

IDENTITY = "alice@4242421234"  # alice's <peer>@<asn>
T = 30.0  # the agent's default command_timeout


@pytest.fixture(scope="session")
def m() -> Material:
    return material()


@pytest.fixture
def keyfile(tmp_path: Path, m: Material) -> Path:
    path = tmp_path / "alice.pub"
    path.write_text(m.spki)
    return path


def allowed_signers(tmp_path: Path, m: Material, principals: str = IDENTITY) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(f"{principals} {' '.join(m.ssh_signer_pub.split()[:2])}\n")
    return path


def sig(path: Path, suffix: str, data: bytes) -> Path:
    out = path.with_name(path.name + suffix)
    out.write_bytes(data)
    return out


# -- gpg ----------------------------------------------------------------------------------------


def test_gpg_good_signature_names_the_signer(keyfile: Path, m: Material) -> None:
    asc = sig(keyfile, ".asc", gpg_sign(m.gpg_signer, keyfile.read_bytes()))
    verdict = verify_gpg(keyfile, asc, m.gpg_trust, T)
    assert verdict.ok and verdict.detail == m.gpg_signer_fpr


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda k, m: (gpg_sign(m.gpg_signer, k.read_bytes() + b"\n"), None), "BAD signature"),
        (lambda k, m: (gpg_sign(m.gpg_mallory, k.read_bytes()), None), "not in the keyring"),
        (
            lambda k, m: (gpg_sign(m.gpg_signer, k.read_bytes(), detached=False), None),
            "must be a detached signature of this exact file (gpg -sb -a <peer>.pub)",
        ),
        (lambda k, m: (b"-----BEGIN PGP SIGNATURE-----\n\nabc\n", None), "not an OpenPGP"),
        (lambda k, m: (k.read_bytes(), None), "not an OpenPGP signature"),
    ],
    ids=["changed-file", "untrusted-signer", "not-detached", "garbage", "not-a-signature"],
)
def test_gpg_refusals(keyfile: Path, m: Material, make, expected: str) -> None:
    data, _ = make(keyfile, m)
    verdict = verify_gpg(keyfile, sig(keyfile, ".asc", data), m.gpg_trust, T)
    assert verdict.ok is False and expected in verdict.detail


def test_gpg_status_is_read_not_the_exit_code() -> None:
    # an inline message that also verifies: exit 0 and GOODSIG, but PLAINTEXT gives it away
    lines = "[GNUPG:] PLAINTEXT 62 0 \n[GNUPG:] GOODSIG ABCD x\n[GNUPG:] VALIDSIG AB 1 2 0 4"
    assert "not a detached signature" in (_gpg_problem(_gpg_status(lines)) or "")
    for keyword, why in (("EXPKEYSIG", "expired key"), ("REVKEYSIG", "revoked key")):
        assert why in (_gpg_problem(_gpg_status(f"[GNUPG:] {keyword} ABCD x")) or "")


def test_gpg_missing_is_a_clear_reason(
    keyfile: Path, m: Material, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(keyfile.parent))
    verdict = verify_gpg(keyfile, keyfile, m.gpg_trust, T)
    assert not verdict.ok and "gpg is not installed" in verdict.detail


# -- ssh ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("principals", [IDENTITY, "*@4242421234", "bob@1,alice@4242421234"])
def test_ssh_good_signature(tmp_path: Path, keyfile: Path, m: Material, principals: str) -> None:
    signature = sig(keyfile, ".sig", ssh_sign(m.ssh_signer, keyfile.read_bytes()))
    verdict = verify_ssh(keyfile, signature, allowed_signers(tmp_path, m, principals), IDENTITY, T)
    assert verdict.ok and verdict.detail == IDENTITY


BAD_SSH = "BAD signature: not a valid `ssh-keygen -Y sign -n peerops` signature of the key file"
NOT_ALLOWED = f"signed by a key that keys.allowed_signers does not allow for {IDENTITY}"


@pytest.mark.parametrize(
    ("make", "principals", "expected"),
    [
        (lambda k, m: ssh_sign(m.ssh_signer, k.read_bytes() + b" "), IDENTITY, BAD_SSH),
        (lambda k, m: ssh_sign(m.ssh_signer, k.read_bytes(), "file"), IDENTITY, BAD_SSH),
        (lambda k, m: ssh_sign(m.ssh_mallory, k.read_bytes()), IDENTITY, NOT_ALLOWED),
        (lambda k, m: ssh_sign(m.ssh_signer, k.read_bytes()), "bob@4242425678", NOT_ALLOWED),
        (lambda k, m: b"not a signature\n", IDENTITY, BAD_SSH),
    ],
    ids=["changed-file", "other-namespace", "untrusted-key", "other-peer", "garbage"],
)
def test_ssh_refusals(
    tmp_path: Path, keyfile: Path, m: Material, make, principals: str, expected: str
) -> None:
    signature = sig(keyfile, ".sig", make(keyfile, m))
    verdict = verify_ssh(keyfile, signature, allowed_signers(tmp_path, m, principals), IDENTITY, T)
    assert verdict == Verdict(False, expected)


# -- the gate on a repo -------------------------------------------------------------------------


def peerings(repo: Path, router: str = "rtr1") -> list[Peering]:
    inventory, problems = load_inventory(repo)
    assert inventory is not None, problems
    return list(inventory.for_router(router))


def policy(tmp: Path, m: Material, *, required: bool, principals: str = IDENTITY) -> KeyPolicy:
    return KeyPolicy(
        require_signatures=required,
        gpg_home=m.gpg_trust,
        allowed_signers=allowed_signers(tmp, m, principals),
    )


def cfg_for(repo: Path, keys: KeyPolicy) -> AgentConfig:
    return AgentConfig("rtr1", repo, repo, "simulated", repo, keys=keys)


def test_gate_without_the_policy_only_rejects_bad_signatures(
    state_copy: Path, tmp_path: Path, m: Material
) -> None:
    keys = policy(tmp_path, m, required=False)
    assert key_signature_gate(cfg_for(state_copy, keys), peerings(state_copy)) == {}
    to_key_file(state_copy, m.spki)
    pub = state_copy / "peers/rtr1/alice.pub"
    assert key_signature_gate(cfg_for(state_copy, keys), peerings(state_copy)) == {}
    sig(pub, ".asc", gpg_sign(m.gpg_mallory, pub.read_bytes()))
    gated = key_signature_gate(cfg_for(state_copy, keys), peerings(state_copy))
    assert list(gated) == ["alice"] and "alice.pub.asc: signed by key" in gated["alice"]
    # a signature no trust root is configured for cannot be checked: ignored unless required
    unrooted = dataclasses.replace(keys, gpg_home=None)
    assert key_signature_gate(cfg_for(state_copy, unrooted), peerings(state_copy)) == {}


def test_gate_under_the_policy_needs_a_good_signature_per_external_peer(
    state_copy: Path, tmp_path: Path, m: Material
) -> None:
    keys = policy(tmp_path, m, required=True)
    gated = key_signature_gate(cfg_for(state_copy, keys), peerings(state_copy))
    assert set(gated) == {"alice", "bob"}  # rtr2 is an internal link: never gated
    assert "move it to peers/rtr1/alice.pub (public_key_file: alice.pub)" in gated["alice"]
    to_key_file(state_copy, m.pkcs1)
    pub = state_copy / "peers/rtr1/alice.pub"
    assert "alice.pub has no signature" in key_signature_gate(
        cfg_for(state_copy, keys), peerings(state_copy)
    ).get("alice", "")
    sig(pub, ".sig", ssh_sign(m.ssh_signer, pub.read_bytes()))
    assert "alice" not in key_signature_gate(cfg_for(state_copy, keys), peerings(state_copy))
    sig(pub, ".asc", gpg_sign(m.gpg_signer, pub.read_bytes()))  # both present, both good
    assert "alice" not in key_signature_gate(cfg_for(state_copy, keys), peerings(state_copy))
    unrooted = dataclasses.replace(keys, gpg_home=None)
    why = key_signature_gate(cfg_for(state_copy, unrooted), peerings(state_copy))["alice"]
    assert "keys.gpg_home is not configured" in why


def test_gate_checks_the_signed_file_is_the_key_in_use(
    state_copy: Path, tmp_path: Path, m: Material
) -> None:
    to_key_file(state_copy, m.spki)
    pub = state_copy / "peers/rtr1/alice.pub"
    sig(pub, ".sig", ssh_sign(m.ssh_signer, pub.read_bytes()))
    alice = next(p for p in peerings(state_copy) if p.peer == "alice")
    pub.write_text(m.ssh_rsa_pub)  # replaced after the repo was loaded
    why = peer_signature_problem(state_copy, alice, policy(tmp_path, m, required=True), T)
    assert why == "peers/rtr1/alice.pub is not the key this peering uses"


# -- in the simulated fleet: the bad peer is held, the others converge ---------------------------


def signed(repo: Path, name: str, m: Material, how: str) -> None:
    pub = repo / f"peers/rtr1/{name}.pub"
    if how == "gpg":
        sig(pub, ".asc", gpg_sign(m.gpg_signer, pub.read_bytes()))
    elif how == "ssh":
        sig(pub, ".sig", ssh_sign(m.ssh_signer, pub.read_bytes()))
    elif how == "untrusted":
        sig(pub, ".asc", gpg_sign(m.gpg_mallory, pub.read_bytes()))


def test_policy_in_the_fleet_holds_bad_peers_and_converges_the_rest(
    tmp_path: Path, m: Material
) -> None:
    fleet = build_demo_fleet(tmp_path)
    apply_router(fleet["rtr2"])
    cfg = fleet["rtr1"]
    apply_router(cfg)
    host = SimHost(cfg.root)
    alice_key = host.read_file("/etc/isakmpd/pubkeys/fqdn/alice.example.org")
    assert alice_key is not None
    # bob signs with gpg; carl with ssh; dave's signer is untrusted; alice stays unsigned
    bob = cfg.repo / "peers/rtr1/bob.yaml"
    bob_key = bob.read_text().split("public_key: |\n")[1].split("crypto:")[0]
    to_key_file(cfg.repo, "\n".join(ln.strip() for ln in bob_key.splitlines()) + "\n", "bob")
    signed(cfg.repo, "bob", m, "gpg")
    add_peer(cfg.repo, "carl", 1, None, key_file=m.ssh_rsa_pub)
    signed(cfg.repo, "carl", m, "ssh")
    add_peer(cfg.repo, "dave", 2, None, key_file=m.pkcs1)
    signed(cfg.repo, "dave", m, "untrusted")
    inventory, problems = load_inventory(cfg.repo)
    assert inventory is not None, problems
    refresh_external(cfg.root.parent.parent / "fleet.json", inventory)
    (tmp_path / "signers").mkdir()
    keys = policy(tmp_path / "signers", m, required=True, principals="carl@4242421234")
    cfg = dataclasses.replace(cfg, keys=keys)
    outcome = apply_router(cfg)
    assert set(outcome.peer_errors) == {"alice", "dave"}
    assert "no signature" in outcome.peer_errors["alice"]
    assert "not in the keyring" in outcome.peer_errors["dave"]
    states = {h.peer: h.state for h in plan_router(cfg).health}
    assert (states["bob"], states["carl"], states["rtr2"]) == ("up", "up", "up")
    assert host.read_file("/etc/isakmpd/pubkeys/fqdn/alice.example.org") == alice_key  # held
    assert host.read_file("/etc/isakmpd/pubkeys/fqdn/dave.example.org") is None  # never added
    assert plan_router(cfg).plan == []
