"""Transfer-address pools in router files, and the free pairs `peer new` proposes from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.model import Inventory
from agent.repo.inventory import load_inventory
from agent.repo.pools import free_pair
from tests.conftest import edit

POOLS = 'transfer_pools:                # where `peerops peer new` proposes transfer addresses\n'


def loaded(repo: Path) -> Inventory:
    inventory, problems = load_inventory(repo)
    assert problems == [], problems
    assert inventory is not None
    return inventory


def test_example_routers_declare_pools_and_a_free_pair_avoids_used_addresses(
    state_copy: Path,
) -> None:
    inv = loaded(state_copy)
    # rtr1's pool 172.20.1.0/26: .0/.1 holds the network address, .2 is alice's (172.20.1.2).
    assert free_pair(inv, "rtr1", 4) == ("172.20.1.4", "172.20.1.5")
    assert free_pair(inv, "rtr1", 6) == ("fd42:4242:1::", "fd42:4242:1::1")
    assert free_pair(inv, "rtr2", 4) == ("172.20.2.4", "172.20.2.5")  # carol has .1/.2


def test_a_pair_used_from_the_other_side_of_an_internal_link_is_not_free(
    state_copy: Path,
) -> None:
    # The rtr1-rtr2 link (written in peers/rtr1/) takes 172.20.2.4/.5 and a /127 of rtr2's
    # ULA pool: rtr2 must see them as used although no file in peers/rtr2/ names them.
    edit(
        state_copy / "peers/rtr1/rtr2.yaml",
        "    router: 172.20.0.1   # on rtr1 (this directory's router, the owner)\n"
        "    peer: 172.20.0.2     # on rtr2\n"
        "  ipv6:\n"
        '    router: "fe80::42:1"\n'
        '    peer: "fe80::42:2"',
        '    router: 172.20.2.5\n    peer: 172.20.2.4\n  ipv6:\n'
        '    router: "fd42:4242:2::1"\n    peer: "fd42:4242:2::"',
    )
    inv = loaded(state_copy)
    assert free_pair(inv, "rtr2", 4) == ("172.20.2.6", "172.20.2.7")
    assert free_pair(inv, "rtr2", 6) == ("fd42:4242:2::2", "fd42:4242:2::3")


def test_full_or_missing_pool_gives_none(state_copy: Path) -> None:
    edit(state_copy / "routers/rtr2.yaml", "ipv4: [172.20.2.0/26]", "ipv4: [172.20.2.0/30]")
    inv = loaded(state_copy)
    assert free_pair(inv, "rtr2", 4) is None  # .0/.1 and .2/.3 touch the edges or carol
    edit(state_copy / "routers/rtr1.yaml", POOLS, "")
    edit(state_copy / "routers/rtr1.yaml", "  ipv4: [172.20.1.0/26]\n", "")
    edit(state_copy / "routers/rtr1.yaml", '  ipv6: ["fd42:4242:1::/64"]\n', "")
    assert free_pair(loaded(state_copy), "rtr1", 6) is None


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        ('"fd42:4242:1::1/64"', "transfer_pools.ipv6[0]: 'fd42:4242:1::1/64' is not a network"),
        ('"fd::/16"', "transfer_pools.ipv6[0]: fd::/16 is not inside fd00::/8"),
        ('"fe80::/64"', "transfer_pools.ipv6[0]: "),
        ('"fd42::/128"', "transfer_pools.ipv6[0]: "),
    ],
)
def test_bad_pools_are_reported_at_their_line(state_copy: Path, pool: str, expected: str) -> None:
    router = state_copy / "routers/rtr1.yaml"
    edit(router, '["fd42:4242:1::/64"]', f"[{pool}]")
    line = router.read_text().splitlines().index(f"  ipv6: [{pool}]") + 1
    _, problems = load_inventory(state_copy)
    found = [str(p) for p in problems]
    assert any(f.startswith(f"routers/rtr1.yaml:{line}:") and expected in f for f in found), found
