"""The daemon's timing, signals, lock and time limits, with an injected clock (no waiting)."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from freezegun import freeze_time

from agent.config import ScheduleConfig
from agent.run.daemon import Daemon
from agent.run.deadline import Deadline, RunTimeout, Stopping
from agent.run.lock import LockHeld, RunLock


def frozen_daemon(frozen, config: ScheduleConfig, on_cycle, seed: int = 1) -> Daemon:
    """A daemon whose waits move the frozen clock instead of sleeping."""
    return Daemon(on_cycle, config, rng=random.Random(seed), wait=lambda s: frozen.tick(s))


def test_interval_jitter_and_splay() -> None:
    config = ScheduleConfig(interval=300, jitter=0.2, splay=60)
    with freeze_time("2026-11-27 00:00:00") as frozen:
        start = time.time()
        stamps: list[float] = []
        daemon = frozen_daemon(frozen, config, lambda: stamps.append(time.time()))
        assert daemon.run(max_cycles=30) == 30
    assert 0 <= stamps[0] - start <= 60  # the random splay before the first cycle
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(240 <= g <= 361 for g in gaps), gaps  # 300 s ± 20 %, whole seconds
    assert len({round(g) for g in gaps}) > 5  # jittered on every cycle, not once


def test_an_exception_in_a_cycle_is_survived() -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")

    with freeze_time("2026-11-27") as frozen:
        assert frozen_daemon(frozen, ScheduleConfig(splay=0), flaky).run(max_cycles=4) == 4
    assert len(calls) == 4


def test_sighup_runs_a_cycle_now_and_sigterm_stops() -> None:
    config = ScheduleConfig(interval=300, splay=0)
    stamps: list[float] = []
    with freeze_time("2026-11-27") as frozen:
        daemon = frozen_daemon(frozen, config, lambda: None)

        def on_cycle() -> None:
            stamps.append(time.time())
            if len(stamps) == 1:
                os.kill(os.getpid(), signal.SIGHUP)  # as `rcctl reload peerops` would
            elif len(stamps) == 3:
                os.kill(os.getpid(), signal.SIGTERM)

        daemon.cycle = on_cycle
        old = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
        daemon.install_signals()
        try:
            daemon.run(max_cycles=10)
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
    assert len(stamps) == 3  # SIGTERM ended the loop after the cycle that was running
    assert stamps[1] == stamps[0]  # the run-now cycle did not wait for the interval
    assert 240 <= stamps[2] - stamps[1] <= 361  # and the interval restarted after it


def test_real_wait_returns_early_on_a_signal() -> None:
    daemon = Daemon(lambda: None, ScheduleConfig())
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    old = signal.signal(signal.SIGALRM, lambda *_: daemon.request_run())
    try:
        daemon._sleep(30)
    finally:
        signal.signal(signal.SIGALRM, old)
    assert time.monotonic() - started < 5


def test_deadline_limits_commands_and_stops_between_steps() -> None:
    now = [100.0]
    deadline = Deadline(600, clock=lambda: now[0])
    assert deadline.timeout_for(30) == 30
    now[0] = 690.0
    assert deadline.timeout_for(30) == pytest.approx(10)  # never beyond the run's end
    now[0] = 701.0
    with pytest.raises(RunTimeout, match="run timed out after 600 s"):
        deadline.check("ipsecctl -f /etc/ipsec.conf")
    stop = Deadline(None, should_stop=lambda: True)
    with pytest.raises(Stopping):
        stop.check("next step")


def test_second_run_exits_at_once_and_stale_lock_is_taken(tmp_path: Path) -> None:
    lock_path = tmp_path / "peerops.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from agent.run.lock import RunLock\n"
            f"RunLock(Path({str(lock_path)!r})).acquire()\n"
            "print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with pytest.raises(LockHeld, match=f"pid {holder.pid}"):
            RunLock(lock_path).acquire()
        assert time.monotonic() - started < 1  # no waiting for the holder
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing: its pid is still in the file, the lock is free
    assert lock_path.read_text().strip() == str(holder.pid)
    with RunLock(lock_path):
        assert lock_path.read_text().strip() == str(os.getpid())


def test_the_daemon_wakes_up_for_the_dead_man_switch() -> None:
    """An armed revert: the first cycle comes at once (no splay), the next at its deadline
    although the interval is an hour away; then the interval keeps its schedule."""
    config = ScheduleConfig(interval=3600, jitter=0, splay=600)
    with freeze_time("2026-11-27") as frozen:
        start = time.time()
        deadline = start + 300
        stamps: list[float] = []

        def on_cycle() -> None:
            stamps.append(time.time() - start)

        def due() -> float | None:  # the switch is done once a cycle ran at its deadline
            return deadline if not stamps or stamps[-1] < 300 else None

        daemon = Daemon(on_cycle, config, wait=lambda s: frozen.tick(s), due=due)
        daemon.run(max_cycles=3)
    assert stamps == [0, 300, 3600]


def test_a_switch_cycle_that_changes_nothing_is_not_repeated_at_once() -> None:
    with freeze_time("2026-11-27") as frozen:
        start = time.time()
        stamps: list[float] = []
        daemon = Daemon(
            lambda: stamps.append(time.time() - start),
            ScheduleConfig(interval=3600, splay=0),
            wait=lambda s: frozen.tick(s),
            due=lambda: start,  # always overdue: e.g. every cycle fails to read the record
        )
        daemon.run(max_cycles=4)
    assert stamps == [0, 5, 10, 15]
