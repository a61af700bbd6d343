"""The dead-man switch on the simulated fleet, with real git remotes and a clock we control.

Each scenario starts from a converged fleet whose rtr1 has run once (so it has an applied
commit to go back to), pushes a commit, and ends with a run that plans nothing.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from agent.config import AgentConfig, SafetyConfig
from agent.output import cycle_text, report_text
from agent.repo.source import load_source_state
from agent.run.cycle import Agent, CycleResult
from agent.run.deadman import PENDING, load_pending
from agent.sim.host import SimHost
from agent.status.fleetview import router_row
from agent.status.report import read_last_report, serialize
from tests.conftest import edit
from tests.gitkit import commit_all, git, maintainer_clone, push
from tests.simfleet import clone

WITHIN = 300.0


class Clock:
    """Wall-clock time we move by hand (the record's deadline is wall-clock time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rtr1(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> AgentConfig:
    """rtr1 of a converged fleet, switch on, after a first (quiet) run set its commit."""
    configs = clone(tmp_path_factory, tmp_path / "fleet")
    path = Path(configs["rtr1"].source)
    raw = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**raw, "safety": {"confirm_within": WITHIN}}))
    cfg = dataclasses.replace(configs["rtr1"], safety=SafetyConfig(confirm_within=WITHIN))
    first = Agent(cfg).cycle()
    assert first.outcome.plan == [] and first.verdict.healthy, first.report
    return cfg


def maintainer(cfg: AgentConfig, tmp_path: Path) -> Path:
    assert cfg.remote
    return maintainer_clone(Path(cfg.remote), tmp_path / "maintainer")


def break_alice(work: Path) -> str:
    """A commit changing alice's quick mode: alice keeps her proposal, so IKE fails."""
    path = work / "peers" / "rtr1" / "alice.yaml"
    edit(path, "gre:\n", "crypto:\n  quick: {enc: aes-128}\ngre:\n")
    sha = commit_all(work, "alice: quick mode aes-128 (alice did not agree)")
    push(work)
    return sha


def touch_alice(work: Path, text: str) -> str:
    """A harmless commit: alice's tunnel description."""
    path = work / "peers" / "rtr1" / "alice.yaml"
    edit(path, "description: dn42 peer alice", f"description: dn42 peer alice {text}")
    sha = commit_all(work, f"alice: description {text}")
    push(work)
    return sha


def live(cfg: AgentConfig) -> dict[str, str]:
    """The parts of rtr1 the scenarios change: its ipsec.conf and alice's interface."""
    host = SimHost(cfg.root)
    return {
        "ipsec.conf": (host.read_file("/etc/ipsec.conf") or b"").decode(),
        "gre1": host.run(["ifconfig", "gre1"]).stdout,
    }


def peers_up(result: CycleResult) -> dict[str, str]:
    return {v["peer"]: v["state"] for v in result.report["peers"]}


def quiet(cfg: AgentConfig, clock: Clock) -> CycleResult:
    """A run that must plan nothing (the idempotency every scenario ends with)."""
    result = Agent(cfg, clock=clock).cycle()
    assert result.outcome.plan == [], [s.describe() for s in result.outcome.plan]
    return result


def test_a_change_that_keeps_the_router_reachable_is_confirmed(
    rtr1: AgentConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="peerops")
    sha = touch_alice(maintainer(rtr1, tmp_path), "AS4242421234")
    result = Agent(rtr1).cycle()
    assert result.report["commit"] == sha and result.report["result"] == "changed"
    assert "dead-man switch armed for" in caplog.text  # it was armed ...
    assert f"dead-man switch: {sha[:12]} confirmed" in caplog.text  # ... and confirmed
    assert not (rtr1.state_dir / PENDING).exists() and result.report["revert"] is None
    assert "AS4242421234" in live(rtr1)["gre1"]
    clock = Clock()
    quiet(rtr1, clock)
    clock.now += WITHIN * 10
    assert quiet(rtr1, clock).report["commit"] == sha  # long after: nothing reverted


