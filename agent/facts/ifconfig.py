"""Parse OpenBSD `ifconfig` listings (one interface, a group such as `gre`, or `-a`).

Formats follow sbin/ifconfig/ifconfig.c v1.472 (2024) `status()`, `getencap()`, `phys_status()`
/`print_tunnel()`, `in_status()`, `in6_alias()`, `printb()` with IFFBITS from ifconfig.h; older
lines (`physical address ...`, `priority: N`, `->`) follow ifconfig.c v1.232 (2010) and the
version table in /work/shared/docs/openbsd-reference.md §3 and §7.

Every block starts with an unindented `name: flags=...` header; every other line is indented
(TAB in real output, spaces in copied text). Lines that are modelled (addresses, tunnel,
description, groups, keepalive, encap, status, index/priority) must parse or ParseError is
raised naming the line. Other indented lines are kept raw in `Interface.extra`, except in gre
interfaces, whose every line is known (reference §3.1), so an unknown one is an error there.
The parser is pure (no I/O).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.facts.lines import Line as _Line

# printb(): "flags=%x" then the names of the set bits in <...>. Header: status() prints
# "%s: ", printb("flags", flags | (xflags << 16), IFFBITS), " rdomain %d", " metric %lu",
# " mtu %lu" (each only when non-zero).
_HEADER = re.compile(
    r"(?P<name>[A-Za-z][A-Za-z0-9_.-]*): flags=(?P<hex>[0-9a-fA-F]+)<(?P<names>[^<>]*)>"
    r"(?: rdomain (?P<rdomain>\d+))?(?: metric (?P<metric>\d+))?(?: mtu (?P<mtu>\d+))?"
)
_FLAG_NAME = re.compile(r"[A-Z0-9_]+")

# Bit number (0-based) -> names printed for it. ifconfig.h v1.472 IFFBITS:
#   "\024\1UP\2BROADCAST\3DEBUG\4LOOPBACK\5POINTOPOINT\6STATICARP\7RUNNING\10NOARP\11PROMISC"
#   "\12ALLMULTI\13OACTIVE\14SIMPLEX\15LINK0\16LINK1\17LINK2\20MULTICAST"
#   "\23AUTOCONF6TEMP\24MPLS\25WOL\26AUTOCONF6\27INET6_NOSOII\30AUTOCONF4\31MONITOR\32LRO"
# (printb's numbers are 1-based). Older releases named bit 5 NOTRAILERS (the BSD original)
# and bit 18 INET6_NOPRIVACY (before AUTOCONF6TEMP); both are accepted.
_IFF_BITS: dict[int, tuple[str, ...]] = {
    0: ("UP",), 1: ("BROADCAST",), 2: ("DEBUG",), 3: ("LOOPBACK",), 4: ("POINTOPOINT",),
    5: ("STATICARP", "NOTRAILERS"), 6: ("RUNNING",), 7: ("NOARP",), 8: ("PROMISC",),
    9: ("ALLMULTI",), 10: ("OACTIVE",), 11: ("SIMPLEX",), 12: ("LINK0",), 13: ("LINK1",),
    14: ("LINK2",), 15: ("MULTICAST",),
    18: ("AUTOCONF6TEMP", "INET6_NOPRIVACY"), 19: ("MPLS",), 20: ("WOL",), 21: ("AUTOCONF6",),
    22: ("INET6_NOSOII",), 23: ("AUTOCONF4",), 24: ("MONITOR",), 25: ("LRO",),
}
_IFF_BIT_OF = {name: bit for bit, names in _IFF_BITS.items() for name in names}

# Loose address checks: inet_ntoa()/getnameinfo() text, but published captures may carry
# placeholders (letters), so only the shape is checked. IPv6 may carry "%zone".
_IPV4ISH = re.compile(r"[0-9A-Za-z]{1,3}(?:\.[0-9A-Za-z]{1,3}){3}")
_IPV6ISH = re.compile(r"[0-9A-Za-z.]*:[0-9A-Za-z:.]*(?:%[0-9A-Za-z_.-]+)?")
_ADDRESS = re.compile(r"[0-9A-Za-z:.]*[.:][0-9A-Za-z:.]*(?:%[0-9A-Za-z_.-]+)?")

# in_status(): "inet %s", " --> %s" on POINTOPOINT, " netmask 0x%x", " broadcast %s" on
# BROADCAST when non-zero. Old releases printed "->" (reference §7).
_INET = re.compile(
    r"inet (?P<addr>\S+)(?: (?:-->|->) (?P<dst>\S+))? netmask (?P<mask>0x[0-9a-fA-F]{1,8})"
    r"(?: broadcast (?P<bcast>\S+))?"
)
# in6_alias(): address flags in this order (ifconfig.c v1.472); "autoconfprivacy" is the
# IN6_IFF_PRIVACY word of older releases.
_INET6_FLAGS = frozenset(
    ("anycast", "tentative", "duplicated", "detached", "deprecated", "autoconf", "temporary",
     "autoconfprivacy")
)
_INET6_ARROW = re.compile(r" (?:-->|->)(?: (?P<dst>\S*))?")
_INET6_WORDS = frozenset(("prefixlen", "scopeid", "pltime", "vltime")) | _INET6_FLAGS
_KEEPALIVE = re.compile(r"keepalive: timeout (?P<timeout>\d+) count (?P<count>\d+)")
# getencap(): " vnetid none|any|N[+]", " parent none|NAME", " txprio X", " rxprio X".
_ENCAP_KEYS = ("vnetid", "parent", "txprio", "rxprio")
# status() "index %u priority %d llprio %d", any of the first two may be missing.
_INDEX_KEYS = ("index", "priority", "llprio")
# Lines ifconfig's status() may print for any interface that gre interfaces may show but
# this parser does not model (lladdr, media/-m, hwfeatures/-m, patch, mpls), plus the
# one-value-per-line "vnetid:"/"parent:" of releases before getencap(); kept raw in `extra`.
_TOLERATED_ON_GRE = ("lladdr ", "media:", "media ", "supported media:", "patch:", "mpls:",
                     "hwfeatures", "vnetid:", "parent:")


@dataclass(frozen=True)
class Tunnel:
    """The `tunnel:` (or old `physical address`) line: outer endpoints and knobs."""

    family: str | None  # "inet" or "inet6"
    src: str | None
    dst: str | None  # None when only a source is set (`tunneladdr`)
    ttl: int | str | None  # number, "copy", or None when not printed
    df: bool | None  # True for "df", False for "nodf", None when not printed
    ecn: bool | None  # True for "ecn", False for "noecn", None when not printed
    src_port: str | None = None
    dst_port: str | None = None
    rdomain: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return {"family","src","dst","ttl","df","ecn"}."""
        return {"family": self.family, "src": self.src, "dst": self.dst, "ttl": self.ttl,
                "df": self.df, "ecn": self.ecn}


