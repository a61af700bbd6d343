"""Whole cycles: pull → converge → report → push, against a real bare remote."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from agent.config import AgentConfig, ScheduleConfig
from agent.lab.demo import build_demo_fleet
from agent.run.cycle import Agent
from agent.status.report import read_last_report
from tests.gitkit import commit_all, git, maintainer_clone, push


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, AgentConfig]:
    return build_demo_fleet(tmp_path / "fleet")


def status_log(cfg: AgentConfig) -> list[str]:
    assert cfg.remote
    out = git(Path(cfg.remote), "log", "--format=%s", cfg.status_branch)
    return out.splitlines()


def status_file(cfg: AgentConfig, path: str) -> dict:
    assert cfg.remote
    return yaml.safe_load(git(Path(cfg.remote), "show", f"{cfg.status_branch}:{path}"))


def test_report_lands_and_quiet_cycle_commits_nothing(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    agent = Agent(cfg)
    first = agent.cycle()
    assert (first.committed, first.pushed, first.exit_code) == (True, True, 2)
    report = status_file(cfg, "reports/rtr1.yaml")
    assert report["router"] == "rtr1" and report["result"] == "changed"
    assert report["commit"] == git(cfg.repo, "rev-parse", "HEAD")
    assert report["changes"] and {c["kind"] for c in report["changes"]} == {"intentional"}
    peers = {v["peer"]: v for v in report["peers"]}
    assert list(peers) == ["alice", "bob", "rtr2"]  # sorted: equal states are equal bytes
    assert peers["alice"]["state"] == "up" and peers["alice"]["router"] == "rtr1"
    assert status_log(cfg)[0].startswith("rtr1: applied ")
    second = Agent(cfg).cycle()  # a fresh process: nothing in memory
    assert (second.committed, second.exit_code) == (False, 0)
    assert len(status_log(cfg)) == 1
    assert read_last_report(cfg.state_dir)["result"] == "converged"  # local report is current


def test_drift_fix_is_committed_as_corrective(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    Agent(cfg).cycle()
    from agent.sim.host import SimHost

    assert SimHost(cfg.root).run(["ifconfig", "gre1", "destroy"]).rc == 0
    result = Agent(cfg).cycle()
    assert result.committed
    assert {c["kind"] for c in result.report["changes"]} == {"corrective"}
    assert status_log(cfg)[0].startswith("rtr1: corrected drift")


def test_heartbeat_commits_an_unchanged_report(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    now = [1_000_000.0]
    Agent(fleet["rtr2"]).cycle()  # the other end of the internal link
    Agent(cfg, clock=lambda: now[0]).cycle()
    now[0] += 3600
    assert not Agent(cfg, clock=lambda: now[0]).cycle().committed
    now[0] += cfg.schedule.heartbeat
    beat = Agent(cfg, clock=lambda: now[0]).cycle()
    assert beat.committed and status_log(cfg)[0] == "rtr1: heartbeat, 3/3 peers up"


def test_remote_down_for_a_cycle_loses_no_report(
    fleet: dict[str, AgentConfig], tmp_path: Path
) -> None:
    cfg = fleet["rtr1"]
    Agent(cfg).cycle()
    assert cfg.remote
    remote = Path(cfg.remote)
    from agent.sim.host import SimHost

    SimHost(cfg.root).run(["ifconfig", "gre1", "destroy"])  # something worth reporting
    shutil.move(remote, tmp_path / "away.git")
    down = Agent(cfg).cycle()
    assert down.sync.status == "unreachable"
    assert down.committed and not down.pushed and down.pending == 1
    assert down.report["source"]["status"] == "unreachable"
    assert down.outcome.exit_code == 2  # the drift was corrected without git
    shutil.move(tmp_path / "away.git", remote)
    back = Agent(cfg).cycle()
    assert back.pushed and back.pending == 0
    log = status_log(cfg)
    assert any(line.startswith("rtr1: corrected drift") for line in log)


def test_refused_commit_is_reported_as_stalled(
    fleet: dict[str, AgentConfig], tmp_path: Path
) -> None:
    cfg = fleet["rtr1"]
    Agent(cfg).cycle()
    assert cfg.remote
    work = maintainer_clone(Path(cfg.remote), tmp_path / "work")
    first = git(work, "rev-parse", "HEAD")
    (work / "peers/rtr1/bob.yaml").unlink()
    commit_all(work, "remove bob")
    push(work)
    Agent(cfg).cycle()
    git(work, "reset", "-q", "--hard", first)
    push(work, force=True)
    result = Agent(cfg).cycle()
    assert result.report["result"] == "stalled" and result.exit_code & 4
    assert "rewound" in result.report["source"]["message"]
    # still enforcing the verified commit
    assert "bob" not in {v["peer"] for v in result.report["peers"]}


def test_run_timeout_still_reports(fleet: dict[str, AgentConfig]) -> None:
    cfg = dataclasses.replace(fleet["rtr1"], schedule=ScheduleConfig(run_timeout=1e-9))
    result = Agent(cfg).cycle()
    assert result.report["result"] == "failed"
    assert any("run timed out" in e for e in result.report["errors"])
    assert result.committed and result.pushed


def test_local_key_is_published_and_rotation_reported(fleet: dict[str, AgentConfig]) -> None:
    from agent.keys import install_key_pair, parse_public_key
    from agent.sim.host import SimHost

    cfg = fleet["rtr1"]
    first = Agent(cfg).cycle()
    assert cfg.remote
    published = git(Path(cfg.remote), "show", f"{cfg.status_branch}:keys/rtr1.pub")
    local_pub = (SimHost(cfg.root).read_file("/etc/isakmpd/local.pub") or b"").decode()
    assert published.strip() == local_pub.strip()
    old = first.report["local_key"]["fingerprint"]
    assert old == parse_public_key(local_pub).fingerprint and first.report["local_key"]["ok"]
    alice = next(v for v in first.report["peers"] if v["peer"] == "alice")
    assert alice["key_fingerprint"].startswith("SHA256:")
    install_key_pair(SimHost(cfg.root), force=True)  # the operator rotates the router's key
    rotated = Agent(cfg).cycle()
    assert rotated.committed and rotated.report["local_key"]["fingerprint"] != old
    assert status_log(cfg)[0].endswith(
        f"local key rotated to {rotated.report['local_key']['fingerprint']}"
    )
    assert git(Path(cfg.remote), "show", f"{cfg.status_branch}:keys/rtr1.pub") != published


def test_a_cycle_never_reads_the_private_key(
    fleet: dict[str, AgentConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.router.desired import LOCAL_KEY
    from agent.sim.host import SimHost

    read: list[str] = []
    real_read = SimHost.read_file

    def spying_read(self: SimHost, path: str) -> bytes | None:
        read.append(path)
        return real_read(self, path)

    monkeypatch.setattr(SimHost, "read_file", spying_read)
    result = Agent(fleet["rtr1"]).cycle()
    assert result.report["local_key"]["ok"] and result.report["local_key"]["fingerprint"]
    assert "/etc/isakmpd/local.pub" in read
    assert LOCAL_KEY not in read
