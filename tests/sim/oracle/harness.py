"""Run one ipsec.conf through OpenBSD's grammar (the oracle) and through the simulated ipsecctl,
and say where they differ.

Both see the same file under the same relative name (`ipsec.conf`, included files next to
it), 0600 and owned by the caller, so every message names the same file and line. The modes
are `ipsecctl -n -f`, `-nv -f` and `-f`: the oracle loads through run.sh into a FIFO reader;
the simulated one into a freshly restarted simulated isakmpd. What the two isakmpds end up
with is compared by feeding the oracle's received FIFO text to a fresh simulated isakmpd
(isakmpd's own command parser, ui.c) and comparing the two configuration databases.
"""

from __future__ import annotations

import difflib
import os
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.sim import isakmpd
from agent.sim import state as simstate
from agent.sim.cli import init_root
from agent.sim.host import SimHost

CONF = "ipsec.conf"
RECEIVED = "--- received by the FIFO reader:\n"
# err(3) appends ": " and strerror(errno); the oracle's left-over errno is Linux's, not
# OpenBSD's (its README), so that tail is the one part allowed to differ.
STRERRORS = frozenset(os.strerror(n) for n in range(0, 134))


@dataclass(frozen=True)
class Case:
    """One input: the top file, files it may include, ipsecctl -D macros, the file's mode."""

    name: str
    text: str
    includes: dict[str, str] = field(default_factory=dict)
    macros: tuple[str, ...] = ()
    mode: int = 0o600
    modes: tuple[str, ...] = ("-n", "-nv", "-f")
    parses: bool | None = None  # what OpenBSD's grammar must say (None: not asserted)


@dataclass(frozen=True)
class Outcome:
    """What a run printed and returned; `loaded`: isakmpd's resulting config (-f only)."""

    rc: int
    stdout: str
    stderr: str
    loaded: Any = None


MODES: dict[str, tuple[str, ...]] = {"-n": ("-n",), "-nv": ("-nv",), "-nvv": ("-nvv",),
                                     "-f": ()}


def _args(case: Case, mode: str) -> list[str]:
    args = list(MODES[mode])
    for macro in case.macros:
        args += ["-D", macro]
    return [*args, "-f", CONF]


