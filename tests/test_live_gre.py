"""A changed tunnel attribute is changed in place: no destroy, no netstart, the interface
keeps its index (the peer's BGP session would flap otherwise), the other peers keep their
SAs, and the next plan is empty. Also the plan's gre steps as a table: live difference in,
exact ifconfig commands out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.facts.ifconfig import Inet, Inet6, Interface, Tunnel
from agent.lab.demo import build_demo_fleet
from agent.router import gre
from agent.router.desired import GreSpec
from agent.run.converge import apply_router, plan_router
from agent.sim.host import SimHost
from tests.conftest import edit
from tests.test_converge import converge, peers_answer, sa_lines

# Every verify after an apply is checked against a whole new look at the router.
pytestmark = pytest.mark.usefixtures("reobserve_checked")

ALICE = "peers/rtr1/alice.yaml"
EDITS = {
    "description": ("description: dn42 peer alice", "description: dn42 peer alice two"),
    "mtu": ("  ipv6: eui64\n", "  ipv6: eui64\n  mtu: 1380\n"),
    "ipv4": ("172.20.1.1 ", "172.20.1.3 "),
    "tunnel": ("endpoint: 198.51.100.7", "endpoint: 198.51.100.9"),
}


def test_each_gre_attribute_changes_in_place(tmp_path: Path) -> None:
    fleet = build_demo_fleet(tmp_path / "fleet")
    converge(fleet)
    cfg = fleet["rtr1"]
    iface = {h.peer: h.interface for h in plan_router(cfg).health}["alice"]
    assert iface
    index = _index(cfg, iface)
    others = {ip: sa_lines(cfg, ip) for ip in ("2001:db8:b0b::7", "192.0.2.2")}
    assert all(others.values())
    for attribute, (old, new) in EDITS.items():
        edit(cfg.repo / ALICE, old, new)
        peers_answer(cfg)
        outcome = apply_router(cfg)
        argvs = [r.step.argv for r in outcome.results]
        assert all(r.ok for r in outcome.results), [r.to_json() for r in outcome.results]
        assert not [a for a in argvs if "destroy" in a or a[:2] == ("sh", "/etc/netstart")]
        assert [a for a in argvs if a[:2] == ("ifconfig", iface)], f"{attribute}: {argvs}"
        assert f"file:/etc/hostname.{iface}" in {r.step.resource for r in outcome.results}
        assert _index(cfg, iface) == index  # the same interface: never re-created
        assert {ip: sa_lines(cfg, ip) for ip in others} == others, attribute
        assert plan_router(cfg).plan == [], attribute
        assert {h.peer: h.state for h in plan_router(cfg).health}["alice"] == "up", attribute


def _index(cfg: AgentConfig, iface: str) -> str:
    out = SimHost(cfg.root).run(["ifconfig", iface]).stdout
    return out.split("\tindex ")[1].split()[0]


SPEC = GreSpec(
    interface="gre1",
    peer="alice",
    description="peerops alice",
    mtu=1400,
    tunnel_src="192.0.2.1",
    tunnel_dst="198.51.100.7",
    inet=("172.20.1.1", "172.20.1.2"),
    inet6=(("fd00::1", 127),),
    link_local=True,
)
LIVE = Interface(
    name="gre1",
    flags=("UP", "POINTOPOINT", "RUNNING", "MULTICAST"),
    up=True,
    mtu=1400,
    index=6,
    priority=0,
    llprio=6,
    description="peerops alice",
    groups=("gre",),
    keepalive=None,
    status=None,
    tunnel=Tunnel("inet", "192.0.2.1", "198.51.100.7", 64, False, True),
    inet=(Inet("172.20.1.1", "172.20.1.2", "255.255.255.255"),),
    inet6=(
        Inet6("fe80::1", "gre1", None, 64, ()),
        Inet6("fd00::1", None, None, 127, ()),
    ),
)

# (what is changed on the live interface, the exact ifconfig commands the plan runs)
TABLE = [
    ({}, []),
    ({"mtu": 1476}, [("ifconfig", "gre1", "mtu", "1400")]),
    ({"description": ""}, [("ifconfig", "gre1", "description", "peerops alice")]),
    (
        {"tunnel": Tunnel("inet", "192.0.2.1", "198.51.100.8", 64, False, True)},
        [("ifconfig", "gre1", "tunnel", "192.0.2.1", "198.51.100.7")],
    ),
    ({"tunnel": None}, [("ifconfig", "gre1", "tunnel", "192.0.2.1", "198.51.100.7")]),
    (
        {"inet": (Inet("172.20.9.1", "172.20.9.2", "255.255.255.255"),)},
        [
            ("ifconfig", "gre1", "inet", "172.20.9.1", "delete"),
            ("ifconfig", "gre1", "inet", "172.20.1.1", "172.20.1.2", "netmask",
             "255.255.255.255", "alias"),
        ],
    ),
    (
        {"inet": ()},
        [("ifconfig", "gre1", "inet", "172.20.1.1", "172.20.1.2", "netmask",
          "255.255.255.255", "alias")],
    ),
    (
        {"inet6": (Inet6("fe80::1", "gre1", None, 64, ()), Inet6("fd00::5", None, None, 127, ()))},
        [
            ("ifconfig", "gre1", "inet6", "fd00::5", "delete"),
            ("ifconfig", "gre1", "inet6", "fd00::1", "prefixlen", "127", "alias"),
        ],
    ),
    ({"inet6": ()}, [("ifconfig", "gre1", "inet6", "fd00::1", "prefixlen", "127", "alias"),
                     ("ifconfig", "gre1", "inet6", "eui64")]),
    ({"up": False}, [("ifconfig", "gre1", "up")]),
    (
        {"mtu": 1476, "up": False, "description": "x"},
        [
            ("ifconfig", "gre1", "mtu", "1400"),
            ("ifconfig", "gre1", "description", "peerops alice"),
            ("ifconfig", "gre1", "up"),
        ],
    ),
]


@pytest.mark.parametrize(("change", "commands"), TABLE)
def test_gre_differences_table(change: dict, commands: list[tuple[str, ...]]) -> None:
    live = dataclasses.replace(LIVE, **change)
    diffs = gre.differences(SPEC, live)
    assert [argv for d in diffs for argv in d.fixes] == commands


def test_an_ipv4_only_spec_drops_ipv6_with_minus_inet6() -> None:
    spec = dataclasses.replace(SPEC, inet6=(), link_local=False)
    live = dataclasses.replace(LIVE, inet6=(Inet6("fe80::1", "gre1", None, 64, ()),))
    (d,) = gre.differences(spec, live)
    assert (d.field, d.fixes) == ("link-local", (("ifconfig", "gre1", "-inet6"),))


def test_a_link_local_transfer_address_is_given_its_zone() -> None:
    spec = dataclasses.replace(SPEC, inet6=(("fe80::a", 64),))
    live = dataclasses.replace(LIVE, inet6=())
    (d,) = gre.differences(spec, live)
    assert d.fixes == (("ifconfig", "gre1", "inet6", "fe80::a%gre1", "prefixlen", "64", "alias"),)
