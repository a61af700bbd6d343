"""The health checklist as a table: a converged router (the demo's rtr1), one observed fact
changed, in; every check's verdict for alice (gre1) and her resulting state out. Read it as
the spec of health: which check names a fault first, and what it means for the peer."""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.facts.ipsec import IpsecFacts
from agent.facts.observe import FileFact, Observed
from agent.health.checklist import (
    Check,
    PeerView,
    check_accepted,
    check_addresses,
    check_endpoint,
    check_flows,
    check_gre,
    check_gre_allow,
    check_isakmpd,
    check_local_key,
    check_peer_key,
    check_ping,
    check_rule,
    check_sas,
    check_tunnel,
    peer_checks,
    router_checks,
)
from agent.health.peer import assess
from agent.health.ping import PingResult
from agent.host import FileStat
from agent.lab.demo import build_demo_fleet
from agent.model import Crypto, Phase
from agent.router.desired import GRE_ALLOW, LOCAL_PUB
from agent.run.converge import Prepared, apply_router

LATER = 10_000.0  # seconds after the load: the negotiation grace is over


@pytest.fixture
def converged(converged_rtr1: Prepared) -> Prepared:
    return converged_rtr1


def _sas_one_way(o: Observed) -> None:
    """Only our outbound SA to alice is left (inbound ones vanished)."""
    sas = tuple(s for s in o.ipsec.sas if s.src != "198.51.100.7")
    o.ipsec = IpsecFacts(o.ipsec.flows, sas)


def _no_flows(o: Observed) -> None:
    flows = tuple(f for f in o.ipsec.flows if f.peer != "198.51.100.7")
    sas = tuple(s for s in o.ipsec.sas if "198.51.100.7" not in (s.src, s.dst))
    o.ipsec = IpsecFacts(flows, sas)


def _gre(o: Observed, **change: Any) -> None:
    o.gre["gre1"] = dataclasses.replace(o.gre["gre1"], **change)


