"""What each planned step says and whom it belongs to: the reason is what `peerops plan` shows
the admin, and the peer decides what a failure quarantines (one peer, or the whole router).

The first table runs the cases of test_plan_table.py (same changes, same steps) and pins
(resource, peer, why) of every step; the second adds the keys, sysctl.conf, leftovers and held
peers, pinning the whole step.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from agent.facts.observe import Observed
from agent.router.desired import Desired
from agent.router.plan import make_plan
from agent.router.record import Applied
from agent.run.converge import Prepared
from tests.test_plan_table import CASES, State, _mutate

CONF = "/etc/ipsec.conf"
ALICE_KEY = "/etc/isakmpd/pubkeys/fqdn/alice.example.org"
RESTART = ("ipsec:rules", None, "isakmpd (re)starts in this run and holds no rules")
STOPPED = ("daemon:isakmpd", None, "isakmpd is not running")
CHECK = (f"file:{CONF}", None, "validate before it replaces the live file")
CHANGED = ("ipsec:rules", None, "the rules changed")
WRITE_CONF = (f"file:{CONF}", None, "ipsec.conf content differs")

REASONS: dict[str, list[tuple[str, str | None, str]]] = {
    "converged: nothing to do": [],
    "isakmpd stopped: start it, then load the rules (it holds none)": [STOPPED, RESTART],
    "isakmpd restarted by hand: load the rules into the new process": [
        ("ipsec:rules", None, "rules were loaded into isakmpd pid {pid}, now pid {pid1} runs")
    ],
    "flags without -K: set them, restart, load": [
        ("rc:isakmpd", None, "isakmpd flags are '-v'; -K makes isakmpd take policy from ipsecctl"),
        ("daemon:isakmpd", None, "its flags changed; it forgets loaded rules"),
        RESTART,
    ],
    "an operator's -v next to -K is kept (no restart, no SA loss)": [],
    "isakmpd disabled and stopped: enable, set flags, start, load": [
        ("rc:isakmpd", None, "isakmpd is not enabled"),
        ("rc:isakmpd", None, "isakmpd flags are 'NO'; -K makes isakmpd take policy from ipsecctl"),
        STOPPED,
        RESTART,
    ],
    "ipsec=NO: enable it so the rules load at boot": [
        ("rc:ipsec", None, "ipsec=NO: /etc/ipsec.conf would not load at boot")
    ],
    "gre.allow reset: set it live (sysctl.conf already has it)": [
        ("sysctl:net.inet.gre.allow", None, "net.inet.gre.allow is 0; gre(4) drops GRE packets")
    ],
    "a changed rule: check the file, delete the old rule, write, load": [
        CHECK, ("rule:alice", "alice", "its rule changed"), WRITE_CONF, CHANGED,
    ],
    "a changed rule while isakmpd is stopped: nothing to delete, start then load": [
        CHECK, STOPPED, WRITE_CONF, RESTART,
    ],
    "a changed rule after isakmpd was restarted by hand: the old rule is gone already": [
        CHECK, WRITE_CONF, CHANGED,
    ],
    "a rule of a removed peering still loaded: delete it (never ipsecctl -F), reload": [
        ("rule:zed", "zed", "its peering was removed"), CHANGED,
    ],
    "ipsec.conf edited by hand: check it, write it back, load": [CHECK, WRITE_CONF, CHANGED],
    "ipsec.conf mode 0644: rewritten 0600 (and loaded again)": [
        CHECK, (f"file:{CONF}", None, "ipsec.conf mode is 0644, not 0600"), CHANGED,
    ],
    "gre1 mtu drifted: changed in place": [("gre:gre1", "alice", "mtu is 1476, not 1400")],
    "gre1 down: brought up in place": [("gre:gre1", "alice", "up is down, not up")],
    "gre1 destroyed: netstart creates it from its file": [
        ("gre:gre1", "alice", "gre1 does not exist")
    ],
    "hostname.gre1 deleted, interface fine: only the file is written": [
        ("file:/etc/hostname.gre1", "alice", "hostname.gre1 is missing")
    ],
    "a gre interface peerops does not own is never touched": [],
    "a gre interface of a removed peering is destroyed": [
        ("gre:gre9", "zed", "peer zed was removed")
    ],
    "several at once, in order: sysctl, rc, isakmpd, rules, gre": [
        ("sysctl:net.inet.gre.allow", None, "net.inet.gre.allow is 0; gre(4) drops GRE packets"),
        STOPPED,
        RESTART,
        ("gre:gre2", "bob", "gre2 does not exist"),
    ],
}


@pytest.fixture
def converged(converged_rtr1: Prepared) -> State:
    return converged_rtr1.desired, converged_rtr1.observed, converged_rtr1.record


def test_every_case_of_the_plan_table_has_its_reasons() -> None:
    assert set(REASONS) == set(CASES)


@pytest.mark.parametrize("case", list(CASES))
def test_reasons(converged: State, case: str) -> None:
    desired, observed, record = _mutate(CASES[case][0])(converged)
    pid = record.isakmpd_pid or 0
    expected = [(r, p, w.format(pid=pid, pid1=pid + 1)) for r, p, w in REASONS[case]]
    assert [(s.resource, s.peer, s.why) for s in make_plan(desired, observed, record)] == expected


def _without_alice_key(d: Desired, o: Observed, r: Applied) -> None:
    del o.pubkey_files[ALICE_KEY]


def _alice_key_edited(d: Desired, o: Observed, r: Applied) -> None:
    o.pubkey_files[ALICE_KEY] = dataclasses.replace(o.pubkey_files[ALICE_KEY], content=b"x\n")


def _stale_key(d: Desired, o: Observed, r: Applied, present: bool = True) -> None:
    path = "/etc/isakmpd/pubkeys/ipv4/203.0.113.9"
    r.pubkeys.append(path)
    r.peer_keys["zed"] = path
    if present:
        o.pubkey_files[path] = o.pubkey_files[ALICE_KEY]


def _held_alice(d: Desired, o: Observed, r: Applied) -> Desired:
    """alice's files gone from desired and held (a gated peer): left as they are."""
    iface = next(i for i, spec in d.gre.items() if spec.peer == "alice")
    return dataclasses.replace(
        d,
        gre={i: s for i, s in d.gre.items() if i != iface},
        hostname_files={i: f for i, f in d.hostname_files.items() if i != iface},
        pubkeys={p: f for p, f in d.pubkeys.items() if p != ALICE_KEY},
        held_interfaces=frozenset({iface}),
        held_files=frozenset({ALICE_KEY}),
    )


