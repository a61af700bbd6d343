"""Free transfer addresses from a router's declared pools (routers/<r>.yaml transfer_pools).

A pair is two consecutive addresses starting at an even one: an aligned /31 for IPv4 (used as
a /32 point-to-point link), a /127 for IPv6. The even address goes to the router, the odd one
to the peer. A pair is free when neither address (for IPv6: no address of its /127) is used by
any tunnel of that router, from either side.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

from agent.model import Inventory, Peering

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def free_pair(inventory: Inventory, router: str, family: int) -> tuple[str, str] | None:
    """The first free (router, peer) pair of router's pools of this family, or None when the
    router declares no such pool or every pair is taken."""
    r = inventory.routers[router]
    pools = r.pools4 if family == 4 else r.pools6
    used = set(_used(inventory.for_router(router), family))
    for pool in pools:
        for ours, theirs in _pairs(ipaddress.ip_network(pool)):
            if ours not in used and theirs not in used:
                return str(ours), str(theirs)
    return None


def _pairs(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Iterator[tuple[Address, Address]]:
    first = int(net.network_address)
    # In an IPv4 pool wider than a /31 the network and broadcast addresses stay unused: some
    # stacks refuse them even on point-to-point links.
    skip_edges = net.version == 4 and net.prefixlen < 31
    for start in range(first, first + net.num_addresses, 2):
        a, b = ipaddress.ip_address(start), ipaddress.ip_address(start + 1)
        if skip_edges and (a == net.network_address or b == net.broadcast_address):
            continue
        yield a, b  # type: ignore[misc]


def _used(peerings: Iterable[Peering], family: int) -> Iterator[Address]:
    for p in peerings:
        if family == 4 and p.ipv4:
            yield from (ipaddress.IPv4Address(p.ipv4.router), ipaddress.IPv4Address(p.ipv4.peer))
        if family == 6 and p.ipv6 and p.ipv6.router and p.ipv6.peer:
            for a in (p.ipv6.router, p.ipv6.peer):
                low = int(ipaddress.IPv6Address(a)) & ~1  # the whole /127 is taken
                yield from (ipaddress.IPv6Address(low), ipaddress.IPv6Address(low + 1))


def looks_swapped(pools: tuple[str, ...], router: str, peer: str) -> str | None:
    """Why a transfer pair of a peer file looks written from the peer's side (its own address
    under `router`), judged by the router's pools of that family; None when it does not.

    Two signs: the pair is a pool pair the wrong way round (the odd address on the router),
    or the peer's address lies in the router's pools while the router's does not."""
    if not pools:
        return None
    nets = [ipaddress.ip_network(n) for n in pools]
    ours, theirs = ipaddress.ip_address(router), ipaddress.ip_address(peer)
    in_ours, in_theirs = any(ours in n for n in nets), any(theirs in n for n in nets)
    if in_ours and in_theirs and int(ours) % 2 == 1 and int(theirs) == int(ours) - 1:
        return (f"{router} (router) and {peer} (peer) are a pair of the router's pool the "
                "wrong way round: the even address is the router's")  # fmt: skip
    if in_theirs and not in_ours:
        return (f"the peer's {peer} is in the router's pools ({', '.join(pools)}) but the "
                f"router's {router} is not")  # fmt: skip
    return None
