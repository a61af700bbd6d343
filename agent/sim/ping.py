"""Simulated ping(8) and ping6(8): echo requests across the simulated gre tunnels.

Source: sbin/ping/ping.c v1.249 (2024), where ping and ping6 are one program (`v6flag` is set
when __progname is "ping6"):
- getopt strings "DEI:LRS:c:defgHi:l:np:qs:T:t:V:vw:" (ping) and
  "c:DdEefgHh:I:i:Ll:mNnp:qS:s:T:V:vw:" (ping6); `usage()` texts; exit 1 on usage errors.
- `-c count`: strtonum(0, INT64_MAX), "number of packets to transmit is %s: %s"; 0 (the
  default) means no limit. `-w maxwait`: strtonum(1, INT_MAX), "maxwait value is %s: %s",
  default MAXWAIT_DEFAULT 10: after the last request ping waits maxwait seconds when nothing
  came back (`retransmit()`), so it is NOT a deadline for the whole run. `-i`: "interval is
  invalid: %s" / "interval is too small: %s". `-s`: "packet size is %s: %s".
- Output: "PING %s (%s): %d data bytes" (DEFDATALEN 56); per reply "%d bytes from %s:
  icmp_seq=%u ttl=%d" (" hlim=%d" for ping6) " time=%.3f ms" when the data holds the 24-byte
  timing payload (ECHOLEN 8 + ECHOTMLEN 24); `summary()`: "\\n--- %s ping statistics ---",
  "%lld packets transmitted, %lld packets received, %.1f%% packet loss", and
  "round-trip min/avg/max/std-dev = %.3f/%.3f/%.3f/%.3f ms" when a timed reply came.
- Exit status `exit(nreceived == 0)`: 0 when at least one reply came, 1 otherwise.

When an echo is answered here (the tunnel must really work end to end):
- the destination is reached through a gre(4) interface of this router that is UP and
  RUNNING, has tunnel endpoints and an address on the transfer net (IPv4 point-to-point
  destination, an IPv6 prefix containing it, or a link-local address with %greN);
- net.inet.gre.allow=1 here (sys/net/if_gre.c drops received GRE otherwise);
- the IPsec flows and SAs for proto gre between the tunnel endpoints are up (agent.sim.ike);
- the far end is a router of the fleet whose em0 (any interface) holds our tunnel
  destination and whose gre interface is UP and RUNNING with the mirrored endpoints, holds the
  destination address and pairs with our address, with net.inet.gre.allow=1 there too; or an
  external peer of the fleet model (agent/sim/fleet.py) whose endpoints match, whose state is
  "up" and whose `gre` addresses are the mirror of ours.
An address of this router itself always answers (the kernel replies through lo0).

Simplified (documented, not guessed): the routing table is not modelled, so a destination no
gre interface reaches gets no answer, as if it left by the default route and nobody replied
(no "sendmsg: No route to host"); the far end is assumed to accept GRE only through IPsec
(the pf policy of dn42-context §5: `pass ... on enc0 proto gre`, cleartext GRE blocked), so
without SAs nothing answers; packet size and MTU are not checked; replies carry TTL/hop limit
64 (ip_defttl / ip6_defhlim) and a made-up but stable round-trip time; host names (no DNS),
link-local addresses without %interface, an address of the other family and the options not
listed in OPTIONS are refused with `peerops sim: ...`, exit 1. Time is not spent: a run that
would outlast the caller's timeout (no -c, or -c with maxwait beyond it) prints its first line
and stops as the real one would be killed (WouldBlock, a timed-out result).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.sim import ike
from agent.sim import state as simstate
from agent.sim.fleet import load_fleet
from agent.sim.host import WouldBlock
from agent.sim.libc import Exit, getopt, strtonum

GETOPT_V4 = "DEI:LRS:c:defgHi:l:np:qs:T:t:V:vw:"
GETOPT_V6 = "c:DdEefgHh:I:i:Ll:mNnp:qS:s:T:V:vw:"
SIMULATED = "cIiSnqsw"  # the options modelled here; the others are refused
USAGE_V4 = (
    "usage: ping [-DdEefgHLnqRv] [-c count] [-I sourceaddr] [-i interval]\n"
    "\t[-l preload] [-p pattern] [-s packetsize] [-T toskeyword]\n"
    "\t[-t ttl] [-V rtable] [-w maxwait] host"
)
USAGE_V6 = (
    "usage: ping6 [-DdEefgHLmnqv] [-c count] [-h hoplimit] [-I sourceaddr]\n"
    "\t[-i interval] [-l preload] [-p pattern] [-s packetsize] [-T toskeyword]\n"
    "\t[-V rtable] [-w maxwait] host"
)
DEFDATALEN = 56  # 64 - ECHOLEN
ECHOLEN = 8
ECHOTMLEN = 24  # struct payload: struct tv64 (16) + SipHash-2-4 digest (8)
MAXWAIT_DEFAULT = 10
MAXPAYLOAD_V4 = 65535 - 60 - ECHOLEN  # IP_MAXPACKET - MAXIPLEN - ECHOLEN
MAXPAYLOAD_V6 = 65535 - 40 - ECHOLEN  # IPV6_MAXPACKET - IP6LEN - ECHOLEN
INT64_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
REPLY_TTL = 64  # ip_defttl / ip6_defhlim of the answering host
GRE_ALLOW = "net.inet.gre.allow"
EADDRNOTAVAIL = "Can't assign requested address"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass
class _Opts:
    count: int = 0
    interval: float = 1.0
    maxwait: int = MAXWAIT_DEFAULT
    quiet: bool = False
    datalen: int = DEFDATALEN
    source: str | None = None


def main(ctx: Any, args: list[str]) -> int:
    """ping / ping6 (chosen by argv[0]); returns the exit status."""
    v6 = ctx.argv0 == "ping6"
    try:
        opts, target = _parse_args(ctx, list(args), v6)
        dst, scope = _target(ctx, target, v6)
        src = _source(ctx, opts, v6)
        return _run(ctx, opts, target, dst, scope, src, v6)
    except Exit as stop:
        return stop.rc


# -- arguments ---------------------------------------------------------------------------------


def _prog(v6: bool) -> str:
    return "ping6" if v6 else "ping"


def _usage(ctx: Any, v6: bool) -> Exit:
    ctx.eprint(USAGE_V6 if v6 else USAGE_V4)
    return Exit(1)


def _errx(ctx: Any, v6: bool, message: str) -> Exit:
    ctx.eprint(f"{_prog(v6)}: {message}")
    return Exit(1)


def _refuse(ctx: Any, v6: bool, what: str) -> Exit:
    ctx.eprint(f"peerops sim: {_prog(v6)}: {what} is not simulated")
    return Exit(1)


def _parse_args(ctx: Any, args: list[str], v6: bool) -> tuple[_Opts, str]:
    """The getopt loop of ping.c `main`; the option checks in the order ping makes them."""
    parsed, operands, error = getopt(_prog(v6), args, GETOPT_V6 if v6 else GETOPT_V4)
    if error is not None:
        ctx.eprint(error)
        raise _usage(ctx, v6)
    opts = _Opts()
    for ch, arg in parsed:
        if ch not in SIMULATED:
            raise _refuse(ctx, v6, f"option -{ch}")
        _apply_option(ctx, opts, ch, arg, v6)
    if len(operands) != 1:
        raise _usage(ctx, v6)
    return opts, operands[0]


def _apply_option(ctx: Any, opts: _Opts, ch: str, arg: str, v6: bool) -> None:
    """One simulated option, with ping.c's strtonum bounds and messages."""
    if ch == "c":
        opts.count = _number(ctx, v6, arg, 0, INT64_MAX, "number of packets to transmit")
    elif ch == "w":
        opts.maxwait = _number(ctx, v6, arg, 1, INT_MAX, "maxwait value")
    elif ch == "s":
        high = MAXPAYLOAD_V6 if v6 else MAXPAYLOAD_V4
        opts.datalen = _number(ctx, v6, arg, 0, high, "packet size")
    elif ch == "i":
        opts.interval = _interval(ctx, v6, arg)
    elif ch == "q":
        opts.quiet = True
    elif ch in "IS":
        opts.source = arg
    # -n: numeric output is already the default (F_HOSTNAME is off)


