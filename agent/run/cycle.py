"""One cycle of the agent: pull → load and validate → render → observe → diff → plan →
apply → verify → report → push. A report always comes out, whatever failed before it.

The fast path: when the commit is unchanged and the last cycle converged, the git-derived
part (load, validate, render) is reused from memory, but the live router is observed, and
drift corrected, every cycle (ansible-pull -o shows what goes wrong otherwise).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.config import AgentConfig
from agent.errors import ConfigError, PeeropsError
from agent.keys import loaded_fingerprint, local_key_report, remembered_parse
from agent.repo.source import GitSource, SyncResult
from agent.router.record import load_record, save_record
from agent.run.converge import RunOutcome, apply_router
from agent.run.deadline import Deadline
from agent.run.deadman import DeadMan
from agent.run.verdict import Verdict
from agent.status.report import (
    build_report,
    decide,
    load_published,
    save_published,
    serialize,
    write_last_report,
)

log = logging.getLogger("peerops")

# The last parse of /etc/isakmpd/local.pub, by its digest (keys.remembered_parse).
LOCAL_PUB_CACHE = "local-pub.json"


@dataclass
class CycleResult:
    outcome: RunOutcome
    sync: SyncResult
    report: dict[str, Any]
    committed: bool = False
    pushed: bool = False
    pending: int = 0
    publish_error: str | None = None
    serialized: bytes | None = None  # the report as written and published (serialized once)

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict(self.sync)

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code


@dataclass
class Agent:
    """The long-lived part of the agent: config, clock and the status publisher."""

    cfg: AgentConfig
    clock: Callable[[], float] = time.time
    should_stop: Callable[[], bool] = lambda: False
    publisher: Any = None  # agent.status.publish.StatusPublisher; built on first use
    _cache: tuple[str, Any] | None = field(default=None, init=False)  # (commit, inventory)

    def cycle(self) -> CycleResult:
        """Run one full cycle; always returns a result with a report (never raises for the
        router's or the network's problems)."""
        deadline = Deadline(self.cfg.schedule.run_timeout or None, should_stop=self.should_stop)
        outcome = RunOutcome(self.cfg.router)
        sync: SyncResult | None = None
        applied_before = self._applied_commit()
        deadman = DeadMan(self.cfg, self.clock)
        try:
            deadman.on_start()  # an armed revert is honoured first, before the pull
            sync = GitSource(self.cfg, clock=self.clock).sync()
            outcome = apply_router(
                self.cfg,
                deadline,
                self._cached_inventory(sync),
                before_changes=deadman.arming(sync, applied_before),
            )
            deadman.after_run()
        except ConfigError as exc:  # e.g. the router is not in the repo: nothing was touched
            outcome.config_errors.append(str(exc))
            log.error("%s", exc)
        except PeeropsError as exc:  # stop requested or time up before apply began
            outcome.errors.append(str(exc))
        except Exception as exc:
            # The cause, where it happened, on one line; the traceback only with -vv.
            where = traceback.extract_tb(exc.__traceback__)[-1]
            log.error("internal error: %r (at %s:%s)", exc, where.filename, where.lineno)
            log.debug("%s", traceback.format_exc())
            outcome.errors.append(f"internal error: {exc!r}")
        if sync is None:  # the pull itself broke: report it; nothing was applied
            sync = SyncResult(None, "error", message=(outcome.errors or outcome.config_errors)[-1])
        outcome.finished = outcome.finished or time.time()
        converged = outcome.verdict().healthy and sync.commit is not None
        self._cache = (sync.commit, outcome.inventory) if converged and outcome.inventory else None
        # A change is intentional when it comes with a commit not applied before (a merged
        # pull request), corrective when the commit is the same (drift was fixed), a revert
        # when the dead-man switch fired in this cycle.
        intentional = sync.commit is not None and sync.commit != applied_before
        kind = "revert" if deadman.fired else "intentional" if intentional else "corrective"
        if outcome.inventory is not None and sync.commit and not outcome.errors:
            record = load_record(self.cfg.state_dir)
            if record.commit != sync.commit:  # unchanged: no need to rewrite the whole record
                record.commit = sync.commit
                save_record(self.cfg.state_dir, record)
        report = build_report(
            self.cfg.router,
            sync,
            outcome,
            kind=kind,
            key_fingerprints=self._fingerprints(outcome),
            local_key=self._local_key(),
            schedule=(self.cfg.schedule.interval, self.cfg.schedule.heartbeat),
            revert=self._revert(deadman, sync),
        )
        serialized = write_last_report(self.cfg.state_dir, report)
        result = CycleResult(outcome, sync, report, serialized=serialized)
        self._publish(result)
        try:
            self._log(result)
        except Exception:  # a log line must never cost the cycle its result
            log.exception("cannot write the cycle's log line")
        return result

    def next_check(self) -> float | None:
        """When the daemon must run a cycle for the dead-man switch (epoch seconds), or None."""
        return DeadMan(self.cfg, self.clock).next_check()

    def _revert(self, deadman: DeadMan, sync: SyncResult) -> dict[str, Any] | None:
        try:
            return deadman.report(sync)
        except Exception as exc:  # the report must come out even if the record is unreadable
            log.error("cannot read the dead-man switch's record: %r", exc)
            return None

    def _log(self, result: CycleResult) -> None:
        """One line per change, then the cycle's line (a warning when not healthy)."""
        from agent.run.logline import change_lines, cycle_line

        for line in change_lines(result.report):
            log.info("%s", line)
        healthy = result.report.get("result") in ("converged", "changed")
        log.log(
            logging.INFO if healthy else logging.WARNING,
            "%s",
            cycle_line(
                result.report,
                new_commit=result.sync.new,
                committed=result.committed,
                pushed=result.pushed,
                pending=result.pending,
                publish_error=result.publish_error,
            ),
        )

    def _applied_commit(self) -> str | None:
        """The commit of the last apply; None when the record is unreadable (the run then
        fails inside its error handling, and still reports)."""
        try:
            return load_record(self.cfg.state_dir).commit
        except Exception:
            return None

    def _fingerprints(self, outcome: RunOutcome) -> dict[str, str | None]:
        if outcome.inventory is None:
            return {}
        return {
            p.peer: loaded_fingerprint(p.public_key)
            for p in outcome.inventory.for_router(self.cfg.router)
        }

    def _local_key(self) -> dict[str, Any] | None:
        """Our key pair as isakmpd will see it (never the private key's content)."""
        try:
            return local_key_report(
                self.cfg.make_host(), min_bits=self.cfg.keys.min_bits, read_private=False,
                parse=self._local_pub(),
            )
        except Exception as exc:  # the report must come out even if this look fails
            return {"ok": False, "problems": [{"problem": f"cannot check: {exc!r}"}]}

    def _cached_inventory(self, sync: SyncResult) -> Any:
        """The fast path: the inventory of the last converged cycle, if its commit is still
        the one to apply. Only with a remote: a local checkout may have uncommitted edits."""
        if self.cfg.remote and self._cache and self._cache[0] == sync.commit:
            return self._cache[1]
        return None

    def _publish(self, result: CycleResult) -> None:
        if self.cfg.remote is None:
            return
        now = self.clock()
        previous = load_published(self.cfg.state_dir)
        decision = decide(
            self.cfg.router, result.report, previous, now, self.cfg.schedule.heartbeat
        )
        publisher = self._publisher()
        if decision.commit:
            report = result.serialized or serialize(result.report)
            files = {f"reports/{self.cfg.router}.yaml": report, **self._key_files()}
            published = publisher.publish(files, decision.message)
            save_published(self.cfg.state_dir, result.report, now)
        else:
            published = publisher.flush()  # push what earlier cycles queued
        result.committed, result.pushed = published.committed, published.pushed
        result.pending, result.publish_error = published.pending, published.error

    def _local_pub(self) -> Callable[[str], Any]:
        """local.pub's parse, remembered in the state directory while its text is the same."""
        return remembered_parse(self.cfg.state_dir / LOCAL_PUB_CACHE)

    def _key_files(self) -> dict[str, bytes]:
        """keys/<router>.pub: our local.pub for peers to fetch (issue 4 fills this in)."""
        try:
            from agent.keys import published_key

            found = published_key(self.cfg.make_host(), self._local_pub())
        except Exception as exc:  # the report must come out even without the key
            log.warning("cannot read the local public key: %s", exc)
            return {}
        return {f"keys/{self.cfg.router}.pub": found[0].encode()} if found else {}

    def _publisher(self) -> Any:
        if self.publisher is None:
            from agent.status.publish import StatusPublisher

            assert self.cfg.remote is not None  # noqa: S101 - checked by the caller
            self.publisher = StatusPublisher(
                self.cfg.remote,
                self.cfg.router,
                self.cfg.state_dir / "status",
                branch=self.cfg.status_branch,
                git_timeout=self.cfg.command_timeout,
                transport=self.cfg.git,
            )
        return self.publisher
