"""The cycle's log lines: one per change at info, one per cycle that says what happened."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet
from agent.run.cycle import Agent
from agent.run.logline import cycle_line, first_failure
from agent.sim.host import SimHost


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, AgentConfig]:
    return build_demo_fleet(tmp_path / "fleet")


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "peerops"]


def test_a_drift_fix_logs_the_change_and_the_cycle(
    fleet: dict[str, AgentConfig], caplog: pytest.LogCaptureFixture
) -> None:
    cfg = fleet["rtr1"]
    Agent(cfg).cycle()
    Agent(fleet["rtr2"]).cycle()  # the internal link's other end
    assert SimHost(cfg.root).run(["ifconfig", "gre1", "destroy"]).rc == 0
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="peerops"):
        result = Agent(cfg).cycle()
    commit = str(result.report["commit"])[:12]
    assert _lines(caplog) == [
        (logging.INFO, "rtr1: change gre:gre1: sh /etc/netstart gre1 (gre1 does not exist) "
                       "[corrective]: done"),
        (logging.INFO, f"rtr1: changed, commit {commit}, 1 change, peers 3/3 up, "
                       "remote: ok, report pushed"),
    ]


def test_an_unreachable_remote_and_a_down_peer_are_a_warning_with_the_reason(
    fleet: dict[str, AgentConfig], caplog: pytest.LogCaptureFixture
) -> None:
    cfg = fleet["rtr1"]
    Agent(cfg).cycle()
    assert cfg.remote
    shutil.rmtree(cfg.remote)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="peerops"):
        result = Agent(cfg).cycle()
    level, line = _lines(caplog)[-1]
    assert line.startswith(f"rtr1: {result.report['result']}, commit ")
    assert "remote: remote unreachable since " in line
    assert level == (logging.INFO if result.report["result"] == "converged" else logging.WARNING)


def test_first_failure_prefers_errors_then_failed_changes_then_down_peers() -> None:
    report = {
        "router": "rtr1",
        "result": "failed",
        "commit": "0123456789abcdef",
        "errors": [],
        "changes": [{"resource": "rule:alice", "action": "ipsecctl -f", "ok": False,
                     "error": "ipsecctl: exit 1"}],
        "peers": [{"peer": "alice", "state": "down", "reason": "no SA"},
                  {"peer": "bob", "state": "up"}],
        "source": {"status": "ok"},
    }
    assert first_failure(report) == "rule:alice: ipsecctl: exit 1"
    line = cycle_line(report, new_commit=True, pending=2, publish_error="push rejected")
    assert line == (
        "rtr1: failed, commit 0123456789ab (new), 1 change, peers 1/2 up, "
        "first failure: rule:alice: ipsecctl: exit 1, "
        "remote: ok, report push failed (2 queued): push rejected"
    )
    report["changes"] = []
    assert first_failure(report) == "alice down: no SA"
    report["errors"] = ["state repo invalid: peers/rtr1/alice.yaml:3:1: asn: required"]
    assert first_failure(report) == report["errors"][0]


def test_cycle_line_reads_a_real_report(tmp_path: Path) -> None:
    """The line is built from the report as cycles write it (report.schema.json), not from a
    hand-made dict: a shape change of the report must break this test, not the daemon."""
    from agent.lab.demo import build_demo_fleet
    from agent.run.cycle import Agent

    fleet = build_demo_fleet(tmp_path / "fleet")
    for each in fleet.values():
        Agent(each).cycle()
    result = Agent(fleet["rtr1"]).cycle()
    line = cycle_line(result.report)
    assert line.startswith("rtr1: converged, commit ") and ", 0 changes, peers 3/3 up" in line