def test_a_change_that_breaks_a_peering_is_reverted_and_held(
    rtr1: AgentConfig, tmp_path: Path
) -> None:
    before = live(rtr1)
    previous = git(rtr1.repo, "rev-parse", "HEAD")
    work = maintainer(rtr1, tmp_path)
    bad = break_alice(work)
    clock = Clock()

    armed = Agent(rtr1, clock=clock).cycle()
    assert armed.report["commit"] == bad and live(rtr1) != before  # applied
    assert peers_up(armed)["alice"] != "up"  # negotiating for ever: alice refuses
    revert = armed.report["revert"]
    assert revert["state"] == "armed" and revert["previous"] == previous
    assert revert["watching"] == ["alice", "bob", "rtr2"]
    assert revert["reason"].startswith("alice: ping 172.20.1.2")  # ping where known
    assert f"revert armed: {bad[:12]}" in cycle_text(armed)  # what `peerops run` prints
    status = report_text(read_last_report(rtr1.state_dir))  # what `peerops status` prints
    assert f"revert armed: {bad[:12]} is reverted to {previous[:12]}" in status
    assert "not confirmed yet: alice: ping 172.20.1.2: 0 of 3 answered" in status

    clock.now += WITHIN - 1  # before the deadline: nothing is reverted yet
    waiting = Agent(rtr1, clock=clock).cycle()
    assert waiting.outcome.plan == [] and waiting.report["revert"]["state"] == "armed"

    clock.now += 2  # past it: the next start reverts before anything else
    fired = Agent(rtr1, clock=clock).cycle()
    assert live(rtr1) == before
    assert fired.report["commit"] == previous and fired.report["result"] == "stalled"
    assert fired.exit_code == 6  # changes made, and a failure an operator must see
    assert {c["kind"] for c in fired.report["changes"]} == {"revert"}
    assert fired.report["source"]["status"] == "held"
    assert fired.report["revert"]["state"] == "fired" and fired.report["revert"]["commit"] == bad
    assert "alice: ping 172.20.1.2" in fired.report["revert"]["reason"]
    assert set(peers_up(fired).values()) == {"up"}
    assert load_pending(rtr1.state_dir) is None
    status = report_text(read_last_report(rtr1.state_dir))
    assert f"revert fired at {fired.report['revert']['at']}: {bad[:12]} held" in status
    row = router_row("rtr1", serialize(fired.report), clock.now)  # `peerops fleet`
    assert f"revert fired: {bad[:12]}" in row.notes and row.result == "stalled"

    held = quiet(rtr1, clock)  # the held commit is not applied again
    assert held.report["commit"] == previous and held.report["source"]["status"] == "held"
    assert git(rtr1.repo, "rev-parse", "HEAD") == previous

    edit(work / "peers" / "rtr1" / "alice.yaml", "crypto:\n  quick: {enc: aes-128}\n", "")
    touch_alice(work, "fixed")  # a newer commit ends the hold, and is confirmed
    fixed = Agent(rtr1, clock=clock).cycle()
    assert fixed.report["source"]["status"] == "ok" and fixed.report["revert"] is None
    assert fixed.report["result"] == "changed" and set(peers_up(fixed).values()) == {"up"}
    assert load_source_state(rtr1.state_dir).held is None
    quiet(rtr1, clock)