def _number(ctx: Any, v6: bool, text: str, low: int, high: int, what: str) -> int:
    value, error = strtonum(text, low, high)
    if error:
        raise _errx(ctx, v6, f"{what} is {error}: {text}")
    return value


def _interval(ctx: Any, v6: bool, text: str) -> float:
    """-i: strtod with nothing left over, not negative, not zero (ping runs as root here)."""
    try:
        seconds = float(text)
    except ValueError:
        raise _errx(ctx, v6, f"interval is invalid: {text}") from None
    if not text or seconds < 0 or math.isnan(seconds):
        raise _errx(ctx, v6, f"interval is invalid: {text}")
    if seconds == 0:
        raise _errx(ctx, v6, f"interval is too small: {text}")
    return seconds


def _target(ctx: Any, target: str, v6: bool) -> tuple[Address, str | None]:
    """The destination as getaddrinfo() would give it for numeric hosts: address and scope."""
    text, _, scope = target.partition("%")
    try:
        dst = ipaddress.ip_address(text)
    except ValueError:
        raise _refuse(ctx, v6, f"resolving {target!r} (give a numeric address)") from None
    if dst.version != (6 if v6 else 4):
        raise _refuse(ctx, v6, f"an IPv{dst.version} destination for {_prog(v6)}")
    if isinstance(dst, ipaddress.IPv6Address) and dst.is_link_local and not scope:
        raise _refuse(ctx, v6, "a link-local destination without %interface")
    if scope and scope not in _interfaces(_here(ctx)):
        raise _refuse(ctx, v6, f"scope %{scope} (no such interface)")
    return dst, scope or None