@dataclass(frozen=True)
class Inet:
    """One IPv4 address line; netmask in dotted form."""

    address: str
    dest: str | None  # p2p destination (printed as 0.0.0.0 when unset)
    netmask: str
    broadcast: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return {"address","dest","netmask"}."""
        return {"address": self.address, "dest": self.dest, "netmask": self.netmask}


@dataclass(frozen=True)
class Inet6:
    """One IPv6 address line; address without "%zone", the zone is in `scope`."""

    address: str
    scope: str | None
    dest: str | None
    prefixlen: int | None
    flags: tuple[str, ...]
    scopeid: str | None = None  # as printed, e.g. "0x16"
    pltime: str | None = None
    vltime: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return {"address","scope","dest","prefixlen","flags"} (flags as a list)."""
        return {"address": self.address, "scope": self.scope, "dest": self.dest,
                "prefixlen": self.prefixlen, "flags": list(self.flags)}


@dataclass(frozen=True)
class Keepalive:
    """gre(4) keepalive: timeout seconds and count."""

    timeout: int
    count: int

    def to_json(self) -> dict[str, int]:
        """Return {"timeout","count"}."""
        return {"timeout": self.timeout, "count": self.count}


@dataclass(frozen=True)
class Interface:
    """One interface block of an ifconfig listing."""

    name: str
    flags: tuple[str, ...]
    up: bool
    mtu: int | None
    index: int | None
    priority: int | None
    llprio: int | None
    description: str | None
    groups: tuple[str, ...]
    tunnel: Tunnel | None
    inet: tuple[Inet, ...]
    inet6: tuple[Inet6, ...]
    keepalive: Keepalive | None
    status: str | None
    encap: dict[str, str] | None = field(default=None, hash=False)
    flags_value: int = 0
    rdomain: int | None = None
    metric: int | None = None
    tunnel_unset: bool = False  # "tunnel: (unset)": tunnel-capable, no endpoints (tunnel None)
    extra: tuple[str, ...] = ()  # unmodelled lines, stripped of indentation

    def to_json(self) -> dict[str, Any]:
        """Return the documented keys plus priority, llprio and encap."""
        return {
            "name": self.name,
            "flags": list(self.flags),
            "up": self.up,
            "mtu": self.mtu,
            "index": self.index,
            "description": self.description,
            "groups": list(self.groups),
            "tunnel": None if self.tunnel is None else self.tunnel.to_json(),
            "inet": [a.to_json() for a in self.inet],
            "inet6": [a.to_json() for a in self.inet6],
            "keepalive": None if self.keepalive is None else self.keepalive.to_json(),
            "status": self.status,
            "priority": self.priority,
            "llprio": self.llprio,
            "encap": None if self.encap is None else dict(self.encap),
        }

    @property
    def is_gre(self) -> bool:
        """True for gre(4) interfaces: named greN or member of group gre."""
        return _is_gre(self.name, self.groups)


