"""The one verdict: every combination of findings → result and exit code, and the commands
that must use it (an internal error is a failure, a usage error exits 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.cli import main
from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet
from agent.run.cycle import Agent
from agent.run.verdict import Findings, verdict
from agent.status.report import read_last_report

# (findings, result, exit code): the contract of README "exit codes", row by row.
CASES = [
    (Findings(), "converged", 0),
    (Findings(changed=3), "changed", 2),
    (Findings(pending=3), "converged", 2),  # plan: changes pending, nothing wrong
    (Findings(degraded=1), "degraded", 4),
    (Findings(changed=1, degraded=1), "degraded", 6),
    (Findings(invalid=True), "stalled", 4),
    (Findings(refused=True), "stalled", 4),
    (Findings(refused=True, changed=2), "stalled", 6),  # drift fixed on the old commit
    (Findings(failed_steps=1), "failed", 4),
    (Findings(failed_steps=1, changed=2), "failed", 6),
    (Findings(residual=1), "failed", 4),
    (Findings(run_errors=1), "failed", 4),
    (Findings(run_errors=1, invalid=True), "failed", 4),  # a broken run outranks stalled
    (Findings(failed_steps=1, degraded=2), "failed", 4),
    (Findings(invalid=True, degraded=1), "stalled", 4),
]


@pytest.mark.parametrize(("findings", "result", "code"), CASES)
def test_verdict_table(findings: Findings, result: str, code: int) -> None:
    v = verdict(findings)
    assert (v.result, v.exit_code) == (result, code)
    assert v.healthy == (result in ("converged", "changed"))


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, AgentConfig]:
    return build_demo_fleet(tmp_path / "fleet")


def test_an_internal_error_in_a_cycle_is_failed_everywhere(
    fleet: dict[str, AgentConfig], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A bug inside converge (simulated: the loader raises) is never "converged, exit 0":
    the exit code, the printed line, the local report and the published report agree."""
    cfg = fleet["rtr1"]
    Agent(cfg).cycle()

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("loader exploded")

    monkeypatch.setattr("agent.run.converge.load_inventory_cached", broken)
    assert main(["run", "-c", str(cfg.source)]) == 4
    out = capsys.readouterr().out
    assert "rtr1: failed (0 change(s), exit 4)" in out
    assert "error: internal error: RuntimeError('loader exploded')" in out
    local = read_last_report(cfg.state_dir)
    assert local["result"] == "failed"
    assert any("loader exploded" in e for e in local["errors"])
    assert cfg.remote
    from tests.gitkit import git

    published = yaml.safe_load(git(Path(cfg.remote), "show", "status:reports/rtr1.yaml"))
    assert published["result"] == "failed"


def test_a_crash_in_the_pull_still_reports(
    fleet: dict[str, AgentConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = fleet["rtr1"]

    def broken(_self: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr("agent.repo.source.GitSource.sync", broken)
    result = Agent(cfg).cycle()
    assert (result.verdict.result, result.exit_code) == ("failed", 4)
    assert result.sync.status == "error" and result.outcome.results == []
    assert read_last_report(cfg.state_dir)["source"]["status"] == "error"


def test_an_internal_error_in_a_command_exits_4_with_the_cause(
    fleet: dict[str, AgentConfig], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr("agent.run.converge.plan_router", broken)
    assert main(["plan", "-c", str(fleet["rtr1"].source)]) == 4
    err = capsys.readouterr().err
    assert "peerops: internal error: KeyError('boom')" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv", [["plan", "--no-such-flag"], ["no-such-command"], ["apply", "-c"], []]
)
def test_usage_errors_exit_1_not_2(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    """2 means "changes applied" for apply and run: a typo must not read as success."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "usage: peerops" in err and "error:" in err


def test_plan_exit_codes(fleet: dict[str, AgentConfig], capsys: pytest.CaptureFixture) -> None:
    cfg = fleet["rtr1"]
    assert main(["plan", "-c", str(cfg.source)]) == 2  # a fresh router: everything pending
    assert main(["apply", "-c", str(cfg.source)]) == 2
    assert main(["plan", "-c", str(cfg.source)]) == 0
    (cfg.repo / "peers" / "rtr1" / "alice.yaml").write_text("asn: [\n")
    assert main(["plan", "-c", str(cfg.source)]) == 4  # invalid repo: stalled
    capsys.readouterr()
