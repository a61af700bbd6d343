"""Per-peer health: the doctor's order of reasons, the negotiation grace, the optional ping."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.health.checklist import NEGOTIATION_GRACE
from agent.health.doctor import run_doctor
from agent.health.peer import PeerHealth, assess
from agent.health.ping import ping_peer, ping_target
from agent.lab.scenarios import SCENARIOS
from agent.model import Ipv6Config, Peering
from agent.repo.inventory import load_inventory
from agent.router.diff import has_isakmpd_flag
from agent.run.converge import RunOutcome, prepare
from agent.sim.host import SimHost
from tests.conftest import EXAMPLE_STATE
from tests.simfleet import clone


@pytest.fixture
def fleet(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> dict[str, AgentConfig]:
    return clone(tmp_path_factory, tmp_path / "fleet")


def health(cfg: AgentConfig, now: float | None = None, ping: bool = False) -> dict[str, PeerHealth]:
    """Each peer's health, optionally pinging across the transfer nets (1 echo, 1 s maxwait)."""
    outcome = RunOutcome(cfg.router)
    prepared = prepare(cfg, outcome)
    assert prepared is not None
    host = prepared.host
    rows = assess(
        prepared.peerings, prepared.desired, prepared.observed, prepared.record,
        outcome.peer_errors, now=now,
        ping=(lambda p, iface: ping_peer(host, p, iface, count=1, maxwait=1)) if ping else None,
    )
    return {h.peer: h for h in rows}


def rtr1_peerings() -> dict[str, Peering]:
    inventory, problems = load_inventory(EXAMPLE_STATE)
    assert inventory is not None, problems
    return {p.peer: p for p in inventory.for_router("rtr1")}


def test_reasons_come_in_the_doctors_order(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    SCENARIOS["peer-key-missing"](cfg, "alice")
    SCENARIOS["wrong-tunnel-endpoint"](cfg, "bob")
    later = time.time() + NEGOTIATION_GRACE + 1
    rows = health(cfg, later)
    assert (rows["alice"].state, rows["alice"].check) == ("down", "peer-key")
    missing = "/etc/isakmpd/pubkeys/fqdn/alice.example.org is missing"
    assert rows["alice"].reason == f"peer key: {missing}"
    assert not rows["alice"].key and rows["alice"].gre  # its tunnel itself is fine
    assert (rows["bob"].check, rows["bob"].gre, rows["bob"].key) == ("tunnel", False, True)
    SCENARIOS["gre-not-allowed"](cfg)  # a router-wide cause comes before every peer's own
    rows = health(cfg, later)
    assert {h.check for h in rows.values()} == {"gre-allow"}
    first = run_doctor(cfg, now=later, ping=False).first_failure
    assert first is not None and first.id == "gre-allow"


def test_a_restarted_isakmpd_is_down_on_its_rules_not_negotiating(
    fleet: dict[str, AgentConfig],
) -> None:
    cfg = fleet["rtr1"]
    assert SimHost(cfg.root).run(["rcctl", "restart", "isakmpd"]).ok
    # right after the restart, within the grace period of the last load: the rule is gone
    rows = health(cfg)
    assert {(h.state, h.check, h.rule) for h in rows.values()} == {("down", "rule", False)}


def test_negotiating_then_down_after_grace(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    SCENARIOS["proposal-mismatch"](cfg, "rtr2")
    prepared = prepare(cfg, RunOutcome(cfg.router))
    assert prepared is not None and prepared.record.loaded_at is not None
    loaded = prepared.record.loaded_at
    early = health(cfg, loaded + 10)["rtr2"]
    assert (early.state, early.reason, early.flows_in, early.sas_out) == ("negotiating", None, 0, 0)
    late = health(cfg, loaded + NEGOTIATION_GRACE)["rtr2"]
    assert (late.state, late.check) == ("down", "flows")
    assert late.reason is not None and late.reason.startswith("flows: 0 in / 0 out")


def test_ping_catches_a_fault_only_the_far_end_shows(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    rows = health(cfg, ping=True)
    assert {(h.state, h.ping) for h in rows.values()} == {("up", True)}
    assert SimHost(fleet["rtr2"].root).run(["sysctl", "net.inet.gre.allow=0"]).ok
    assert health(cfg)["rtr2"].state == "up"  # everything on rtr1 looks right
    pinged = health(cfg, ping=True)["rtr2"]
    assert (pinged.state, pinged.check, pinged.ping) == ("down", "ping", False)
    assert pinged.reason == "ping: ping -c 1 -w 1 172.20.0.2: 0/1 answered"
    assert health(cfg, ping=True)["alice"].ping is True
    assert pinged.to_json()["flows"] == {"in": pinged.flows_in, "out": pinged.flows_out}
    assert (pinged.to_json()["ping"], pinged.to_json()["check"]) == (False, "ping")


def test_ping_target_per_transfer_net() -> None:
    peers = rtr1_peerings()
    assert ping_target(peers["alice"], "gre1") == ("ping", "172.20.1.2")  # IPv4 first
    assert ping_target(peers["bob"], "gre2") == ("ping6", "fd42:4242:b0b::1")  # ULA /127
    v6_only = dataclasses.replace(peers["rtr2"], ipv4=None)
    assert ping_target(v6_only, "gre0") == ("ping6", "fe80::42:2%gre0")  # link-local + zone
    assert ping_target(v6_only, None) is None
    eui64 = dataclasses.replace(peers["alice"], ipv4=None, ipv6=Ipv6Config("eui64"))
    assert ping_target(eui64, "gre1") is None  # the peer's link-local is not known


@pytest.mark.parametrize(
    ("flags", "has_k"),
    [
        ("-K", True), ("", False), ("-v", False), ("-dK", True), ("-v -K", True),
        ("-D a=1 -K", True),  # -D takes an argument, then -K
        ("-f -K", False),  # -f takes "-K" as its argument (getopt "f:")
        ("-fK", False),  # -f with argument "K"
        ("-f/var/run/x.fifo -K", True),
    ],
)
def test_has_isakmpd_flag_parses_like_isakmpds_getopt(flags: str, has_k: bool) -> None:
    assert has_isakmpd_flag(flags, "K") is has_k
