"""Is a peering carrying traffic right now? Judged from the live router alone, no repo.

The dead-man switch (agent/run/deadman.py) asks this before a change, to learn which
peerings were up, and after it, to confirm they still are. It must not depend on the desired
state: a commit that changes a peer's proposal would otherwise make the peer look "down"
before anything was applied. So the probe comes from the live gre interface of the peer:
- a ping across the transfer net when the interface names the peer's address (its IPv4
  point-to-point destination, or an IPv6 destination);
- otherwise IPsec SAs in both directions between the interface's tunnel endpoints (an IPv6
  eui64 link: the peer's address is not known).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agent.facts.ifconfig import Interface
from agent.facts.observe import Observed
from agent.health.ping import ping_address
from agent.host import Host

NO_DEST = "0.0.0.0"  # noqa: S104 - how ifconfig prints an unset destination, not a bind


@dataclass(frozen=True)
class Liveness:
    peer: str
    up: bool
    probe: str  # what was asked, e.g. "ping 172.20.1.2" or "SAs 192.0.2.1 <-> 198.51.100.7"
    detail: str | None = None  # why it is not up

    def describe(self) -> str:
        return f"{self.peer}: {self.probe}" + (f": {self.detail}" if self.detail else "")


def liveness(host: Host, obs: Observed, interfaces: Mapping[str, str], peer: str) -> Liveness:
    """Probe peer through its gre interface (interfaces: peer -> greN, the applied record)."""
    name = interfaces.get(peer)
    iface = obs.gre.get(name) if name else None
    if iface is None:
        return Liveness(peer, False, name or "gre", "no such interface")
    target = _ping_target(iface)
    if target is not None:
        result = ping_address(host, *target)
        probe = f"{target[0]} {target[1]}"
        if result.answered:
            return Liveness(peer, True, probe)
        why = "timed out" if result.timed_out else f"{result.received} of {result.sent} answered"
        return Liveness(peer, False, probe, why)
    return _sas(obs, iface, peer)


def _ping_target(iface: Interface) -> tuple[str, str] | None:
    for inet in iface.inet:
        if inet.dest and inet.dest != NO_DEST:
            return "ping", inet.dest
    for inet6 in iface.inet6:
        if inet6.dest:
            return "ping6", f"{inet6.dest}%{iface.name}" if inet6.scope else inet6.dest
    return None


def _sas(obs: Observed, iface: Interface, peer: str) -> Liveness:
    tunnel = iface.tunnel
    if tunnel is None or not tunnel.src or not tunnel.dst:
        return Liveness(peer, False, iface.name, "no tunnel endpoints")
    probe = f"SAs {tunnel.src} <-> {tunnel.dst}"
    pairs = {(s.src, s.dst) for s in obs.ipsec.sas}
    if not iface.up:
        return Liveness(peer, False, probe, f"{iface.name} is down")
    if {(tunnel.src, tunnel.dst), (tunnel.dst, tunnel.src)} <= pairs:
        return Liveness(peer, True, probe)
    return Liveness(peer, False, probe, "no SA in both directions")
