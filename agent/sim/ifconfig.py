"""Simulated ifconfig(8) for the interfaces a DN42 router has: gre(4) tunnels and the few
physical/pseudo interfaces a fresh install shows (lo0, em0, enc0, pflog0).

Sources (read from the openbsd/src GitHub mirror):
- sbin/ifconfig/ifconfig.c v1.476 (2025): main() argument loop and cmds[] table, printif(),
  status(), getencap(), phys_status()/print_tunnel(), in_status(), in6_alias(), printb()
  with IFFBITS, in_getaddr()/in_getprefix(), in6_getaddr()/in6_getprefix(), notealias(),
  setifaddr()/setifdstaddr(), settunnel(), setkeepalive(), setifgroup(), list_cloners(),
  printgroupattribs(), usage(). Every message below is copied from there.
- sys/net/if_gre.c v1.190 (2025): gre_clone_create() (flags POINTOPOINT|MULTICAST, mtu
  GREMTU 1476, ttl = ip_defttl 64, txprio payload, rxprio packet, nodf, ecn, llprio
  IFQ_TOS2PRIO(IPTOS_PREC_INTERNETCONTROL) = 6), gre_ioctl() (SIOCSIFADDR sets IFF_UP,
  keepalive limits), gre_tunnel_ioctl() (mtu >= 576), gre_set_tunnel() (EINVAL cases),
  gre_link_state().
- sys/netinet/in.c in_ioctl_change_ifaddr()/in_ifinit(): first-address deletion, exact-match
  update, classful default netmask, RFC 3021 broadcast.
- sys/net/if.h LINK_STATE_DESCRIPTIONS ("active", "keepalive down", "no carrier", ...).
- lib/libc/net/gai_strerror.c v1.8 for getaddrinfo() error texts.

The interface model and its state are agent.sim.if_gre's.

Deliberate simplifications (each also noted where it happens): DAD completes at once (no
"tentative"); the keepalive hold timer fires at once (link state "keepalive down" as soon as
keepalive is set on a running gre), a peer never answers keepalives here (the fleet may set
link_state "up"); names resolve only through ROOT/etc/hosts (there is no DNS); only gre can be
created; keywords of ifconfig.c that are not modelled fail loudly instead of pretending.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from agent.sim import libc
from agent.sim.if_gre import (
    IFF_BROADCAST,
    IFF_LOOPBACK,
    IFF_MULTICAST,
    IFF_POINTOPOINT,
    add_inet,
    add_inet6,
    alloc_index,
    aton_strict,
    driver_flags_changed,
    iface_flags,
    ifaddr_up,
    inet6_attach,
    interfaces,
    new_iface,
    next_seq,
    ntoa,
    plen_to_mask,
    set_broadcast,
)
from agent.sim.libc import Exit, inet_aton, inet_net_pton4, strtonum

PROG = "ifconfig"
IFNAMSIZ = 16

# errno texts (lib/libc/gen/errlist.c); err()/warn() append ": <text>".
ENXIO = "Device not configured"
EINVAL = "Invalid argument"
EEXIST = "File exists"
EADDRNOTAVAIL = "Can't assign requested address"
ENOTTY = "Inappropriate ioctl for device"
ENOENT = "No such file or directory"
EPERM = "Operation not permitted"
ENAMETOOLONG = "File name too long"

# getaddrinfo() errors (lib/libc/net/gai_strerror.c v1.8).
EAI_NONAME = "name or service is not known"
EAI_SERVICE = "service not supported for ai_socktype"



# ifconfig.c IFFBITS: printb() bit numbers are 1-based ("\1UP" is 0x1).
IFFBITS: tuple[tuple[int, str], ...] = (
    (1, "UP"), (2, "BROADCAST"), (3, "DEBUG"), (4, "LOOPBACK"), (5, "POINTOPOINT"),
    (6, "STATICARP"), (7, "RUNNING"), (8, "NOARP"), (9, "PROMISC"), (10, "ALLMULTI"),
    (11, "OACTIVE"), (12, "SIMPLEX"), (13, "LINK0"), (14, "LINK1"), (15, "LINK2"),
    (16, "MULTICAST"), (19, "AUTOCONF6TEMP"), (20, "MPLS"), (21, "WOL"), (22, "AUTOCONF6"),
    (23, "INET6_NOSOII"), (24, "AUTOCONF4"), (25, "MONITOR"), (26, "LRO"),
)

# `ifconfig -C` names: the pseudo-devices of an amd64 GENERIC 7.x kernel, best knowledge
# (unverified against a running kernel); list_cloners() prints them qsort()ed.
CLONERS: tuple[str, ...] = (
    "aggr", "bpe", "bridge", "carp", "egre", "enc", "eoip", "etherip", "gif", "gre", "lo",
    "mgre", "mpe", "mpip", "mpw", "nvgre", "pair", "pflog", "pflow", "pfsync", "ppp", "pppoe",
    "sec", "svlan", "tap", "tpmr", "trunk", "tun", "veb", "vether", "vlan", "vport", "vxlan",
    "wg",
)
SIMULATED_CLONERS = ("gre",)

# Every other keyword of ifconfig.c cmds[]: real, but not modelled here, so it fails loudly.
_UNSIMULATED_TEXT = (
    """arp -arp debug -debug nwid -nwid join -join joinlist -joinlist bssid -bssid nwkey
    -nwkey wpa -wpa wpaakms wpaciphers wpagroupcipher wpaprotos wpakey -wpakey chan -chan scan
    parent -parent vlan -vlan vlandev -vlandev autoconf -autoconf trunkport -trunkport
    trunkproto lacpmode lacptimeout anycast -anycast tentative -tentative pltime vltime
    temporary -temporary soii -soii monitor -monitor tcplro -tcplro hwfeatures metric
    powersave -powersave rtlabel -rtlabel rdomain -rdomain staticarp -staticarp mpls -mpls
    mplslabel -mplslabel pwecw -pwecw pwefat -pwefat pweneighbor -pweneighbor advbase advskew
    carppeer -carppeer pass vhid state carpdev carpnodes balancing syncdev -syncdev syncif
    -syncif syncpeer -syncpeer maxupd defer -defer tunneladdr vnetflowid -vnetflowid pppoedev
    pppoesvc -pppoesvc pppoeac -pppoeac authproto authname authkey peerproto peername peerkey
    peerflag -peerflag nwflag -nwflag flowsrc -flowsrc flowdst -flowdst pflowproto add del
    addspan delspan discover -discover blocknonip -blocknonip learn -learn stp -stp edge -edge
    autoedge -autoedge protected -protected ptp -ptp autoptp -autoptp flush flushall static
    endpoint -endpoint deladdr maxaddr addr hellotime fwddelay maxage proto ifpriority ifcost
    -ifcost timeout holdcnt spanpriority ipdst rules rulefile flushrule rule wol -wol pin
    chgpin puk apn -apn class -class roaming -roaming patch -patch addlocal transceiver sff
    sffdump wgpeer wgdescription wgdescr wgendpoint wgaip wgpsk wgpka wgport wgkey wgrtable
    -wgpeer -wgpsk -wgdescription -wgdescr -wgpeerall link0 -link0 link1 -link1 link2 -link2
    media mediaopt -mediaopt mode -mode instance inst lladdr"""
)
UNSIMULATED_KEYWORDS = frozenset(_UNSIMULATED_TEXT.split())

ADDR, MASK, DSTADDR, RIDADDR = "addr", "mask", "dst", "rid"
ANY4 = "0.0.0.0"  # noqa: S104 - INADDR_ANY as inet_ntoa() prints it, nothing is bound


# --------------------------------------------------------------------------------------------
# The command


@dataclass
class _Req:
    """The in_addreq/in6_addreq/ridreq being built while ifconfig walks its arguments."""

    af: str = "inet"
    setaddr: int = 0
    setipdst: int = 0
    doalias: int = 0
    clearaddr: bool = False
    newaddr: bool = False
    explicit_prefix: bool = False
    addr: tuple[int, int] | None = None  # (value, scope ifindex) ; inet scope is 0
    mask: int | None = None
    dst: tuple[int, int] | None = None
    rid: tuple[int, int] | None = None
    actions: bool = False


@dataclass
class _Op:
    """One run of ifconfig on interface `name` (the globals of ifconfig.c)."""

    ctx: Any
    name: str
    req: _Req = field(default_factory=_Req)

    # -- state -------------------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        return self.ctx.state

    def iface(self) -> dict[str, Any] | None:
        return interfaces(self.state).get(self.name)

    # -- err(3) family -----------------------------------------------------------------------
    def errx(self, msg: str) -> NoReturn:
        libc.errx(self.ctx, PROG, 1, msg)

    def err(self, msg: str, errno_text: str) -> NoReturn:
        libc.err(self.ctx, PROG, 1, msg, errno_text)

    def warn(self, msg: str, errno_text: str) -> None:
        libc.warn(self.ctx, PROG, msg, errno_text)

    def refuse(self, what: str) -> None:
        self.ctx.eprint(f"peerops sim: {PROG}: {what} is not simulated")
        raise Exit(1)

    def need(self, label: str) -> dict[str, Any] | None:
        """Return the interface; if it does not exist the ioctl fails with ENXIO (if_unit())
        and ifconfig warn()s about it and carries on."""
        iface = self.iface()
        if iface is None:
            self.warn(label, ENXIO)
        return iface

    def must(self, label: str) -> dict[str, Any]:
        """Return the interface, or err(1, label) with ENXIO when it does not exist."""
        iface = self.iface()
        if iface is None:
            self.err(label, ENXIO)
        return iface

    def usage(self) -> NoReturn:
        libc.usage(self.ctx, "usage: ifconfig [-AaC] [-M lladdr] [interface] [address_family]"
                   "\n\t\t[address [dest_address]] [parameters]")


def main(ctx: Any, args: list[str]) -> int:
    """ifconfig(8): print interfaces or apply the arguments; returns the exit status."""
    try:
        return _main(ctx, list(args))
    except Exit as stop:
        return stop.rc


def _main(ctx: Any, argv: list[str]) -> int:
    """ifconfig.c main(): options, interface name, address family, then the command loop."""
    op = _Op(ctx, "")
    if not argv:
        printif(op, None, ifaliases=False, afp=None)
        return 0
    opts, argv = _parse_options(op, argv)
    if "C" in opts or "g" in opts:
        return _special_modes(op, opts, argv)
    if len(op.name) >= IFNAMSIZ:
        op.errx(f"interface name '{op.name}' too long")
    afp = None
    if argv and argv[0] in ("inet", "inet6"):
        afp = argv.pop(0)
    op.req.af = afp or "inet"
    if argv and argv[0] == "create":
        clone_create(op)
        argv.pop(0)
        if not argv:
            return 0
    if "a" not in opts:
        _getinfo(op, create=bool(argv) and argv[0] != "destroy")
    if argv and op.req.af == "inet6":
        _addaf(op)
    _run_commands(op, argv)
    if not op.req.actions:
        aflag = "a" in opts
        printif(op, None if aflag else op.name, ifaliases=("A" in opts) if aflag else True, afp=afp)
        return 0
    _finish_address(op)
    return 0


def _parse_options(op: _Op, argv: list[str]) -> tuple[set[str], list[str]]:
    """The `-AaCgM` letters; without a terminal one (a, A, C) the next word is the name."""
    if not argv[0].startswith("-"):
        op.name = argv[0]
        return set(), argv[1:]
    opts: set[str] = set()
    nomore = False
    for ch in argv[0][1:]:
        if ch in "aAC":
            opts.update({"a", ch} if ch == "A" else {ch})
            nomore = True
        elif ch == "g":
            opts.add("g")
        elif ch == "M":
            if len(argv) < 2:
                op.usage()
            raise Exit(_findmac(op, argv[1]))
        else:
            op.usage()
    if not nomore:
        if len(argv) < 2:
            op.usage()
        op.name = argv[1]
        if len(op.name) >= IFNAMSIZ:
            op.errx(f"interface name '{op.name}' too long")
        return opts, argv[2:]
    return opts, argv[1:]


def _special_modes(op: _Op, opts: set[str], argv: list[str]) -> int:
    """`-C` lists the cloners; `-g NAME` prints the group's attributes."""
    if argv and argv[0] in ("inet", "inet6"):
        argv = argv[1:]
    if "C" in opts:
        if argv or "a" in opts:
            op.usage()
        op.ctx.print(" ".join(sorted(CLONERS)))
        return 0
    if argv:
        op.refuse("setting interface group attributes (carpdemote)")
    if not _group_members(op.state, op.name):
        op.err(f"{op.name}: SIOCGIFGATTR", ENOENT)
    # The carp demotion counter is not modelled: groups here never carry demotions.
    op.ctx.print(f"{op.name}: carp demote count 0")
    return 0