def test_a_change_that_cuts_the_remote_off_is_reverted(
    rtr1: AgentConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent.run.cycle as cycle_module

    assert rtr1.remote
    remote, away = Path(rtr1.remote), Path(rtr1.remote + ".away")
    before = live(rtr1)
    previous = git(rtr1.repo, "rev-parse", "HEAD")
    bad = touch_alice(maintainer(rtr1, tmp_path), "cut-off")
    real_apply = cycle_module.apply_router

    def apply_then_cut(*args, **kwargs):  # the change takes the remote away
        outcome = real_apply(*args, **kwargs)
        remote.rename(away)
        return outcome

    monkeypatch.setattr(cycle_module, "apply_router", apply_then_cut)
    clock = Clock()
    armed = Agent(rtr1, clock=clock).cycle()
    monkeypatch.undo()
    assert armed.report["commit"] == bad and set(peers_up(armed).values()) == {"up"}
    assert armed.report["revert"]["state"] == "armed"
    assert armed.report["revert"]["reason"].startswith(f"remote {remote}:")

    clock.now += WITHIN + 1
    fired = Agent(rtr1, clock=clock).cycle()  # the remote is still away
    assert live(rtr1) == before and fired.report["commit"] == previous
    assert fired.report["revert"]["state"] == "fired"
    assert fired.report["source"]["status"] == "held"
    assert fired.report["source"]["unreachable_since"] is not None
    away.rename(remote)
    held = quiet(rtr1, clock)  # back: the remote still offers the held commit
    assert held.report["source"]["status"] == "held" and held.report["commit"] == previous


# The agent killed between arming and confirming: a wrapper runs the real `peerops run` and
# SIGKILLs it at one point (after the record is written; after the second step is
# journaled; after the apply, right before the confirmation).
KILLER = """
import os, signal, sys
import agent.router.record as record
import agent.run.deadman as deadman
point = sys.argv[1]
def die(): os.kill(os.getpid(), signal.SIGKILL)
real_arm, real_after = deadman.DeadMan._arm, deadman.DeadMan.after_run
def arm(self, *a):
    real_arm(self, *a)
    if point == "armed": die()
def after_run(self):
    if point == "applied": die()
    real_after(self)
real_note, notes = record.RecordJournal.note, []
def note(self, *a, **k):
    real_note(self, *a, **k)
    notes.append(1)
    if point == "mid-apply" and len(notes) == 2: die()
deadman.DeadMan._arm, deadman.DeadMan.after_run = arm, after_run
record.RecordJournal.note = note
from agent.cli import main
sys.exit(main(["run", "-c", sys.argv[2]]))
"""


@pytest.mark.parametrize("point", ["armed", "mid-apply", "applied"])
def test_the_agent_killed_before_confirming_is_reverted_by_the_next_start(
    rtr1: AgentConfig, tmp_path: Path, point: str
) -> None:
    before = live(rtr1)
    previous = git(rtr1.repo, "rev-parse", "HEAD")
    bad = break_alice(maintainer(rtr1, tmp_path))
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, point, rtr1.source],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    pending = json.loads((rtr1.state_dir / PENDING).read_text())
    assert pending["commit"] == bad and pending["previous"] == previous
    if point == "applied":
        assert live(rtr1) != before  # the change was made, then the agent died

    clock = Clock()
    clock.now = pending["deadline"] + 1
    first = Agent(rtr1, clock=clock).cycle()
    if point == "armed":
        # Killed before its first change: the next start confirms what is there (nothing
        # changed), then applies the commit and arms again.
        assert first.report["revert"]["state"] == "armed"
        clock.now += WITHIN + 1
        first = Agent(rtr1, clock=clock).cycle()
    assert first.report["revert"]["state"] == "fired", first.report
    assert live(rtr1) == before and first.report["commit"] == previous
    assert set(peers_up(first).values()) == {"up"}
    quiet(rtr1, clock)


def test_off_by_default_nothing_is_armed(rtr1: AgentConfig, tmp_path: Path) -> None:
    cfg = dataclasses.replace(rtr1, safety=SafetyConfig())
    break_alice(maintainer(cfg, tmp_path))
    result = Agent(cfg).cycle()
    assert result.report["revert"] is None and load_pending(cfg.state_dir) is None
    clock = Clock()
    clock.now += WITHIN * 10
    assert quiet(cfg, clock).report["source"]["status"] == "ok"  # nothing reverted, ever


def test_a_peering_without_a_known_address_is_confirmed_by_its_sas(
    rtr1: AgentConfig, tmp_path: Path
) -> None:
    """bob's /127 shows no peer address on gre: its SAs decide; the daemon's next wake-up
    is a confirmation attempt before the deadline."""
    before = live(rtr1)
    work = maintainer(rtr1, tmp_path)
    edit(work / "peers" / "rtr1" / "bob.yaml", "enc: aes-128, group: modp3072",
         "enc: aes-256, group: modp3072")
    commit_all(work, "bob: quick mode aes-256 (bob did not agree)")
    push(work)
    clock = Clock()
    armed = Agent(rtr1, clock=clock).cycle()
    reason = armed.report["revert"]["reason"]
    assert reason == "bob: SAs 2001:db8:1::1 <-> 2001:db8:b0b::7: no SA in both directions"
    pending = load_pending(rtr1.state_dir)
    assert pending is not None and pending.checked_at == clock.now
    assert Agent(rtr1, clock=clock).next_check() == clock.now + WITHIN / 5 < pending.deadline
    clock.now = pending.deadline
    fired = Agent(rtr1, clock=clock).cycle()
    assert fired.report["revert"]["state"] == "fired" and live(rtr1) == before
    quiet(rtr1, clock)
