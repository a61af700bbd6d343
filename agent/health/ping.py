"""Ping a peer across its transfer net with OpenBSD's ping(8) / ping6(8) (sbin/ping/ping.c:
-c count, -w maxwait seconds after the last request)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.host import Host
from agent.model import Peering


@dataclass(frozen=True)
class PingResult:
    """What one `ping -c N -w MAXWAIT ADDR` run showed."""

    argv: tuple[str, ...]
    rc: int
    sent: int
    received: int
    output: str
    timed_out: bool = False

    @property
    def answered(self) -> bool:
        return self.rc == 0 and self.received > 0


_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) packets received")


def ping_target(p: Peering, interface: str | None) -> tuple[str, str] | None:
    """(program, address) to ping across the transfer net, or None when no peer address is
    known (IPv6 eui64 only: the kernel makes our link-local, the peer's is unknown)."""
    if p.ipv4 is not None:
        return "ping", p.ipv4.peer
    if p.ipv6 is not None and p.ipv6.peer:
        remote = p.ipv6.peer
        if remote.lower().startswith("fe80:"):  # link-local needs the interface as its zone
            if interface is None:
                return None
            remote = f"{remote}%{interface}"
        return "ping6", remote
    return None


def ping_peer(
    host: Host, p: Peering, interface: str | None, count: int = 3, maxwait: int = 2
) -> PingResult | None:
    """Ping the peer's transfer address (OpenBSD ping: -c count, -w maxwait seconds after
    the last request); None when there is no address to ping."""
    target = ping_target(p, interface)
    if target is None:
        return None
    return ping_address(host, *target, count=count, maxwait=maxwait)


def ping_address(
    host: Host, program: str, address: str, count: int = 3, maxwait: int = 2
) -> PingResult:
    """Run `program -c count -w maxwait address` (program: ping or ping6) and read its
    summary line."""
    argv = (program, "-c", str(count), "-w", str(maxwait), address)
    # ping sends one request a second, then waits up to maxwait: leave room for both.
    result = host.run(argv, timeout=count + maxwait + 5.0)
    m = _SUMMARY.search(result.stdout)
    sent, received = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    return PingResult(argv, result.rc, sent, received, result.stdout + result.stderr,
                      result.timed_out)
