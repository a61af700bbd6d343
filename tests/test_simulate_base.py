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
