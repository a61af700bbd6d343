"""The health checklist as a table: a converged router (the demo's rtr1), one observed fact
changed, in; every check's verdict for alice (gre1) and her resulting state out. Read it as
the spec of health: which check names a fault first, and what it means for the peer."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.facts.ipsec import IpsecFacts
from agent.facts.observe import Observed
from agent.health.checklist import PeerView, peer_checks, router_checks
from agent.health.peer import assess
from agent.lab.demo import build_demo_fleet
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
