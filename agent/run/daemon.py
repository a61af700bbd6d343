"""`peerops daemon`: cycles on a schedule until told to stop.

- Every interval is drawn anew within interval*(1-jitter) .. interval*(1+jitter) (the
  `schedule` package's every(a).to(b)), and the first cycle waits a random splay, so a fleet
  never pulls in lockstep (Flux and Argo CD jitter every requeue; Puppet only the first run).
- SIGHUP (what `rcctl reload peerops` sends) runs a cycle now; SIGTERM lets the current step
  finish, stops the cycle between steps, reports, and exits.
- An exception in a cycle is logged and the loop goes on; each cycle holds the run lock.
- The dead-man switch (agent/run/deadman.py) cannot wait for the interval: `due` says when
  it needs a cycle (a confirmation attempt, its deadline), and the daemon wakes up for it,
  at once at start-up when a revert is armed (no splay).
Time comes from `schedule` (datetime) and an injectable `wait`, so tests need no real waiting.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schedule

from agent.config import ScheduleConfig

log = logging.getLogger("peerops")
MIN_DUE_GAP = 5.0  # seconds: a switch cycle that changed nothing is not repeated at once


@dataclass
class Daemon:
    cycle: Callable[[], Any]
    config: ScheduleConfig
    rng: random.Random = field(default_factory=random.Random)
    wait: Callable[[float], None] | None = None  # sleeps, returning early on a signal
    due: Callable[[], float | None] = lambda: None  # epoch seconds the switch needs a cycle
    clock: Callable[[], float] = lambda: time.time()  # the clock `due` speaks (looked up late)
    cycles: int = 0
    _last_cycle: float | None = field(default=None, init=False)
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
        if self._due_in() is None:  # an armed revert is honoured at once
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
            due_in = self._due_in()
            if due_in is not None and due_in <= 0:
                self._guarded()  # the switch's cycle; the interval keeps its schedule
                continue
            scheduler.run_pending()
            idle = scheduler.idle_seconds
            if due_in is not None:
                idle = due_in if idle is None else min(idle, due_in)
            if idle is not None and idle > 0 and not self._stop and not self._run_now:
                self._sleep(idle)
        return self.cycles

    def _due_in(self) -> float | None:
        """Seconds until the dead-man switch needs a cycle (None: it needs none); never
        sooner than a few seconds after the last cycle, whatever that cycle did."""
        try:
            due = self.due()
        except Exception:
            log.exception("cannot read the dead-man switch's record")
            return None
        if due is None:
            return None
        if self._last_cycle is not None:
            due = max(due, self._last_cycle + MIN_DUE_GAP)
        return due - self.clock()

    def _guarded(self) -> None:
        """Run one cycle; an exception is logged and the loop goes on."""
        if self._stop:
            return
        self.cycles += 1
        self._last_cycle = self.clock()
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