def _sysctl_conf_lost(d: Desired, o: Observed, r: Applied) -> None:
    conf = o.files["/etc/sysctl.conf"]
    o.files["/etc/sysctl.conf"] = dataclasses.replace(conf, content=b"# local\n")


def _private_sysctl_conf(d: Desired, o: Observed, r: Applied) -> None:
    """An admin keeps sysctl.conf 0600: rewritten, it stays 0600."""
    conf = o.files["/etc/sysctl.conf"]
    o.files["/etc/sysctl.conf"] = dataclasses.replace(
        conf, content=b"# local\n", stat=dataclasses.replace(conf.stat, mode=0o600))


def _foreign_then_leftover(d: Desired, o: Observed, r: Applied) -> None:
    """gre10 (the admin's) sorts before gre9 (a removed peering's): gre9 still goes."""
    o.gre["gre10"] = dataclasses.replace(o.gre["gre1"], name="gre10", description="uplink")
    o.gre["gre9"] = dataclasses.replace(o.gre["gre1"], name="gre9",
                                        description="peerops zed: dn42 peer zed")


def _leftover_file(d: Desired, o: Observed, r: Applied) -> None:
    o.hostname_files["gre9"] = dataclasses.replace(
        o.hostname_files["gre1"], path="/etc/hostname.gre9",
        content=o.hostname_files["gre1"].content.replace(b"(peer alice,", b"(peer zed,"),
    )