def _findmac(op: _Op, mac: str) -> int:
    """findmac(): print the (non-cloned) interface with this lladdr; 1 if several have it."""
    names = [n for n, i in sorted(interfaces(op.state).items(), key=lambda kv: kv[1]["index"])
             if i.get("lladdr") == mac and not i["cloned"]]
    if len(names) > 1:
        return 1
    if names:
        op.ctx.print(names[0])
    return 0


# -- creation ----------------------------------------------------------------------------------


def _cloner_of(name: str) -> str | None:
    """if_clone_lookup(): cloner name + unit without leading zeros, or None (EINVAL)."""
    m = re.fullmatch(r"([a-z]+)(0|[1-9][0-9]*)", name)
    if not m or m.group(1) not in CLONERS:
        return None
    return m.group(1)


def _create(op: _Op) -> str | None:
    """SIOCIFCREATE: create op.name; return None or the errno text of the failure."""
    if op.iface() is not None:
        return EEXIST
    cloner = _cloner_of(op.name)
    if cloner is None:
        return EINVAL
    if cloner not in SIMULATED_CLONERS:
        op.refuse(f"creating {cloner} interfaces")
    iface = new_iface("gre", alloc_index(op.state, op.name), cloned=True)
    iface["groups"].append(cloner)  # if_clone_create() -> if_addgroup(ifp, ifc_name)
    interfaces(op.state)[op.name] = iface
    return None


