"""`peerops simulate`: the fleet simulation a pull-request check runs on a state repo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import edit
from tests.gitkit import commit_all, git


def peerops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_pull_request_checkout_simulates_every_link_up(state_copy: Path) -> None:
    git(state_copy, "init", "-q")  # a PR checkout is a git work tree: its .git is not copied
    commit_all(state_copy, "the PR")
    result = peerops("simulate", "--json", str(state_copy))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["second_run_steps"] == {"rtr1": 0, "rtr2": 0}
    links = {(link["router"], link["peer"]): link["state"] for link in report["peers"]}
    assert links == {
        ("rtr1", "alice"): "up",
        ("rtr1", "bob"): "up",
        ("rtr1", "rtr2"): "up",
        ("rtr2", "carol"): "up",
        ("rtr2", "rtr1"): "up",
    }


def test_invalid_pull_request_fails_with_annotations(state_copy: Path) -> None:
    edit(state_copy / "peers/rtr1/alice.yaml", "endpoint: 198.51.100.7", "endpoint: 2001:db8::99")
    edit(state_copy / "routers/rtr1.yaml", '  ipv6: "2001:db8:1::1"\n', "")
    result = peerops("simulate", str(state_copy))
    assert result.returncode == 1
    assert "peers/rtr1/alice.yaml:" in result.stdout and "has no IPv6 endpoint" in result.stdout
