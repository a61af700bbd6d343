"""The dead-man switch (`safety.confirm_within`): a change that cuts the router off is undone
by the router itself, as Junos' `commit confirmed` does; no pull agent has it.

- Arming: a run about to apply a new commit writes a pending-revert record into the state
  directory BEFORE its first change (atomically: temp file, fsync, rename): the commit,
  the commit applied before it (what a revert restores), a deadline, and the peerings that
  were up before, each with the probe that found it up (agent/health/alive.py). Written
  before, not after, the apply: a SIGKILL between the first change and a record written
  after the apply would leave a changed router that nothing reverts; a kill before the
  record is written leaves nothing changed.
- Confirming: every watched peering answers its probe again, and the remote answers a
  bounded `git ls-remote`. Tried at the end of the run that armed, at the start of every later
  run or cycle, and by the daemon, which wakes up for it (`next_check`) up to the deadline.
- Firing: a start that finds the record past its deadline, unconfirmed, holds the commit
  (agent/repo/source.py: the checkout goes back to the previous commit and the commit is not
  applied again until a newer one arrives) and the same cycle converges the router to the
  previous commit through the normal apply path. A record survives the agent: whichever run
  starts next honours it at once, before it pulls.
- A newer commit applied while a change is unconfirmed keeps the restore point (the last
  confirmed commit) and restarts the clock; the same commit applied again (a run killed
  half-way, resumed) keeps its deadline.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from agent.config import AgentConfig
from agent.router.record import load_record, write_atomic

if TYPE_CHECKING:
    from agent.repo.source import SyncResult
    from agent.run.converge import Prepared, RunOutcome

log = logging.getLogger("peerops")

PENDING = "pending-revert.json"
MIN_RETRY = 10.0  # seconds between two confirmation attempts of the daemon, at least


@dataclass
class Pending:
    """The pending-revert record (state_dir/pending-revert.json)."""

    commit: str  # the change waiting for confirmation
    previous: str  # the commit applied before it: what a revert restores
    armed_at: float
    deadline: float
    watch: dict[str, str]  # peer -> the probe that found it up before the change
    checked_at: float | None = None  # the last confirmation attempt
    unconfirmed: list[str] = field(default_factory=list)  # what that attempt found


def load_pending(state_dir: Any) -> Pending | None:
    path = state_dir / PENDING
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Pending(**{k: v for k, v in data.items() if k in Pending.__dataclass_fields__})


def save_pending(state_dir: Any, pending: Pending) -> None:
    write_atomic(state_dir / PENDING, json.dumps(asdict(pending), indent=1).encode())


def clear_pending(state_dir: Any) -> None:
    (state_dir / PENDING).unlink(missing_ok=True)


def iso(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts is not None else None


@dataclass
class DeadMan:
    """The switch as one cycle sees it; every method is a no-op when it is off."""

    cfg: AgentConfig
    clock: Callable[[], float] = time.time
    fired: bool = False  # this run fired a revert (its changes restore the previous commit)

    @property
    def enabled(self) -> bool:
        return self.cfg.safety.confirm_within > 0 and self.cfg.remote is not None

    # -- a run starts ----------------------------------------------------------------------------
    def on_start(self) -> None:
        """Honour a pending record: confirm it, fire it when past its deadline, else wait.
        Runs even when the switch was turned off since: an armed revert is never forgotten."""
        pending = load_pending(self.cfg.state_dir)
        if pending is None:
            return
        if self._confirm(pending):
            return
        if self.clock() >= pending.deadline:
            self._fire(pending)

    # -- arming ------------------------------------------------------------------------------------
    def arming(
        self, sync: SyncResult, applied_before: str | None
    ) -> Callable[[Prepared, RunOutcome], None] | None:
        """The hook apply_router calls before the first change of a non-empty plan."""
        if not self.enabled or sync.commit is None or sync.status not in ("ok", "unreachable"):
            return None  # a held commit's restore is never armed itself
        commit = sync.commit

        def arm(prepared: Prepared, outcome: RunOutcome) -> None:
            self._arm(commit, applied_before, prepared)

        return arm

    def _arm(self, commit: str, applied_before: str | None, prepared: Prepared) -> None:
        from agent.health.alive import liveness

        now = self.clock()
        existing = load_pending(self.cfg.state_dir)
        if existing is None and applied_before in (None, commit):
            return  # the first apply has nothing to go back to; drift fixes restore nothing
        previous = existing.previous if existing else applied_before
        if previous is None or previous == commit:
            return
        peers = {p.peer for p in prepared.peerings}  # a peering the commit removes is not watched
        if existing is not None:
            watch = {p: probe for p, probe in existing.watch.items() if p in peers}
            same = existing.commit == commit
            armed_at = existing.armed_at if same else now
            deadline = existing.deadline if same else now + self.cfg.safety.confirm_within
        else:
            interfaces = prepared.record.interfaces
            found = [
                liveness(prepared.host, prepared.observed, interfaces, peer)
                for peer in sorted(peers & set(interfaces))
            ]
            watch = {f.peer: f.probe for f in found if f.up}
            armed_at, deadline = now, now + self.cfg.safety.confirm_within
        save_pending(self.cfg.state_dir, Pending(commit, previous, armed_at, deadline, watch))
        log.info(
            "dead-man switch armed for %s: restores %s unless confirmed by %s (watching %s and "
            "the remote)",
            commit[:12], previous[:12], iso(deadline), ", ".join(sorted(watch)) or "no peering",
        )

    # -- after the run ---------------------------------------------------------------------------
    def after_run(self) -> None:
        """Try to confirm what is armed, right after the run that armed it (or any later)."""
        pending = load_pending(self.cfg.state_dir)
        if pending is not None:
            self._confirm(pending)

    def next_check(self) -> float | None:
        """When the daemon must wake up for the switch (epoch seconds), or None."""
        pending = load_pending(self.cfg.state_dir)
        if pending is None:
            return None
        retry = max(MIN_RETRY, self.cfg.safety.confirm_within / 5)
        return min(pending.deadline, (pending.checked_at or pending.armed_at) + retry)

    def report(self, sync: SyncResult | None) -> dict[str, Any] | None:
        """The report's `revert`: armed (a record is pending) or fired (a commit is held)."""
        pending = load_pending(self.cfg.state_dir)
        if pending is not None:
            return {
                "state": "armed",
                "commit": pending.commit,
                "previous": pending.previous,
                "at": iso(pending.armed_at),
                "deadline": iso(pending.deadline),
                "watching": sorted(pending.watch),
                "reason": "; ".join(pending.unconfirmed) or None,
            }
        held = sync.held if sync is not None else None
        if held:
            return {
                "state": "fired",
                "commit": held["commit"],
                "previous": held["restored"],
                "at": iso(held["at"]),
                "deadline": None,
                "watching": [],
                "reason": held["reason"],
            }
        return None

    # -- the probes ------------------------------------------------------------------------------
    def problems(self, pending: Pending) -> list[str]:
        """What stands between the pending change and its confirmation (empty: confirmed)."""
        from agent.facts.observe import observe
        from agent.health.alive import liveness
        from agent.repo.source import GitSource

        host = self.cfg.make_host()
        obs = observe(host)
        interfaces = load_record(self.cfg.state_dir).interfaces
        found = [liveness(host, obs, interfaces, peer) for peer in sorted(pending.watch)]
        problems = [f.describe() for f in found if not f.up]
        unreachable = self.cfg.remote and GitSource(self.cfg, clock=self.clock).reachable()
        if unreachable:
            problems.append(f"remote {self.cfg.remote}: {unreachable}")
        return problems

    def _confirm(self, pending: Pending) -> bool:
        problems = self.problems(pending)
        if not problems:
            clear_pending(self.cfg.state_dir)
            log.info("dead-man switch: %s confirmed", pending.commit[:12])
            return True
        pending.checked_at, pending.unconfirmed = self.clock(), problems
        save_pending(self.cfg.state_dir, pending)
        log.warning(
            "dead-man switch: %s not confirmed yet (reverts at %s): %s",
            pending.commit[:12], iso(pending.deadline), "; ".join(problems),
        )
        return False

    def _fire(self, pending: Pending) -> None:
        """Hold the commit and move the checkout back; this cycle then converges to it. The
        record goes only after the hold is saved, so a kill in between fires again."""
        from agent.repo.source import GitSource

        reason = f"not confirmed by {iso(pending.deadline)}: " + "; ".join(pending.unconfirmed)
        log.warning(
            "dead-man switch fired: reverting %s to %s (%s)",
            pending.commit[:12], pending.previous[:12], reason,
        )
        GitSource(self.cfg, clock=self.clock).hold(pending.commit, pending.previous, reason)
        clear_pending(self.cfg.state_dir)
        self.fired = True
