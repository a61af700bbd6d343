"""The interfaces of the simulated router, as the kernel keeps them: gre(4) tunnels and the
few physical/pseudo interfaces a fresh install has (lo0, em0, enc0, pflog0).

Sources (openbsd/src): sys/net/if_gre.c v1.190 (2025) gre_clone_create() (flags
POINTOPOINT|MULTICAST, mtu GREMTU 1476, ttl ip_defttl 64, txprio payload, rxprio packet, nodf,
ecn, llprio 6), gre_ioctl() (SIOCSIFADDR sets IFF_UP; SIOCSIFFLAGS up/down), gre_link_state();
sys/netinet/in.c in_ifinit() (broadcast, RFC 3021); sys/netinet6/in6_ifattach.c
in6_ifattach()/in6_get_ifid() (the link-local and its EUI-64); sys/net/if.h IFF_* bits.
agent.sim.ifconfig is the command that changes and prints them.

State schema: state["interfaces"][name] is a dict
    index: int              if_index (scopeid of link-local addresses)
    type: str               "gre" | "ether" | "loop" | "enc" | "pflog"
    cloned: bool            created by `ifconfig X create` (may be destroyed)
    up: bool                IFF_UP
    running: bool           IFF_RUNNING (the driver sets it when up)
    mtu: int, priority: int, llprio: int
    description: str        "" when none
    groups: [str]           interface groups except the implicit "all", in join order
    lladdr: str | None      ether address (ether interfaces only)
    media: str | None       media word printed by status() (ether only)
    link_state: str         "unknown" | "up" | "down" | "keepalive down"
    tunnel: None | {src, dst, ttl, df, ecn, rdomain}   None: no tunnel support (not gre);
                            src/dst None until `tunnel` is given (printed "(unset)")
    encap: None | {vnetid, txprio, rxprio}             gre only; vnetid None = "none"
    keepalive: None | {timeout, count}
    inet6_enabled: bool     AF_INET6 attached (SIOCIFAFATTACH): the link-local exists
    inet:  [{address, dest, netmask, broadcast, seq}]  dotted quads; dest/broadcast or None
    inet6: [{address, prefixlen, dest, flags, scope, seq}]  address without %zone; scope is
                            the ifindex for link-local addresses, else None; flags e.g.
                            ["anycast"] (none are set by this simulator)
    seq: int                last address sequence number: addresses print in `seq` order,
                            which is the kernel's if_addrlist order (ifa_add appends)
The index counter is state["next_ifindex"] (agent/sim/state.py).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from agent.sim import state as simstate

IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8
IFF_POINTOPOINT = 0x10
IFF_RUNNING = 0x40
IFF_PROMISC = 0x100
IFF_SIMPLEX = 0x800
IFF_MULTICAST = 0x8000

# Per driver: flags fixed at attach, default mtu and llprio. gre from gre_clone_create();
# ether/loop/enc/pflog from the usual 7.x output of em(4), lo(4), enc(4), pflog(4)
# (`flags=8843<...> mtu 1500`, `flags=8049<...> mtu 32768`, `flags=0<>`,
# `flags=141<...> mtu 33136`, llprio 3 = IFQ_DEFPRIO). Newer releases may add LRO on lo0
# (unverified), which this simulator does not show.
DRIVERS: dict[str, dict[str, int]] = {
    "gre": {"flags": IFF_POINTOPOINT | IFF_MULTICAST, "mtu": 1476, "llprio": 6},
    "ether": {"flags": IFF_BROADCAST | IFF_SIMPLEX | IFF_MULTICAST, "mtu": 1500, "llprio": 3},
    "loop": {"flags": IFF_LOOPBACK | IFF_MULTICAST, "mtu": 32768, "llprio": 3},
    "enc": {"flags": 0, "mtu": 0, "llprio": 3},
    "pflog": {"flags": IFF_PROMISC, "mtu": 33136, "llprio": 3},
}

# Fixed indexes of the interfaces a fresh install attaches first (the rest count up from
# state["next_ifindex"]); matches the comment in agent/sim/state.py new_state().
PHYSICAL_INDEX = {"em0": 1, "enc0": 2, "lo0": 3, "pflog0": 4}
PHYSICAL_TYPES = {"em": "ether", "lo": "loop", "enc": "enc", "pflog": "pflog"}


def interfaces(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return state["interfaces"], creating the key on an old state document."""
    return state.setdefault("interfaces", {})


