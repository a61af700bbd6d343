"""agent.sim.sysctl: sysctl.c v1.268 messages and exit codes, values in state["sysctl"]."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.host import CommandResult
from agent.sim import state as simstate
from agent.sim.host import SimHost


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    simstate.save(tmp_path / "rtr", simstate.new_state())
    return SimHost(tmp_path / "rtr")


def sysctl(host: SimHost, *args: str) -> CommandResult:
    return host.run(["sysctl", *args])


def out(result: CommandResult) -> tuple[int, str, str]:
    return result.rc, result.stdout, result.stderr


def test_read_set_and_persist(host: SimHost) -> None:
    assert out(sysctl(host, "net.inet.gre.allow")) == (0, "net.inet.gre.allow=0\n", "")
    assert out(sysctl(host, "net.inet.gre.allow=1")) == (0, "net.inet.gre.allow: 0 -> 1\n", "")
    assert simstate.load(host.root)["sysctl"]["net.inet.gre.allow"] == 1
    assert out(sysctl(host, "-n", "net.inet.gre.allow")) == (0, "1\n", "")
    assert out(sysctl(host, "-n", "net.inet.ip.forwarding=1")) == (0, "1\n", "")
    assert out(sysctl(host, "-q", "net.inet6.ip6.forwarding=1")) == (0, "", "")
    assert out(sysctl(host, "net.inet.esp.udpencap_port")) == (
        0, "net.inet.esp.udpencap_port=4500\n", "")
    # "name=" with nothing after it is a read, as parse() only writes when newsize > 0.
    assert out(sysctl(host, "net.inet.gre.allow=")) == (0, "net.inet.gre.allow=1\n", "")


def test_bad_values_warn_but_exit_0(host: SimHost) -> None:
    assert out(sysctl(host, "net.inet.gre.allow=2")) == (
        0, "", "sysctl: net.inet.gre.allow: Invalid argument\n")
    assert out(sysctl(host, "net.inet.gre.allow=yes")) == (
        0, "", "sysctl: net.inet.gre.allow: value is invalid: yes\n")
    assert simstate.load(host.root)["sysctl"]["net.inet.gre.allow"] == 0


def test_unknown_names_warn_as_findname_does(host: SimHost) -> None:
    assert out(sysctl(host, "foo.bar")) == (
        0, "", "sysctl: top level name foo in foo.bar is invalid\n")
    assert out(sysctl(host, "net.foo")) == (
        0, "", "sysctl: second level name foo in net.foo is invalid\n")
    assert out(sysctl(host, "net.inet.gre.alow=1")) == (
        0, "", "sysctl: fourth level name alow in net.inet.gre.alow is invalid\n")
    assert out(sysctl(host, "net.inet.gre.allow.x")) == (
        0, "", "sysctl: name x in net.inet.gre.allow.x is unknown\n")
    assert out(sysctl(host, "net.inet.esp.stats")) == (
        0, "", "sysctl: use netstat to view net.inet.esp.stats information\n")
    assert out(sysctl(host, "net.route")) == (
        0, "", "sysctl: use netstat to view net.route information\n")
    assert out(sysctl(host, "gap")) == (0, "", "sysctl: gap: class is not implemented\n")


def test_unmodelled_names_are_refused(host: SimHost) -> None:
    assert out(sysctl(host, "kern.hostname")) == (
        1, "", "peerops sim: sysctl: kern.hostname is not simulated\n")
    assert sysctl(host, "-a").rc == 1
    both = sysctl(host, "kern.ostype", "net.inet.gre.allow")  # the others are still done
    assert (both.rc, both.stdout) == (1, "net.inet.gre.allow=0\n")


def test_conf_file_and_usage(host: SimHost) -> None:
    conf = b"# DN42\nnet.inet.gre.allow=1 # accept GRE\n\n"
    host.write_file("/etc/sysctl.conf", conf, mode=0o644)
    assert out(sysctl(host, "-f", "/etc/sysctl.conf")) == (0, "net.inet.gre.allow: 0 -> 1\n", "")
    # main() cuts the *line* at its first blank but tests lp (past the indent): an indented
    # name is parsed as the empty name.
    host.write_file("/etc/sysctl.conf", b"  net.inet.gre.wccp=1\n", mode=0o644)
    assert out(sysctl(host, "-f", "/etc/sysctl.conf")) == (
        0, "", "sysctl: top level name  in  is invalid\n")
    missing = sysctl(host, "-f", "/etc/nope.conf")
    assert out(missing) == (1, "", "sysctl: fopen: No such file or directory\n")
    usage = sysctl(host, "-x")
    assert out(usage) == (1, "", "sysctl: unknown option -- x\n"
                                 "usage: sysctl [-Aanq] [-f file] [name[=value] ...]\n")
