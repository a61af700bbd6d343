"""SimHost: the `Host` protocol for a simulated OpenBSD router under a root directory.

Files are real files under ROOT; their owner is modelled in the state (a test or a person
may run as any user), their mode is the real mode. Commands are dispatched by argv[0] to a
module of this package whose `main(ctx, args) -> int` behaves like the OpenBSD program.
"""

from __future__ import annotations

import importlib
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.atomic import write_atomic
from agent.errors import PeeropsError
from agent.host import DEFAULT_TIMEOUT, CommandResult, FileStat
from agent.sim import faults
from agent.sim import state as simstate
from agent.sim.libc import Exit

# argv[0] (basename) -> module implementing it. Full paths (/sbin/ipsecctl) map the same way.
COMMANDS: dict[str, str] = {
    "ipsecctl": "agent.sim.ipsecctl",
    "ifconfig": "agent.sim.ifconfig",
    "rcctl": "agent.sim.rcctl",
    "sysctl": "agent.sim.sysctl",
    "sh": "agent.sim.netstart",  # only `sh /etc/netstart [-n] [if ...]` is simulated
    "ping": "agent.sim.ping",
    "ping6": "agent.sim.ping",  # one program: ping.c looks at __progname
    "uname": "agent.sim.uname",
}


class WouldBlock(Exception):
    """Raised by a command that would block for ever on OpenBSD (e.g. a stale isakmpd FIFO):
    SimHost.run turns it into a timed-out result, as the real command would be killed."""


class SimPathError(PeeropsError, ValueError):
    """A path that is not absolute or would leave the simulated root."""


@dataclass
class Ctx:
    """What a simulated command sees: the host, the locked kernel state and its output."""

    host: SimHost
    state: dict[str, Any]
    argv0: str
    timeout: float
    stdin: str | None = None
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    def print(self, line: str = "") -> None:
        self.out.append(line + "\n")

    def eprint(self, line: str) -> None:
        self.err.append(line + "\n")

    def path(self, os_path: str) -> Path:
        return self.host.real_path(os_path)

    # File helpers that keep the owner model in this transaction's state.
    def write_file(self, os_path: str, data: bytes, mode: int, uid: int = 0, gid: int = 0) -> None:
        self.host.write_raw(os_path, data, mode)
        self.state["owners"][os_path] = [uid, gid]

    def remove_file(self, os_path: str) -> bool:
        self.state["owners"].pop(os_path, None)
        return self.host.remove_raw(os_path)

    def owner(self, os_path: str) -> tuple[int, int]:
        uid, gid = self.state["owners"].get(os_path, [0, 0])
        return int(uid), int(gid)

    def chown(self, os_path: str, uid: int, gid: int) -> None:
        self.state["owners"][os_path] = [uid, gid]


class SimHost:
    """A simulated OpenBSD router rooted at `root`; implements `agent.host.Host`."""

    kind = "simulated"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._root = str(self.root)
        self.commands: list[tuple[str, ...]] = []  # transcript of every argv run, in order

    # -- paths --------------------------------------------------------------------------
    def real_path(self, os_path: str) -> Path:
        """Map an absolute OpenBSD path to the file under ROOT; refuse anything that escapes."""
        return Path(self._real(os_path))

    def _real(self, os_path: str) -> str:
        """real_path as a string: what the file calls use (pathlib costs more than the call)."""
        if not os_path.startswith("/"):
            raise SimPathError(f"not an absolute path: {os_path!r}")
        parts = [p for p in os_path.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise SimPathError(f"path escapes the simulated root: {os_path!r}")
        return os.path.join(self._root, *parts)

    @property
    def name(self) -> str:
        return str(simstate.read_host_info(self.root)["name"])

    # -- commands -----------------------------------------------------------------------
    def run(
        self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT, stdin: str | None = None
    ) -> CommandResult:
        argv_t = tuple(str(a) for a in argv)
        self.commands.append(argv_t)
        if not argv_t:
            raise ValueError("empty argv")
        name = os.path.basename(argv_t[0])
        module_name = COMMANDS.get(name)
        if module_name is None:
            return CommandResult(
                argv_t, 127, "", f"peerops sim: {argv_t[0]}: command not simulated\n"
            )
        module = importlib.import_module(module_name)
        with simstate.transaction(self.root) as st:
            # An injected fault answers instead of the program (agent/sim/faults.py).
            failure = faults.take(self.root, argv_t, self.read_file)
            if failure is not None:
                return CommandResult(argv_t, *failure)
            ctx = Ctx(self, st, name, timeout, stdin)
            try:
                rc = int(module.main(ctx, list(argv_t[1:])))
            except Exit as stop:
                rc = stop.rc
            except WouldBlock:
                return CommandResult(argv_t, -9, "".join(ctx.out), "".join(ctx.err), timed_out=True)
        return CommandResult(argv_t, rc, "".join(ctx.out), "".join(ctx.err))

    # -- files (Host protocol) ------------------------------------------------------------
    def read_file(self, path: str) -> bytes | None:
        real = self._real(path)
        try:
            with open(real, "rb") as fh:
                return fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def stat(self, path: str) -> FileStat | None:
        real = self._real(path)
        try:
            st = os.stat(real)
        except (FileNotFoundError, NotADirectoryError):
            return None
        uid, gid = simstate.read_object(self.root, "owners", path) or [0, 0]
        is_dir = stat.S_ISDIR(st.st_mode)  # from this stat, not a second one
        return FileStat(st.st_mode & 0o7777, int(uid), int(gid), st.st_size, is_dir)

    def list_dir(self, path: str) -> list[str] | None:
        real = self.real_path(path)
        if not real.is_dir():
            return None
        return sorted(p.name for p in real.iterdir())

    def write_file(self, path: str, data: bytes, *, mode: int, uid: int = 0, gid: int = 0) -> None:
        with simstate.transaction(self.root) as st:
            self.write_raw(path, data, mode)
            st["owners"][path] = [uid, gid]

    def write_files(self, files: dict[str, tuple[bytes, int]]) -> None:
        """write_file of each path -> (data, mode), root:wheel, in one transaction (a lab
        writes the files of a `peer config` to each of a thousand routers)."""
        if not files:
            return
        with simstate.transaction(self.root) as st:
            for path, (data, mode) in files.items():
                self.write_raw(path, data, mode)
                st["owners"][path] = [0, 0]

    def write_temp(self, directory: str, prefix: str, data: bytes, *, mode: int = 0o600) -> str:
        real_dir = self.real_path(directory)
        real_dir.mkdir(parents=True, exist_ok=True)
        fd, real = tempfile.mkstemp(prefix=prefix, dir=real_dir)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
        return directory.rstrip("/") + "/" + os.path.basename(real)

    def remove_file(self, path: str) -> bool:
        with simstate.transaction(self.root) as st:
            st["owners"].pop(path, None)
            return self.remove_raw(path)

    def chown(self, path: str, uid: int, gid: int) -> None:
        """Model a change of owner (what `chown` does on the router); for tests and scenarios."""
        with simstate.transaction(self.root) as st:
            st["owners"][path] = [uid, gid]

    # -- raw helpers used inside a transaction ------------------------------------------------
    def write_raw(self, path: str, data: bytes, mode: int) -> None:
        simstate.changed()
        write_atomic(self.real_path(path), data, mode, durable=False)

    def remove_raw(self, path: str) -> bool:
        simstate.changed()
        try:
            self.real_path(path).unlink()
        except FileNotFoundError:
            return False
        return True