def new_iface(itype: str, index: int, cloned: bool) -> dict[str, Any]:
    """Return a freshly attached interface of driver `itype` with the driver's defaults."""
    drv = DRIVERS[itype]
    is_gre = itype == "gre"
    return {
        "index": index, "type": itype, "cloned": cloned, "up": False, "running": False,
        "mtu": drv["mtu"], "priority": 0, "llprio": drv["llprio"], "description": "",
        "groups": [], "lladdr": None, "media": None, "link_state": "unknown",
        # gre_clone_create(): t_ttl = ip_defttl (64), t_df = 0, t_ecn = ECN_ALLOWED.
        "tunnel": ({"src": None, "dst": None, "ttl": 64, "df": False, "ecn": True, "rdomain": 0}
                   if is_gre else None),
        "encap": {"vnetid": None, "txprio": "payload", "rxprio": "packet"} if is_gre else None,
        "keepalive": None, "inet6_enabled": False, "inet": [], "inet6": [], "seq": 0,
    }


def alloc_index(state: dict[str, Any], name: str) -> int:
    """Return the ifindex for a new interface: the fixed one of a boot interface if free,
    else the next counter value (if_idxmap allocation counts up).

    Every index comes from here and the counter starts above the fixed ones and only grows,
    so a counter value is never in use: only a fixed index is looked up (one look over the
    interfaces, at provisioning), which keeps creating an interface independent of how many
    exist."""
    fixed = PHYSICAL_INDEX.get(name)
    if fixed is not None:
        used = set(simstate.numbers(interfaces(state), "index").values())
        if fixed not in used:
            return fixed
    index = max(int(state.get("next_ifindex", 5)), max(PHYSICAL_INDEX.values()) + 1)
    state["next_ifindex"] = index + 1
    return index


def next_seq(iface: dict[str, Any]) -> int:
    iface["seq"] = int(iface.get("seq", 0)) + 1
    return iface["seq"]


def iface_flags(iface: dict[str, Any]) -> int:
    """Return if_flags as SIOCGIFFLAGS reports them (driver bits plus UP/RUNNING)."""
    flags = DRIVERS[iface["type"]]["flags"]
    if iface["up"]:
        flags |= IFF_UP
    if iface["running"]:
        flags |= IFF_RUNNING
    return flags


def add_physical(
    state: dict[str, Any],
    name: str,
    *,
    inet: list[tuple[str, int]] | None = None,
    inet6: list[tuple[str, int]] | None = None,
    mac: str | None = None,
    groups: list[str] | None = None,
) -> None:
    """Attach a boot-time interface (em0, lo0, enc0, pflog0) as a booted 7.x box shows it.

    em0 gets `mac`, the given addresses (broadcast computed as in_ifinit() does) and, when
    inet6 is given, its own EUI-64 link-local first. lo0 gets ::1, fe80::1 and 127.0.0.1/8
    in the order netstart/in6_ifattach leave them. enc0 is down with link state up
    ("status: active"); pflog0 is up. A name already present is left alone.
    """
    ifs = interfaces(state)
    if name in ifs:
        return
    prefix = re.sub(r"\d+$", "", name)
    itype = PHYSICAL_TYPES.get(prefix)
    if itype is None:
        raise ValueError(f"add_physical: unknown boot interface type for {name!r}")
    iface = new_iface(itype, alloc_index(state, name), cloned=False)
    ifs[name] = iface
    if itype != "ether":
        iface["groups"].append(prefix)  # if_clone_create() joins the cloner's group
    iface["groups"].extend(groups or [])
    _setup_physical(state, name, iface, mac)
    for addr, plen in inet or []:
        add_inet(iface, addr, plen_to_mask(plen), None)
    if inet6:
        inet6_attach(state, name)
        for addr, plen in inet6:
            add_inet6(iface, addr, plen, None, None)


def _setup_physical(
    state: dict[str, Any], name: str, iface: dict[str, Any], mac: str | None
) -> None:
    """Set the up/running/link/media state each boot interface type has after /etc/netstart."""
    itype = iface["type"]
    if itype == "ether":
        iface.update(up=True, running=True, link_state="up",
                     lladdr=(mac or "00:00:00:00:00:00").lower(),
                     media="Ethernet autoselect (1000baseT full-duplex)")
    elif itype == "loop":
        iface.update(up=True, running=True)
        iface["inet6_enabled"] = True
        add_inet6(iface, "::1", 128, None, None)
        add_inet6(iface, "fe80::1", 64, None, iface["index"])
        add_inet(iface, "127.0.0.1", 0xFF000000, None)
    elif itype == "enc":
        iface["link_state"] = "up"
    elif itype == "pflog":
        iface.update(up=True, running=True)


