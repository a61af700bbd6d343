"""`peerops simulate --base REV`: base and head simulated, links compared."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agent.health.peer import PeerHealth
from agent.lab.simulate import Simulation
from agent.pr.compare import classify
from tests.conftest import edit
from tests.gitkit import commit_all, git


def link(router: str, peer: str, state: str, reason: str | None = None) -> PeerHealth:
    up = state == "up"
    return PeerHealth(router, peer, "gre1", True, True, int(up), int(up), int(up), int(up), up,
                      state, reason)  # fmt: skip


def test_a_pr_that_adds_changes_and_removes_links(state_copy: Path) -> None:
    git(state_copy, "init", "-q", "-b", "main")
    commit_all(state_copy, "base")
    edit(state_copy / "peers/rtr1/alice.yaml", "description: dn42 peer alice", "description: a2")
    (state_copy / "peers/rtr2/carol.yaml").unlink()
    commit_all(state_copy, "the change")
    out = subprocess.run(
        [sys.executable, "-m", "agent", "simulate", "--base", "HEAD~1", "--json", str(state_copy)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert result["removed"] == ["rtr2/carol"] and result["added"] == []
    assert result["changed"] == {"rtr1/alice": ["description"]}
    assert result["broken"] == {}


def test_links_up_at_the_base_and_down_at_the_head_are_broken() -> None:
    before = Simulation(links=[link("rtr1", "alice", "up"), link("rtr1", "bob", "up")])
    after = Simulation(
        links=[link("rtr1", "alice", "down", "no SA"), link("rtr1", "bob", "up"),
               link("rtr1", "erin", "negotiating")]
    )  # fmt: skip
    result = classify("b", "h", before, after, {"rtr1/alice": ["ipv4"]})
    assert result.broken == {"rtr1/alice": "no SA", "rtr1/erin": "negotiating"}
    assert result.added == ["rtr1/erin"] and result.changed == {"rtr1/alice": ["ipv4"]}
    assert not result.ok
    was_down = Simulation(links=[link("rtr1", "alice", "down", "no SA")])
    assert classify("b", "h", was_down, was_down, {}).broken == {}  # not this change's doing


def simulate_base(repo: Path, *extra: str) -> tuple[int, dict]:
    out = subprocess.run(
        [sys.executable, "-m", "agent", "simulate", "--base", "HEAD~1", "--json", *extra,
         str(repo)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stdout + out.stderr
    return out.returncode, json.loads(out.stdout)


def new_peer(repo: Path, name: str, endpoint: str, asn: str) -> None:
    """`peer new` as the peer runs it (a throwaway key: simulate gives each peer its own)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = repo.parent / f"{name}.pub"
    pem.write_bytes(key.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    out = subprocess.run(
        [sys.executable, "-m", "agent", "peer", "new", "--repo", str(repo), "--router", "rtr1",
         "--name", name, "--asn", asn, "--endpoint", endpoint, "--key", str(pem)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_peers_wrong_side_address_breaks_the_link_its_exported_side_holds(
    state_copy: Path,
) -> None:
    """erin onboarded with `peer new` (merged: the base); her next PR writes her own address
    under `router` and ours under `peer`. Her router keeps the side `peer config` gave her,
    so the link goes down: simulate --base says broken and exits 1. The correct file keeps
    every link up and converged (the second run plans nothing)."""
    git(state_copy, "init", "-q", "-b", "main")
    new_peer(state_copy, "erin", "198.51.100.50", "4242421999")
    commit_all(state_copy, "peer erin")  # the base: merged and working
    erin = state_copy / "peers/rtr1/erin.yaml"
    edit(erin, 'description: "dn42 peer erin"', 'description: "erin, dual-stack"')
    commit_all(state_copy, "erin: a new description (correct file)")
    code, fine = simulate_base(state_copy)
    assert code == 0, fine
    assert fine["changed"] == {"rtr1/erin": ["description"]} and fine["broken"] == {}
    assert fine["head_simulation"]["second_run_steps"] == {"rtr1": 0, "rtr2": 0}
    states = {(h["router"], h["peer"]): h["state"] for h in fine["head_simulation"]["peers"]}
    assert states[("rtr1", "erin")] == "up" and set(states.values()) == {"up"}

    # The wrong side: erin's own transfer address (172.20.1.5) under `router`, ours under `peer`.
    edit(erin, 'router: "172.20.1.4"', 'router: "172.20.1.5"')
    edit(erin, 'peer: "172.20.1.5"', 'peer: "172.20.1.4"')
    commit_all(state_copy, "erin: my address first")
    code, wrong = simulate_base(state_copy)
    assert code == 1
    assert wrong["changed"] == {"rtr1/erin": ["ipv4"]}
    assert list(wrong["broken"]) == ["rtr1/erin"]
    assert "ping" in wrong["broken"]["rtr1/erin"] and "172.20.1.4" in wrong["broken"]["rtr1/erin"]


def test_a_change_that_moves_an_endpoint_adds_and_removes_peers(state_copy: Path) -> None:
    """Against real simulations of both revisions: carol's endpoint moves (her router is
    still where `peer config` put it: broken, with IKE's reason), bob is removed, frank is
    added and comes up from his own `peer config`, alice is untouched."""
    git(state_copy, "init", "-q", "-b", "main")
    commit_all(state_copy, "base")
    edit(state_copy / "peers/rtr2/carol.yaml", "endpoint: 203.0.113.9", "endpoint: 203.0.113.10")
    (state_copy / "peers/rtr1/bob.yaml").unlink()
    new_peer(state_copy, "frank", "198.51.100.60", "4242421888")
    commit_all(state_copy, "the change")
    code, result = simulate_base(state_copy)
    assert code == 1
    assert result["added"] == ["rtr1/frank"] and result["removed"] == ["rtr1/bob"]
    assert result["changed"] == {"rtr2/carol": ["remote_endpoint", "remote_id"]}
    assert result["broken"] == {
        "rtr2/carol": "flows: 0 in / 0 out for proto gre with 203.0.113.10"
    }  # fmt: skip
    states = {h["peer"]: h["state"] for h in result["head_simulation"]["peers"]}
    assert states["frank"] == "up" and states["alice"] == "up"