def _is_gre(name: str, groups: Sequence[str]) -> bool:
    return re.fullmatch(r"gre\d+", name) is not None or "gre" in groups


def gre_interfaces(ifaces: Sequence[Interface]) -> list[Interface]:
    """Return the gre(4) interfaces (name greN or group gre), in listing order."""
    return [i for i in ifaces if i.is_gre]


# --------------------------------------------------------------------------------------------
# Line helpers


class _Words:
    """Sequential reader of the words of one line."""

    def __init__(self, words: list[str], line: _Line) -> None:
        self.words = words
        self.pos = 0
        self.line = line

    def peek(self) -> str | None:
        """Return the next word without consuming it, or None at the end."""
        return self.words[self.pos] if self.pos < len(self.words) else None

    def take(self, what: str) -> str:
        """Consume and return the next word; fail if the line ends."""
        word = self.peek()
        if word is None:
            self.line.fail(f"line ends where {what} was expected")
        self.pos += 1
        return word

    def option(self, keyword: str, check: Callable[[str], bool]) -> str | None:
        """If the next word is `keyword`, consume it and return its checked value."""
        if self.peek() != keyword:
            return None
        self.pos += 1
        value = self.take(f"a value after {keyword!r}")
        if not check(value):
            self.line.fail(f"bad value {value!r} after {keyword!r}")
        return value

    def end(self) -> None:
        """Fail unless every word was consumed."""
        if self.peek() is not None:
            self.line.fail(f"unexpected {self.peek()!r}")


# A thousand gre interfaces print the same flags, groups and encap line: one tuple of words
# per distinct text (a listing's interfaces share it) instead of the same strings per block.
@functools.lru_cache(maxsize=256)
def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


def _is_int(word: str) -> bool:
    return word.isdigit()


def _is_hex(word: str) -> bool:
    return re.fullmatch(r"0x[0-9a-fA-F]+", word) is not None


def _check_address(word: str, pattern: re.Pattern[str], line: _Line) -> str:
    if pattern.fullmatch(word) is None:
        line.fail(f"not an address: {word!r}")
    return word


# --------------------------------------------------------------------------------------------
# Flags


def _parse_flags(hex_text: str, names_text: str, line: _Line) -> tuple[int, tuple[str, ...]]:
    """Decode `flags=HEX<NAMES>` and check names against the hex with the IFFBITS table.

    Ensures: every known name's bit is set; every set bit 0-15 has its name printed; names
    this table does not know are allowed only for set bits >= 16 that no known name explains
    (extended flags differ between releases). Otherwise ParseError.
    """
    value = int(hex_text, 16)
    names = _words(names_text, ",") if names_text else ()
    if len(set(names)) != len(names):
        line.fail("a flag name is repeated")
    explained = 0
    unknown = []
    for name in names:
        if _FLAG_NAME.fullmatch(name) is None:
            line.fail(f"bad flag name {name!r}")
        bit = _IFF_BIT_OF.get(name)
        if bit is None:
            unknown.append(name)
        elif not value >> bit & 1:
            line.fail(f"flag {name} is not set in flags={hex_text}")
        else:
            explained |= 1 << bit
    missing = [_IFF_BITS[b][0] for b in range(16) if value >> b & 1 and not explained >> b & 1]
    if missing:
        line.fail(f"flags={hex_text} has {', '.join(missing)} set but not named")
    if unknown and not value >> 16 & ~(explained >> 16):
        line.fail(f"flag {unknown[0]} has no bit set in flags={hex_text}")
    return value, names