# (change to the observed router, {check id: status} that must differ from "pass", alice's state)
CASES: dict[str, tuple[Callable[[Observed], Any], dict[str, str], str]] = {
    "healthy": (lambda o: None, {}, "up"),
    "gre.allow=0 fails first, for every peer": (
        lambda o: o.sysctl.__setitem__("net.inet.gre.allow", "0"),
        {"gre-allow": "fail"},
        "down",
    ),
    "isakmpd stopped: its check and the rule check fail; flows/SAs are consequences": (
        lambda o: (setattr(o, "isakmpd_running", False), setattr(o, "isakmpd_pid", None),
                   _no_flows(o)),
        {"isakmpd": "fail", "rule": "fail", "flows": "fail", "sas": "fail"},
        "down",
    ),
    "isakmpd restarted by hand: the rule is not loaded in the new one": (
        lambda o: setattr(o, "isakmpd_pid", (o.isakmpd_pid or 0) + 1),
        {"rule": "fail"},
        "down",
    ),
    "an SA in one direction only is not up": (_sas_one_way, {"sas": "fail"}, "down"),
    "no flows and no SAs while everything else is ready": (
        _no_flows,
        {"flows": "fail", "sas": "fail"},
        "down",
    ),
    "peer key missing": (
        lambda o: o.pubkey_files.pop("/etc/isakmpd/pubkeys/fqdn/alice.example.org"),
        {"peer-key": "fail"},
        "down",
    ),
    "local key readable by group": (
        lambda o: setattr(o, "local_key", dataclasses.replace(o.local_key, mode=0o640)),
        {"local-key": "fail"},
        "down",
    ),
    "gre1 down": (lambda o: _gre(o, up=False), {"gre": "fail"}, "down"),
    "gre1 gone: tunnel and addresses have nothing to look at": (
        lambda o: o.gre.pop("gre1"),
        {"gre": "fail", "tunnel": "skip", "addresses": "skip"},
        "down",
    ),
    "tunnel endpoints wrong": (
        lambda o: _gre(o, tunnel=dataclasses.replace(o.gre["gre1"].tunnel, dst="198.51.100.8")),
        {"tunnel": "fail"},
        "down",
    ),
    "transfer address missing": (lambda o: _gre(o, inet=()), {"addresses": "fail"}, "down"),
    "mtu drift alone does not take a link down": (lambda o: _gre(o, mtu=1476), {}, "up"),
    "our endpoint on one of our interfaces": (
        lambda o: setattr(o, "local_addresses", frozenset({"192.0.2.1", "2001:db8:1::1"})),
        {},
        "up",
    ),
    "our endpoint on none of our interfaces: a failure, flows and SAs its consequence": (
        lambda o: (setattr(o, "local_addresses", frozenset({"192.0.2.9"})), _no_flows(o)),
        {"endpoint": "fail", "flows": "fail", "sas": "fail"},
        "down",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_checklist(converged: Prepared, case: str) -> None:
    change, failing, state = CASES[case]
    obs = copy.deepcopy(converged.observed)
    change(obs)
    alice = next(p for p in converged.peerings if p.peer == "alice")
    now = (converged.record.loaded_at or 0) + LATER
    view = PeerView(alice, converged.desired, obs, converged.record, None, now)
    router = router_checks(obs, converged.desired)
    checks = [*router, *peer_checks(view, router)]
    verdicts = {c.id: c.status for c in checks}
    assert {i: s for i, s in verdicts.items() if s != "pass"} == failing
    if failing:  # the first failure is the first failing check in the table's order
        assert next(c for c in checks if c.status == "fail").id == next(iter(failing))
    (health,) = [h for h in assess(converged.peerings, converged.desired, obs,
                                   converged.record, {}, now) if h.peer == "alice"]
    assert health.state == state


def test_an_endpoint_the_router_does_not_hold_is_down_not_negotiating(tmp_path: Path) -> None:
    """Right after the load (inside the negotiation grace) a missing SA would read as
    "negotiating"; an endpoint no interface holds is a failure at once."""
    from tests.conftest import edit

    fleet = build_demo_fleet(tmp_path / "fleet")
    cfg = fleet["rtr1"]
    edit(cfg.repo / "routers/rtr1.yaml", "ipv4: 192.0.2.1", "ipv4: 192.0.2.99")
    outcome = apply_router(cfg)
    alice = next(h for h in outcome.health if h.peer == "alice")
    assert (alice.state, alice.check) == ("down", "endpoint")
    assert "no interface of this router holds 192.0.2.99" in (alice.reason or "")
    bob = next(h for h in outcome.health if h.peer == "bob")  # over IPv6: not affected
    assert bob.check != "endpoint"


# ---- what the operator reads: every branch of every check, in full -----------------------------
#
# One scenario per branch of agent/health/checklist.py: the converged rtr1, one fact changed,
# in; the checks' full verdicts (status, detail, cause, the next commands in order, debug,
# source) out, as `peerops doctor --json` prints them. The expected verdicts are in
# tests/cases/checklist-verdicts.json, one entry per scenario: read it as the doctor's words.
# After a deliberate change of wording, rewrite it with PEEROPS_UPDATE_VERDICTS=1 and review
# the diff like any other change of the product.

VERDICTS = Path(__file__).parent / "cases" / "checklist-verdicts.json"
ALICE_KEY = "/etc/isakmpd/pubkeys/fqdn/alice.example.org"
BOB_KEY = "/etc/isakmpd/pubkeys/ipv6/2001:db8:b0b::7"


@functools.cache
def _rsa(n: int) -> tuple[bytes, bytes, bytes]:
    """A test RSA key n: (private PEM, public SPKI PEM, public PKCS#1 PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key()
    return (
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
        pub.public_bytes(serialization.Encoding.PEM,
                         serialization.PublicFormat.SubjectPublicKeyInfo),
        pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
    )


class _Case:
    """One scenario's inputs: a copy of the converged router to change."""

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self.obs = copy.deepcopy(prep.observed)
        self.record = copy.deepcopy(prep.record)
        self.desired = prep.desired

    def view(self, peer: str = "alice", *, error: str | None = None,
             after: float = LATER) -> PeerView:
        p = next(x for x in self.prep.peerings if x.peer == peer)
        now = (self.record.loaded_at or 0) + after
        return PeerView(p, self.desired, self.obs, self.record, error, now)

    def local_pub(self, pem: bytes) -> None:
        stat = FileStat(mode=0o644, uid=0, gid=0, size=len(pem))
        self.obs.files[LOCAL_PUB] = FileFact(LOCAL_PUB, pem, stat)

    def move_key(self, old: str, new: str, content: bytes | None = None) -> None:
        fact = self.obs.pubkey_files.pop(old)
        self.obs.pubkey_files[new] = dataclasses.replace(
            fact, path=new, content=fact.content if content is None else content)


def _ping(rc: int, sent: int = 3, received: int = 0, timed_out: bool = False) -> PingResult:
    return PingResult(("ping", "-c", "3", "-w", "2", "172.20.0.1"), rc, sent, received, "",
                      timed_out)


def _without_alice(c: _Case) -> None:
    """Alice is in neither the rendered state nor the record (a peering left out)."""
    c.desired = dataclasses.replace(
        c.desired, interfaces={k: v for k, v in c.desired.interfaces.items() if k != "alice"})
    c.record.interfaces.pop("alice")
    c.record.rules.pop("alice")


def _gre_gone(c: _Case, *, hostname_file: bool) -> list[Check | None]:
    c.obs.gre.pop("gre1")
    if not hostname_file:
        c.obs.hostname_files.pop("gre1")
    v = c.view()
    return [check_gre(v), check_tunnel(v), check_addresses(v)]


def _not_rendered(c: _Case) -> list[Check | None]:
    """Alice held as applied: her interface is in the record, nothing rendered for it."""
    c.desired = dataclasses.replace(
        c.desired, interfaces={k: v for k, v in c.desired.interfaces.items() if k != "alice"})
    v = c.view()
    return [check_gre(v), check_tunnel(v), check_addresses(v)]


def _no_interface(c: _Case) -> list[Check | None]:
    _without_alice(c)
    v = c.view()
    return [check_gre(v), check_tunnel(v), check_addresses(v), check_ping(v, _ping(1))]


def _local_key(c: _Case, private: int | None, pub: int | None, published: bytes | None,
               ) -> list[Check | None]:
    if pub is None:
        c.obs.files.pop(LOCAL_PUB, None)
    else:
        c.local_pub(_rsa(pub)[1])
    key = None if private is None else _rsa(private)[0]
    text = None if published is None else published.decode()
    return [check_local_key(c.obs, key, text)]


def _alice(c: _Case, **kw: Any) -> list[Check | None]:
    return peer_checks(c.view(**kw), router_checks(c.obs, c.desired), pinged=True,
                       ping=_ping(0, received=3))


def _aead_no_sas(c: _Case) -> list[Check | None]:
    """Alice's quick mode with an AEAD cipher (no auth): the cause quotes our proposal."""
    _no_flows(c.obs)
    v = c.view()
    quick = Phase(None, "aes-256-gcm", "modp3072", 1200)
    p = dataclasses.replace(v.p, crypto=Crypto(v.p.crypto.main, quick))
    return [check_sas(dataclasses.replace(v, p=p))]


def _isakmpd(c: _Case, flags: str | None, running: bool, pid: int | None = None,
             ) -> list[Check | None]:
    c.obs.isakmpd_flags, c.obs.isakmpd_running, c.obs.isakmpd_pid = flags, running, pid
    return [check_isakmpd(c.obs, "-K -v", apply="peerops apply -c /etc/peerops/x.yaml")]


SCENARIOS: dict[str, Callable[[_Case], list[Check | None]]] = {
    # router-wide
    "router healthy": lambda c: list(router_checks(c.obs, c.desired)),
    "gre.allow=0": lambda c: (c.obs.sysctl.__setitem__(GRE_ALLOW, "0"),
                              [check_gre_allow(c.obs, apply="peerops apply -c x.yaml")])[1],
    "gre.allow unreadable, sysctl said why": lambda c: (
        c.obs.sysctl.pop(GRE_ALLOW),
        c.obs.errors.extend(["ifconfig: gre9: no such interface",
                             f"sysctl: {GRE_ALLOW}: Operation not permitted",
                             f"sysctl {GRE_ALLOW}: second"]),
        [check_gre_allow(c.obs)])[2],
    "gre.allow unreadable, no error": lambda c: (c.obs.sysctl.pop(GRE_ALLOW),
                                                 [check_gre_allow(c.obs)])[1],
    "isakmpd disabled": lambda c: _isakmpd(c, None, False),
    "isakmpd enabled with empty flags": lambda c: _isakmpd(c, "", True, 4242),
    "isakmpd flags without -K": lambda c: _isakmpd(c, "-v -d", False),
    "isakmpd disabled, the flags to set by default": lambda c: (
        setattr(c.obs, "isakmpd_flags", None), [check_isakmpd(c.obs)])[1],
    "isakmpd with -K stopped": lambda c: _isakmpd(c, "-K", False),
    "isakmpd with -K running, pid known": lambda c: _isakmpd(c, "-K -v", True, 4242),
    "isakmpd with -K running, pid unknown": lambda c: _isakmpd(c, "-K", True, None),
    "local key missing": lambda c: (setattr(c.obs, "local_key", None),
                                    [check_local_key(c.obs)])[1],
    "local key readable by group": lambda c: (
        setattr(c.obs, "local_key", dataclasses.replace(c.obs.local_key, mode=0o640)),
        [check_local_key(c.obs)])[1],
    "local key owned by another user": lambda c: (
        setattr(c.obs, "local_key", dataclasses.replace(c.obs.local_key, uid=1000)),
        [check_local_key(c.obs)])[1],
    "local.pub missing": lambda c: _local_key(c, 1, None, None),
    "local.pub missing, only the published key known": lambda c: _local_key(
        c, None, None, _rsa(1)[1]),
    "local.pub is another key than local.key's": lambda c: _local_key(c, 1, 2, None),
    "local.pub is local.key's, the repo publishes another": lambda c: _local_key(
        c, 1, 1, _rsa(2)[1]),
    "local.pub is local.key's and the repo's (as PKCS#1)": lambda c: _local_key(
        c, 1, 1, _rsa(1)[2]),
    "local.pub is the repo's, local.key not readable as RSA": lambda c: (
        c.local_pub(_rsa(1)[1]), [check_local_key(c.obs, b"not a key", _rsa(1)[1].decode())])[1],
    # per peer
    "alice healthy, pinged": _alice,
    "bob healthy, pinged": lambda c: peer_checks(
        c.view("bob"), router_checks(c.obs, c.desired), pinged=True,
        ping=PingResult(("ping6", "-c", "3", "fd00::2"), 0, 3, 2, "")),
    "alice left out, her last state held": lambda c: [check_accepted(
        c.view(error="peers/alice.yaml: line 3: asn: not an integer"))],
    "alice left out, never applied": lambda c: (_without_alice(c), [check_accepted(
        c.view(error="quarantined: ipsecctl refused her rule"))])[1],
    "alice left out, only her interface applied": lambda c: (c.record.rules.pop("alice"), [
        check_accepted(c.view(error="peers/alice.yaml: line 9: public_key: not RSA"))])[1],
    "alice left out, only her rule applied": lambda c: (c.record.interfaces.pop("alice"), [
        check_accepted(c.view(error="peers/alice.yaml: line 9: public_key: not RSA"))])[1],
    "alice accepted": lambda c: [check_accepted(c.view())],
    "our endpoint held": lambda c: (
        setattr(c.obs, "local_addresses", frozenset({"192.0.2.1"})), [check_endpoint(c.view())])[1],
    "our endpoint held by no interface": lambda c: (
        setattr(c.obs, "local_addresses", frozenset({"192.0.2.9", "2001:db8:1::1"})),
        [check_endpoint(c.view()), check_endpoint(c.view("bob"))])[1],
    "addresses not looked at": lambda c: [check_endpoint(c.view())],
    "alice's key missing": lambda c: (c.obs.pubkey_files.pop(ALICE_KEY),
                                      [check_peer_key(c.view(), apply="peerops apply -c x")])[1],
    "alice's key under her address (ipv4/)": lambda c: (
        c.move_key(ALICE_KEY, "/etc/isakmpd/pubkeys/ipv4/198.51.100.7", b"other bytes\n"),
        [check_peer_key(c.view())])[1],
    "alice's key under another name (same key)": lambda c: (
        c.move_key(ALICE_KEY, "/etc/isakmpd/pubkeys/ufqdn/ops@alice.example.org"),
        [check_peer_key(c.view())])[1],
    "alice's key missing, bob's key and an unrelated file elsewhere": lambda c: (
        c.obs.pubkey_files.pop(ALICE_KEY),
        c.obs.pubkey_files.__setitem__("/etc/isakmpd/pubkeys/fqdn/alice.example.org.bak",
                                       dataclasses.replace(c.obs.pubkey_files[BOB_KEY])),
        [check_peer_key(c.view())])[2],
    "bob's key under fqdn/ with his address": lambda c: (
        c.move_key(BOB_KEY, "/etc/isakmpd/pubkeys/fqdn/2001:db8:b0b::7"),
        [check_peer_key(c.view("bob"))])[1],
    "alice's key file holds another key": lambda c: (
        c.obs.pubkey_files.__setitem__(ALICE_KEY, dataclasses.replace(
            c.obs.pubkey_files[ALICE_KEY], content=_rsa(1)[1])),
        [check_peer_key(c.view(), apply="peerops apply -c x")])[1],
    "alice's key file holds another key, hers is under ipv4/": lambda c: (
        c.obs.pubkey_files.__setitem__("/etc/isakmpd/pubkeys/ipv4/198.51.100.7",
                                       c.obs.pubkey_files[ALICE_KEY]),
        c.obs.pubkey_files.__setitem__(ALICE_KEY, dataclasses.replace(
            c.obs.pubkey_files[ALICE_KEY], content=_rsa(1)[1])),
        [check_peer_key(c.view())])[2],
    "alice's key file holds her key as PKCS#1": lambda c: [check_peer_key(c.view())],
    "rule: isakmpd stopped": lambda c: (setattr(c.obs, "isakmpd_running", False),
                                        [check_rule(c.view(), apply="peerops apply -c x")])[1],
    "rule: never loaded": lambda c: (c.record.rules.pop("alice"),
                                     [check_rule(c.view(), apply="peerops apply -c x")])[1],
    "rule: isakmpd restarted": lambda c: (
        setattr(c.obs, "isakmpd_pid", (c.obs.isakmpd_pid or 0) + 1),
        [check_rule(c.view(), apply="peerops apply -c x")])[1],
    "rule: changed in the repo": lambda c: (
        c.record.rules.__setitem__("alice", c.record.rules["alice"] + "# old\n"),
        [check_rule(c.view(), apply="peerops apply -c x")])[1],
    "no flows or SAs, long after the load": lambda c: (_no_flows(c.obs), _alice(c))[1],
    "no flows or SAs, 30 s after the load": lambda c: (_no_flows(c.obs), _alice(c, after=30.4))[1],
    "no flows or SAs, isakmpd stopped": lambda c: (
        _no_flows(c.obs), setattr(c.obs, "isakmpd_running", False), _alice(c))[2],
    "no flows or SAs, an AEAD quick mode": _aead_no_sas,
    "no flows, no load time recorded, 30 s into the clock": lambda c: (
        _no_flows(c.obs), setattr(c.record, "loaded_at", None),
        [check_flows(c.view(after=30.0))])[2],
    "no flows or SAs while gre.allow=0: IKE's own failure, not its consequence": lambda c: (
        _no_flows(c.obs), c.obs.sysctl.__setitem__(GRE_ALLOW, "0"), _alice(c))[2],
    "isakmpd disabled, the router file wants other flags": lambda c: (
        setattr(c.obs, "isakmpd_flags", None),
        setattr(c, "desired", dataclasses.replace(c.desired, isakmpd_flags="-K -L")),
        router_checks(c.obs, c.desired))[2],
    "rule, tunnel and addresses wrong, the apply command given": lambda c: (
        c.record.rules.pop("alice"), c.obs.pubkey_files.pop(ALICE_KEY),
        _gre(c.obs, inet=(), tunnel=dataclasses.replace(c.obs.gre["gre1"].tunnel,
                                                        dst="198.51.100.8")),
        peer_checks(c.view(), router_checks(c.obs, c.desired), "peerops apply -c /x.yaml"))[3],
    "gre1 gone, no hostname.gre1, the apply command given": lambda c: (
        c.obs.gre.pop("gre1"), c.obs.hostname_files.pop("gre1"),
        peer_checks(c.view(), router_checks(c.obs, c.desired), "peerops apply -c /x.yaml"))[2],
    "SAs outbound only": lambda c: (_sas_one_way(c.obs), _alice(c))[1],
    "flows inbound only": lambda c: (
        setattr(c.obs, "ipsec", IpsecFacts(
            tuple(f for f in c.obs.ipsec.flows
                  if not (f.peer == "198.51.100.7" and f.direction == "out")),
            c.obs.ipsec.sas)),
        [check_flows(c.view())])[1],
    "gre1 gone, hostname.gre1 there": lambda c: _gre_gone(c, hostname_file=True),
    "gre1 gone, no hostname.gre1": lambda c: _gre_gone(c, hostname_file=False),
    "gre1 down": lambda c: (_gre(c.obs, up=False), [check_gre(c.view())])[1],
    "gre1 up, not running": lambda c: (
        _gre(c.obs, flags=tuple(f for f in c.obs.gre["gre1"].flags if f != "RUNNING")),
        [check_gre(c.view())])[1],
    "alice held as applied (not rendered)": _not_rendered,
    "alice has no interface": _no_interface,
    "tunnel destination wrong": lambda c: (
        _gre(c.obs, tunnel=dataclasses.replace(c.obs.gre["gre1"].tunnel, dst="198.51.100.8")),
        [check_tunnel(c.view(), apply="peerops apply -c x")])[1],
    "tunnel unset": lambda c: (_gre(c.obs, tunnel=None), [check_tunnel(c.view())])[1],
    "transfer address missing": lambda c: (
        _gre(c.obs, inet=()), [check_addresses(c.view(), apply="peerops apply -c x")])[1],
    "bob's addresses": lambda c: [check_addresses(c.view("bob"))],
    "bob's transfer address gone, his link-local kept": lambda c: (
        c.obs.gre.__setitem__("gre2", dataclasses.replace(c.obs.gre["gre2"], inet6=tuple(
            a for a in c.obs.gre["gre2"].inet6 if a.address.startswith("fe80:")))),
        [check_addresses(c.view("bob"))])[1],
    "alice's link-local gone": lambda c: (_gre(c.obs, inet6=()),
                                          [check_addresses(c.view())])[1],
    "no transfer address wanted, none there": lambda c: (
        _gre(c.obs, inet=(), inet6=()),
        setattr(c, "desired", dataclasses.replace(c.desired, gre={
            **c.desired.gre, "gre1": dataclasses.replace(
                c.desired.gre["gre1"], inet=None, inet6=(), link_local=False)})),
        [check_addresses(c.view())])[2],
    "ping: nothing to ping": lambda c: [check_ping(c.view(), None)],
    "ping: not installed": lambda c: [check_ping(c.view(), PingResult(
        ("ping6", "-c", "3", "fd00::2"), 127, 0, 0, "ping6: not found"))],
    "ping: answered": lambda c: [check_ping(c.view(), _ping(0, received=1))],
    "ping: exit 0 without a reply": lambda c: [check_ping(c.view(), _ping(0, received=0))],
    "ping: lost, after an earlier failure": lambda c: [check_ping(
        c.view(), _ping(1), prior=check_gre_allow(Observed()))],
    "ping: lost while negotiating": lambda c: [check_ping(c.view(), _ping(1), waiting=True)],
    "ping: lost": lambda c: [check_ping(c.view(), _ping(1, received=0))],
    "ping: timed out, no interface known": lambda c: (_without_alice(c), [check_ping(
        c.view(), _ping(2, received=0, timed_out=True))])[1],
    "ping after a wait: not a failure of its own": lambda c: (
        _no_flows(c.obs),
        peer_checks(c.view(after=5), router_checks(c.obs, c.desired), pinged=True,
                    ping=_ping(1)))[1],
    "ping after a failure: its consequence": lambda c: (
        _gre(c.obs, up=False),
        peer_checks(c.view(), router_checks(c.obs, c.desired), pinged=True, ping=_ping(1)))[1],
    "not pinged": lambda c: peer_checks(c.view(), router_checks(c.obs, c.desired)),
}


def _verdicts(checks: list[Check | None]) -> list[dict[str, Any] | None]:
    return [None if c is None else {**c.to_json(), "label": c.label, "failed": c.failed}
            for c in checks]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_check_says_what_is_wrong_and_what_to_run(converged: Prepared,
                                                        scenario: str) -> None:
    got = _verdicts(SCENARIOS[scenario](_Case(converged)))
    if os.environ.get("PEEROPS_UPDATE_VERDICTS"):
        table = json.loads(VERDICTS.read_text()) if VERDICTS.exists() else {}
        table[scenario] = got
        VERDICTS.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n")
    assert got == json.loads(VERDICTS.read_text())[scenario]


def test_every_scenario_has_its_verdicts_and_no_verdict_is_stale() -> None:
    assert set(json.loads(VERDICTS.read_text())) == set(SCENARIOS)
