"""SimHost: the `Host` protocol for a simulated OpenBSD router under a root directory.

Files are real files under ROOT, or held in memory during a simulation (agent.sim.files);
their owner is modelled in the state (a test or a person may run as any user). Commands
are dispatched by argv[0] to a module of this package whose `main(ctx, args) -> int` behaves
like the OpenBSD program.
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.host import DEFAULT_TIMEOUT, CommandResult, FileStat
from agent.sim import faults
from agent.sim import state as simstate
from agent.sim.files import DiskFiles, RouterFiles
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


@dataclass
class Ctx:
    """What a simulated command sees: the host, the locked kernel state and its output."""

    host: SimHost
    state: dict[str, Any]
    files: RouterFiles  # the router's
    argv0: str
    timeout: float
    stdin: str | None = None
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    def print(self, line: str = "") -> None:
        self.out.append(line + "\n")

    def eprint(self, line: str) -> None:
        self.err.append(line + "\n")

    def read_text(self, os_path: str) -> str | None:
        """A regular file's text (UTF-8), None when there is none or it is not UTF-8."""
        data = self.files.read(os_path)
        try:
            return None if data is None else data.decode()
        except UnicodeDecodeError:
            return None

    # File helpers that keep the owner model in this transaction's state.
    def write_file(self, os_path: str, data: bytes, mode: int, uid: int = 0, gid: int = 0) -> None:
        simstate.changed()
        self.files.write(os_path, data, mode)
        self.state["owners"][os_path] = [uid, gid]

    def remove_file(self, os_path: str) -> bool:
        simstate.changed()
        self.state["owners"].pop(os_path, None)
        return self.files.remove(os_path)

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
        self._disk = DiskFiles(self._root)
        self.commands: list[tuple[str, ...]] = []  # transcript of every argv run, in order

    # -- paths and files ------------------------------------------------------------------
    def real_path(self, os_path: str) -> Path:
        """The real file of an absolute OpenBSD path under ROOT (SimPathError for one that
        escapes); for a router whose files are on disk."""
        return Path(DiskFiles(self._root).real(os_path))

    def files(self, create: bool = False) -> RouterFiles:
        """This router's files: on disk, or in memory during a simulation (create: a new
        router under a simulation's directory is made there)."""
        if simstate.all_on_disk():  # (the files of every call an agent's run makes)
            return self._disk
        return simstate.router_files(self._root, create)

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
            files = self.files(create=True)
            # An injected fault answers instead of the program (agent/sim/faults.py).
            failure = faults.take(files, argv_t, files.read)
            if failure is not None:
                return CommandResult(argv_t, *failure)
            ctx = Ctx(self, st, files, name, timeout, stdin)
            try:
                rc = int(module.main(ctx, list(argv_t[1:])))
            except Exit as stop:
                rc = stop.rc
            except WouldBlock:
                return CommandResult(argv_t, -9, "".join(ctx.out), "".join(ctx.err), timed_out=True)
        return CommandResult(argv_t, rc, "".join(ctx.out), "".join(ctx.err))

    # -- files (Host protocol) ------------------------------------------------------------
    def read_file(self, path: str) -> bytes | None:
        return self.files().read(path)

    def stat(self, path: str) -> FileStat | None:
        st = self.files().stat(path)
        if st is None:
            return None
        uid, gid = simstate.read_object(self.root, "owners", path) or [0, 0]
        is_dir = stat.S_ISDIR(st.st_mode)
        return FileStat(st.st_mode & 0o7777, int(uid), int(gid), st.st_size, is_dir)

    def list_dir(self, path: str) -> list[str] | None:
        return self.files().listdir(path)

    def write_file(self, path: str, data: bytes, *, mode: int, uid: int = 0, gid: int = 0) -> None:
        self.write_files({path: (data, mode)}, (uid, gid))

    def write_files(
        self, files: dict[str, tuple[bytes, int]], owner: tuple[int, int] = (0, 0)
    ) -> None:
        """write_file of each path -> (data, mode) in one transaction (a lab writes the files
        of a `peer config` to each of a thousand routers)."""
        if not files:
            return
        with simstate.transaction(self.root) as st:
            on = self.files(create=True)
            simstate.changed()
            for path, (data, mode) in files.items():
                on.write(path, data, mode)
                st["owners"][path] = list(owner)

    def write_temp(self, directory: str, prefix: str, data: bytes, *, mode: int = 0o600) -> str:
        return self.files(create=True).write_temp(directory, prefix, data, mode)

    def remove_file(self, path: str) -> bool:
        with simstate.transaction(self.root) as st:
            simstate.changed()
            st["owners"].pop(path, None)
            return self.files().remove(path)

    def chown(self, path: str, uid: int, gid: int) -> None:
        """Model a change of owner (what `chown` does on the router); for tests and scenarios."""
        with simstate.transaction(self.root) as st:
            st["owners"][path] = [uid, gid]
