"""One run at a time: an exclusive lock on a file that holds the holder's pid.

flock(2) is released by the kernel when its holder dies, so a lock file left by a killed run
(a "stale lock" with a dead pid) is simply taken over; a second run while one is active
exits at once and names the holder (Puppet's agent_catalog_run.lock, without its
stale-file bugs).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from agent.errors import PeeropsError


class LockHeld(PeeropsError):
    """Another peerops run holds the lock."""


class RunLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise LockHeld naming the running holder; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockHeld(
                f"another peerops run (pid {holder}) holds {self.path}; not starting a second one"
            ) from None
        os.ftruncate(fd, 0)  # whatever a dead holder left is overwritten
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