def clone_create(op: _Op) -> None:
    """`create`: err(1, "%s: SIOCIFCREATE") on failure."""
    error = _create(op)
    if error:
        op.err(f"{op.name}: SIOCIFCREATE", error)


def _getinfo(op: _Op, create: bool) -> None:
    """getinfo(): a missing interface is created silently when a command follows (not
    `destroy`); names not ending in a digit are groups and are never created."""
    if not op.name or not op.name[-1].isdigit() or op.iface() is not None or not create:
        return
    _create(op)


def _addaf(op: _Op) -> None:
    """addaf(AF_INET6) -> SIOCIFAFATTACH -> in6_ifattach(): needs IFF_MULTICAST and an mtu
    of at least IPV6_MMTU 1280 (from memory of netinet6/in6_ifattach.c; unverified)."""
    iface = op.need(f"{op.name}: SIOCIFAFATTACH")
    if iface is None:
        return
    if not iface_flags(iface) & IFF_MULTICAST or iface["mtu"] < 1280:
        op.warn(f"{op.name}: SIOCIFAFATTACH", EINVAL)
        return
    inet6_attach(op.state, op.name)


# -- the command loop ---------------------------------------------------------------------------

Handler = Callable[..., None]


def _run_commands(op: _Op, argv: list[str]) -> None:
    """main()'s while loop: keywords take 0, 1 or 2 arguments; any other word is the address,
    then the destination, then `<word>: bad value`."""
    while argv:
        word = argv[0]
        entry = COMMANDS.get(word)
        if entry is None and word in UNSIMULATED_KEYWORDS:
            op.refuse(f"keyword '{word}'")
        if entry is None:
            if op.req.setaddr >= 2:
                op.errx(f"{word}: bad value")
            (setifaddr if op.req.setaddr == 0 else setifdstaddr)(op, word)
            op.req.actions = True
            argv = argv[1:]
            continue
        nargs, handler = entry
        if len(argv) <= nargs:
            op.errx(f"'{word}' requires argument" if nargs == 1
                    else f"'{word}' requires 2 arguments")
        handler(op, *(argv[1:1 + nargs] or [word]))
        op.req.actions = True
        argv = argv[1 + nargs:]


def _finish_address(op: _Op) -> None:
    """After the loop: default IPv6 prefix (64, or 128 with a p2p destination), then
    SIOCDIFADDR (clearaddr) and SIOCAIFADDR (newaddr)."""
    req = op.req
    iface = op.iface()
    if req.af == "inet6" and not req.explicit_prefix:
        p2p = iface is not None and iface_flags(iface) & IFF_POINTOPOINT
        setifprefixlen(op, "128" if req.setipdst and p2p else "64")
    if req.clearaddr:
        error = _del_address(op)
        if error and not (error == EADDRNOTAVAIL and req.doalias >= 0):
            op.err("SIOCDIFADDR", error)
    if req.newaddr:
        error = _add_address(op)
        if error:
            op.err("SIOCAIFADDR", error)


# -- address arguments --------------------------------------------------------------------------


def setifaddr(op: _Op, word: str) -> None:
    """The first address word: add (and, without `alias`, replace the first address)."""
    req = op.req
    req.setaddr += 1
    if req.doalias >= 0:
        req.newaddr = True
    if req.doalias == 0:
        req.clearaddr = True
    getaddr(op, word, ADDR if req.doalias >= 0 else RIDADDR)


def setifdstaddr(op: _Op, word: str) -> None:
    op.req.setaddr += 1
    op.req.setipdst += 1
    getaddr(op, word, DSTADDR)


def setifnetmask(op: _Op, word: str) -> None:
    getaddr(op, word, MASK)
    op.req.explicit_prefix = True


def setifbroadaddr(op: _Op, word: str) -> None:
    # in_aliasreq's ifra_broadaddr *is* ifra_dstaddr: on a gre `broadcast X` sets the peer.
    getaddr(op, word, DSTADDR)