def _source(ctx: Any, opts: _Opts, v6: bool) -> Address | None:
    """-I: bind(2) to a local address; any other address fails as bind does."""
    if opts.source is None:
        return None
    text = opts.source.partition("%")[0]
    try:
        src = ipaddress.ip_address(text)
    except ValueError:
        raise _refuse(ctx, v6, f"resolving source {opts.source!r}") from None
    if src not in _own_addresses(_here(ctx)):
        raise _errx(ctx, v6, f"bind: {EADDRNOTAVAIL}")
    return src


# -- the run -----------------------------------------------------------------------------------


def _run(
    ctx: Any,
    opts: _Opts,
    target: str,
    dst: Address,
    scope: str | None,
    src: Address | None,
    v6: bool,
) -> int:
    """Print what ping prints for this destination; exit 0 when a reply came."""
    shown = f"{dst}%{scope}" if scope else str(dst)
    ctx.print(f"PING {target} ({shown}): {opts.datalen} data bytes")
    path = _answering_path(ctx, dst, scope, src)
    answered = path is not None
    duration = max(opts.count - 1, 0) * opts.interval + (0 if answered else opts.maxwait)
    if opts.count == 0 or duration > ctx.timeout:
        raise WouldBlock(f"{_prog(v6)} would still run after {ctx.timeout:g} s")
    times = [_rtt(path, seq) for seq in range(opts.count)] if path is not None else []
    timed = opts.datalen >= ECHOTMLEN
    if not opts.quiet:
        for seq, rtt in enumerate(times):
            hop = f"hlim={REPLY_TTL}" if v6 else f"ttl={REPLY_TTL}"
            ms = f" time={rtt:.3f} ms" if timed else ""
            ctx.print(f"{ECHOLEN + opts.datalen} bytes from {shown}: icmp_seq={seq} {hop}{ms}")
    _summary(ctx, target, opts.count, times, timed)
    return 0 if times else 1


def _summary(ctx: Any, hostname: str, sent: int, times: list[float], timed: bool) -> None:
    """ping.c `summary()`."""
    ctx.print()
    ctx.print(f"--- {hostname} ping statistics ---")
    received = len(times)
    loss = (sent - received) * 100 / sent
    ctx.print(f"{sent} packets transmitted, {received} packets received, {loss:.1f}% packet loss")
    if times and timed:
        avg = sum(times) / received
        dev = math.sqrt(max(0.0, sum(t * t for t in times) / received - avg * avg))
        ctx.print(
            f"round-trip min/avg/max/std-dev = {min(times):.3f}/{avg:.3f}/{max(times):.3f}/"
            f"{dev:.3f} ms"
        )


def _rtt(path: str, seq: int) -> float:
    """A stable made-up round-trip time: per path 2-42 ms across a tunnel, about 0.03 ms to
    one of our own addresses, plus a little jitter per packet."""
    base = int.from_bytes(hashlib.sha256(path.encode()).digest()[:4], "big") % 40000
    jitter = int.from_bytes(hashlib.sha256(f"{path}|{seq}".encode()).digest()[:2], "big") % 800
    if path.startswith("local|"):
        return 0.030 + jitter / 100000
    return 2.0 + base / 1000 + jitter / 1000


# -- who answers ---------------------------------------------------------------------------------


