"""OpenBSDHost: the `Host` protocol on a real OpenBSD router. The only importer of subprocess."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence

from agent.atomic import write_atomic
from agent.errors import ConfigError
from agent.host import DEFAULT_TIMEOUT, CommandResult, FileStat

# A clean, fixed environment: commands run as root must not inherit a caller's PATH or locale.
ENV = {"PATH": "/sbin:/usr/sbin:/bin:/usr/bin:/usr/local/sbin:/usr/local/bin", "LC_ALL": "C"}


class HostRefused(ConfigError):
    """This machine is not an OpenBSD router the agent may change (exit 1, nothing touched)."""


def refusal(sysname: str, euid: int) -> str | None:
    """Why OpenBSDHost must not run here, or None: it writes /etc and runs ipsecctl, rcctl,
    ifconfig and sysctl as they are on OpenBSD; anywhere else those paths and commands mean
    something else (a Linux /etc/sysctl.conf, a Linux sysctl)."""
    if sysname != "OpenBSD":
        return (
            f"host: openbsd refuses to run on {sysname or 'an unknown system'} (uname -s is not "
            "OpenBSD); use host: simulated with a root directory to try peerops elsewhere"
        )
    if euid != 0:
        return f"host: openbsd must run as root (effective uid {euid})"
    return None


class OpenBSDHost:
    kind = "openbsd"

    def __init__(self) -> None:
        if why := refusal(os.uname().sysname, os.geteuid()):
            raise HostRefused(why)

    def run(
        self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT, stdin: str | None = None
    ) -> CommandResult:
        argv_t = tuple(argv)
        try:
            proc = subprocess.run(
                argv_t,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=ENV,
                check=False,
                stdin=None if stdin is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return CommandResult(
                argv_t, -9, out, f"timed out after {timeout:g} s\n", timed_out=True
            )
        except FileNotFoundError:
            return CommandResult(argv_t, 127, "", f"{argv_t[0]}: not found\n")
        return CommandResult(argv_t, proc.returncode, proc.stdout, proc.stderr)

    def read_file(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def stat(self, path: str) -> FileStat | None:
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return FileStat(st.st_mode & 0o7777, st.st_uid, st.st_gid, st.st_size, os.path.isdir(path))

    def list_dir(self, path: str) -> list[str] | None:
        try:
            return sorted(os.listdir(path))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write_file(self, path: str, data: bytes, *, mode: int, uid: int = 0, gid: int = 0) -> None:
        write_atomic(path, data, mode, owner=(uid, gid))

    def write_temp(self, directory: str, prefix: str, data: bytes, *, mode: int = 0o600) -> str:
        fd, tmp = tempfile.mkstemp(prefix=prefix, dir=directory)
        with os.fdopen(fd, "wb") as fh:
            os.fchown(fh.fileno(), 0, 0)
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
        return tmp

    def remove_file(self, path: str) -> bool:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True