def setifprefixlen(op: _Op, word: str) -> None:
    if op.req.af == "inet":
        in_getprefix(op, word, MASK)
    else:
        in6_getprefix(op, word, MASK)
    op.req.explicit_prefix = True


def notealias(op: _Op, word: str) -> None:
    """`alias` (param 1), `-alias`/`delete` (param -1): after an address, -1 turns the add
    into a delete of that address."""
    req = op.req
    param = 1 if word == "alias" else -1
    if req.setaddr and req.doalias == 0 and param < 0:
        req.rid = req.addr
    req.doalias = param
    if param < 0:
        req.clearaddr = True
        req.newaddr = False
    else:
        req.clearaddr = False


def getaddr(op: _Op, word: str, which: str) -> None:
    if op.req.af == "inet":
        in_getaddr(op, word, which)
    else:
        in6_getaddr(op, word, which)


def _store(op: _Op, which: str, value: tuple[int, int] | int) -> None:
    if which == MASK:
        op.req.mask = value[0] if isinstance(value, tuple) else value
    else:
        setattr(op.req, which, value if isinstance(value, tuple) else (value, 0))


def in_getaddr(op: _Op, word: str, which: str) -> None:
    """in_getaddr(): `a.b.c.d/len` (ADDR only) via inet_net_pton, else inet_aton, else
    gethostbyname (here: ROOT/etc/hosts only), else `%s: bad value`."""
    net = inet_net_pton4(word) if which == ADDR and "/" in word else None
    if net is not None:
        in_getprefix(op, str(net[1]), MASK)
        value: int | None = net[0]
    else:
        value = inet_aton(word)
        if value is None:
            found = _hosts_lookup(op.ctx, word, 4)
            value = int(ipaddress.IPv4Address(found)) if found else None
        if value is None:
            op.errx(f"{word}: bad value")
            return
    if which == MASK and value & (((~value) & 0xFFFFFFFF) >> 1):
        op.errx(f"{word}: non-contiguous mask")
    _store(op, which, value)


def in_getprefix(op: _Op, plen: str, which: str) -> None:
    """in_getprefix(): 0 and 32 both give 255.255.255.255 (as the C code does)."""
    length, error = strtonum(plen, 0, 32)
    if error:
        op.errx(f"prefix {plen}: {error}")
    _store(op, which, 0xFFFFFFFF if length in (0, 32) else plen_to_mask(length))


def in6_getprefix(op: _Op, plen: str, which: str) -> None:
    """in6_getprefix(): 0 and 128 both give an all-ones mask."""
    length, error = strtonum(plen, 0, 128)
    if error:
        op.errx(f"prefix {plen}: {error}")
    full = (1 << 128) - 1
    _store(op, which, full if length in (0, 128) else (full << (128 - length)) & full)


def in6_getaddr(op: _Op, word: str, which: str) -> None:
    """in6_getaddr(): ADDR may carry /len; getaddrinfo(AF_INET6) parses `addr%zone`."""
    if which == ADDR and "/" in word:
        word, plen = word.split("/", 1)
        in6_getprefix(op, plen, MASK)
        op.req.explicit_prefix = True
    parsed = _getaddrinfo6(op, word)
    if parsed is None:
        op.errx(f"{word}: {EAI_NONAME}")
        return
    _store(op, which, parsed)


def _getaddrinfo6(op: _Op, word: str) -> tuple[int, int] | None:
    """Numeric IPv6 with optional %zone (interface name, or a number), or ROOT/etc/hosts.
    A zone that names no interface fails like an unknown name (EAI_NONAME, unverified)."""
    try:
        addr = ipaddress.IPv6Address(word)
    except ValueError:
        found = _hosts_lookup(op.ctx, word, 6)
        return (int(ipaddress.IPv6Address(found)), 0) if found else None
    scope = 0
    if addr.scope_id:
        zone = addr.scope_id
        target = interfaces(op.state).get(zone)
        if target is not None and addr.is_link_local:
            scope = int(target["index"])
        elif zone.isdigit():
            scope = int(zone)
        else:
            return None
    return int(ipaddress.IPv6Address(word.split("%")[0])), scope


def _hosts_lookup(ctx: Any, name: str, version: int) -> str | None:
    """gethostbyname()/getaddrinfo() without DNS: the first ROOT/etc/hosts line naming it."""
    text = ctx.read_text("/etc/hosts")
    if text is None:
        return None
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2 or name not in words[1:]:
            continue
        try:
            addr = ipaddress.ip_address(words[0])
        except ValueError:
            continue
        if version == 0 or addr.version == version:
            return str(addr)
    return None


def setia6eui64(op: _Op, word: str) -> None:
    """`eui64`: attach inet6 and fill the low 64 bits of the address with the link-local's."""
    if op.req.af != "inet6":
        op.errx(f"{word} not allowed for this address family")
    _addaf(op)
    value, scope = op.req.addr or (0, 0)
    if value & ((1 << 64) - 1):
        op.errx("interface index is already filled")
    iface = op.iface()
    lladdr = None
    for entry in (iface or {}).get("inet6", []):
        if ipaddress.IPv6Address(entry["address"]).is_link_local:
            lladdr = int(ipaddress.IPv6Address(entry["address"]))
            break
    if lladdr is None:
        op.errx("could not determine link local address")
        return
    op.req.addr = (value | (lladdr & ((1 << 64) - 1)), scope)


# -- kernel side of SIOCDIFADDR / SIOCAIFADDR ----------------------------------------------------


def _del_address(op: _Op) -> str | None:
    """SIOCDIFADDR(_IN6): delete the exact rid address, or (inet, no address given) the
    first inet address; EADDRNOTAVAIL when there is none."""
    iface = op.iface()
    if iface is None:
        return ENXIO
    rid = op.req.rid
    if op.req.af == "inet":
        entries = iface["inet"]
        idx = next((i for i, e in enumerate(entries)
                    if rid is None or aton_strict(e["address"]) == rid[0]), None)
    else:
        entries = iface["inet6"]
        idx = None if rid is None else next(
            (i for i, e in enumerate(entries)
             if int(ipaddress.IPv6Address(e["address"])) == rid[0]), None)
    if idx is None:
        return EADDRNOTAVAIL
    del entries[idx]
    return None