def _forwarding(d: Desired, o: Observed, r: Applied) -> Desired:
    """Another sysctl the render could ask for: its reason has no gre(4) note."""
    o.sysctl["net.inet.ip.forwarding"] = "0"
    return dataclasses.replace(d, sysctl={**d.sysctl, "net.inet.ip.forwarding": "1"})


Step = tuple[str, str, str | None, str, str]  # kind, resource, peer, why, describe()
MORE: dict[str, tuple[Callable[..., Any], list[Step]]] = {
    "alice's key file deleted: written again, as alice's": (
        _without_alice_key,
        [("write", f"file:{ALICE_KEY}", "alice", "peer key {fp} is missing",
          f"write {ALICE_KEY} (0644 root:wheel)")],
    ),
    "alice's key file edited: written again": (
        _alice_key_edited,
        [("write", f"file:{ALICE_KEY}", "alice", "peer key {fp} content differs",
          f"write {ALICE_KEY} (0644 root:wheel)")],
    ),
    "the key of a removed peering: removed, as its peer's": (
        _stale_key,
        [("remove", "file:/etc/isakmpd/pubkeys/ipv4/203.0.113.9", "zed",
          "its peering was removed", "remove /etc/isakmpd/pubkeys/ipv4/203.0.113.9")],
    ),
    "the key of a removed peering already gone: nothing": (
        lambda d, o, r: _stale_key(d, o, r, present=False),
        [],
    ),
    "a held peer's interface and key are left as they are": (_held_alice, []),
    "sysctl.conf lost the setting: written, keeping its own lines": (
        _sysctl_conf_lost,
        [("write", "file:/etc/sysctl.conf", None, "set at boot too",
          "write /etc/sysctl.conf ({mode} root:wheel)")],
    ),
    "another sysctl: set live and at boot": (
        _forwarding,
        [("run", "sysctl:net.inet.ip.forwarding", None, "net.inet.ip.forwarding is 0",
          "sysctl net.inet.ip.forwarding=1"),
         ("write", "file:/etc/sysctl.conf", None, "set at boot too",
          "write /etc/sysctl.conf ({mode} root:wheel)")],
    ),
    "sysctl.conf kept 0600 by the admin: rewritten 0600": (
        _private_sysctl_conf,
        [("write", "file:/etc/sysctl.conf", None, "set at boot too",
          "write /etc/sysctl.conf (0600 root:wheel)")],
    ),
    "an interface not ours sorted first does not stop the cleanup": (
        _foreign_then_leftover,
        [("run", "gre:gre9", "zed", "peer zed was removed", "ifconfig gre9 destroy")],
    ),
    "a hostname file of a removed peering, no interface: removed": (
        _leftover_file,
        [("remove", "file:/etc/hostname.gre9", "zed", "its peering was removed",
          "remove /etc/hostname.gre9")],
    ),
}


@pytest.mark.parametrize("case", list(MORE))
def test_more_steps(converged_rtr1: Prepared, case: str) -> None:
    from agent.keys import fingerprint_of

    change, expected = MORE[case]
    state = (converged_rtr1.desired, copy.deepcopy(converged_rtr1.observed),
             copy.deepcopy(converged_rtr1.record))
    desired, observed, record = _mutate(change)(state)
    fp = fingerprint_of(converged_rtr1.desired.pubkeys[ALICE_KEY].content.decode())
    conf = converged_rtr1.observed.files["/etc/sysctl.conf"]
    mode = f"{conf.stat.mode:04o}"
    steps = make_plan(desired, observed, record)
    assert [(s.kind, s.resource, s.peer, s.why, s.describe()) for s in steps] == [
        (k, r, p, w.format(fp=fp), d.format(mode=mode)) for k, r, p, w, d in expected
    ]
    if case.startswith("sysctl.conf"):
        (step,) = steps
        text = step.file.content.decode()  # type: ignore[attr-defined]
        assert text.startswith("# local\n") and "net.inet.gre.allow=1" in text