def _interfaces(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(state.get("interfaces", {}))


def _here(ctx: Any) -> dict[str, Any]:
    """This router's interfaces, as {"interfaces": ...}: inside simstate.snapshot() read once
    while nothing changes (`peerops simulate` pings every peer of a router, and each ping
    decoded and re-encoded every interface of it). Treat it as read-only."""
    return simstate.snapshot_cached(
        ("ping: interfaces", str(ctx.host.root)), lambda: {"interfaces": _interfaces(ctx.state)}
    )


def _here_addresses(ctx: Any) -> set[Address]:
    """_own_addresses of this router, inside simstate.snapshot() once while nothing changes
    (each of a hundred pings parsed every address of every interface again)."""
    return simstate.snapshot_cached(
        ("ping: own addresses", str(ctx.host.root)), lambda: _own_addresses(_here(ctx))
    )


def _addr(text: str | None) -> Address | None:
    if not text:
        return None
    return _parse_addr(str(text).partition("%")[0])


@functools.lru_cache(maxsize=16384)
def _parse_addr(text: str) -> Address | None:
    """Cached: every ping reads every address of its router and of its SAs, so pinging all N
    peers of a router parsed N x N addresses (an address object is immutable)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _holders(fleet: dict[str, Any]) -> dict[Address, list[tuple[str, Path, dict[str, Any]]]]:
    """Address -> the fleet's routers holding it on an interface (name, root, state), in name
    order: one look at every router (reused inside simstate.snapshot(), not one per ping)."""
    routers = tuple(sorted(fleet.get("routers", {}).items()))

    def look() -> dict[Address, list[tuple[str, Path, dict[str, Any]]]]:
        out: dict[Address, list[tuple[str, Path, dict[str, Any]]]] = {}
        for name, root in routers:
            path = ike.fleet_root(root)
            state = ike.load_state(path)
            for address in _own_addresses(state) if state is not None else ():
                out.setdefault(address, []).append((name, path, state))
        return out

    return simstate.snapshot_cached(("holders", routers), look)


def _own_addresses(state: dict[str, Any]) -> set[Address]:
    """Every address configured on any interface of a router."""
    out: set[Address] = set()
    for iface in _interfaces(state).values():
        for entry in [*iface.get("inet", []), *iface.get("inet6", [])]:
            if (a := _addr(entry.get("address"))) is not None:
                out.add(a)
    return out


@dataclass(frozen=True)
class _Link:
    """Our side of a transfer net: the gre interface, our address on it, the endpoints."""

    name: str
    iface: dict[str, Any]
    local: Address
    tunnel_src: Address
    tunnel_dst: Address


def _answering_path(
    ctx: Any, dst: Address, scope: str | None, src: Address | None
) -> str | None:
    """A name for the path that answers the echo, or None when nothing answers."""
    if dst in _here_addresses(ctx):
        return f"local|{dst}"
    link = _link_towards(ctx, dst, scope)
    if link is None or (src is not None and src != link.local):
        return None
    if int(ctx.state.get("sysctl", {}).get(GRE_ALLOW, 0)) != 1:
        return None
    if not _ipsec_up(ctx, link):
        return None
    if _external_answers(ctx, link, dst) or _router_answers(ctx, link, dst):
        return f"{link.tunnel_src}|{link.tunnel_dst}|{link.local}|{dst}"
    return None


def _usable(iface: dict[str, Any]) -> bool:
    """A gre interface that can carry packets: UP, RUNNING and both tunnel endpoints set."""
    tunnel = iface.get("tunnel") or {}
    return (
        iface.get("type") == "gre"
        and bool(iface.get("up"))
        and bool(iface.get("running"))
        and _addr(tunnel.get("src")) is not None
        and _addr(tunnel.get("dst")) is not None
    )


def _gre_routes(ctx: Any) -> tuple[list[tuple[str, dict[str, Any]]], dict[Address, list[int]]]:
    """This router's gre interfaces in name order, and by each IPv4 point-to-point
    destination the positions of those that have it (an IPv4 transfer net is found by its
    destination, not by a walk over every interface: a hub's thousand pings walked its
    thousand tunnels each). Inside simstate.snapshot() once while nothing changes."""

    def build() -> tuple[list[tuple[str, dict[str, Any]]], dict[Address, list[int]]]:
        gre = [(n, i) for n, i in sorted(_interfaces(_here(ctx)).items()) if i.get("type") == "gre"]
        by_dest: dict[Address, list[int]] = {}
        for at, (_, iface) in enumerate(gre):
            for entry in iface.get("inet", []):
                dest = _addr(entry.get("dest"))
                if dest is not None and at not in by_dest.get(dest, ()):
                    by_dest.setdefault(dest, []).append(at)
        return gre, by_dest

    return simstate.snapshot_cached(("ping: gre routes", str(ctx.host.root)), build)


def _link_towards(ctx: Any, dst: Address, scope: str | None) -> _Link | None:
    """The gre interface (and our address on it) whose transfer net holds dst: the first in
    name order."""
    gre, by_dest = _gre_routes(ctx)
    candidates = (
        [gre[at] for at in by_dest.get(dst, [])]
        if isinstance(dst, ipaddress.IPv4Address)  # _local_for: only a destination matches
        else gre
    )
    for name, iface in candidates:
        if scope is not None and name != scope:
            continue
        local = _local_for(iface, dst, scope is not None)
        if local is None:
            continue
        tunnel = iface.get("tunnel") or {}
        src, dst_end = _addr(tunnel.get("src")), _addr(tunnel.get("dst"))
        if not _usable(iface) or src is None or dst_end is None:
            return None  # the kernel route points into a dead tunnel: nothing comes back
        return _Link(name, iface, local, src, dst_end)
    return None


def _local_for(iface: dict[str, Any], dst: Address, scoped: bool) -> Address | None:
    """Our address on iface from which dst is reached directly, if any."""
    if isinstance(dst, ipaddress.IPv4Address):
        for entry in iface.get("inet", []):
            if _addr(entry.get("dest")) == dst:
                return _addr(entry.get("address"))
        return None
    for entry in iface.get("inet6", []):
        address = _addr(entry.get("address"))
        if address is None:
            continue
        if scoped and dst.is_link_local and address.is_link_local:
            return address
        if _addr(entry.get("dest")) == dst:
            return address
        plen = int(entry.get("prefixlen") or 128)
        if not dst.is_link_local and dst in ipaddress.ip_network(f"{address}/{plen}", False):
            return address
    return None


def _ipsec_up(ctx: Any, link: _Link) -> bool:
    """Flows for proto gre with the tunnel peer and SAs both ways, as `ipsecctl -sa` shows."""
    flows, pairs = simstate.snapshot_cached(
        ("ping: flows and SAs", str(ctx.host.root)), lambda: _flows_and_sas(ctx)
    )  # inside simstate.snapshot() once, not every flow and SA parsed again per ping
    both_ways = {(link.tunnel_src, link.tunnel_dst), (link.tunnel_dst, link.tunnel_src)}
    return flows.get(link.tunnel_dst, set()) == {"in", "out"} and both_ways <= pairs


def _flows_and_sas(
    ctx: Any,
) -> tuple[dict[Address | None, set[str]], set[tuple[Address | None, Address | None]]]:
    """The directions of the gre flows by peer, and the (src, dst) of every SA."""
    view = ike.observe(ctx.host.root, ctx.state)
    flows: dict[Address | None, set[str]] = {}
    for f in view.flows:
        if f.proto == 47:
            flows.setdefault(_addr(f.peer), set()).add(f.direction)
    return flows, {(_addr(s.src), _addr(s.dst)) for s in view.sas}


def _external_answers(ctx: Any, link: _Link, dst: Address) -> bool:
    """An external peer of the fleet model at the far end of this tunnel answers dst."""
    fleet = load_fleet(ctx.host.root)
    me = ctx.host.name
    for entry in fleet.get("external", {}).get(me, {}).values():
        if (
            _addr(entry.get("endpoint")) != link.tunnel_dst
            or _addr(entry.get("local_endpoint")) != link.tunnel_src
            or entry.get("state") != "up"
        ):
            continue
        gre = entry.get("gre") or {}
        family = gre.get("inet" if dst.version == 4 else "inet6") or {}
        if _addr(family.get("local")) == dst and _addr(family.get("remote")) == link.local:
            return True
    return False


def _router_answers(ctx: Any, link: _Link, dst: Address) -> bool:
    """A managed router of the fleet at the far end of this tunnel answers dst."""
    fleet = load_fleet(ctx.host.root)
    for name, path, state in _holders(fleet).get(link.tunnel_dst, []):
        if name == ctx.host.name or path == ctx.host.root:
            continue
        if int(state.get("sysctl", {}).get(GRE_ALLOW, 0)) != 1:
            return False
        return any(_mirrors(iface, link, dst) for iface in _interfaces(state).values())
    return False


def _mirrors(iface: dict[str, Any], link: _Link, dst: Address) -> bool:
    """The far end's gre interface: usable, mirrored endpoints, holds dst, pairs with us."""
    if not _usable(iface):
        return False
    tunnel = iface["tunnel"]
    if _addr(tunnel["src"]) != link.tunnel_dst or _addr(tunnel["dst"]) != link.tunnel_src:
        return False
    if isinstance(dst, ipaddress.IPv4Address):
        return any(
            _addr(e.get("address")) == dst and _addr(e.get("dest")) == link.local
            for e in iface.get("inet", [])
        )
    return any(_addr(e.get("address")) == dst for e in iface.get("inet6", [])) and (
        _local_for(iface, link.local, link.local.is_link_local) is not None
    )
