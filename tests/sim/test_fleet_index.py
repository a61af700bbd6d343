"""agent.sim.fleet_index: the fleet's address index agrees with each router's own store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from agent.sim import fleet_index
from agent.sim import state as simstate
from sim.fleetkit import FleetBuilder, KeyPair, Router, gre_rule

HUB, B, C, D, MOVED = "192.0.2.1", "198.51.100.7", "198.51.100.8", "198.51.100.9", "203.0.113.5"


def from_scratch(fleet: FleetBuilder, needles: frozenset[bytes]) -> set[str]:
    """The routers whose stored isakmpd sections mention a needle, each store asked."""
    return {
        str(r.host.root.resolve()) for r in fleet.routers.values()
        if simstate.mentions(r.host.root, simstate.CONF_TABLE, needles)
    }  # fmt: skip


def from_index(fleet: FleetBuilder, needles: frozenset[bytes]) -> set[str]:
    """The routers the index does not rule out (what ike._Fleet still looks at)."""
    hub = fleet.routers["hub"].host.root
    found = fleet_index.lookup(hub, needles)
    return {
        str(r.host.root.resolve()) for r in fleet.routers.values()
        if not fleet_index.skip(found, r.host.root.resolve())
    }  # fmt: skip


def needle(*addresses: str) -> frozenset[bytes]:
    return frozenset(f'"{a}"'.encode() for a in addresses)


def build(fleet: FleetBuilder) -> dict[str, Router]:
    hub = fleet.router("hub", HUB)
    spokes = {name: fleet.router(name, addr) for name, addr in (("b", B), ("c", C), ("d", D))}
    for spoke in spokes.values():
        hub.trust(spoke)
        spoke.trust(hub)
    assert hub.load(gre_rule(HUB, B) + gre_rule(HUB, C)).rc == 0
    assert spokes["b"].load(gre_rule(B, HUB)).rc == 0
    assert spokes["c"].load(gre_rule(C, HUB)).rc == 0  # d runs isakmpd with no rule
    return {"hub": hub, **spokes}


def test_quoted_addresses_overlap_as_instr_finds_them() -> None:
    assert fleet_index.quoted_addresses('{"a":"1.2.3.4","b":["fd42::1"]}') == {
        ":", "1.2.3.4", "fd42::1", "a", "b",
    }  # fmt: skip
    assert "1.2.3.4" in fleet_index.quoted_addresses('"x":"1.2.3.4"')  # `":"` takes no quote
    assert fleet_index.quoted_addresses('"1.2.3.4 x" "g" "1.2.3.4\\""') == set()


def test_the_index_rules_out_exactly_what_the_stores_rule_out(fleet: FleetBuilder) -> None:
    routers = build(fleet)
    for addresses in [(HUB,), (B,), (HUB, C), (MOVED,), (D,)]:
        scratch = from_scratch(fleet, needle(*addresses))
        assert from_index(fleet, needle(*addresses)) == scratch, addresses
    assert from_scratch(fleet, needle(HUB)) == {
        str(routers[n].host.root.resolve()) for n in ("hub", "b", "c")
    }  # its own rules name the hub too
    # One input changes: c's rule now points at another address (isakmpd restarted: the old
    # connection is gone from its store); the index may keep the old one, never miss the new.
    c = routers["c"]
    c.stop_isakmpd()
    assert c.start_isakmpd()
    assert c.load(gre_rule(C, MOVED)).rc == 0
    for addresses in [(HUB,), (MOVED,), (C,)]:
        assert from_scratch(fleet, needle(*addresses)) <= from_index(fleet, needle(*addresses))
    assert str(c.host.root.resolve()) in from_index(fleet, needle(MOVED))
    assert str(c.host.root.resolve()) not in from_scratch(fleet, needle(HUB))


def test_mirrors_are_the_same_with_and_without_the_index(
    fleet: FleetBuilder, router_files: str,
) -> None:
    routers = build(fleet)
    index = Path(f"{fleet.path}{fleet_index.SUFFIX}")
    assert fleet_index.lookup(routers["hub"].host.root, needle(HUB)) is not None
    assert index.exists() is (router_files == "disk")  # a simulation's is in its memory
    with_index = {n: r.run("ipsecctl", "-sa").stdout for n, r in routers.items()}
    assert "peer 198.51.100.8" in with_index["hub"]
    for db in [index, *index.parent.glob(index.name + "-*")]:
        db.unlink(missing_ok=True)
    fleet_index._CONNECTIONS.clear()
    assert fleet_index.lookup(routers["hub"].host.root, needle(HUB)) is None
    assert {n: r.run("ipsecctl", "-sa").stdout for n, r in routers.items()} == with_index


@pytest.mark.disk_only
def test_a_router_whose_store_was_replaced_is_looked_at(fleet: FleetBuilder) -> None:
    routers = build(fleet)
    b = routers["b"].host.root
    assert str(b.resolve()) not in from_index(fleet, needle(MOVED))
    # The store replaced by another file (a copy of c's, which the index never saw at b).
    simstate.close(b)
    db = b / simstate.SIM_DIR / simstate.STATE_FILE
    for extra in db.parent.glob(db.name + "-*"):
        extra.unlink()
    c = routers["c"].host.root
    simstate.close(c)
    shutil.copyfile(c / simstate.SIM_DIR / simstate.STATE_FILE, db.with_suffix(".new"))
    os.replace(db.with_suffix(".new"), db)
    assert str(b.resolve()) in from_index(fleet, needle(MOVED))  # not ruled out any more


@pytest.mark.disk_only
def test_a_simulations_index_is_dropped_with_it(tmp_path: Path, rsa_keys: list[KeyPair]) -> None:
    """The index of a fleet held in memory (simstate.in_memory) lives and dies with it: a
    later simulation in the same place starts without one, and none is left on disk."""
    with simstate.in_memory(tmp_path):
        routers = build(FleetBuilder(tmp_path, rsa_keys))
        hub = routers["hub"].host.root
        assert fleet_index.lookup(hub, needle(HUB)) is not None
    assert not list(tmp_path.glob("*" + fleet_index.SUFFIX + "*"))
    assert not [key for key in fleet_index._CONNECTIONS if key[2] is not None]  # closed
    with simstate.in_memory(tmp_path):
        assert fleet_index.lookup(hub, needle(HUB)) is None


@pytest.mark.disk_only  # makes both kinds itself
def test_the_index_in_memory_answers_as_the_index_file(tmp_path: Path) -> None:
    import random

    rng = random.Random(7)
    kinds = [fleet_index._FileIndex(str(tmp_path / "f.index.db")), fleet_index._MemoryIndex()]
    roots, addresses = ["/r/a", "/r/b", "/r/c"], [HUB, B, C, D, MOVED]
    inodes = dict.fromkeys(roots, 1)
    try:
        for _ in range(200):
            root = rng.choice(roots)
            if rng.random() < 0.15:
                inodes[root] += 1  # the router's store was made again
            said = set(rng.sample(addresses, rng.randrange(3)))
            for index in kinds:
                index.add(root, inodes[root], said)
            asked = rng.sample(addresses, rng.randrange(1, 3))
            disk, memory = (index.find(asked) for index in kinds)
            assert disk == memory
    finally:
        kinds[0].close()
