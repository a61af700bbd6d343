"""agent.sim.rcctl: rcctl.sh v1.122 + rc.subr v1.160 behaviour on a simulated base system."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from agent.host import CommandResult
from agent.sim import state as simstate
from agent.sim.cli import init_root
from agent.sim.host import SimHost

LOCAL = "/etc/rc.conf.local"


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    init_root(tmp_path / "rtr", "rtr1", ["192.0.2.1"])
    return SimHost(tmp_path / "rtr")


def rcctl(host: SimHost, *args: str) -> CommandResult:
    return host.run(["rcctl", *args])


def local(host: SimHost) -> bytes | None:
    return host.read_file(LOCAL)


def running(host: SimHost) -> dict[str, list[str]]:
    return {name: entry["flags"] for name, entry in simstate.load(host.root)["daemons"].items()}


# -- rc.conf.local editing -----------------------------------------------------------------------


def test_enable_set_flags_and_special_write_sorted_rc_conf_local(host: SimHost) -> None:
    assert local(host) is None
    assert rcctl(host, "enable", "isakmpd").rc == 0
    assert local(host) == b"isakmpd_flags=\n"  # base daemon, off by default: empty = default flags
    assert rcctl(host, "set", "isakmpd", "flags", "-K").rc == 0
    assert local(host) == b"isakmpd_flags=-K\n"
    assert rcctl(host, "enable", "ipsec").rc == 0
    assert local(host) == b"ipsec=YES\nisakmpd_flags=-K\n"  # sort -u
    st = host.stat(LOCAL)
    assert st is not None and (st.mode, st.uid, st.gid) == (0o644, 0, 0)
    assert rcctl(host, "enable", "isakmpd").rc == 0  # keeps the flags it has
    assert local(host) == b"ipsec=YES\nisakmpd_flags=-K\n"
    assert rcctl(host, "disable", "isakmpd").rc == 0
    assert local(host) == b"ipsec=YES\n"
    assert rcctl(host, "disable", "ipsec").rc == 0
    assert local(host) is None  # an empty rc.conf.local is removed


def test_default_on_services_write_no_when_disabled(host: SimHost) -> None:
    rcctl(host, "enable", "sshd")
    assert local(host) is None  # on by default: nothing to write
    rcctl(host, "disable", "sshd", "ntpd")
    assert local(host) == b"ntpd_flags=NO\nsshd_flags=NO\n"
    rcctl(host, "disable", "pf")
    assert local(host) == b"ntpd_flags=NO\npf=NO\nsshd_flags=NO\n"
    assert rcctl(host, "get", "pflogd", "flags").stdout == "NO\n"  # rc.subr: pf=NO -> pflogd NO
    rcctl(host, "enable", "sshd")
    rcctl(host, "set", "sshd", "flags", "-4")
    assert local(host) == b"ntpd_flags=NO\npf=NO\nsshd_flags=-4\n"
    rcctl(host, "set", "sshd", "flags", " -4")
    assert b'sshd_flags=" -4"\n' in local(host)  # type: ignore[operator]


def test_existing_lines_are_kept_sorted_unique_and_comments_move(host: SimHost) -> None:
    host.write_file(LOCAL, b"# mine\nntpd_flags=NO\nntpd_flags=NO\nsasyncd_flags=\n", mode=0o600)
    rcctl(host, "enable", "isakmpd")
    assert local(host) == b"# mine\nisakmpd_flags=\nntpd_flags=NO\nsasyncd_flags=\n"
    assert host.stat(LOCAL).mode == 0o644  # type: ignore[union-attr]  # install -m0644


def test_set_needs_an_enabled_service_and_valid_values(host: SimHost) -> None:
    result = rcctl(host, "set", "isakmpd", "flags", "-K")
    assert (result.rc, result.stderr) == (1, "rcctl: isakmpd is not enabled\n")
    rcctl(host, "enable", "isakmpd")
    no = rcctl(host, "set", "isakmpd", "flags", "NO")
    assert (no.rc, no.stderr) == (1, 'rcctl: "flags NO" contradicts "set"\n')
    timeout = rcctl(host, "set", "isakmpd", "timeout", "0")
    assert (timeout.rc, timeout.stderr) == (1, 'rcctl: "0" is not a positive integer\n')
    special = rcctl(host, "set", "ipsec", "flags", "x")
    assert (special.rc, special.stderr) == (
        1, 'rcctl: "ipsec" is a special variable, cannot "set flags"\n')
    assert rcctl(host, "set", "isakmpd", "timeout", "60").rc == 0
    assert local(host) == b"isakmpd_flags=\nisakmpd_timeout=60\n"
    rcctl(host, "set", "isakmpd", "timeout", "30")  # the default: the line goes
    assert local(host) == b"isakmpd_flags=\n"


def test_unknown_service_and_usage(host: SimHost) -> None:
    missing = rcctl(host, "enable", "foo")
    assert (missing.rc, missing.stderr) == (2, "rcctl: service foo does not exist\n")
    assert rcctl(host, "disable", "foo").rc == 0  # disabling a missing (valid) name is fine
    assert rcctl(host, "get", "foo").rc == 2
    usage = rcctl(host)
    assert usage.rc == 1
    assert usage.stderr.splitlines() == [
        "usage:\trcctl get|getdef|set daemon|service [variable [argument ...]]",
        "\trcctl [-d | -q] [-f] start|stop|restart|reload|check|configtest daemon ...",
        "\trcctl disable|enable|order [daemon ...]",
        "\trcctl ls all|failed|off|on|rogue|started|stopped",
    ]


# -- reading -------------------------------------------------------------------------------------


def test_get_values_and_status(host: SimHost) -> None:
    assert rcctl(host, "get", "isakmpd", "flags").stdout == "NO\n"
    status = rcctl(host, "get", "isakmpd", "status")
    assert (status.rc, status.stdout) == (1, "")
    full = rcctl(host, "get", "isakmpd")
    assert full.rc == 1  # svc_get returns the status
    assert full.stdout.splitlines() == [
        "isakmpd_class=daemon", "isakmpd_execdir=", "isakmpd_flags=NO", "isakmpd_logger=",
        "isakmpd_rtable=0", "isakmpd_timeout=30", "isakmpd_user=root"]
    rcctl(host, "enable", "isakmpd")
    default = rcctl(host, "get", "isakmpd", "flags")
    assert (default.rc, default.stdout) == (0, "")  # empty value: nothing is printed
    assert rcctl(host, "get", "isakmpd", "status").rc == 0
    assert rcctl(host, "get", "ipsec").stdout == "ipsec=NO\n"
    assert rcctl(host, "getdef", "pf", "flags").stdout == "YES\n"
    bad = rcctl(host, "get", "ipsec", "user")
    assert (bad.rc, bad.stderr) == (1, 'rcctl: "ipsec" is a special variable, cannot "get user"\n')


def test_rc_conf_local_is_parsed_like_rc_parse_conf(host: SimHost) -> None:
    host.write_file(LOCAL, (b"ISAKMPD_FLAGS =  \"-K -v\"   # the comment\n"
                            b"#sshd_flags=NO\n"
                            b"bogus=1\n"
                            b"ntpd_flags=NO"), mode=0o644)  # unterminated: read drops it
    assert rcctl(host, "get", "isakmpd", "flags").stdout == "-K -v\n"
    assert rcctl(host, "get", "sshd", "status").rc == 0
    assert rcctl(host, "get", "ntpd", "status").rc == 0


def test_ls(host: SimHost) -> None:
    listing = rcctl(host, "ls", "all").stdout.split()
    assert listing == sorted(listing) and {"isakmpd", "ipsec", "pf", "sshd"} <= set(listing)
    on = rcctl(host, "ls", "on").stdout.split()
    assert "sshd" in on and "pf" in on and "isakmpd" not in on and "ipsec" not in on
    assert "isakmpd" in rcctl(host, "ls", "off").stdout.split()
    assert "sshd" in rcctl(host, "ls", "started").stdout.split()
    assert rcctl(host, "ls", "failed").rc == 0
    rcctl(host, "stop", "sshd")
    failed = rcctl(host, "ls", "failed")
    assert (failed.rc, failed.stdout) == (1, "sshd\n")


# -- running daemons -----------------------------------------------------------------------------


def test_start_stop_check_plain_daemons(host: SimHost) -> None:
    assert "sshd" in running(host)  # init_root started the default-on daemons
    stop = rcctl(host, "stop", "sshd")
    assert (stop.rc, stop.stdout) == (0, "sshd(ok)\n")
    assert host.read_file("/var/run/rc.d/sshd") is None
    check = rcctl(host, "check", "sshd")
    assert (check.rc, check.stdout) == (1, "sshd(failed)\n")
    assert (rcctl(host, "stop", "sshd").rc, rcctl(host, "stop", "sshd").stdout) == (0, "")
    start = rcctl(host, "start", "sshd")
    assert (start.rc, start.stdout) == (0, "sshd(ok)\n")
    assert rcctl(host, "start", "sshd").stdout == ""  # already running: rc_check && exit 0
    check = rcctl(host, "check", "sshd")
    assert (check.rc, check.stdout) == (0, "sshd(ok)\n")
    assert rcctl(host, "restart", "ntpd").stdout == "ntpd(ok)\nntpd(ok)\n"
    assert rcctl(host, "reload", "bgpd").stdout == "bgpd(failed)\n"


def test_disabled_daemon_needs_force(host: SimHost) -> None:
    refused = rcctl(host, "start", "bgpd")
    assert (refused.rc, refused.stdout, refused.stderr) == (
        1, "", "/etc/rc.d/bgpd: need -f to force start since bgpd_flags=NO\n")
    forced = rcctl(host, "-f", "start", "bgpd")
    assert (forced.rc, forced.stdout) == (0, "bgpd(ok)\n")
    assert running(host)["bgpd"] == []  # -f uses the rc.d script's own (empty) flags
    restart = rcctl(host, "restart", "bgpd")  # stop works, start without -f does not
    assert (restart.rc, restart.stdout) == (1, "bgpd(ok)\n")
    assert "bgpd" not in running(host)
    special = rcctl(host, "start", "ipsec")
    assert (special.rc, special.stderr) == (
        1, 'rcctl: "ipsec" is a special variable, no rc.d(8) script\n')
    unsupported = rcctl(host, "configtest", "isakmpd")
    assert (unsupported.rc, unsupported.stderr) == (
        1, "/etc/rc.d/isakmpd: configtest is not supported\n")


def test_flags_come_from_rc_conf_local(host: SimHost) -> None:
    rcctl(host, "enable", "ntpd")
    rcctl(host, "stop", "ntpd")
    rcctl(host, "set", "ntpd", "flags", "-s -v")
    assert rcctl(host, "start", "ntpd").stdout == "ntpd(ok)\n"
    assert running(host)["ntpd"] == ["-s", "-v"]
    runfile = host.read_file("/var/run/rc.d/ntpd")
    assert runfile is not None
    assert {b"daemon_flags=-s -v", b"pexp=/usr/sbin/ntpd -s -v"} <= set(runfile.splitlines())


@pytest.mark.skipif(importlib.util.find_spec("agent.sim.isakmpd") is None,
                    reason="agent/sim/isakmpd.py is another developer's module")
def test_isakmpd_starts_with_its_flags_and_sasyncd_adds_s(host: SimHost) -> None:
    rcctl(host, "enable", "isakmpd")
    rcctl(host, "set", "isakmpd", "flags", "-K")
    start = rcctl(host, "start", "isakmpd")
    assert (start.rc, start.stdout) == (0, "isakmpd(ok)\n")
    assert running(host)["isakmpd"] == ["-K"]
    assert b"pexp=isakmpd: monitor \\[priv\\]\n" in host.read_file("/var/run/rc.d/isakmpd")  # type: ignore[operator]
    assert rcctl(host, "stop", "isakmpd").stdout == "isakmpd(ok)\n"
    rcctl(host, "enable", "sasyncd")
    assert rcctl(host, "start", "isakmpd").stdout == "isakmpd(ok)\n"
    assert running(host)["isakmpd"] == ["-S", "-K"]  # rc_pre() of etc/rc.d/isakmpd
