"""`peerops plan --repo DIR --router R --base REV`: a router's plan if a change merged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import edit
from tests.gitkit import commit_all, git


def peerops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], capture_output=True, text=True, check=False,
        timeout=300,
    )  # fmt: skip


@pytest.fixture
def repo(state_copy: Path) -> Path:
    git(state_copy, "init", "-q", "-b", "main")
    commit_all(state_copy, "base")
    git(state_copy, "checkout", "-q", "-b", "pr")
    return state_copy


def test_a_description_change_plans_only_that_interface_with_a_diff(repo: Path) -> None:
    edit(repo / "peers/rtr1/alice.yaml", "description: dn42 peer alice", "description: alice v2")
    commit_all(repo, "alice: description")
    out = peerops("plan", "--repo", str(repo), "--router", "rtr1", "--base", "main",
                  "--format", "json")  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr  # changes pending
    result = json.loads(out.stdout)
    steps = result["plan"]
    assert steps and all("alice" in (s.get("peer") or s["resource"]) for s in steps), steps
    [(path, diff)] = result["diffs"].items()
    assert path.startswith("/etc/hostname.gre")
    assert '-description "peerops alice: dn42 peer alice"' in diff
    assert '+description "peerops alice: alice v2"' in diff
    md = peerops("plan", "--repo", str(repo), "--router", "rtr1", "--base", "main",
                 "--format", "markdown")  # fmt: skip
    assert md.returncode == 2
    assert md.stdout.startswith("### peerops plan: rtr1 at `") and "```diff" in md.stdout


def test_a_router_the_change_does_not_touch_plans_nothing(repo: Path) -> None:
    edit(repo / "peers/rtr1/alice.yaml", "description: dn42 peer alice", "description: alice v2")
    commit_all(repo, "alice: description")
    out = peerops("plan", "--repo", str(repo), "--router", "rtr2", "--base", "main",
                  "--format", "markdown")  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Nothing to do" in out.stdout


def test_without_a_base_the_router_starts_fresh_and_an_invalid_head_is_shown(repo: Path) -> None:
    out = peerops("plan", "--repo", str(repo), "--router", "rtr2", "--format", "json")
    assert out.returncode == 2
    written = set(json.loads(out.stdout)["diffs"])
    assert {"/etc/ipsec.conf", "/etc/isakmpd/pubkeys/ipv4/203.0.113.9"} <= written
    edit(repo / "peers/rtr2/carol.yaml", "asn: 4242429876", "asn: none")
    commit_all(repo, "broken")
    out = peerops("plan", "--repo", str(repo), "--router", "rtr2", "--base", "main",
                  "--format", "markdown")  # fmt: skip
    assert out.returncode == 4  # run/verdict.py: a repo that does not validate is a failure
    assert "**The repo does not validate:**" in out.stdout and "carol.yaml" in out.stdout
    lone = peerops("plan", "--router", "rtr2")
    assert lone.returncode == 1 and "go together" in lone.stderr
