"""Stable gre interface allocation: a tunnel keeps its unit for as long as its peering exists.

Units come, in order of preference, from the peer file (`gre.interface`), the allocation
recorded by the last run, a live interface whose description names the peer, and finally
the lowest unit nobody uses (not assigned, not live, no /etc/hostname.greN of any owner).
Adding or removing a peer therefore never renumbers another tunnel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from agent.model import Peering


def allocate(
    peerings: Iterable[Peering],
    recorded: Mapping[str, str],
    live_owner: Mapping[str, str | None],
    taken: Iterable[str],
) -> tuple[dict[str, str], dict[str, str]]:
    """Return (peer -> interface, peer -> error) for the peerings of one router.

    recorded: peer -> interface from the last run. live_owner: interface -> owning peer for
    every gre interface or hostname file on the host (None when peerops does not own it).
    taken: interfaces that are not ours to use in any case.
    """
    peerings = list(peerings)
    result: dict[str, str] = {}
    errors: dict[str, str] = {}
    used = set(taken) | {i for i, owner in live_owner.items() if owner is None}
    taken_set = set(taken)
    for p in peerings:  # explicit assignments first: they win over everything
        if p.interface is None:
            continue
        unmanaged = p.interface in live_owner and live_owner[p.interface] is None
        if unmanaged or p.interface in taken_set:
            errors[p.peer] = (
                f"{p.interface} exists and is not managed by peerops; "
                "remove it by hand or choose another gre.interface"
            )
        else:
            result[p.peer] = p.interface
    used |= set(result.values())
    owned_by = {owner: iface for iface, owner in live_owner.items() if owner}
    for p in sorted((p for p in peerings if p.interface is None), key=lambda p: p.peer):
        for candidate in (recorded.get(p.peer), owned_by.get(p.peer)):
            if candidate and candidate not in used:
                result[p.peer] = candidate
                used.add(candidate)
                break
    for p in sorted((p for p in peerings if p.interface is None), key=lambda p: p.peer):
        if p.peer not in result and p.peer not in errors:
            unit = next(n for n in range(10000) if f"gre{n}" not in used)
            result[p.peer] = f"gre{unit}"
            used.add(result[p.peer])
    return result, errors
