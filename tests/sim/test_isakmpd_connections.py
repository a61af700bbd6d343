"""isakmpd's list of connections follows [Phase 2]:Connections and Passive-Connections: the
quick path for lists that only grew (ipsecctl -f adds one rule at a time) must leave exactly
what a full resynchronisation leaves, serials included."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from agent.sim import isakmpd


def fresh() -> dict[str, Any]:
    return {"isakmpd": {"connections": {}, "serial": 0}, "isakmpd_conf": {}, "log": []}


def command(rng: random.Random) -> str:
    tag = rng.choice(["Connections", "Passive-Connections"])
    name = rng.choice(["IPsec-a", "IPsec-b", "IPsec-c", "IPsec-d"])
    op = rng.choice(["add", "add", "add", "rmv", "set", "set-force", "rm"])
    if op == "set-force":
        return f"C set [Phase 2]:{tag}={name},IPsec-e force"
    if op == "rm":
        return f"C rm [Phase 2]:{tag}"
    return f"C {op} [Phase 2]:{tag}={name}"


@pytest.mark.parametrize("seed", range(40))
def test_growing_lists_are_followed_as_a_full_sync_would(seed: int) -> None:
    rng = random.Random(seed)
    quick, full = fresh(), fresh()
    for _ in range(12):
        lines = [command(rng) for _ in range(rng.randint(1, 3))]
        isakmpd.apply_commands(quick, lines)
        # The reference: the same commands, then the whole list resynchronised.
        before = copy.deepcopy(full)
        isakmpd.apply_commands(full, lines)
        full["isakmpd"]["connections"] = before["isakmpd"]["connections"]
        full["isakmpd"]["serial"] = before["isakmpd"]["serial"]
        isakmpd._sync_connections(full["isakmpd"], full["isakmpd_conf"])
        assert quick["isakmpd"]["connections"] == full["isakmpd"]["connections"], lines
        assert quick["isakmpd"]["serial"] == full["isakmpd"]["serial"]


def test_a_rule_added_after_others_gets_a_new_serial_and_keeps_theirs() -> None:
    state = fresh()
    isakmpd.apply_commands(state, ["C add [Phase 2]:Connections=IPsec-a"])
    isakmpd.apply_commands(state, ["C add [Phase 2]:Passive-Connections=IPsec-b"])
    isakmpd.apply_commands(state, ["C add [Phase 2]:Connections=IPsec-c"])
    assert state["isakmpd"]["connections"] == {
        "IPsec-a": {"passive": False, "serial": 1},
        "IPsec-b": {"passive": True, "serial": 2},
        "IPsec-c": {"passive": False, "serial": 3},
    }


def test_a_name_rewritten_longer_is_a_new_name_not_an_addition() -> None:
    state = fresh()
    isakmpd.apply_commands(state, ["C set [Phase 2]:Connections=IPsec-a"])
    isakmpd.apply_commands(state, ["C set [Phase 2]:Connections=IPsec-ab force"])
    assert list(state["isakmpd"]["connections"]) == ["IPsec-ab"]
