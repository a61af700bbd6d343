"""Injected faults: make the next N calls of a simulated command fail, for tests and people.

`peerops sim --root DIR fault add [--times N] [--rc N] [--stderr TEXT] [--matching TEXT]
-- CMD [ARG...]` makes every call whose argv starts with CMD ARG... fail with that exit code
and message (default: the message the OpenBSD program prints for its usual failure of that
kind), without running it. With --matching, only calls one of whose file arguments holds
TEXT fail (`ipsecctl -n -f FILE` refusing one peer's rule, wherever that rule is).
Faults live in ROOT/.peerops-sim/faults.json and are consumed under the
simulated kernel's lock, so concurrent processes see one count.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.errors import PeeropsError
from agent.sim import state as simstate
from agent.sim.files import RouterFiles

Reader = Callable[[str], "bytes | None"]

FAULTS_FILE = "faults.json"
FAULTS_PATH = f"/{simstate.SIM_DIR}/{FAULTS_FILE}"  # as the router's files name it

# The usual failure of each program, as its err()/errx() prints it (sbin/ipsecctl/ipsecctl.c,
# sbin/ifconfig/ifconfig.c ioctl error paths, usr.sbin/rcctl/rcctl.sh via rc.subr, sbin/sysctl).
IFCONFIG_IOCTL = {
    "mtu": "SIOCSIFMTU",
    "tunnel": "SIOCSLIFPHYADDR",
    "description": "SIOCSIFDESCR",
    "destroy": "SIOCIFDESTROY",
    "create": "SIOCIFCREATE",
    "inet": "SIOCAIFADDR",
    "inet6": "SIOCAIFADDR_IN6",
}


def default_failure(argv: tuple[str, ...]) -> tuple[int, str, str]:
    """(rc, stdout, stderr) OpenBSD prints when this command fails in the usual way."""
    name = argv[0].rsplit("/", 1)[-1] if argv else ""
    if name == "ipsecctl":
        return 1, "", "ipsecctl: Syntax error in config file: ipsec rules not loaded\n"
    if name == "ifconfig":
        ioctl = next((IFCONFIG_IOCTL[w] for w in argv[2:] if w in IFCONFIG_IOCTL), "SIOCSIFFLAGS")
        return 1, "", f"ifconfig: {ioctl}: Invalid argument\n"
    if name == "rcctl" and len(argv) > 2 and argv[1] in ("start", "restart"):
        return 1, f"{argv[2]}(failed)\n", ""
    if name == "sysctl":
        return 1, "", f"sysctl: {argv[-1].split('=')[0]}: Operation not permitted\n"
    if name == "sh":
        return 1, "", "ifconfig: SIOCIFCREATE: Invalid argument\n"
    return 1, "", f"{name}: failed\n"


@dataclass
class Fault:
    argv: list[str]  # the prefix a call must start with
    times: int | None  # calls left; None: every call
    rc: int | None  # None: the program's own exit status
    stderr: str | None  # None: the program's own message
    matching: str | None = None  # only calls whose file arguments hold this text

    def matches(self, argv: tuple[str, ...], read: Reader) -> bool:
        """argv starts with this fault's words (and, with matching, a file argument read
        through the simulated host holds the text)."""
        if tuple(self.argv) != argv[: len(self.argv)]:
            return False
        return self.matching is None or any(
            self.matching in _text(read, arg) for arg in argv[1:] if arg.startswith("/")
        )


def _text(read: Reader, os_path: str) -> str:
    try:
        return (read(os_path) or b"").decode(errors="replace")
    except PeeropsError:  # a path that escapes the simulated root: holds nothing
        return ""


def load(root: Path) -> list[Fault]:
    return _load(simstate.router_files(root))


def _load(files: RouterFiles) -> list[Fault]:
    data = files.read(FAULTS_PATH)
    if data is None:
        return []
    return [Fault(**f) for f in json.loads(data)]


def save(root: Path, faults: list[Fault]) -> None:
    _save(simstate.router_files(root, create=True), faults)


def _save(files: RouterFiles, faults: list[Fault]) -> None:
    if not faults:
        files.remove(FAULTS_PATH)
        return
    files.write(FAULTS_PATH, json.dumps([asdict(f) for f in faults], indent=1).encode(), 0o644)


def add(root: Path, fault: Fault) -> None:
    with simstate.transaction(root):
        save(root, [*load(root), fault])


def clear(root: Path) -> None:
    with simstate.transaction(root):
        save(root, [])


def take(files: RouterFiles, argv: tuple[str, ...], read: Reader) -> tuple[int, str, str] | None:
    """The failure to return instead of running argv on the router of files, consuming one
    of its times; None when no fault matches. read: the simulated host's read_file. Call
    with the kernel's lock held."""
    faults = _load(files)
    for fault in faults:
        if fault.matches(argv, read):
            if fault.times is not None:
                fault.times -= 1
                _save(files, [f for f in faults if f.times is None or f.times > 0])
            rc, out, err = default_failure(argv)
            if fault.stderr is not None:
                out, err = "", fault.stderr if fault.stderr.endswith("\n") else fault.stderr + "\n"
            return fault.rc if fault.rc is not None else rc, out, err
    return None


def describe(fault: Fault) -> str:
    times = "every call" if fault.times is None else f"{fault.times} more call(s)"
    msg = f", stderr {fault.stderr!r}" if fault.stderr is not None else ""
    msg += f", when a file holds {fault.matching!r}" if fault.matching is not None else ""
    rc = "its usual status" if fault.rc is None else fault.rc
    return f"{' '.join(fault.argv)}: exit {rc}{msg} ({times})"


def command(root: Path, words: list[str]) -> tuple[int, str]:
    """`fault add|list|clear ...`: (exit status, text to print)."""
    if words[:1] == ["list"] and len(words) == 1:
        return 0, "".join(describe(f) + "\n" for f in load(root))
    if words[:1] == ["clear"] and len(words) == 1:
        clear(root)
        return 0, ""
    if words[:1] != ["add"]:
        return 2, ("usage: fault add [--times N] [--rc N] [--stderr TEXT] [--matching TEXT]"
                   " -- CMD [ARG ...]\n       fault list | fault clear\n")
    times: int | None = None
    rc: int | None = None
    stderr: str | None = None
    matching: str | None = None
    i = 1
    try:
        while i < len(words) and words[i] != "--":
            opt, value = words[i], words[i + 1]
            if opt == "--times":
                times = int(value)
                if times < 1:
                    raise ValueError("--times must be at least 1")
            elif opt == "--rc":
                rc = int(value)
            elif opt == "--stderr":
                stderr = value
            elif opt == "--matching":
                matching = value
            else:
                raise ValueError(f"unknown option {opt}")
            i += 2
    except (IndexError, ValueError) as exc:
        return 2, f"fault add: {exc}\n"
    argv = words[i + 1:]
    if not argv:
        return 2, "fault add: no command after --\n"
    add(root, Fault(argv, times, rc, stderr, matching))
    return 0, ""
