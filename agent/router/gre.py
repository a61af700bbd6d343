"""The gre interface of a peering: how the live interface differs from its spec, and the
ifconfig commands that change each difference in place.

One function, `differences`, serves both the plan (which turns each difference into live
steps) and the health checklist (which explains each difference with the same fix). Every
attribute ifconfig can change on a running gre(4) is changed in place — description, mtu,
tunnel endpoints, transfer addresses, link-local, up — so a cosmetic edit never flaps the
peer's BGP session; only an interface that does not exist is created through netstart.
Commands follow sbin/ifconfig/ifconfig.c: `description`, `mtu`, `tunnel`, `inet A B netmask
M alias`, `inet A delete`, `inet6 A prefixlen N alias`, `inet6 eui64`, `-inet6`, `up`.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.facts.ifconfig import Interface
from agent.router.desired import GreSpec

HOST_MASK = "255.255.255.255"


@dataclass(frozen=True)
class Difference:
    """One attribute of a live interface that is not what its spec says."""

    field: str  # up | mtu | description | tunnel | inet | inet6 | link-local
    have: str
    want: str
    fixes: tuple[tuple[str, ...], ...]  # ifconfig argv lists that change it in place

    @property
    def why(self) -> str:
        return f"{self.field} is {self.have}, not {self.want}"


def differences(spec: GreSpec, live: Interface) -> list[Difference]:
    """Every way `live` differs from `spec`, in the order their fixes must run (mtu before
    IPv6: in6_ifattach needs an mtu of at least 1280; addresses before up)."""
    iface = spec.interface
    found: list[Difference] = []
    if live.mtu != spec.mtu:
        found.append(
            Difference("mtu", str(live.mtu), str(spec.mtu), (_ifc(iface, "mtu", str(spec.mtu)),))
        )
    if (live.description or "") != spec.description:
        found.append(
            Difference(
                "description",
                repr(live.description or ""),
                repr(spec.description),
                (_ifc(iface, "description", spec.description),),
            )
        )
    tunnel = (live.tunnel.src, live.tunnel.dst) if live.tunnel else (None, None)
    if tunnel != (spec.tunnel_src, spec.tunnel_dst):
        found.append(
            Difference(
                "tunnel",
                f"{tunnel[0] or '(unset)'} --> {tunnel[1] or '(unset)'}",
                f"{spec.tunnel_src} --> {spec.tunnel_dst}",
                (_ifc(iface, "tunnel", spec.tunnel_src, spec.tunnel_dst),),
            )
        )
    found += _inet(spec, live) + _inet6(spec, live)
    if not live.up:
        found.append(Difference("up", "down", "up", (_ifc(iface, "up"),)))
    return found


def describe(diffs: list[Difference]) -> str:
    return "; ".join(d.why for d in diffs)


def _ifc(iface: str, *words: str) -> tuple[str, ...]:
    return ("ifconfig", iface, *words)


def _inet(spec: GreSpec, live: Interface) -> list[Difference]:
    have = [(a.address, a.dest, a.netmask) for a in live.inet]
    want = [(spec.inet[0], spec.inet[1], HOST_MASK)] if spec.inet else []
    if have == want:
        return []
    iface = spec.interface
    fixes = [_ifc(iface, "inet", a, "delete") for a, d, m in have if (a, d, m) not in want]
    if want and want[0] not in have:
        fixes.append(_ifc(iface, "inet", want[0][0], want[0][1], "netmask", HOST_MASK, "alias"))
    return [Difference("inet", _show4(have), _show4(want), tuple(fixes))]


def _show4(addrs: list[tuple[str, str | None, str]]) -> str:
    return ", ".join(f"{a} --> {d}" for a, d, _ in addrs) or "(none)"


def _inet6(spec: GreSpec, live: Interface) -> list[Difference]:
    """Explicit IPv6 addresses, then the link-local one the kernel adds with the first."""
    iface = spec.interface
    wanted = {a for a, _ in spec.inet6}
    have = sorted(
        (a.address, a.prefixlen or 0)
        for a in live.inet6
        if not _link_local(a.address) or a.address in wanted
    )
    want = sorted(spec.inet6)
    found: list[Difference] = []
    if have != want:
        fixes = [_ifc(iface, "inet6", _scoped(a, iface), "delete") for a, n in have
                 if (a, n) not in want]
        fixes += [_ifc(iface, "inet6", _scoped(a, iface), "prefixlen", str(n), "alias")
                  for a, n in want if (a, n) not in have]
        found.append(Difference("inet6", _show6(have), _show6(want), tuple(fixes)))
    has_link_local = any(_link_local(a.address) for a in live.inet6)
    if spec.link_local and not has_link_local and not any(_link_local(a) for a in wanted):
        found.append(
            Difference("link-local", "(none)", "fe80::/64", (_ifc(iface, "inet6", "eui64"),))
        )
    elif not spec.link_local and has_link_local:
        found.append(Difference("link-local", "fe80::/64", "(none)", (_ifc(iface, "-inet6"),)))
    return found


def _show6(addrs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{a}/{n}" for a, n in addrs) or "(none)"


def _link_local(address: str) -> bool:
    return address.lower().startswith("fe80:")


def _scoped(address: str, iface: str) -> str:
    """ifconfig needs the zone of a link-local address (fe80::1%gre3)."""
    return f"{address}%{iface}" if _link_local(address) else address
