"""Injected faults: `peerops sim fault add|list|clear`, consumed per call, across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.sim.cli import main as sim_main
from agent.sim.host import SimHost

# `peerops sim` runs in a process of its own: it finds no router held in this one's memory.
pytestmark = pytest.mark.disk_only


@pytest.fixture
def root(tmp_path: Path) -> Path:
    assert sim_main(["--root", str(tmp_path / "r"), "--init", "--address", "192.0.2.1"]) == 0
    return tmp_path / "r"


def sim(root: Path, *words: str) -> subprocess.CompletedProcess[str]:
    """A separate process, as a person at a shell would run it."""
    return subprocess.run(
        [sys.executable, "-m", "agent", "sim", "--root", str(root), *words],
        capture_output=True, text=True, check=False,
    )


def test_a_fault_fails_the_next_n_matching_calls_with_openbsds_message(root: Path) -> None:
    host = SimHost(root)
    set_gre = ("sysctl", "net.inet.gre.allow=1")
    assert sim(root, "fault", "add", "--times", "2", "--", *set_gre).returncode == 0
    listed = sim(root, "fault", "list").stdout
    assert listed == "sysctl net.inet.gre.allow=1: exit its usual status (2 more call(s))\n"
    assert host.run(["sysctl", "net.inet.gre.allow"]).rc == 0  # another argv: not matched
    first = host.run(["sysctl", "net.inet.gre.allow=1"])
    assert (first.rc, first.stderr) == (1, "sysctl: net.inet.gre.allow: Operation not permitted\n")
    assert host.run(["sysctl", "net.inet.gre.allow=1"]).rc == 1
    assert host.run(["sysctl", "net.inet.gre.allow=1"]).rc == 0  # used up
    assert host.run(["sysctl", "net.inet.gre.allow"]).stdout == "net.inet.gre.allow=1\n"
    assert sim(root, "fault", "list").stdout == ""


def test_rc_and_message_can_be_given_and_clear_removes_every_fault(root: Path) -> None:
    host = SimHost(root)
    assert sim(root, "fault", "add", "--rc", "3", "--stderr", "boom", "--", "rcctl").returncode == 0
    assert sim(root, "fault", "add", "--", "ifconfig", "gre0", "mtu").returncode == 0
    result = host.run(["rcctl", "start", "isakmpd"])
    assert (result.rc, result.stdout, result.stderr) == (3, "", "boom\n")
    mtu = host.run(["ifconfig", "gre0", "mtu", "1400"])
    assert (mtu.rc, mtu.stderr) == (1, "ifconfig: SIOCSIFMTU: Invalid argument\n")
    assert host.run(["ifconfig", "gre0", "mtu", "1400"]).rc == 1  # every call until cleared
    assert sim(root, "fault", "clear").returncode == 0
    assert host.run(["rcctl", "get", "isakmpd", "flags"]).rc == 0  # the real program again
    assert host.run(["ifconfig", "gre0", "mtu", "1400"]).rc == 0


def test_rcctl_start_fails_as_rc_subr_says(root: Path) -> None:
    assert sim(root, "fault", "add", "--", "rcctl", "start").returncode == 0
    result = SimHost(root).run(["rcctl", "start", "isakmpd"])
    assert (result.rc, result.stdout) == (1, "isakmpd(failed)\n")


@pytest.mark.parametrize(
    "words",
    [["add"], ["add", "--times", "0", "--", "x"], ["add", "--bogus", "1", "--", "x"], ["nope"]],
)
def test_bad_fault_commands_exit_2(root: Path, words: list[str]) -> None:
    result = sim(root, "fault", *words)
    assert result.returncode == 2 and result.stderr and "Traceback" not in result.stderr
