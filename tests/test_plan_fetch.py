"""`peerops plan --fetch`: the remote's new commit, verified under the trust policy and
planned, while the checkout, the trust anchor and the router stay as they are; plain
`plan` says when the remote is ahead of the checkout."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet
from agent.run.cycle import Agent
from tests.conftest import edit
from tests.gitkit import commit_all, git, maintainer_clone, push


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, AgentConfig]:
    configs = build_demo_fleet(tmp_path / "fleet")
    for cfg in configs.values():
        Agent(cfg).cycle()
    return configs


@pytest.fixture
def maint(fleet: dict[str, AgentConfig], tmp_path: Path) -> Path:
    """A maintainer's clone of rtr1's remote, to push to."""
    remote = fleet["rtr1"].remote
    assert remote
    return maintainer_clone(Path(remote), tmp_path / "maint")


def _snapshot(cfg: AgentConfig) -> tuple[str, bytes, bytes]:
    head = git(cfg.repo, "rev-parse", "HEAD")
    conf = (cfg.root / "etc/ipsec.conf").read_bytes()
    return head, (cfg.state_dir / "source.json").read_bytes(), conf


def test_plan_fetch_previews_the_new_commit_and_moves_nothing(
    fleet: dict[str, AgentConfig], maint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, work = fleet["rtr1"], maint
    edit(work / "peers/rtr1/alice.yaml", "dn42 peer alice", "dn42 peer alice two")
    new = commit_all(work, "alice: a new description")
    push(work)
    before = _snapshot(cfg)
    capsys.readouterr()

    assert main(["plan", "-c", str(cfg.source)]) == 0  # the checkout itself: nothing to do
    out = capsys.readouterr().out
    assert f"the remote's main is at {new[:12]}" in out and "plan --fetch" in out

    assert main(["plan", "--fetch", "-c", str(cfg.source)]) == 2
    out = capsys.readouterr().out
    assert f"plan of {new[:12]} (fetched and verified, not applied)" in out
    assert "ifconfig gre1 description 'peerops alice: dn42 peer alice two'" in out
    assert _snapshot(cfg) == before  # checkout, trust anchor and router untouched

    assert main(["plan", "--fetch", "--json", "-c", str(cfg.source)]) == 2
    assert json.loads(capsys.readouterr().out)["commit"] == new
    Agent(cfg).cycle()  # the real pull applies it; plan and the remote agree again
    assert main(["plan", "-c", str(cfg.source)]) == 0
    assert "remote's main" not in capsys.readouterr().out


def test_plan_fetch_refuses_what_the_trust_policy_refuses(
    fleet: dict[str, AgentConfig], maint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, work = fleet["rtr1"], maint
    edit(work / "peers/rtr1/alice.yaml", "dn42 peer alice", "dn42 peer alice rewound")
    git(work, "commit", "-q", "--amend", "-a", "-m", "the applied commit, rewritten")
    push(work, force=True)
    before = _snapshot(cfg)
    capsys.readouterr()
    assert main(["plan", "--fetch", "-c", str(cfg.source)]) == 4
    err = capsys.readouterr().err
    assert "plan --fetch: refused:" in err and "rewound or force-pushed" in err
    assert _snapshot(cfg) == before


def test_plan_fetch_exports_no_link_out_of_the_tree(
    fleet: dict[str, AgentConfig], maint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, work = fleet["rtr1"], maint
    os.symlink("/etc/passwd", work / "peers/rtr1/zed.yaml")
    commit_all(work, "a link to the router's own disk")
    push(work)
    capsys.readouterr()
    assert main(["plan", "--fetch", "-c", str(cfg.source)]) == 4
    captured = capsys.readouterr()
    assert "root:" not in captured.out + captured.err  # nothing of /etc/passwd is shown
    assert "Traceback" not in captured.err