def _add_address(op: _Op) -> str | None:
    iface = op.iface()
    if iface is None:
        return ENXIO
    if op.req.addr is None:
        return EINVAL
    if op.req.af == "inet":
        return _add_inet_req(op, iface, op.req.addr[0])
    return _add_inet6_req(op, iface, op.req.addr)


def _add_inet_req(op: _Op, iface: dict[str, Any], value: int) -> str | None:
    """in_ioctl_change_ifaddr() SIOCAIFADDR + in_ifinit(): update an exact match (it moves to
    the end of the list when re-initialised), else append with the given or classful mask."""
    req = op.req
    addr = ntoa(value)
    p2p = bool(iface_flags(iface) & IFF_POINTOPOINT)
    dst = ntoa(req.dst[0]) if req.dst is not None and p2p else None
    entry = next((e for e in iface["inet"] if e["address"] == addr), None)
    if entry is None:
        mask = req.mask if req.mask is not None else _classful(value)
        add_inet(iface, addr, mask, dst or (ANY4 if p2p else None))
        ifaddr_up(iface)
        return None
    if req.mask is None and dst is None:
        return None
    if req.mask is not None:
        entry["netmask"] = ntoa(req.mask)
    if dst is not None:
        entry["dest"] = dst
    set_broadcast(iface, entry)
    iface["inet"].remove(entry)  # in_ifinit(): ifa_del() + ifa_add() re-append
    entry["seq"] = next_seq(iface)
    iface["inet"].append(entry)
    ifaddr_up(iface)
    return None


def _classful(addr: int) -> int:
    """in_ifinit(): no netmask given for a new address -> IN_CLASSA/B/C_NET."""
    if not addr & 0x80000000:
        return 0xFF000000
    if (addr & 0xC0000000) == 0x80000000:
        return 0xFFFF0000
    return 0xFFFFFF00


def _mask2len(mask: int) -> int:
    """in6_mask2len(): prefix length of a contiguous mask, -1 otherwise."""
    bits = bin(mask)[2:].zfill(128)
    plen = len(bits) - len(bits.lstrip("1"))
    return plen if "1" not in bits[plen:] else -1


def _add_inet6_req(op: _Op, iface: dict[str, Any], value: tuple[int, int]) -> str | None:
    """in6_update_ifa() (KAME heritage): plen > 0; a destination only on p2p/loopback and
    only with prefixlen 128; link-local zones must be this interface; an existing
    address keeps its prefix length (changing it is EINVAL)."""
    req = op.req
    plen = _mask2len(req.mask if req.mask is not None else 0)
    if plen <= 0:
        return EINVAL
    if _bad_zone(iface, value) or (req.dst is not None and _bad_zone(iface, req.dst)):
        return EINVAL
    dst = str(ipaddress.IPv6Address(req.dst[0])) if req.dst is not None else None
    p2p = iface_flags(iface) & (IFF_POINTOPOINT | IFF_LOOPBACK)
    if dst is not None and (not p2p or plen != 128):
        return EINVAL
    addr = ipaddress.IPv6Address(value[0])
    entry = next((e for e in iface["inet6"] if ipaddress.IPv6Address(e["address"]) == addr), None)
    if entry is not None:
        if entry["prefixlen"] != plen:
            return EINVAL
        if dst is not None:
            entry["dest"] = dst
        return None
    inet6_attach(op.state, op.name)
    add_inet6(iface, str(addr), plen, dst, iface["index"] if addr.is_link_local else None)
    return None


def _bad_zone(iface: dict[str, Any], value: tuple[int, int]) -> bool:
    addr = ipaddress.IPv6Address(value[0])
    return addr.is_link_local and value[1] not in (0, iface["index"])


# -- interface keywords ------------------------------------------------------------------------


def setifflags(op: _Op, word: str) -> None:
    """`up`/`down`: SIOCGIFFLAGS (err on failure) then SIOCSIFFLAGS to the driver."""
    iface = op.must(f"{op.name}: SIOCGIFFLAGS")
    iface["up"] = word == "up"
    driver_flags_changed(iface)


def clone_destroy(op: _Op, word: str) -> None:
    """`destroy`: SIOCIFDESTROY -> if_clone_destroy() (sys/net/if.c): EINVAL for a name no
    cloner makes, ENXIO when the interface does not exist."""
    if _cloner_of(op.name) is None:
        op.err(f"{op.name}: SIOCIFDESTROY", EINVAL)
    iface = op.iface()
    if iface is None:
        op.err(f"{op.name}: SIOCIFDESTROY", ENXIO)
        return
    if not iface["cloned"]:
        # lo_clone_destroy() refuses the rdomain's loopback with EPERM (from memory,
        # unverified); the simulator treats every boot interface that way.
        op.err(f"{op.name}: SIOCIFDESTROY", EPERM)
    del interfaces(op.state)[op.name]


def setifmtu(op: _Op, value: str) -> None:
    """`mtu N`: strtonum 0..INT_MAX, then gre_tunnel_ioctl(): below 576 is EINVAL."""
    mtu, error = strtonum(value, 0, 2**31 - 1)
    if error:
        op.errx(f"mtu {value}: {error}")
    iface = op.need("SIOCSIFMTU")
    if iface is None:
        return
    # ether_ioctl() allows ETHERMIN..if_hardmtu (9216 assumed for em; unverified); the other
    # pseudo-interfaces are not modelled and refuse (ENOTTY, unverified).
    limits = {"gre": (576, 2**31 - 1), "ether": (46, 9216)}.get(iface["type"])
    if limits is None:
        op.warn("SIOCSIFMTU", ENOTTY)
    elif not limits[0] <= mtu <= limits[1]:
        op.warn("SIOCSIFMTU", EINVAL)
    else:
        iface["mtu"] = mtu


def setifdesc(op: _Op, value: str) -> None:
    """`description TEXT` (IFDESCRSIZE 64 with the NUL: longer is ENAMETOOLONG)."""
    iface = op.need("SIOCSIFDESCR")
    if iface is None:
        return
    if len(value.encode()) > 63:
        op.warn("SIOCSIFDESCR", ENAMETOOLONG)
        return
    iface["description"] = value


