"""Per-peer health as a table: the converged demo rtr1 with one observed fact changed, in;
alice's whole PeerHealth out (every field the report and `peerops status` show), with the
other peers untouched. Then the ordering and the JSON shape every command prints."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from agent.facts.ipsec import IpsecFacts
from agent.facts.observe import Observed
from agent.health.peer import PeerHealth, assess, peers_json
from agent.health.ping import PingResult
from agent.run.converge import Prepared

LATER = 10_000.0  # seconds after the load: the negotiation grace is over
ALICE = "198.51.100.7"
ALICE_KEY = "/etc/isakmpd/pubkeys/fqdn/alice.example.org"
UP = PeerHealth("rtr1", "alice", "gre1", True, True, 1, 1, 1, 1, True, "up")


def _sas(o: Observed, keep: Callable[[Any], bool]) -> None:
    o.ipsec = IpsecFacts(o.ipsec.flows, tuple(s for s in o.ipsec.sas if keep(s)))


def _flows(o: Observed, keep: Callable[[Any], bool]) -> None:
    o.ipsec = IpsecFacts(tuple(f for f in o.ipsec.flows if keep(f)), o.ipsec.sas)


def _gre1(o: Observed, **change: Any) -> None:
    o.gre["gre1"] = dataclasses.replace(o.gre["gre1"], **change)


CASES: dict[str, tuple[Callable[[Observed], Any], float, dict[str, Any]]] = {
    "healthy": (lambda o: None, LATER, {}),
    "no inbound SA: down on the SAs, counted one way": (
        lambda o: _sas(o, lambda s: s.src != ALICE), LATER,
        {"sas_in": 0, "state": "down", "check": "sas",
         "reason": f"SAs: 0 in / 1 out between 192.0.2.1 and {ALICE}"},
    ),
    "no outbound SA": (
        lambda o: _sas(o, lambda s: s.dst != ALICE), LATER,
        {"sas_out": 0, "state": "down", "check": "sas",
         "reason": f"SAs: 1 in / 0 out between 192.0.2.1 and {ALICE}"},
    ),
    "no SAs right after the load: negotiating, no reason yet": (
        lambda o: _sas(o, lambda s: ALICE not in (s.src, s.dst)), 1.0,
        {"sas_in": 0, "sas_out": 0, "state": "negotiating"},
    ),
    "no inbound flow": (
        lambda o: _flows(o, lambda f: not (f.peer == ALICE and f.direction == "in")), LATER,
        {"flows_in": 0, "state": "down", "check": "flows",
         "reason": f"flows: 0 in / 1 out for proto gre with {ALICE}"},
    ),
    "gre1 destroyed": (
        lambda o: o.gre.pop("gre1"), LATER,
        {"gre": False, "state": "down", "check": "gre",
         "reason": "gre interface: gre1 does not exist"},
    ),
    "gre1 down": (
        lambda o: _gre1(o, up=False, flags=("POINTOPOINT", "MULTICAST")), LATER,
        {"gre": False, "state": "down", "check": "gre",
         "reason": "gre interface: gre1 is down (flags <POINTOPOINT,MULTICAST>)"},
    ),
    "gre1 without its transfer address": (
        lambda o: _gre1(o, inet=()), LATER,
        {"gre": False, "state": "down", "check": "addresses",
         "reason": "transfer addresses: inet is (none), not 172.20.1.1 --> 172.20.1.2"},
    ),
    "gre1 tunnel to somewhere else": (
        lambda o: _gre1(o, tunnel=dataclasses.replace(o.gre["gre1"].tunnel, dst="203.0.113.1")),
        LATER,
        {"gre": False, "state": "down", "check": "tunnel",
         "reason": "tunnel endpoints: tunnel 192.0.2.1 --> 203.0.113.1, the peering needs "
                   f"192.0.2.1 --> {ALICE}"},
    ),
    "alice's key file gone": (
        lambda o: o.pubkey_files.pop(ALICE_KEY), LATER,
        {"key": False, "state": "down", "check": "peer-key",
         "reason": f"peer key: {ALICE_KEY} is missing"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_alice(converged_rtr1: Prepared, case: str) -> None:
    change, after, differs = CASES[case]
    c = converged_rtr1
    obs = copy.deepcopy(c.observed)
    change(obs)
    now = (c.record.loaded_at or 0) + after
    health = assess(c.peerings, c.desired, obs, c.record, {}, now)
    assert [h.peer for h in health] == ["alice", "bob", "rtr2"]
    alice = health[0]
    assert alice == dataclasses.replace(UP, **differs)  # the reason: doctor's first failure
    assert [(h.peer, h.state) for h in health[1:]] == [("bob", "up"), ("rtr2", "up")]


def _pinger(answers: dict[str, bool], asked: list[tuple[str, str | None]] | None = None) -> Any:
    def ping(p: Any, interface: str | None) -> PingResult | None:
        if asked is not None:
            asked.append((p.peer, interface))
        if p.peer not in answers:
            return None
        ok = answers[p.peer]
        return PingResult(("ping", "x"), 0 if ok else 2, 3, 3 if ok else 0, "")
    return ping


def test_a_ping_is_reported_per_peer(converged_rtr1: Prepared) -> None:
    c = converged_rtr1
    now = (c.record.loaded_at or 0) + LATER
    asked: list[tuple[str, str | None]] = []
    health = {h.peer: h for h in assess(c.peerings, c.desired, c.observed, c.record, {}, now,
                                        ping=_pinger({"alice": True, "bob": False}, asked))}
    # each peer pinged through its own interface (the zone of a link-local address)
    assert asked == [("alice", "gre1"), ("bob", "gre2"), ("rtr2", "gre0")]
    assert (health["alice"].ping, health["alice"].state) == (True, "up")
    assert (health["bob"].ping, health["bob"].state) == (False, "down")
    assert health["bob"].check == "ping"
    assert (health["rtr2"].ping, health["rtr2"].state) == (None, "up")
    unpinged = assess(c.peerings, c.desired, c.observed, c.record, {}, now)
    assert {h.ping for h in unpinged} == {None}


def test_peers_are_assessed_in_peer_order_whatever_the_input(converged_rtr1: Prepared) -> None:
    c = converged_rtr1
    health = assess(list(reversed(c.peerings)), c.desired, c.observed, c.record, {}, LATER)
    assert [h.peer for h in health] == ["alice", "bob", "rtr2"]


def test_the_json_of_a_peer_and_the_list_order() -> None:
    down = dataclasses.replace(UP, peer="zed", router="rtr0", interface=None, key=False,
                               rule=False, flows_in=0, flows_out=2, sas_in=3, sas_out=4,
                               gre=False, state="down", reason="r", check="c", ping=False)
    listed = peers_json([UP, down, dataclasses.replace(UP, peer="bob")], {"alice": "SHA256:a"})
    assert [(j["router"], j["peer"]) for j in listed] == [
        ("rtr0", "zed"), ("rtr1", "alice"), ("rtr1", "bob"),
    ]
    assert listed[0] == {
        "router": "rtr0", "peer": "zed", "state": "down", "reason": "r", "check": "c",
        "interface": None, "key": False, "rule": False, "flows": {"in": 0, "out": 2},
        "sas": {"in": 3, "out": 4}, "gre": False, "ping": False, "key_fingerprint": None,
    }
    assert listed[1]["key_fingerprint"] == "SHA256:a"
    assert peers_json([UP])[0]["key_fingerprint"] is None


def test_a_peering_left_out_of_the_run_is_down_for_that_reason(converged_rtr1: Prepared) -> None:
    """Never applied and left out (invalid, gated): down, whatever the router shows."""
    c = converged_rtr1
    record = copy.deepcopy(c.record)
    del record.rules["alice"]
    record.interfaces = {k: v for k, v in record.interfaces.items() if "alice" not in (k, v)}
    now = (record.loaded_at or 0) + LATER
    errors = {"alice": "the key of alice is not signed"}
    health = {h.peer: h for h in assess(c.peerings, c.desired, c.observed, record, errors, now)}
    assert (health["alice"].state, health["alice"].check) == ("down", "peer-accepted")
    assert health["alice"].reason == (
        "peering accepted: left out of this run: the key of alice is not signed"
    )
    assert (health["bob"].state, health["bob"].reason) == ("up", None)
    accepted = assess(c.peerings, c.desired, c.observed, record, {}, now)
    assert accepted[0].check != "peer-accepted"