class Oracle:
    """OpenBSD's sbin/ipsecctl parse.y and ike.c built on Linux (../shared/tools)."""

    def __init__(self, build: Path, work: Path) -> None:
        self.build = build
        self.work = work
        self._dirs = 0

    def run(self, case: Case, mode: str) -> tuple[Outcome, str]:
        """The outcome and (for -f) the text the FIFO reader received."""
        self._dirs += 1
        work = self.work / str(self._dirs)  # runs may go in parallel: a directory each
        work.mkdir()
        for name, text in {CONF: case.text, **case.includes}.items():
            path = work / name
            path.write_bytes(text.encode("latin-1"))
            path.chmod(0o600 if name != CONF else case.mode)
        program = self.build / ("run.sh" if mode == "-f" else "ipsecctl")
        done = subprocess.run([str(program), *_args(case, mode)], cwd=work,
                              capture_output=True, check=False, timeout=30)
        out = done.stdout.decode("latin-1")
        out, _, received = out.partition(RECEIVED)
        return Outcome(done.returncode, out, done.stderr.decode("latin-1")), received

    def run_all(self, runs: list[tuple[Case, str]]) -> list[tuple[Outcome, str]]:
        """Every (case, mode) in parallel (each run is a process or two that mostly waits)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda run: self.run(*run), runs))


class SimRouter:
    """A simulated router whose isakmpd (-K) takes what the simulated ipsecctl loads."""

    def __init__(self, host: SimHost) -> None:
        self.host = host

    @classmethod
    def create(cls, root: Path) -> SimRouter:
        init_root(root, "oracle", ["192.0.2.1/24", "2001:db8::1/64"])
        host = SimHost(root)
        # `ike dynamic` sends the hostname as srcid: the oracle's is this machine's
        host.write_file("/etc/myname", f"{socket.gethostname()}\n".encode(), mode=0o644)
        for argv in (["rcctl", "enable", "isakmpd"], ["rcctl", "set", "isakmpd", "flags", "-K"],
                     ["rcctl", "start", "isakmpd"]):
            result = host.run(argv)
            assert result.rc == 0, result
        return cls(host)

    def run(self, case: Case, mode: str) -> Outcome:
        for name, text in {CONF: case.text, **case.includes}.items():
            self.host.write_file("/" + name, text.encode("latin-1"),
                                 mode=0o600 if name != CONF else case.mode)
        if mode == "-f":
            self._restart_isakmpd()
        result = self.host.run(["ipsecctl", *_args(case, mode)])
        assert not result.timed_out, result
        loaded = self.loaded() if mode == "-f" else None
        return Outcome(result.rc, result.stdout, result.stderr, loaded)

    def _restart_isakmpd(self) -> None:
        result = self.host.run(["rcctl", "restart", "isakmpd"])
        assert result.rc == 0, result

    def loaded(self) -> Any:
        """isakmpd's configuration database and its phase 2 connections (name: passive)."""
        state = simstate.load(self.host.root)
        conns = {name: entry["passive"] for name, entry in state["isakmpd"]["connections"].items()}
        return state["isakmpd_conf"], conns

    def load_received(self, received: str) -> Any:
        """What the simulated isakmpd makes of the oracle's FIFO text (ui.c commands)."""
        self._restart_isakmpd()
        lines = received.split("\n")[:-1]  # a last line without newline is not a command
        with simstate.transaction(self.host.root) as st:
            isakmpd.apply_commands(st, lines)
        return self.loaded()


def _same_line(want: str, got: str) -> bool:
    if want == got:
        return True
    want_head, _, want_tail = want.rpartition(": ")
    got_head, _, got_tail = got.rpartition(": ")
    return want_head == got_head and want_tail in STRERRORS and got_tail in STRERRORS


def _diff(what: str, want: str, got: str) -> str:
    lines = difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                 f"{what} of OpenBSD's grammar", f"{what} of the simulator")
    return "".join(lines)


def differences(want: Outcome, got: Outcome) -> list[str]:
    """Where the simulator's outcome differs from OpenBSD's grammar (empty: identical)."""
    found = []
    if want.rc != got.rc:
        found.append(f"exit {got.rc}, OpenBSD {want.rc}")
    if want.stdout != got.stdout:
        found.append(_diff("stdout", want.stdout, got.stdout))
    w, g = want.stderr.splitlines(), got.stderr.splitlines()
    if len(w) != len(g) or not all(map(_same_line, w, g)) or want.stderr[-1:] != got.stderr[-1:]:
        found.append(_diff("stderr", want.stderr, got.stderr))
    if want.loaded != got.loaded:
        found.append(f"isakmpd config:\n{got.loaded}\n--- OpenBSD:\n{want.loaded}")
    return found


def compare(oracle: Oracle, sim: SimRouter, cases: list[Case]) -> list[str]:
    """Run every case in each of its modes through both; the differences, described."""
    runs = [(case, mode) for case in cases for mode in case.modes]
    problems = []
    for (case, mode), (want, received) in zip(runs, oracle.run_all(runs), strict=True):
        got = sim.run(case, mode)
        if mode == "-n" and case.parses is not None and (want.rc == 0) != case.parses:
            problems.append(f"{case.name}: the corpus expects it to parse: {case.parses}; "
                            f"OpenBSD's grammar says:\n{want.stderr}")
        if mode == "-f":
            want = Outcome(want.rc, want.stdout, want.stderr, sim.load_received(received))
        shown = " ".join(["ipsecctl", *MODES[mode], "-f"])
        problems += [f"{case.name} ({shown}): {d}" for d in differences(want, got)]
    return problems