# --------------------------------------------------------------------------------------------
# Per-line parsers (content = line without indentation)


def _parse_inet(content: str, line: _Line) -> Inet:
    """Parse an `in_status` line; ensures the netmask comes back dotted (0xffffffff ->
    255.255.255.255)."""
    m = _INET.fullmatch(content)
    if m is None:
        line.fail("malformed inet line")
    address = _check_address(m["addr"], _IPV4ISH, line)
    dest = None if m["dst"] is None else _check_address(m["dst"], _IPV4ISH, line)
    bcast = None if m["bcast"] is None else _check_address(m["bcast"], _IPV4ISH, line)
    netmask = str(ipaddress.IPv4Address(int(m["mask"], 16)))
    return Inet(address, dest, netmask, bcast)


def _split_zone(word: str) -> tuple[str, str | None]:
    address, sep, zone = word.partition("%")
    return address, (zone if sep else None)


def _parse_inet6(content: str, line: _Line) -> Inet6:
    """Parse an `in6_alias` line: address[%zone], optional `--> [dst]` (an empty destination
    leaves two spaces), prefixlen, flags, scopeid, pltime/vltime, in that order."""
    first, _, rest = content.partition(" ")
    if first != "inet6" or not rest:
        line.fail("malformed inet6 line")
    word, _, rest = rest.partition(" ")
    address, scope = _split_zone(_check_address(word, _IPV6ISH, line))
    rest = " " + rest if rest else ""
    dest = None
    if (m := _INET6_ARROW.match(rest)) is not None:
        dest, rest = m["dst"] or None, rest[m.end() :]
        if dest in _INET6_WORDS:  # copied text that lost one of the two spaces
            rest, dest = f" {dest}{rest}", None
        if dest is not None:
            _check_address(dest, _IPV6ISH, line)
    w = _Words(rest.split(), line)
    prefixlen = w.option("prefixlen", _is_int)
    flags = []
    while w.peek() in _INET6_FLAGS:
        flags.append(w.take("a flag"))
    scopeid = w.option("scopeid", _is_hex)
    pltime = w.option("pltime", lambda v: True)
    vltime = w.option("vltime", lambda v: True)
    w.end()
    return Inet6(address, scope, dest, None if prefixlen is None else int(prefixlen),
                 tuple(flags), scopeid, pltime, vltime)


def _split_port(word: str, family: str) -> tuple[str, str | None]:
    """print_tunnel appends ":port" (NI_NUMERICSERV) to an address when the port is not 0.
    Only IPv4 can be split unambiguously; IPv6 text is kept whole."""
    if family == "inet" and word.count(":") == 1:
        address, port = word.split(":")
        return address, port
    return word, None


def _parse_tunnel(content: str, line: _Line) -> Tunnel | None:
    """Parse `tunnel: ...` (phys_status/print_tunnel) or old `physical address ...`.

    Ensures: `(unset)` gives None; otherwise family, src, optional `-->`/`->` dst, then
    optional `ttl N|copy`, `df|nodf`, `ecn|noecn`, `rdomain N` in that order.
    """
    body = content.removeprefix("tunnel: ").removeprefix("physical address ")
    w = _Words(body.split(), line)
    if w.peek() == "(unset)":
        w.take("(unset)")
        family = src = dst = src_port = dst_port = None
    else:
        family = w.take("the address family")
        if family not in ("inet", "inet6"):
            line.fail(f"unknown tunnel address family {family!r}")
        src, src_port = _split_port(_check_address(w.take("the source"), _ADDRESS, line), family)
        dst = dst_port = None
        if w.peek() in ("-->", "->"):
            w.take("arrow")
            dst, dst_port = _split_port(_check_address(w.take("the destination"), _ADDRESS, line),
                                        family)
    ttl_word = w.option("ttl", lambda v: v == "copy" or v.isdigit())
    ttl: int | str | None = int(ttl_word) if ttl_word and ttl_word.isdigit() else ttl_word
    df = _on_off(w, "df", "nodf")
    ecn = _on_off(w, "ecn", "noecn")
    rdomain = w.option("rdomain", _is_int)
    w.end()
    if family is None:
        return None
    return Tunnel(family, src, dst, ttl, df, ecn, src_port, dst_port,
                  None if rdomain is None else int(rdomain))