def add_inet(iface: dict[str, Any], addr: str, mask: int, dst: str | None) -> dict[str, Any]:
    """Append an IPv4 address; broadcast as in_ifinit() computes it on BROADCAST interfaces."""
    entry = {"address": addr, "dest": dst, "netmask": ntoa(mask), "broadcast": None, "seq": 0}
    set_broadcast(iface, entry)
    entry["seq"] = next_seq(iface)
    iface["inet"].append(entry)
    return entry


def set_broadcast(iface: dict[str, Any], entry: dict[str, Any]) -> None:
    """in_ifinit(): broadcast = net | ~mask, or 0 for an RFC 3021 /31 (not printed then)."""
    if not DRIVERS[iface["type"]]["flags"] & IFF_BROADCAST:
        entry["broadcast"] = None
        return
    mask = aton_strict(entry["netmask"])
    addr = aton_strict(entry["address"])
    entry["broadcast"] = None if mask == 0xFFFFFFFE else ntoa((addr & mask) | (~mask & 0xFFFFFFFF))


def add_inet6(
    iface: dict[str, Any], addr: str, plen: int, dst: str | None, scope: int | None
) -> dict[str, Any]:
    entry = {"address": str(ipaddress.IPv6Address(addr)), "prefixlen": plen, "dest": dst,
             "flags": [], "scope": scope, "seq": next_seq(iface)}
    iface["inet6"].append(entry)
    return entry


def inet6_attach(state: dict[str, Any], name: str) -> None:
    """in6_ifattach(): give the interface its link-local fe80::IID/64 once."""
    iface = interfaces(state)[name]
    if iface["inet6_enabled"]:
        return
    iface["inet6_enabled"] = True
    if iface["type"] == "loop":
        add_inet6(iface, "::1", 128, None, None)
        add_inet6(iface, "fe80::1", 64, None, iface["index"])
        return
    iid = interface_id(state, name)
    add_inet6(iface, str(ipaddress.IPv6Address((0xFE80 << 112) | iid)), 64, None, iface["index"])
    # in6_ifinit() calls the driver's SIOCSIFADDR for the first inet6 address; gre_ioctl()
    # sets IFF_UP there (so `inet6 eui64` alone brings a gre up, as sample B1 shows: its
    # hostname.gre0 had no `up` line). Inferred from the code, not seen on a box.
    ifaddr_up(iface)


def interface_id(state: dict[str, Any], name: str) -> int:
    """in6_get_ifid() (netinet6/in6_ifattach.c, KAME): the EUI-64 of the interface's own
    MAC, else borrowed from the first hardware interface with a universal MAC (sample B1:
    gre0 got fe80::221:28ff:fef9:c1d8 from MAC 00:21:28:f9:c1:d8). The kernel's last
    resort is a random IID; the simulator derives a fixed one from the name instead."""
    ifs = interfaces(state)
    own = ifs[name].get("lladdr")
    if own:
        return _eui64(own)
    for other in sorted(ifs.values(), key=lambda i: i["index"]):
        mac = other.get("lladdr")
        if mac and not int(mac.split(":")[0], 16) & 0x02:
            return _eui64(mac)
    return (sum(name.encode()) * 0x9E3779B1) & 0xFFFFFFFFFFFFFF | 0x0200000000000000


def _eui64(mac: str) -> int:
    """Modified EUI-64 from a MAC: insert ff:fe and flip the universal/local bit."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    value = 0
    for b in [*octets[:3], 0xFF, 0xFE, *octets[3:]]:
        value = (value << 8) | b
    return value


def ifaddr_up(iface: dict[str, Any]) -> None:
    """Driver SIOCSIFADDR: gre_ioctl() (and em/lo) set IFF_UP and start the interface."""
    iface["up"] = True
    driver_flags_changed(iface)


def driver_flags_changed(iface: dict[str, Any]) -> None:
    """gre_ioctl() SIOCSIFFLAGS: UP without RUNNING -> gre_up(); !UP with RUNNING -> gre_down()."""
    if iface["type"] == "enc":
        return
    iface["running"] = iface["up"]
    if iface["type"] != "gre":
        return
    if not iface["running"]:
        # gre_down() -> gre_link_state(): not RUNNING is LINK_STATE_UNKNOWN.
        iface["link_state"] = "unknown"
    elif iface["keepalive"]:
        # Simplification: the hold timer (timeout*count s) fires at once; no peer answers.
        iface["link_state"] = "keepalive down"


# --------------------------------------------------------------------------------------------
# Address text helpers (libc semantics)


def ntoa(value: int) -> str:
    return str(ipaddress.IPv4Address(value & 0xFFFFFFFF))


def aton_strict(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def plen_to_mask(plen: int) -> int:
    return 0 if plen == 0 else (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
