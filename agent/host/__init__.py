"""The host seam: everything the agent does to a router goes through a `Host`.

Two implementations exist: `agent.host.openbsd.OpenBSDHost` (a real router, via subprocess)
and `agent.sim.host.SimHost` (a simulated OpenBSD router under a root directory). Facts,
apply and verify only ever see this protocol, so the same code path drives both.
Paths given to a host are always absolute OpenBSD paths such as "/etc/ipsec.conf".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class CommandResult:
    """What one command did: argv, exit code, output, and whether it hit its time limit."""

    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out


@dataclass(frozen=True)
class FileStat:
    """The parts of stat(2) the agent compares: permission bits and numeric owner."""

    mode: int  # permission bits only (st_mode & 0o7777)
    uid: int
    gid: int
    size: int
    is_dir: bool = False


class Host(Protocol):
    """A router the agent can observe and change."""

    kind: str  # "openbsd" or "simulated"

    def run(
        self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT, stdin: str | None = None
    ) -> CommandResult:
        """Run argv (never a shell string) and return its result; never raises on rc != 0."""
        ...

    def read_file(self, path: str) -> bytes | None:
        """Return the file's bytes, or None when it does not exist."""
        ...

    def stat(self, path: str) -> FileStat | None:
        """Return the file's mode and owner without following nothing special; None if absent."""
        ...

    def list_dir(self, path: str) -> list[str] | None:
        """Return the sorted names in a directory, or None when it does not exist."""
        ...

    def write_file(self, path: str, data: bytes, *, mode: int, uid: int = 0, gid: int = 0) -> None:
        """Atomically replace path: temp file in the same directory, owner and mode set on the
        temp file, fsync, rename. Parent directories are created (0755 root:wheel)."""
        ...

    def write_temp(self, directory: str, prefix: str, data: bytes, *, mode: int = 0o600) -> str:
        """Write data to a new uniquely named file in directory (root:wheel) and return its path."""
        ...

    def remove_file(self, path: str) -> bool:
        """Remove a file; return False when it was already absent."""
        ...