def _on_off(w: _Words, on: str, off: str) -> bool | None:
    word = w.peek()
    if word not in (on, off):
        return None
    w.take(word)
    return word == on


def _parse_encap(content: str, line: _Line) -> dict[str, str]:
    """Parse `encap:` (getencap) into {"vnetid": ..., "parent": ..., "txprio": ..., "rxprio"}."""
    words = _words(content)[1:]
    if not words or len(words) % 2:
        line.fail("malformed encap line")
    encap: dict[str, str] = {}
    for key, value in zip(words[::2], words[1::2], strict=True):
        if key not in _ENCAP_KEYS or key in encap:
            line.fail(f"unexpected encap word {key!r}")
        encap[key] = value
    return encap


def _parse_index(content: str) -> dict[str, int] | None:
    """Parse `index N priority N llprio N` (each part optional, in that order), or return None
    when the line is something else (e.g. bridge(4)'s `priority 32768 hellotime 2 ...`)."""
    words = content.split()
    if not words or len(words) % 2:
        return None
    result: dict[str, int] = {}
    order = list(_INDEX_KEYS)
    for key, value in zip(words[::2], words[1::2], strict=True):
        if key not in order or not value.isdigit():
            return None
        order = order[order.index(key) + 1 :]
        result[key] = int(value)
    return result


# --------------------------------------------------------------------------------------------
# Blocks


@dataclass
class _Block:
    """Mutable collector for one interface block; `finish` freezes it."""

    header: _Line
    name: str
    flags_value: int
    flags: tuple[str, ...]
    mtu: int | None
    rdomain: int | None
    metric: int | None
    values: dict[str, Any] = field(default_factory=dict)
    inet: list[Inet] = field(default_factory=list)
    inet6: list[Inet6] = field(default_factory=list)
    extra: list[_Line] = field(default_factory=list)

    @classmethod
    def start(cls, line: _Line) -> _Block:
        """Begin a block at an unindented header line; anything else is a ParseError."""
        m = _HEADER.fullmatch(line.text)
        if m is None:
            line.fail("expected an interface header 'name: flags=...'")
        value, names = _parse_flags(m["hex"], m["names"], line)

        def num(key: str) -> int | None:
            return None if m[key] is None else int(m[key])

        return cls(line, m["name"], value, names, num("mtu"), num("rdomain"), num("metric"))

    def set_once(self, key: str, value: Any, line: _Line) -> None:
        """Store a single-valued fact; a second line of the same kind is an error."""
        if key in self.values:
            line.fail(f"second {key} line for {self.name}")
        self.values[key] = value

    def add(self, line: _Line) -> None:
        """Parse one indented line of this block."""
        content = line.text.strip()
        word = content.split(" ", 1)[0]
        handler = _HANDLERS.get(word)
        if handler is None or not handler(self, content, line):
            if _is_gre(self.name, ()):  # report at once; group members are checked at the end
                _check_tolerated_on_gre(self.name, line)
            self.extra.append(line)

    def finish(self) -> Interface:
        """Freeze the block; in gre interfaces an unknown line is a ParseError."""
        v = self.values
        groups = v.get("groups", ())
        if _is_gre(self.name, groups):
            for line in self.extra:
                _check_tolerated_on_gre(self.name, line)
        index = v.get("index", {})
        return Interface(
            name=self.name, flags=self.flags, up="UP" in self.flags, mtu=self.mtu,
            index=index.get("index"), priority=v.get("priority", index.get("priority")),
            llprio=index.get("llprio"), description=v.get("description"), groups=groups,
            tunnel=v.get("tunnel"), inet=tuple(self.inet), inet6=tuple(self.inet6),
            keepalive=v.get("keepalive"), status=v.get("status"), encap=v.get("encap"),
            flags_value=self.flags_value, rdomain=self.rdomain, metric=self.metric,
            tunnel_unset="tunnel" in v and v["tunnel"] is None,
            extra=tuple(line.text.strip() for line in self.extra),
        )


