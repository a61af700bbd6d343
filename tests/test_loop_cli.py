"""The loop's commands as a person runs them: peerops run, status, fleet."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet
from agent.router.apply import Applier
from agent.router.steps import LoadRules
from agent.run.converge import RunOutcome, apply_router, prepare
from agent.run.lock import RunLock
from agent.sim import daemons
from agent.sim.host import SimHost
from tests.sim.fleetkit import in_ctx


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AgentConfig]:
    return build_demo_fleet(tmp_path_factory.mktemp("fleet"))


def peerops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_run_status_and_fleet(fleet: dict[str, AgentConfig]) -> None:
    for cfg in fleet.values():
        first = peerops("run", "-c", cfg.source)
        assert first.returncode == 2, first.stdout + first.stderr
        assert "status report: committed, pushed" in first.stdout
    again = peerops("run", "-c", fleet["rtr1"].source, "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    report = json.loads(again.stdout)
    assert report["result"] == "converged" and report["changes"] == []
    status = peerops("status", "-c", fleet["rtr1"].source)
    assert status.returncode == 0 and status.stdout.startswith("rtr1: converged at commit ")
    table = peerops("fleet", "-c", fleet["rtr2"].source)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["ROUTER", "RESULT", "COMMIT"]
    assert [line.split()[0] for line in lines[1:]] == ["rtr1", "rtr2"]
    assert all(line.split()[4] in ("3/3", "2/2") for line in lines[1:])
    as_json = json.loads(peerops("fleet", "-c", fleet["rtr2"].source, "--json").stdout)
    assert {r["router"] for r in as_json["routers"]} == {"rtr1", "rtr2"}


def test_second_run_while_one_is_active_exits_at_once(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    with RunLock(cfg.lock_path):
        busy = peerops("run", "-c", cfg.source)
    assert busy.returncode == 1
    assert "another peerops run" in busy.stderr and "Traceback" not in busy.stderr


def test_stale_isakmpd_fifo_times_out_instead_of_hanging(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    apply_router(cfg)
    host = SimHost(cfg.root)
    in_ctx(host, lambda ctx: daemons.kill(ctx, "isakmpd"))  # SIGKILL leaves its FIFO behind
    assert host.stat("/var/run/isakmpd.fifo") is not None  # never read it: a FIFO blocks
    outcome = RunOutcome(cfg.router)
    prepared = prepare(cfg, outcome)
    assert prepared is not None
    applier = Applier(host, prepared.desired, prepared.record, cfg.state_dir, command_timeout=2)
    (result,) = applier.apply(
        [LoadRules("ipsec:rules", "test")]
    )
    assert not result.ok and "timed out" in (result.error or "")
    assert apply_router(cfg).exit_code == 2  # the next run restarts isakmpd and reloads
