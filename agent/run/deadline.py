"""Time limits for a whole run and for each command in it.

A run is abandoned between steps once its deadline passes, and no command may outlive it:
each command's timeout is the smaller of `command_timeout` and the time the run has left
(`ipsecctl -f` blocks for ever on a stale isakmpd FIFO; nothing may hang the agent).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.errors import PeeropsError


class RunTimeout(PeeropsError):
    """The run used up its time; it stops between steps and reports."""


class Stopping(PeeropsError):
    """A stop was requested (SIGTERM); the run stops between steps and reports."""


@dataclass
class Deadline:
    seconds: float | None = None  # None: no limit
    clock: Callable[[], float] = time.monotonic
    should_stop: Callable[[], bool] = lambda: False
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float | None:
        if self.seconds is None:
            return None
        return self.seconds - (self.clock() - self.started)

    def timeout_for(self, command_timeout: float) -> float:
        """The timeout for the next command: never beyond the run's deadline."""
        left = self.remaining()
        return command_timeout if left is None else max(0.001, min(command_timeout, left))

    def check(self, what: str) -> None:
        """Raise if the run must stop before `what` (time is up, or a stop was requested)."""
        if self.should_stop():
            raise Stopping(f"stop requested: stopped before {what}")
        left = self.remaining()
        if left is not None and left <= 0:
            raise RunTimeout(f"run timed out after {self.seconds:g} s, before {what}")