def _check_tolerated_on_gre(name: str, line: _Line) -> None:
    """Fail unless an unmodelled line of a gre interface is one ifconfig may print for it."""
    if not line.text.strip().startswith(_TOLERATED_ON_GRE):
        line.fail(f"unknown line in gre interface {name}")


def _on_description(block: _Block, content: str, line: _Line) -> bool:
    # status(): "\tdescription: %s" with the text as set (spaces and colons included).
    if not (content.startswith("description: ") or content == "description:"):
        line.fail("malformed description line")
    block.set_once("description", content[len("description: ") :], line)
    return True


def _on_index(block: _Block, content: str, line: _Line) -> bool:
    parsed = _parse_index(content)
    if parsed is None:
        return False
    block.set_once("index", parsed, line)
    return True


def _on_old_priority(block: _Block, content: str, line: _Line) -> bool:
    # ifconfig.c v1.232: "\tpriority: %d" on its own line.
    m = re.fullmatch(r"priority: (\d+)", content)
    if m is None:
        line.fail("malformed priority line")
    block.set_once("priority", int(m[1]), line)
    return True


def _on_keepalive(block: _Block, content: str, line: _Line) -> bool:
    m = _KEEPALIVE.fullmatch(content)
    if m is None:
        line.fail("malformed keepalive line")
    block.set_once("keepalive", Keepalive(int(m["timeout"]), int(m["count"])), line)
    return True


def _on_encap(block: _Block, content: str, line: _Line) -> bool:
    block.set_once("encap", _parse_encap(content, line), line)
    return True


def _on_groups(block: _Block, content: str, line: _Line) -> bool:
    # getifgroups(): "\tgroups:" then " %s" per group (the implicit "all" is not shown).
    block.set_once("groups", _words(content)[1:], line)
    return True


def _on_status(block: _Block, content: str, line: _Line) -> bool:
    if not content.startswith("status: ") or not content[len("status: ") :].strip():
        line.fail("malformed status line")
    block.set_once("status", content[len("status: ") :], line)
    return True


def _on_tunnel(block: _Block, content: str, line: _Line) -> bool:
    if content.startswith("physical ") and not content.startswith("physical address "):
        return False
    if not content.startswith(("tunnel: ", "physical address ")):
        line.fail("malformed tunnel line")
    block.set_once("tunnel", _parse_tunnel(content, line), line)
    return True


def _on_inet(block: _Block, content: str, line: _Line) -> bool:
    block.inet.append(_parse_inet(content, line))
    return True


def _on_inet6(block: _Block, content: str, line: _Line) -> bool:
    block.inet6.append(_parse_inet6(content, line))
    return True


_Handler = Callable[[_Block, str, _Line], bool]
_HANDLERS: dict[str, _Handler] = {
    "description:": _on_description,
    "index": _on_index,
    "priority": _on_index,
    "llprio": _on_index,
    "priority:": _on_old_priority,
    "keepalive:": _on_keepalive,
    "encap:": _on_encap,
    "groups:": _on_groups,
    "status:": _on_status,
    "tunnel:": _on_tunnel,
    "physical": _on_tunnel,
    "inet": _on_inet,
    "inet6": _on_inet6,
}


def _lines(text: str, source: str) -> Iterator[_Line]:
    """Yield non-blank lines (trailing blanks and CR removed) with 1-based numbers."""
    for number, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.rstrip()
        if stripped:
            yield _Line(source, number, stripped)


def parse_ifconfig(text: str, source: str = "ifconfig") -> list[Interface]:
    """Parse an ifconfig listing into one Interface per `name: flags=...` block.

    Ensures: blocks in listing order; indentation by TAB or spaces; an unindented line that
    is not a header, an indented line before the first header, a malformed modelled line, or
    an unknown line inside a gre interface raises ParseError naming the line.
    """
    blocks: list[_Block] = []
    for line in _lines(text, source):
        if line.text[0] not in " \t":
            blocks.append(_Block.start(line))
        elif not blocks:
            line.fail("indented line before any interface header")
        else:
            blocks[-1].add(line)
    return [block.finish() for block in blocks]