def unsetifdesc(op: _Op, word: str) -> None:
    setifdesc(op, "")


def setifgroup(op: _Op, group: str) -> None:
    """`group NAME`: name checks of setifgroup(); joining a group twice is fine (EEXIST)."""
    if not group:
        op.errx("setifgroup: group name empty")
    if len(group) >= IFNAMSIZ:
        op.errx("setifgroup: group name too long")
    if group[-1].isdigit():
        op.errx("setifgroup: group names may not end in a digit")
    iface = op.must(f"{group}: SIOCAIFGROUP")
    if group not in iface["groups"] and group != "all":
        iface["groups"].append(group)


def unsetifgroup(op: _Op, group: str) -> None:
    """`-group NAME`: ENOENT when the interface is not a member."""
    if len(group) >= IFNAMSIZ:
        op.errx("unsetifgroup: group name too long")
    iface = op.must(f"{group}: SIOCDIFGROUP")
    if group not in iface["groups"]:
        op.err(f"{group}: SIOCDIFGROUP", ENOENT)
    iface["groups"].remove(group)


def setifpriority(op: _Op, value: str) -> None:
    prio, error = strtonum(value, 0, 15)
    if error:
        op.errx(f"priority {value}: {error}")
    iface = op.need("SIOCSIFPRIORITY")
    if iface is not None:
        iface["priority"] = prio


def setifllprio(op: _Op, value: str) -> None:
    """`llprio N`: strtonum 0..255, the kernel accepts IFQ_MINPRIO..IFQ_MAXPRIO (0..7)."""
    prio, error = strtonum(value, 0, 255)
    if error:
        op.errx(f"llprio {value}: {error}")
    iface = op.need("SIOCSIFLLPRIO")
    if iface is None:
        return
    if prio > 7:
        op.warn("SIOCSIFLLPRIO", EINVAL)
        return
    iface["llprio"] = prio


def removeaf(op: _Op, word: str) -> None:
    """`-inet`/`-inet6`: SIOCIFAFDETACH removes every address of the family."""
    iface = op.need(f"{op.name}: SIOCIFAFDETACH")
    if iface is None:
        return
    if word == "-inet6":
        iface["inet6"] = []
        iface["inet6_enabled"] = False
    else:
        iface["inet"] = []


def _gre(op: _Op, label: str) -> dict[str, Any] | None:
    """The interface for a gre-only ioctl: ENXIO when absent, ENOTTY when not a gre."""
    iface = op.need(label)
    if iface is not None and iface["tunnel"] is None:
        op.warn(label, ENOTTY)
        return None
    return iface


def _split_port(text: str) -> tuple[str, str | None]:
    """settunnel(): `addr:port` when there is exactly one ':' (IPv6 has more)."""
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, port
    return text, None


