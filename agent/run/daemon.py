"""`peerops daemon`: cycles on a schedule until told to stop.

- Every interval is drawn anew within interval*(1-jitter) .. interval*(1+jitter) (the
  `schedule` package's every(a).to(b)), and the first cycle waits a random splay, so a fleet
  never pulls in lockstep (Flux and Argo CD jitter every requeue; Puppet only the first run).
- SIGHUP (what `rcctl reload peerops` sends) runs a cycle now; SIGTERM lets the current step
  finish, stops the cycle between steps, reports, and exits.
- An exception in a cycle is logged and the loop goes on; each cycle holds the run lock.
Time comes from `schedule` (datetime) and an injectable `wait`, so tests need no real waiting.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schedule

from agent.config import ScheduleConfig

log = logging.getLogger("peerops")


@dataclass
class Daemon:
    cycle: Callable[[], Any]
    config: ScheduleConfig
    rng: random.Random = field(default_factory=random.Random)
    wait: Callable[[float], None] | None = None  # sleeps, returning early on a signal
    cycles: int = 0
    _stop: bool = field(default=False, init=False)
    _run_now: bool = field(default=False, init=False)
    _wake: threading.Event = field(default_factory=threading.Event, init=False)

    # -- signals ------------------------------------------------------------------------------
    def install_signals(self) -> None:
        signal.signal(signal.SIGHUP, lambda *_: self.request_run())
        signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        signal.signal(signal.SIGINT, lambda *_: self.request_stop())

    def request_run(self) -> None:
        self._run_now = True
        self._wake.set()

    def request_stop(self) -> None:
        self._stop = True
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop

    # -- the loop ------------------------------------------------------------------------------
    def bounds(self) -> tuple[int, int]:
        """The interval range in whole seconds (schedule draws integers within it)."""
        low = max(1, round(self.config.interval * (1 - self.config.jitter)))
        high = max(low, round(self.config.interval * (1 + self.config.jitter)))
        return low, high

    def run(self, max_cycles: int | None = None) -> int:
        """Cycle until stopped (or max_cycles ran); return the number of cycles run."""
        self._sleep(self.rng.uniform(0, self.config.splay))
        scheduler = schedule.Scheduler()
        low, high = self.bounds()
        job = scheduler.every(low).to(high).seconds.do(self._guarded)
        if not self._stop:
            self._guarded()  # the first cycle right after the splay
        while not self._stop and (max_cycles is None or self.cycles < max_cycles):
            if self._run_now:
                self._run_now = False
                scheduler.cancel_job(job)  # a run-now cycle restarts the interval
                self._guarded()
                job = scheduler.every(low).to(high).seconds.do(self._guarded)
                continue
            scheduler.run_pending()
            idle = scheduler.idle_seconds
            if idle is not None and idle > 0 and not self._stop and not self._run_now:
                self._sleep(idle)
        return self.cycles

    def _guarded(self) -> None:
        """Run one cycle; an exception is logged and the loop goes on."""
        if self._stop:
            return
        self.cycles += 1
        try:
            self.cycle()
        except Exception:
            log.exception("cycle %d failed; the daemon carries on", self.cycles)

    def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.wait is not None:
            self.wait(seconds)
            return
        self._wake.clear()
        if not (self._stop or self._run_now):
            self._wake.wait(seconds)
