"""make_plan as a table: a converged router (the demo's rtr1) with one thing changed in what
is observed, recorded or desired, in; the exact ordered steps out. Read it as the spec of the
plan: what is checked first, what is deleted before what is written, what is never touched.

rtr1's tunnels: gre0 = rtr2 (internal), gre1 = alice, gre2 = bob.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from agent.facts.observe import Observed
from agent.router.desired import Desired, ManagedFile
from agent.router.plan import make_plan
from agent.router.record import Applied
from agent.run.converge import Prepared

State = tuple[Desired, Observed, Applied]
CONF = "/etc/ipsec.conf"


@pytest.fixture
def converged(converged_rtr1: Prepared) -> State:
    return converged_rtr1.desired, converged_rtr1.observed, converged_rtr1.record


def _gre(obs: Observed, iface: str, **change: Any) -> None:
    obs.gre[iface] = dataclasses.replace(obs.gre[iface], **change)


def _rule_changed(d: Desired, o: Observed, r: Applied) -> Desired:
    rules = dict(d.rules, alice=d.rules["alice"].replace("lifetime 3600", "lifetime 1800"))
    conf = d.ipsec_conf.content.replace(d.rules["alice"].encode(), rules["alice"].encode())
    return dataclasses.replace(d, rules=rules, ipsec_conf=ManagedFile(CONF, conf, 0o600))


def _isakmpd_stopped(d: Desired, o: Observed, r: Applied) -> None:
    o.isakmpd_running, o.isakmpd_pid = False, None


def _stale_record(d: Desired, o: Observed, r: Applied) -> None:
    r.rules["zed"] = "ike esp transport proto gre from 192.0.2.1 to 203.0.113.9"


def _leftover(d: Desired, o: Observed, r: Applied, description: str) -> None:
    o.gre["gre9"] = dataclasses.replace(o.gre["gre1"], name="gre9", description=description)


def _mutate(fn: Callable[..., Any]) -> Callable[[State], State]:
    def apply(state: State) -> State:
        d, o, r = state[0], copy.deepcopy(state[1]), copy.deepcopy(state[2])
        changed = fn(d, o, r)
        return (changed if isinstance(changed, Desired) else d), o, r

    return apply


LOAD = ("load-rules", "ipsec:rules", "ipsecctl -f /etc/ipsec.conf")
CASES: dict[str, tuple[Callable[..., Any], list[tuple[str, str, str]]]] = {
    "converged: nothing to do": (lambda d, o, r: None, []),
    "isakmpd stopped: start it, then load the rules (it holds none)": (
        _isakmpd_stopped,
        [("start-isakmpd", "daemon:isakmpd", "rcctl start isakmpd"), LOAD],
    ),
    "isakmpd restarted by hand: load the rules into the new process": (
        lambda d, o, r: setattr(o, "isakmpd_pid", (o.isakmpd_pid or 0) + 1),
        [LOAD],
    ),
    "flags without -K: set them, restart, load": (
        lambda d, o, r: setattr(o, "isakmpd_flags", "-v"),
        [
            ("run", "rc:isakmpd", "rcctl set isakmpd flags -K"),
            ("start-isakmpd", "daemon:isakmpd", "rcctl restart isakmpd"),
            LOAD,
        ],
    ),
    "an operator's -v next to -K is kept (no restart, no SA loss)": (
        lambda d, o, r: setattr(o, "isakmpd_flags", "-K -v"),
        [],
    ),
    "isakmpd disabled and stopped: enable, set flags, start, load": (
        lambda d, o, r: (_isakmpd_stopped(d, o, r), setattr(o, "isakmpd_flags", None)),
        [
            ("run", "rc:isakmpd", "rcctl enable isakmpd"),
            ("run", "rc:isakmpd", "rcctl set isakmpd flags -K"),
            ("start-isakmpd", "daemon:isakmpd", "rcctl start isakmpd"),
            LOAD,
        ],
    ),
    "ipsec=NO: enable it so the rules load at boot": (
        lambda d, o, r: setattr(o, "ipsec_enabled", False),
        [("run", "rc:ipsec", "rcctl enable ipsec")],
    ),
    "gre.allow reset: set it live (sysctl.conf already has it)": (
        lambda d, o, r: o.sysctl.__setitem__("net.inet.gre.allow", "0"),
        [("run", "sysctl:net.inet.gre.allow", "sysctl net.inet.gre.allow=1")],
    ),
    "a changed rule: check the file, delete the old rule, write, load": (
        _rule_changed,
        [
            ("check-ipsec", f"file:{CONF}", "ipsecctl -n -f <new ipsec.conf>"),
            ("delete-rule", "rule:alice", "ipsecctl -d -f <last applied rule of alice>"),
            ("write", f"file:{CONF}", f"write {CONF} (0600 root:wheel)"),
            LOAD,
        ],
    ),
    "a changed rule while isakmpd is stopped: nothing to delete, start then load": (
        lambda d, o, r: (_isakmpd_stopped(d, o, r), _rule_changed(d, o, r))[1],
        [
            ("check-ipsec", f"file:{CONF}", "ipsecctl -n -f <new ipsec.conf>"),
            ("start-isakmpd", "daemon:isakmpd", "rcctl start isakmpd"),
            ("write", f"file:{CONF}", f"write {CONF} (0600 root:wheel)"),
            LOAD,
        ],
    ),
    "a changed rule after isakmpd was restarted by hand: the old rule is gone already": (
        lambda d, o, r: (setattr(o, "isakmpd_pid", (o.isakmpd_pid or 0) + 1),
                         _rule_changed(d, o, r))[1],
        [
            ("check-ipsec", f"file:{CONF}", "ipsecctl -n -f <new ipsec.conf>"),
            ("write", f"file:{CONF}", f"write {CONF} (0600 root:wheel)"),
            LOAD,
        ],
    ),
    "a rule of a removed peering still loaded: delete it (never ipsecctl -F), reload": (
        _stale_record,
        [("delete-rule", "rule:zed", "ipsecctl -d -f <last applied rule of zed>"), LOAD],
    ),
    "ipsec.conf edited by hand: check it, write it back, load": (
        lambda d, o, r: o.files.__setitem__(
            CONF, dataclasses.replace(o.files[CONF], content=b"# edited\n")
        ),
        [
            ("check-ipsec", f"file:{CONF}", "ipsecctl -n -f <new ipsec.conf>"),
            ("write", f"file:{CONF}", f"write {CONF} (0600 root:wheel)"),
            LOAD,
        ],
    ),
    "ipsec.conf mode 0644: rewritten 0600 (and loaded again)": (
        lambda d, o, r: o.files.__setitem__(
            CONF,
            dataclasses.replace(
                o.files[CONF], stat=dataclasses.replace(o.files[CONF].stat, mode=0o644)
            ),
        ),
        [
            ("check-ipsec", f"file:{CONF}", "ipsecctl -n -f <new ipsec.conf>"),
            ("write", f"file:{CONF}", f"write {CONF} (0600 root:wheel)"),
            LOAD,
        ],
    ),
    "gre1 mtu drifted: changed in place": (
        lambda d, o, r: _gre(o, "gre1", mtu=1476),
        [("run", "gre:gre1", "ifconfig gre1 mtu 1400")],
    ),
    "gre1 down: brought up in place": (
        lambda d, o, r: _gre(o, "gre1", up=False),
        [("run", "gre:gre1", "ifconfig gre1 up")],
    ),
    "gre1 destroyed: netstart creates it from its file": (
        lambda d, o, r: o.gre.pop("gre1"),
        [("run", "gre:gre1", "sh /etc/netstart gre1")],
    ),
    "hostname.gre1 deleted, interface fine: only the file is written": (
        lambda d, o, r: o.hostname_files.pop("gre1"),
        [("write", "file:/etc/hostname.gre1", "write /etc/hostname.gre1 (0640 root:wheel)")],
    ),
    "a gre interface peerops does not own is never touched": (
        lambda d, o, r: _leftover(d, o, r, "uplink to isp"),
        [],
    ),
    "a gre interface of a removed peering is destroyed": (
        lambda d, o, r: _leftover(d, o, r, "peerops zed: dn42 peer zed"),
        [("run", "gre:gre9", "ifconfig gre9 destroy")],
    ),
    "several at once, in order: sysctl, rc, isakmpd, rules, gre": (
        lambda d, o, r: (
            o.sysctl.__setitem__("net.inet.gre.allow", "0"),
            _isakmpd_stopped(d, o, r),
            o.gre.pop("gre2"),
        ),
        [
            ("run", "sysctl:net.inet.gre.allow", "sysctl net.inet.gre.allow=1"),
            ("start-isakmpd", "daemon:isakmpd", "rcctl start isakmpd"),
            LOAD,
            ("run", "gre:gre2", "sh /etc/netstart gre2"),
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_plan(converged: State, case: str) -> None:
    change, expected = CASES[case]
    desired, observed, record = _mutate(change)(converged)
    steps = make_plan(desired, observed, record)
    assert [(s.kind, s.resource, s.describe()) for s in steps] == expected