def _tunnel_endpoint(op: _Op, text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """getaddrinfo(AF_UNSPEC) of one tunnel endpoint; errx like settunnel() on failure."""
    host, port = _split_port(text)
    if port is not None and not port.isdigit():
        # A service name is looked up in /etc/services for udp; none is known here.
        op.errx(f"error in parsing address string: {EAI_SERVICE}")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        found = _hosts_lookup(op.ctx, host, 0)
        if found is None:
            op.errx(f"error in parsing address string: {EAI_NONAME}")
        return ipaddress.ip_address(str(found))


def settunnel(op: _Op, src_text: str, dst_text: str) -> None:
    """`tunnel SRC DST`: families must match, then gre_set_tunnel() refuses unspecified or
    multicast endpoints (EINVAL, a warning: ifconfig carries on)."""
    src = _tunnel_endpoint(op, src_text)
    dst = _tunnel_endpoint(op, dst_text)
    if src.version != dst.version:
        op.errx("source and destination address families do not match")
    iface = _gre(op, "SIOCSLIFPHYADDR")
    if iface is None:
        return
    if src.is_unspecified or src.is_multicast or dst.is_unspecified or dst.is_multicast:
        op.warn("SIOCSLIFPHYADDR", EINVAL)
        return
    iface["tunnel"].update(src=str(src), dst=str(dst))


def deletetunnel(op: _Op, word: str) -> None:
    iface = _gre(op, "SIOCDIFPHYADDR")
    if iface is not None:
        iface["tunnel"].update(src=None, dst=None)


def settunnelttl(op: _Op, value: str) -> None:
    """`tunnelttl N|copy`: strtonum 0..255; gre_ioctl() refuses 0 (EINVAL)."""
    ttl = -1
    if value != "copy":
        ttl, error = strtonum(value, 0, 0xFF)
        if error:
            op.errx(f"tunnelttl {value}: {error}")
    iface = _gre(op, "SIOCSLIFPHYTTL")
    if iface is None:
        return
    if ttl == 0:
        op.warn("SIOCSLIFPHYTTL", EINVAL)
        return
    iface["tunnel"]["ttl"] = ttl


def _tunnel_bool(label: str, key: str, value: bool) -> Handler:
    def handler(op: _Op, word: str) -> None:
        iface = _gre(op, label)
        if iface is not None:
            iface["tunnel"][key] = value

    return handler


def settunnelinst(op: _Op, value: str) -> None:
    """`tunneldomain N`: only rdomain 0 exists on the simulated router (EINVAL otherwise)."""
    rdomain, error = strtonum(value, 0, 255)
    if error:
        op.errx(f"rdomain {value}: {error}")
    iface = _gre(op, "SIOCSLIFPHYRTABLE")
    if iface is None:
        return
    if rdomain != 0:
        op.warn("SIOCSLIFPHYRTABLE", EINVAL)
        return
    iface["tunnel"]["rdomain"] = 0


def unsettunnelinst(op: _Op, word: str) -> None:
    iface = _gre(op, "SIOCSLIFPHYRTABLE")
    if iface is not None:
        iface["tunnel"]["rdomain"] = 0


def setvnetid(op: _Op, value: str) -> None:
    """`vnetid N|any`: gre_set_vnetid() takes 0..0xffffffff ("any" is -1: EINVAL)."""
    vnetid = -1
    if value.lower() != "any":
        vnetid, error = strtonum(value, 0, 2**63 - 1)
        if error:
            op.errx(f"vnetid {value}: {error}")
    iface = _gre(op, "SIOCSVNETID")
    if iface is None:
        return
    if not 0 <= vnetid <= 0xFFFFFFFF:
        op.warn("SIOCSVNETID", EINVAL)
        return
    iface["encap"]["vnetid"] = vnetid


def delvnetid(op: _Op, word: str) -> None:
    iface = _gre(op, "SIOCDVNETID")
    if iface is not None:
        iface["encap"]["vnetid"] = None


def _hdrprio(op: _Op, value: str, names: tuple[str, ...], what: str) -> str | int:
    """txprio/rxprio value: a keyword or 0..7 (IF_HDRPRIO_MIN..MAX)."""
    if value in names:
        return value
    prio, error = strtonum(value, 0, 7)
    if error:
        op.errx(f"{what} {value}: {error}")
    return prio


def settxprio(op: _Op, value: str) -> None:
    prio = _hdrprio(op, value, ("packet", "payload"), "tx prio")
    iface = _gre(op, "SIOCSTXHPRIO")
    if iface is not None:
        iface["encap"]["txprio"] = prio


def setrxprio(op: _Op, value: str) -> None:
    prio = _hdrprio(op, value, ("packet", "payload", "outer"), "rx prio")
    iface = _gre(op, "SIOCSRXHPRIO")
    if iface is not None:
        iface["encap"]["rxprio"] = prio


def setkeepalive(op: _Op, timeout: str, count: str) -> None:
    """`keepalive T C`: ifconfig allows 1..3600 and 2..600, gre_ioctl() a count <= 256."""
    t, error = strtonum(timeout, 1, 3600)
    if error:
        op.errx(f"keepalive period {timeout}: {error}")
    c, error = strtonum(count, 2, 600)
    if error:
        op.errx(f"keepalive count {count}: {error}")
    iface = _gre(op, "SIOCSETKALIVE")
    if iface is None:
        return
    if c > 256:
        op.warn("SIOCSETKALIVE", EINVAL)
        return
    iface["keepalive"] = {"timeout": t, "count": c}
    if iface["running"]:
        iface["link_state"] = "keepalive down"  # hold timer fired at once (simplification)


def unsetkeepalive(op: _Op, word: str) -> None:
    """`-keepalive`: sc_ka_state = NONE; gre_ioctl() leaves the link state as it was."""
    iface = _gre(op, "SIOCSETKALIVE")
    if iface is not None:
        iface["keepalive"] = None


COMMANDS: dict[str, tuple[int, Handler]] = {
    "up": (0, setifflags), "down": (0, setifflags),
    "alias": (0, notealias), "-alias": (0, notealias), "delete": (0, notealias),
    "netmask": (1, setifnetmask), "broadcast": (1, setifbroadaddr),
    "prefixlen": (1, setifprefixlen), "eui64": (0, setia6eui64),
    "mtu": (1, setifmtu), "priority": (1, setifpriority), "llprio": (1, setifllprio),
    "description": (1, setifdesc), "descr": (1, setifdesc),
    "-description": (0, unsetifdesc), "-descr": (0, unsetifdesc),
    "group": (1, setifgroup), "-group": (1, unsetifgroup),
    "-inet": (0, removeaf), "-inet6": (0, removeaf),
    "destroy": (0, clone_destroy),
    "tunnel": (2, settunnel), "-tunnel": (0, deletetunnel),
    "tunnelttl": (1, settunnelttl),
    "tunneldf": (0, _tunnel_bool("SIOCSLIFPHYDF", "df", True)),
    "-tunneldf": (0, _tunnel_bool("SIOCSLIFPHYDF", "df", False)),
    "tunnelecn": (0, _tunnel_bool("SIOCSLIFPHYECN", "ecn", True)),
    "-tunnelecn": (0, _tunnel_bool("SIOCSLIFPHYECN", "ecn", False)),
    "tunneldomain": (1, settunnelinst), "-tunneldomain": (0, unsettunnelinst),
    "vnetid": (1, setvnetid), "-vnetid": (0, delvnetid),
    "txprio": (1, settxprio), "rxprio": (1, setrxprio),
    "keepalive": (2, setkeepalive), "-keepalive": (0, unsetkeepalive),
}


# --------------------------------------------------------------------------------------------
# Output


def _group_members(state: dict[str, Any], group: str) -> list[str]:
    """SIOCGIFGMEMB: the members of a group ("all" holds every interface). Members are
    listed in ifindex order (the kernel keeps join order; equal for cloner groups)."""
    index, groups = _field(state, "index"), _field(state, "groups")
    return [n for n in sorted(index, key=index.__getitem__)
            if group == "all" or group in groups[n]]


def _field(state: dict[str, Any], key: str) -> dict[str, Any]:
    """{interface: its key} without decoding every interface of the store (a listing of a
    thousand tunnels held them all until the command ended)."""
    table = interfaces(state)
    numbers = getattr(table, "numbers", None)  # a store's table; else a plain mapping
    if numbers is None:
        return {name: iface[key] for name, iface in table.items()}
    # SQLite's json_extract gives a list as its JSON text; a row this command holds, as is.
    return {name: json.loads(v) if isinstance(v, str) and key == "groups" else v
            for name, v in numbers(key).items()}


def _iface(state: dict[str, Any], name: str) -> dict[str, Any]:
    """The interface name (KeyError when there is none), not held by the command when it
    only prints it."""
    table = interfaces(state)
    peek = getattr(table, "peek", None)
    iface = table[name] if peek is None else peek(name)
    if iface is None:
        raise KeyError(name)
    return iface


def printif(op: _Op, name: str | None, ifaliases: bool, afp: str | None) -> None:
    """printif(): one interface, a group (a name not ending in a digit), or all of them;
    nothing matched -> `<name>: no such interface` on stderr, exit 1."""
    state = op.state
    if name is not None and name and not name[-1].isdigit():
        members = _group_members(state, name)
        if members:
            for member in members:
                op.ctx.out.append("".join(f"{line}\n" for line in format_lines(
                    state, member, True, afp)))
            return
    if name and name[-1].isdigit():  # one interface: look it up, do not load the others
        matched = [name] if name in interfaces(state) else []
    else:
        index = _field(state, "index")
        matched = [n for n in sorted(index, key=index.__getitem__) if _name_matches(name, n)]
    if not matched:
        op.ctx.eprint(f"{name or ''}: no such interface")
        raise Exit(1)
    for member in matched:
        op.ctx.out.append("".join(f"{line}\n" for line in format_lines(
            state, member, ifaliases, afp)))


def _name_matches(wanted: str | None, name: str) -> bool:
    """printif(): exact match for a name ending in a digit, else `<prefix><digit>...`."""
    if wanted is None:
        return True
    if wanted and wanted[-1].isdigit():
        return wanted == name
    return name.startswith(wanted) and name[len(wanted):len(wanted) + 1].isdigit()


def format_lines(state: dict[str, Any], name: str, ifaliases: bool, afp: str | None) -> list[str]:
    """status() then the address lines of printif(); `ifaliases` False (ifconfig, -a) shows
    only the first inet address, as printif()'s noinet logic does."""
    iface = _iface(state, name)
    lines = _status_lines(name, iface)
    first_inet = True
    addrs = [("inet", e) for e in iface["inet"]] + [("inet6", e) for e in iface["inet6"]]
    for family, entry in sorted(addrs, key=lambda fe: fe[1]["seq"]):
        if afp is not None and family != afp:
            continue
        if family == "inet":
            if not ifaliases and not first_inet:
                continue
            first_inet = False
            lines.append(_inet_line(iface, entry))
        else:
            lines.append(_inet6_line(name, iface, entry))
    return lines


def _printb(value: int) -> str:
    names = [n for bit, n in IFFBITS if value & (1 << (bit - 1))]
    return f"flags={value:x}<{','.join(names)}>"


def _status_lines(name: str, iface: dict[str, Any]) -> list[str]:
    """status(): header, lladdr, description, index line, keepalive, encap, groups, media
    and status, tunnel (phys_status)."""
    header = f"{name}: {_printb(iface_flags(iface))}"
    if iface["mtu"]:
        header += f" mtu {iface['mtu']}"
    lines = [header]
    if iface.get("lladdr"):
        lines.append(f"\tlladdr {iface['lladdr']}")
    if iface["description"]:
        lines.append(f"\tdescription: {iface['description']}")
    lines.append(f"\tindex {iface['index']} priority {iface['priority']} llprio {iface['llprio']}")
    ka = iface.get("keepalive")
    if ka:
        lines.append(f"\tkeepalive: timeout {ka['timeout']} count {ka['count']}")
    if iface.get("encap"):
        lines.append(_encap_line(iface["encap"]))
    if iface["groups"]:
        lines.append("\tgroups: " + " ".join(iface["groups"]))
    lines.extend(_link_lines(iface))
    if iface.get("tunnel") is not None:
        lines.append(_tunnel_line(iface["tunnel"]))
    return lines


def _encap_line(encap: dict[str, Any]) -> str:
    vnetid = encap["vnetid"]
    return (f"\tencap: vnetid {'none' if vnetid is None else vnetid}"
            f" txprio {encap['txprio']} rxprio {encap['rxprio']}")


def _link_lines(iface: dict[str, Any]) -> list[str]:
    """Media interfaces print media and status; the others print status only when the link
    state is known (LINK_STATE_DESCRIPTIONS)."""
    state = iface["link_state"]
    if iface.get("media"):
        carrier = "active" if state == "up" else "no carrier"
        return [f"\tmedia: {iface['media']}", f"\tstatus: {carrier}"]
    if state == "unknown":
        return []
    return [f"\tstatus: {'active' if state == 'up' else state}"]


def _tunnel_line(tunnel: dict[str, Any]) -> str:
    """phys_status()/print_tunnel(): `(unset)` until SIOCSLIFPHYADDR, then ttl/df/ecn."""
    if tunnel["src"] is None:
        text = "(unset)"
    else:
        ver = "6" if ":" in tunnel["src"] else ""
        text = f"inet{ver} {tunnel['src']} --> {tunnel['dst']}"
    ttl = tunnel["ttl"]
    if ttl == -1:
        text += " ttl copy"
    elif ttl > 0:
        text += f" ttl {ttl}"
    text += " df" if tunnel["df"] else " nodf"
    text += " ecn" if tunnel["ecn"] else " noecn"
    if tunnel.get("rdomain"):
        text += f" rdomain {tunnel['rdomain']}"
    return f"\ttunnel: {text}"


def _inet_line(iface: dict[str, Any], entry: dict[str, Any]) -> str:
    """in_status(): `inet A[ --> D] netmask 0x%x[ broadcast B]`."""
    line = f"\tinet {entry['address']}"
    flags = iface_flags(iface)
    if flags & IFF_POINTOPOINT:
        line += f" --> {entry['dest'] or ANY4}"
    line += f" netmask 0x{aton_strict(entry['netmask']):x}"
    if flags & IFF_BROADCAST and entry.get("broadcast"):
        line += f" broadcast {entry['broadcast']}"
    return line


def _inet6_line(name: str, iface: dict[str, Any], entry: dict[str, Any]) -> str:
    """in6_alias(): `inet6 A[%if][ --> D] prefixlen N[ flags][ scopeid 0x%x]`; with no
    destination getnameinfo() fails and prints nothing, hence `-->  prefixlen`."""
    scope = entry.get("scope")
    line = f"\tinet6 {entry['address']}" + (f"%{name}" if scope else "")
    if iface_flags(iface) & IFF_POINTOPOINT:
        line += f" --> {entry.get('dest') or ''}"
    line += f" prefixlen {entry['prefixlen']}"
    for flag in entry.get("flags", []):
        line += f" {flag}"
    if scope:
        line += f" scopeid 0x{scope:x}"
    return line
