"""ipsec.conf(5) as OpenBSD's ipsecctl reads it: parse.y's lexer and its `ike` rule grammar.

Sources (openbsd/src, read for this module):
- sbin/ipsecctl/parse.y v1.184 (2025): `lgetc`, `lungetc`, `findeol`, `yylex`, the grammar
  (`ikerule`, `hosts`, `peers`, `transforms`, `lifetime`, `ids`, `ikeauth`, `tag`, `varset`,
  `include`), `yyerror`, `yywarn`, `host`, `host_v4`, `host_v6`, `parse_xf`, `parse_life`,
  `get_id_type`, `validate_af`, `expand_any`, `set_rule_peers`, `expand_rule`, `create_ike`,
  `check_file_secrecy`, `pushfile`, `symset`, `cmdline_symset`, `parse_rules`.
- sbin/ipsecctl/ipsecctl.h v1.70: enum orders (ID types, directions).
- etc/protocols (OpenBSD copy v1.13) for getprotobyname/getprotobynumber.
What ipsecctl does with a parsed rule (print it with -v, send it to isakmpd) is ike.c's, in
agent.sim.ike_conf; the parser calls back into it as parse.y calls `ipsecctl_add_rule`.

The yacc parser (byacc) is emulated by recursive descent that reads its lookahead token at the
same points byacc does, so `yylval.lineno` (the line in `FILE: LINE: message`) is the same:
byacc reduces a rule without reading a lookahead only in states with a single reduction and no
shift (byacc mkpar.c `sole_reduction`). Error recovery follows the `grammar error '\\n'` rule:
tokens up to the end of the line are discarded, and byacc prints no new "syntax error" until
three tokens have been shifted after an error (`yyerrflag`). tests/sim/oracle runs it against
OpenBSD's own parse.y built on Linux.

Only `ike` rules are simulated. `flow`, `sa`, `tcpmd5` rules, `ike ... interface secN`,
flow NAT `addr (addr)`, and host names that would need DNS or an interface lookup raise
NotSimulated (the caller prints a "not simulated" message and exits 1) instead of pretending.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.errors import PeeropsError
from agent.sim.libc import Exit, Stderr, err, errx, inet_net_pton4, strtol

PROG = "ipsecctl"

# -- exceptions -------------------------------------------------------------------------------


class NotSimulated(PeeropsError):
    """The input uses a construct real ipsecctl accepts but the simulator does not model."""


# -- transform tables (parse.y `authxfs`, `encxfs`, `compxfs`, `groupxfs`) --------------------


@dataclass(frozen=True)
class Xf:
    """One row of a parse.y transform table; `ident` is isakmpd's group name for groups."""

    name: str
    keymin: int = 0
    keymax: int = 0
    noauth: bool = False
    nostatic: bool = False
    ident: str | None = None


AUTHXFS: tuple[Xf, ...] = (
    Xf("unknown"),
    Xf("none"),
    Xf("hmac-md5", 16),
    Xf("hmac-ripemd160", 20),
    Xf("hmac-sha1", 20),
    Xf("hmac-sha2-256", 32),
    Xf("hmac-sha2-384", 48),
    Xf("hmac-sha2-512", 64),
)
ENCXFS: tuple[Xf, ...] = (
    Xf("unknown"),
    Xf("none"),
    Xf("3des-cbc", 24, 24),
    Xf("aes", 16, 32),
    Xf("aes-128", 16, 16),
    Xf("aes-192", 24, 24),
    Xf("aes-256", 32, 32),
    Xf("aesctr", 20, 36, False, True),
    Xf("aes-128-ctr", 20, 20, False, True),
    Xf("aes-192-ctr", 28, 28, False, True),
    Xf("aes-256-ctr", 36, 36, False, True),
    Xf("aes-128-gcm", 20, 20, True, True),
    Xf("aes-192-gcm", 28, 28, True, True),
    Xf("aes-256-gcm", 36, 36, True, True),
    Xf("aes-128-gmac", 20, 20, True, True),
    Xf("aes-192-gmac", 28, 28, True, True),
    Xf("aes-256-gmac", 36, 36, True, True),
    Xf("blowfish", 5, 56),
    Xf("cast128", 5, 16),
    Xf("chacha20-poly1305", 36, 36, True, True),
    Xf("null"),
)
COMPXFS: tuple[Xf, ...] = (Xf("unknown"), Xf("deflate"))
_GROUPS = (
    ("modp768", "grp1", "MODP_768"),
    ("modp1024", "grp2", "MODP_1024"),
    ("modp1536", "grp5", "MODP_1536"),
    ("modp2048", "grp14", "MODP_2048"),
    ("modp3072", "grp15", "MODP_3072"),
    ("modp4096", "grp16", "MODP_4096"),
    ("modp6144", "grp17", "MODP_6144"),
    ("modp8192", "grp18", "MODP_8192"),
    ("ecp256", "grp19", "ECP_256"),
    ("ecp384", "grp20", "ECP_384"),
    ("ecp521", "grp21", "ECP_521"),
    ("ecp224", "grp26", "ECP_224"),
    ("bp224", "grp27", "BP_224"),
    ("bp256", "grp28", "BP_256"),
    ("bp384", "grp29", "BP_384"),
    ("bp512", "grp30", "BP_512"),
)
# "none" has ident "" (no PFS in phase 2, refused in phase 1); "unknown" has no ident at all.
GROUPXFS: tuple[Xf, ...] = (
    Xf("unknown"),
    Xf("none", ident=""),
    *(
        Xf(name, ident=ident)
        for pair in _GROUPS
        for name, ident in ((pair[0], pair[2]), (pair[1], pair[2]))
    ),
)


def parse_xf(name: str, table: tuple[Xf, ...]) -> Xf | None:
    """Return the first table row whose name starts with `name` (parse.y `parse_xf`).

    The C code is `strncmp(name, xfs[i].name, strlen(name))`, so `name` is a prefix match in
    table order: "3des" -> 3des-cbc, "aes" -> aes, "hmac-sha2" -> hmac-sha2-256, "" -> unknown.
    """
    for xf in table:
        if xf.name.startswith(name):
            return xf
    return None


# -- protocol and service names ------------------------------------------------------------
# etc/protocols (OpenBSD v1.13): official name, number, aliases. Later releases add entries
# (e.g. carp, pfsync, sctp) that this table does not have; those names fail here.
_PROTOCOLS_TEXT = """\
ip 0 IP|icmp 1 ICMP|igmp 2 IGMP|ggp 3 GGP|ipencap 4 IP-ENCAP|st 5 ST|tcp 6 TCP|ucl 7 UCL|\
egp 8 EGP|igp 9 IGP|bbn-rcc-mon 10 BBN-RCC-MON|nvp-ii 11 NVP-II|pup 12 PUP|argus 13 ARGUS|\
emcon 14 EMCON|xnet 15 XNET|chaos 16 CHAOS|udp 17 UDP|mux 18 MUX|dcn-meas 19 DCN-MEAS|\
hmp 20 HMP|prm 21 PRM|xns-idp 22 XNS-IDP|trunk-1 23 TRUNK-1|trunk-2 24 TRUNK-2|\
leaf-1 25 LEAF-1|leaf-2 26 LEAF-2|rdp 27 RDP|irtp 28 IRTP|iso-tp4 29 ISO-TP4|\
netblt 30 NETBLT|mfe-nsp 31 MFE-NSP|merit-inp 32 MERIT-INP|sep 33 SEP|3pc 34 3PC|\
idpr 35 IDPR|xtp 36 XTP|ddp 37 DDP|idpr-cmtp 38 IDPR-CMTP|il 40 IL|ipv6 41 IPv6|\
sdrp 42 SDRP|sip-sr 43 SIP-SR|sip-frag 44 SIP-FRAG|idrp 45 IDRP|rsvp 46 RSVP|gre 47 GRE|\
mhrp 48 MHRP|bna 49 BNA|esp 50 IPSEC-ESP|ah 51 IPSEC-AH|i-nlsp 52 I-NLSP|swipe 53 SWIPE|\
nhrp 54 NHRP|mobileip 55 MOBILEIP|skip 57 SKIP|ipv6-icmp 58 IPv6-ICMP|\
ipv6-nonxt 59 IPv6-NoNxt|ipv6-opts 60 IPv6-Opts|any 61 any|cftp 62 CFTP|\
sat-expak 64 SAT-EXPAK|kryptolan 65 KRYPTOLAN|rvd 66 RVD|ippc 67 IPPC|sat-mon 69 SAT-MON|\
visa 70 VISA|ipcv 71 IPCV|cpnx 72 CPNX|cphb 73 CPHB|wsn 74 WSN|pvp 75 PVP|\
br-sat-mon 76 BR-SAT-MON|sun-nd 77 SUN-ND|wb-mon 78 WB-MON|wb-expak 79 WB-EXPAK|\
iso-ip 80 ISO-IP|vmtp 81 VMTP|secure-vmtp 82 SECURE-VMTP|vines 83 VINES|ttp 84 TTP|\
nsfnet-igp 85 NSFNET-IGP|dgp 86 DGP|tcf 87 TCF|igrp 88 IGRP|ospf 89 OSPFIGP|\
sprite-rpc 90 Sprite-RPC|larp 91 LARP|mtp 92 MTP|ax.25 93 AX.25|ipip 94 IPIP|micp 95 MICP|\
scc-sp 96 SCC-SP|etherip 97 ETHERIP|encap 98 ENCAP|gmtp 100 GMTP|pim 103 PIM|\
ipcomp 108 IPComp|vrrp 112 VRRP|reserved 255 Reserved"""


def _protocol_tables() -> tuple[dict[str, int], dict[int, str]]:
    """Build name/alias -> number (first entry wins) and number -> official name."""
    by_name: dict[str, int] = {}
    by_number: dict[int, str] = {}
    for entry in _PROTOCOLS_TEXT.split("|"):
        name, number, *aliases = entry.split()
        for key in (name, *aliases):
            by_name.setdefault(key, int(number))
        by_number.setdefault(int(number), name)
    return by_name, by_number


PROTO_BY_NAME, PROTO_BY_NUMBER = _protocol_tables()

# getservbyname/getservbyport: only a few services are modelled. From etc/services v1.13:
# ssh, telnet, smtp, domain, ntp, bgp, https (tcp). `l2tp` 1701/udp is confirmed by the
# OpenBSD FAQ output (openbsd-captures.md A2). isakmp 500/udp, ipsec-nat-t 4500/udp and
# http 80/tcp are the names of current etc/services (unverified here: the copy read was older
# and still called port 80 "www").
SERVICES: dict[tuple[str, str], int] = {
    ("ssh", "tcp"): 22,
    ("ssh", "udp"): 22,
    ("telnet", "tcp"): 23,
    ("smtp", "tcp"): 25,
    ("domain", "tcp"): 53,
    ("domain", "udp"): 53,
    ("http", "tcp"): 80,
    ("www", "tcp"): 80,
    ("ntp", "tcp"): 123,
    ("ntp", "udp"): 123,
    ("bgp", "tcp"): 179,
    ("bgp", "udp"): 179,
    ("https", "tcp"): 443,
    ("isakmp", "udp"): 500,
    ("isakmp", "tcp"): 500,
    ("l2tp", "udp"): 1701,
    ("ipsec-nat-t", "udp"): 4500,
}
SERVICE_BY_PORT: dict[tuple[int, str], str] = {}
for (_name, _proto), _port in SERVICES.items():
    if _name != "www":
        SERVICE_BY_PORT.setdefault((_port, _proto), _name)


def getservbyname(name: str) -> int | None:
    """Port of a service name, tried as tcp then udp (parse.y `portval`)."""
    return SERVICES.get((name, "tcp"), SERVICES.get((name, "udp")))


# -- addresses ----------------------------------------------------------------------------


def ntop(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """inet_ntop(3) text: IPv6 compressed, with the embedded-IPv4 forms OpenBSD prints."""
    if isinstance(addr, ipaddress.IPv4Address):
        return str(addr)
    packed = addr.packed
    # lib/libc/net/inet_ntop.c inet_ntop6: "::a.b.c.d" (compat) and "::ffff:a.b.c.d" (mapped).
    if packed[:10] == bytes(10) and packed[10:12] in (b"\xff\xff", b"\x00\x00"):
        tail = ipaddress.IPv4Address(packed[12:])
        if packed[10:12] == b"\xff\xff":
            return f"::ffff:{tail}"
        if int(tail) > 0xFFFF:
            return f"::{tail}"
    return addr.compressed


@dataclass(frozen=True)
class Addr:
    """An `ipsec_addr_wrap`: the name ipsecctl prints in isakmpd section names, and the value."""

    name: str
    af: int  # 4, 6, or 0 for `any` before expand_any()
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    prefixlen: int
    netaddress: bool

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        """The masked network (what the kernel keeps for a flow)."""
        if self.address is None:
            raise ValueError("`any` has no network before expand_any()")
        return ipaddress.ip_network(f"{self.address}/{self.prefixlen}", strict=False)


def _host_v4(text: str, mask: int) -> Addr | None:
    """parse.y `host_v4`: inet_pton, or inet_net_pton when the text has a '/'."""
    if "/" in text:
        parsed = inet_net_pton4(text)
        if parsed is None:
            return None
        return Addr(text, 4, ipaddress.IPv4Address(parsed[0]), parsed[1], True)
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return None
    return Addr(text, 4, address, mask, False)


def _host_v6(text: str, prefixlen: int) -> Addr | None:
    """parse.y `host_v6`: numeric getaddrinfo; the name is getnameinfo's text (+ /len)."""
    if "%" in text:
        raise NotSimulated(f"scoped IPv6 address '{text}'")
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    prefixlen = min(prefixlen, 128)
    name = ntop(address) if prefixlen == 128 else f"{ntop(address)}/{prefixlen}"
    return Addr(name, 6, address, prefixlen, prefixlen != 128)


def _looks_like_name(text: str) -> bool:
    """True for text an interface, group or DNS lookup could resolve (not simulated)."""
    return bool(re.fullmatch(r"[A-Za-z0-9_.-]+", text)) and bool(re.search(r"[A-Za-z]", text))


def resolve_host(text: str, out: Stderr) -> Addr | None:
    """parse.y `host`: interface/group, IPv4, IPv6, then DNS; None after printing the error.

    Interface, group and DNS names are not simulated: they raise NotSimulated.
    """
    mask = -1
    plain = text
    slash = text.rfind("/")
    if slash >= 0:
        parsed = strtol(text[slash + 1 :]) if text[slash + 1 :] else None
        if parsed is None or parsed > 128:
            errx(out, PROG, 1, f"host: invalid netmask '{text[slash:]}'")
        mask, plain = parsed, text[:slash]
    if _looks_like_name(plain):
        raise NotSimulated(f"host '{text}' (interface, group and DNS names)")
    found = _host_v4(text, 32 if mask == -1 else mask) or _host_v6(
        plain, 128 if mask == -1 else mask
    )
    if found is None:
        out.eprint(f"no IP address found for {text}")
    return found


def any_hosts() -> list[Addr]:
    """parse.y `expand_any`: `any` becomes 0.0.0.0/0 and ::/0."""
    return [
        Addr("0.0.0.0/0", 4, ipaddress.IPv4Address(0), 0, True),
        Addr("::/0", 6, ipaddress.IPv6Address(0), 0, True),
    ]


ANY = Addr("any", 0, None, 0, True)

# -- rules --------------------------------------------------------------------------------

ID_TYPES = {"ipv4": "IPV4_ADDR", "ipv6": "IPV6_ADDR", "fqdn": "FQDN", "ufqdn": "USER_FQDN"}


def get_id_type(text: str | None) -> str | None:
    """parse.y `get_id_type` -> ike.c `ike_id_types` names (IPV4_ADDR, ..., USER_FQDN)."""
    if text is None:
        return None
    try:
        ipaddress.IPv4Address(text)
        return "IPV4_ADDR"
    except ValueError:
        pass
    try:
        ipaddress.IPv6Address(text)
        return "IPV6_ADDR"
    except ValueError:
        pass
    return "USER_FQDN" if "@" in text else "FQDN"


@dataclass
class Transforms:
    """`struct ipsec_transforms`: each field is a table row or None when not given."""

    auth: Xf | None = None
    enc: Xf | None = None
    comp: Xf | None = None
    group: Xf | None = None


@dataclass
class IkeRule:
    """One expanded `ike` rule (a `struct ipsec_rule` of type RULE_IKE)."""

    nr: int
    ikemode: str  # active | passive | dynamic
    satype: str  # esp | ah | ipcomp | ipip
    tmode: str  # tunnel | transport
    proto: int
    src: Addr
    sport: int
    dst: Addr
    dport: int
    local: Addr | None
    peer: Addr | None
    p1ie: str  # main | aggressive
    p1xfs: Transforms | None
    p1life: int  # -1: not given (isakmpd's LIFE_MAIN_MODE)
    p2xfs: Transforms | None
    p2life: int
    srcid: str | None
    dstid: str | None
    auth: str  # rsa | psk
    psk: str | None
    tag: str | None
    file: str = ""
    lineno: int = 0
    srcid_type: str | None = field(default=None)
    dstid_type: str | None = field(default=None)

    def __post_init__(self) -> None:
        self.srcid_type = get_id_type(self.srcid)
        self.dstid_type = get_id_type(self.dstid)

    @property
    def p1name(self) -> str:
        """ike.c `ike_setup_ids`: peer-<peer>[-local-<local>] or peer-default."""
        if self.peer is None:
            return "peer-default"
        if self.local is not None:
            return f"peer-{self.peer.name}-local-{self.local.name}"
        return f"peer-{self.peer.name}"

    def _suffix(self, port: int) -> str:
        proto = f"={self.proto}" if self.proto else ""
        return proto + (f":{port}" if port else "")

    @property
    def p2lid(self) -> str:
        return f"from-{self.src.name}{self._suffix(self.sport)}"

    @property
    def p2rid(self) -> str:
        return f"to-{self.dst.name}{self._suffix(self.dport)}"

    @property
    def p2name(self) -> str:
        """isakmpd's phase 2 connection name: from-<src>[=proto][:port]-to-<dst>[=proto][:port]."""
        return f"{self.p2lid}-{self.p2rid}"

    @property
    def key(self) -> str:
        """Stable identity of the rule in isakmpd (its phase 2 connection name)."""
        return self.p2name


# -- lexer (parse.y lgetc/lungetc/findeol/yylex) -------------------------------------------

EOF = ""  # getc() at end of file; never a character of the input
MAXPUSHBACK = 128
BUFSIZE = 8096
KEYWORDS = {
    "acquire": "ACQUIRE",
    "active": "ACTIVE",
    "aggressive": "AGGRESSIVE",
    "ah": "AH",
    "any": "ANY",
    "auth": "AUTHXF",
    "authkey": "AUTHKEY",
    "bundle": "BUNDLE",
    "bypass": "BYPASS",
    "comp": "COMPXF",
    "deny": "DENY",
    "dontacq": "DONTACQ",
    "dstid": "DSTID",
    "dynamic": "DYNAMIC",
    "enc": "ENCXF",
    "enckey": "ENCKEY",
    "esp": "ESP",
    "file": "FILENAME",
    "flow": "FLOW",
    "from": "FROM",
    "group": "GROUP",
    "ike": "IKE",
    "in": "IN",
    "include": "INCLUDE",
    "interface": "INTERFACE",
    "ipcomp": "IPCOMP",
    "ipip": "IPIP",
    "lifetime": "LIFETIME",
    "local": "LOCAL",
    "main": "MAIN",
    "out": "OUT",
    "passive": "PASSIVE",
    "peer": "PEER",
    "port": "PORT",
    "proto": "PROTO",
    "psk": "PSK",
    "quick": "QUICK",
    "require": "REQUIRE",
    "rsa": "RSA",
    "spi": "SPI",
    "srcid": "SRCID",
    "tag": "TAG",
    "tcpmd5": "TCPMD5",
    "to": "TO",
    "transport": "TRANSPORT",
    "tunnel": "TUNNEL",
    "type": "TYPE",
    "udpencap": "UDPENCAP",
    "use": "USE",
}


def _isalnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _isdigit(c: str) -> bool:
    return c in "0123456789" and c != ""


def _isspace(c: str) -> bool:
    return c != "" and c in " \t\n\v\f\r"


def _ispunct(c: str) -> bool:
    return len(c) == 1 and 33 <= ord(c) <= 126 and not c.isalnum()


def _allowed_to_end_number(c: str) -> bool:
    return _isspace(c) or (c != "" and c in "),/}=")


def _allowed_in_string(c: str) -> bool:
    return _isalnum(c) or (_ispunct(c) and c not in "(){}<>!=/#,")


# The characters of _allowed_in_string but the backslash, as one regex class.
_PLAIN_RUN = re.compile(
    "[" + "".join(re.escape(chr(i)) for i in range(128)
                  if _allowed_in_string(chr(i)) and chr(i) != "\\") + "]+"
)


@dataclass
class Tok:
    """A token: kind is a keyword token name, STRING, NUMBER, ERROR, $end or the character."""

    kind: str
    value: str | int | None = None


@dataclass
class _File:
    name: str
    data: str
    pos: int = 0
    lineno: int = 1


class Lexer:
    """A line-for-line port of parse.y's lexer, with its file stack and macro table."""

    def __init__(self, top: _File, diag: _Diag, opener: Callable[[str], _File | None]) -> None:
        self.files = [top]
        self.topfile = top
        self.diag = diag
        self.opener = opener
        self.parsebuf: str | None = None
        self.parseindex = 0
        self.pushback: list[str] = []
        self.symbols: dict[str, tuple[str, bool]] = {}  # name -> (value, persist)
        self.used: set[str] = set()

    @property
    def file(self) -> _File:
        return self.files[-1]

    # lgetc / lungetc / findeol ------------------------------------------------------------
    def getc(self) -> str:
        f = self.file
        if f.pos >= len(f.data):
            return EOF
        f.pos += 1
        return f.data[f.pos - 1]

    def popfile(self) -> bool:
        """parse.y `popfile`: drop the current file; False when no file is left."""
        self.files.pop()
        return bool(self.files)

    def _from_parsebuf(self) -> str | None:
        if self.parsebuf is None:
            return None
        if self.parseindex >= 0:
            idx = self.parseindex
            self.parseindex += 1
            if idx < len(self.parsebuf):
                return self.parsebuf[idx]
            self.parsebuf = None
        else:
            self.parseindex += 1
        return None

    def lgetc(self, quotec: str = "") -> str:
        """Next character: macro buffer, pushback, then the file with backslash-newline joins."""
        c = self._from_parsebuf()
        if c is not None:
            return c
        if self.pushback:
            return self.pushback.pop()
        if quotec:
            c = self.getc()
            if c == EOF:
                self.diag.yyerror("reached end of file while parsing quoted string")
                if self.file is self.topfile or not self.popfile():
                    return EOF
                return quotec
            return c
        while True:
            c = self.getc()
            if c != "\\":
                break
            nxt = self.getc()
            if nxt != "\n":
                c = nxt  # a backslash before anything but a newline is dropped
                break
            self.diag.lineno = self.file.lineno
            self.file.lineno += 1
        while c == EOF:
            if self.file is self.topfile or not self.popfile():
                return EOF
            c = self.getc()
        return c

    def lungetc(self, c: str) -> None:
        if c == EOF:
            return
        if self.parsebuf is not None:
            self.parseindex -= 1
            if self.parseindex >= 0:
                return
        if len(self.pushback) + 1 >= MAXPUSHBACK:
            return
        self.pushback.append(c)

    def findeol(self) -> Tok:
        """Skip to the end of the line (consuming it) and return the ERROR token."""
        self.parsebuf = None
        while True:
            c = self.pushback.pop() if self.pushback else self.lgetc()
            if c == "\n":
                self.file.lineno += 1
                break
            if c == EOF:
                break
        return Tok("ERROR")

    # macros -------------------------------------------------------------------------------
    def symset(self, name: str, value: str, persist: bool) -> None:
        """parse.y `symset`: a persistent (-D) definition is never replaced by the file."""
        old = self.symbols.get(name)
        if old is not None and old[1]:
            return
        self.symbols.pop(name, None)
        self.symbols[name] = (value, persist)

    def symget(self, name: str) -> str | None:
        entry = self.symbols.get(name)
        if entry is None:
            return None
        self.used.add(name)
        return entry[0]

    # yylex --------------------------------------------------------------------------------
    def yylex(self) -> Tok:
        """Return the next token and set the diagnostic line number as yylval.lineno."""
        while True:
            c = self.lgetc()
            while c in (" ", "\t"):
                c = self.lgetc()
            self.diag.lineno = self.file.lineno
            if c == "#":
                c = self.lgetc()
                while c not in ("\n", EOF):
                    c = self.lgetc()
            if c == "$" and self.parsebuf is None:
                expanded = self._macro()
                if expanded is not None:
                    return expanded
                continue
            return self._token(c)

    def _macro(self) -> Tok | None:
        """Read `$name` and switch input to its value; a token only on error or EOF."""
        buf: list[str] = []
        while True:
            c = self.lgetc()
            if c == EOF:
                return Tok("$end")
            if len(buf) + 1 >= BUFSIZE - 1:
                self.diag.yyerror("string too long")
                return self.findeol()
            if _isalnum(c) or c == "_":
                buf.append(c)
                continue
            self.lungetc(c)
            break
        name = "".join(buf)
        value = self.symget(name)
        if value is None:
            self.diag.yyerror(f"macro '{name}' not defined")
            return self.findeol()
        self.parsebuf, self.parseindex = value, 0
        return None

    def _token(self, c: str) -> Tok:
        if c in ("'", '"'):
            return self._quoted(c)
        if c == "-" or _isdigit(c):
            number = self._number(c)
            if isinstance(number, Tok):
                return number
            c = number
            if c == "-":
                return Tok("-")
        if _isalnum(c) or (c != "" and c in ":_*"):
            return self._word(c)
        if c == "\n":
            self.diag.lineno = self.file.lineno
            self.file.lineno += 1
        if c == EOF or c == "\0":
            # yylex ends with `return (c)`: a NUL byte is token 0, which yacc takes for the
            # end of the input, so nothing after it is parsed (seen with the oracle).
            return Tok("$end")
        return Tok(c)

    def _quoted(self, quotec: str) -> Tok:
        buf: list[str] = []
        while True:
            c = self.lgetc(quotec)
            if c == EOF:
                return Tok("$end")
            if c == "\n":
                self.file.lineno += 1
                continue
            if c == "\\":
                nxt = self.lgetc(quotec)
                if nxt == EOF:
                    return Tok("$end")
                if nxt in (quotec, " ", "\t"):
                    c = nxt
                elif nxt == "\n":
                    self.file.lineno += 1
                    continue
                else:
                    self.lungetc(nxt)
            elif c == quotec:
                return Tok("STRING", "".join(buf))
            elif c == "\0":
                self.diag.yyerror("syntax error")
                return self.findeol()
            if len(buf) + 1 >= BUFSIZE - 1:
                self.diag.yyerror("string too long")
                return self.findeol()
            buf.append(c)

    def _number(self, c: str) -> Tok | str:
        """A NUMBER token, or the first character to re-read as a word (`nodigits`)."""
        buf = [c]
        c = self.lgetc()
        while c != EOF and _isdigit(c):
            buf.append(c)
            c = self.lgetc()
        self.lungetc(c)
        if not (len(buf) == 1 and buf[0] == "-") and (c == EOF or _allowed_to_end_number(c)):
            text = "".join(buf)
            value = int(text)
            if not -(2**63) <= value <= 2**63 - 1:
                reason = "too small" if value < 0 else "too large"
                self.diag.yyerror(f'"{text}" invalid number: {reason}')
                return self.findeol()
            return Tok("NUMBER", value)
        while len(buf) > 1:
            self.lungetc(buf.pop())
        return buf[0]

    def _word(self, c: str) -> Tok:
        word = c
        f = self.file
        if self.parsebuf is None:
            # What the loop below would take character by character, taken at once: first
            # what a number left pushed back (192 of 192.0.2.1), then a run of plain string
            # characters straight from the file (a backslash, which lgetc treats specially,
            # ends the run; so does a run too long for the buffer).
            while (self.pushback and _allowed_in_string(self.pushback[-1])
                   and len(word) + 1 < BUFSIZE):
                word += self.pushback.pop()
        if self.parsebuf is None and not self.pushback:
            run = _PLAIN_RUN.match(f.data, f.pos)
            if run and len(word) + len(run.group()) < BUFSIZE:
                word += run.group()
                f.pos = run.end()
        c = self.lgetc()
        while c != EOF and _allowed_in_string(c):
            word += c
            if len(word) >= BUFSIZE:
                self.diag.yyerror("string too long")
                return self.findeol()
            c = self.lgetc()
        self.lungetc(c)
        kind = KEYWORDS.get(word)
        return Tok(kind) if kind else Tok("STRING", word)


# -- diagnostics ---------------------------------------------------------------------------


@dataclass
class _Diag:
    """yyerror/yywarn output and the error count (file->errors, summed over included files)."""

    lexer_file: Callable[[], str] = lambda: ""
    lineno: int = 1  # yylval.lineno
    errors: int = 0
    err: list[str] = field(default_factory=list)

    def yyerror(self, message: str) -> None:
        self.errors += 1
        self.err.append(f"{self.lexer_file()}: {self.lineno}: {message}")

    def yywarn(self, message: str) -> None:
        self.err.append(f"{self.lexer_file()}: {self.lineno}: {message}")

    def eprint(self, line: str) -> None:
        """stderr of ipsecctl for anything else (warnx, err, fprintf(stderr))."""
        self.err.append(line)


# -- parser --------------------------------------------------------------------------------


class _Recover(Exception):
    """Abort the current line: a syntax error (message unless suppressed) or YYERROR."""

    def __init__(self, syntax: bool) -> None:
        super().__init__()
        self.syntax = syntax


# LALR lookahead set of `host_spec: STRING .` (the union of FOLLOW(host_spec) over every
# context the merged state is reached from: ikerule, flowrule, sarule, tcpmd5rule, host lists).
_HOST_SPEC_FOLLOW = frozenset(
    {
        "(",
        ")",
        "PORT",
        "TO",
        "FROM",
        ",",
        "STRING",
        "ANY",
        "{",
        "}",
        "SPI",
        "PEER",
        "LOCAL",
        "SRCID",
        "DSTID",
        "TYPE",
        "\n",
        "MAIN",
        "AGGRESSIVE",
        "QUICK",
        "RSA",
        "PSK",
        "TAG",
        "UDPENCAP",
        "AUTHXF",
        "ENCXF",
        "COMPXF",
        "GROUP",
        "AUTHKEY",
        "ENCKEY",
        "BUNDLE",
    }
)
_NOT_SIMULATED_STARTS = {
    "FLOW": "flow rules",
    "TCPMD5": "tcpmd5 rules",
    "ESP": "sa rules",
    "AH": "sa rules",
    "IPCOMP": "sa rules",
    "IPIP": "sa rules",
    "TUNNEL": "sa rules",
    "TRANSPORT": "sa rules",
    "FROM": "sa rules",
    "TO": "sa rules",
}


@dataclass
class ParseOptions:
    """What ipsecctl passes down: -v/-vv printing, -s, -D macros, and its rule printer."""

    verbose: int = 0
    show: bool = False
    macros: list[tuple[str, str]] = field(default_factory=list)
    # ipsecctl.c `ipsecctl_add_rule` with -v: the rule as ike.c prints it (stdout text,
    # warnx lines); None when nothing is printed.
    print_rule: Callable[[IkeRule], tuple[str, list[str]]] | None = None


@dataclass
class ParseResult:
    """Rules, stdout text (-v), stderr lines, and whether parse_rules() failed."""

    rules: list[IkeRule]
    out: list[str]
    err: list[str]
    failed: bool
    exit: int | None = None  # ipsecctl exited in the parser (err(3)) with this status


@dataclass
class _Hosts:
    src: list[Addr]
    sport: int
    dst: list[Addr]
    dport: int


@dataclass
class _Mode:
    ie: str
    xfs: Transforms | None
    life: int


class Parser:
    """parse.y's grammar for ike rules, macros and includes (see module docstring)."""

    def __init__(self, lexer: Lexer, diag: _Diag, opts: ParseOptions) -> None:
        self.lx = lexer
        self.diag = diag
        self.opts = opts
        self.look: Tok | None = None
        self.errflag = 0  # byacc yyerrflag
        self.rules: list[IkeRule] = []
        self.out: list[str] = []
        self.rule_nr = 0
        self.default_peer_rule: IkeRule | None = None

    # token plumbing -----------------------------------------------------------------------
    def peek(self) -> Tok:
        if self.look is None:
            self.look = self.lx.yylex()
        return self.look

    def take(self) -> Tok:
        tok = self.peek()
        self.look = None
        if self.errflag:
            self.errflag -= 1
        return tok

    def expect(self, kind: str) -> Tok:
        if self.peek().kind != kind:
            raise _Recover(True)
        return self.take()

    def fail(self, message: str) -> _Recover:
        """yyerror(message) followed by YYERROR."""
        self.diag.yyerror(message)
        return _Recover(False)

    # driver -------------------------------------------------------------------------------
    def parse(self) -> None:
        """yyparse(): lines until EOF; a syntax error at EOF aborts the parse."""
        while self.peek().kind != "$end":
            try:
                self.line()
            except _Recover as stop:
                if stop.syntax and self.errflag == 0:
                    self.diag.yyerror("syntax error")
                self.errflag = 3
                if not self._skip_line():
                    return
                self.diag.errors += 1  # `grammar error '\n' { file->errors++; }`

    def _skip_line(self) -> bool:
        """Discard tokens up to and including '\\n'; False at EOF (byacc yyabort)."""
        while True:
            tok = self.peek()
            if tok.kind == "$end":
                return False
            self.look = None
            if tok.kind == "\n":
                self.errflag -= 1
                return True

    def line(self) -> None:
        kind = self.peek().kind
        if kind == "\n":
            self.take()
        elif kind == "INCLUDE":
            self.include()
        elif kind == "IKE":
            self.ikerule()
        elif kind == "STRING":
            self.varset()
        elif kind in _NOT_SIMULATED_STARTS:
            raise NotSimulated(f"{self._where()}: {_NOT_SIMULATED_STARTS[kind]}")
        else:
            raise _Recover(True)

    def _where(self) -> str:
        return f"{self.lx.file.name}: {self.diag.lineno}"

    # include / varset ---------------------------------------------------------------------
    def include(self) -> None:
        self.take()
        name = str(self.expect("STRING").value)
        nfile = self.lx.opener(name)
        if nfile is None:
            raise self.fail(f"failed to include file {name}")
        self.lx.files.append(nfile)
        self.lx.lungetc("\n")
        self.expect("\n")

    def varset(self) -> None:
        name = str(self.take().value)
        self.expect("=")
        words = [str(self.expect("STRING").value)]
        while self.peek().kind == "STRING":
            words.append(str(self.take().value))
        if self.peek().kind != "\n":
            raise _Recover(True)
        value = " ".join(words)
        if self.opts.verbose:
            self.out.append(f'{name} = "{value}"\n')
        if any(_isspace(c) for c in name[1:]):
            raise self.fail("macro name cannot contain whitespace")
        self.lx.symset(name, value, False)
        self.take()

    # ikerule ------------------------------------------------------------------------------
    def ikerule(self) -> None:
        """IKE ikemode satype tmode proto hosts peers phase1mode phase2mode ids ikeauth tag."""
        self.take()
        mode = self._choice(
            {"PASSIVE": "passive", "DYNAMIC": "dynamic", "ACTIVE": "active"}, "active"
        )
        if self.peek().kind == "INTERFACE":
            raise NotSimulated(f"{self._where()}: ike interface (sec) rules")
        satype = self._choice({"ESP": "esp", "AH": "ah", "IPCOMP": "ipcomp", "IPIP": "ipip"}, "esp")
        tmode = self._choice({"TUNNEL": "tunnel", "TRANSPORT": "transport"}, "tunnel")
        proto = self.proto()
        hosts = self.hosts()
        peers = self.peers()
        p1 = self.phase("main")
        p2 = self.phase("quick")
        srcid, dstid = self.ids()
        auth, psk = self.ikeauth()
        tag = None
        if self.peek().kind == "TAG":
            self.take()
            tag = str(self.expect("STRING").value)
        elif self.peek().kind != "\n":
            raise _Recover(True)
        fields = {
            "ikemode": mode,
            "satype": satype,
            "tmode": tmode,
            "proto": proto,
            "srcid": srcid,
            "dstid": dstid,
            "auth": auth,
            "psk": psk,
            "tag": tag,
        }
        self.create_ike(hosts, peers, p1, p2, fields)
        self.expect("\n")

    def _choice(self, table: dict[str, str], default: str) -> str:
        kind = self.peek().kind
        if kind in table:
            self.take()
            return table[kind]
        return default

    def proto(self) -> int:
        if self.peek().kind != "PROTO":
            return 0
        self.take()
        tok = self.peek()
        if tok.kind in ("ESP", "AH"):
            self.take()
            return 50 if tok.kind == "ESP" else 51
        return self._name_or_number(PROTO_BY_NAME.get, "protocol", 255)

    def hosts(self) -> _Hosts:
        first = self.peek().kind
        if first not in ("FROM", "TO"):
            raise _Recover(True)
        self.take()
        a, aport = self.host(), self.port()
        self.expect("TO" if first == "FROM" else "FROM")
        b, bport = self.host(), self.port()
        if first == "FROM":
            return _Hosts(a, aport, b, bport)
        return _Hosts(b, bport, a, aport)

    def host(self) -> list[Addr]:
        kind = self.peek().kind
        if kind == "ANY":
            self.take()
            return [ANY]
        if kind == "{":
            self.take()
            hosts = self.host()
            while self.peek().kind in (",", "STRING", "ANY", "{"):
                if self.peek().kind == ",":
                    self.take()
                hosts = hosts + self.host()
            self.expect("}")
            return hosts
        if kind != "STRING":
            raise _Recover(True)
        found = self.host_spec()
        if self.peek().kind == "(":
            raise NotSimulated(f"{self._where()}: flow NAT (host (host))")
        return found

    def host_spec(self) -> list[Addr]:
        text = str(self.take().value)
        if self.peek().kind == "/":
            self.take()
            text = f"{text}/{self.expect('NUMBER').value}"
        elif self.peek().kind not in _HOST_SPEC_FOLLOW:
            raise _Recover(True)
        return [self._resolve(text)]

    def _resolve(self, text: str) -> Addr:
        found = resolve_host(text, self.diag)
        if found is None:
            raise self.fail("could not parse host specification")
        return found

    def port(self) -> int:
        if self.peek().kind != "PORT":
            return 0
        self.take()
        return self._name_or_number(getservbyname, "port", 65535)

    def _name_or_number(self, lookup: Callable[[str], int | None], what: str, limit: int) -> int:
        """parse.y's `proto` and `port` values: a name from the table, or 0..limit."""
        tok = self.peek()
        if tok.kind == "STRING":
            self.take()
            number = lookup(str(tok.value))
            if number is None:
                raise self.fail(f"unknown {what}: {tok.value}")
            return number
        if tok.kind == "NUMBER":
            self.take()
            if not 0 <= _num(tok) <= limit:
                raise self.fail(f"{what} outside range")
            return _num(tok)
        raise _Recover(True)

    def peers(self) -> tuple[Addr | None, Addr | None]:
        """Return (peer, local): PEER anyhost [LOCAL singlehost] | LOCAL singlehost [PEER ...]."""
        peer: Addr | None = None
        local: Addr | None = None
        if self.peek().kind == "PEER":
            self.take()
            peer = self._anyhost()
            if self.peek().kind == "LOCAL":
                self.take()
                local = self._singlehost()
        elif self.peek().kind == "LOCAL":
            self.take()
            local = self._singlehost()
            if self.peek().kind == "PEER":
                self.take()
                peer = self._anyhost()
        return peer, local

    def _anyhost(self) -> Addr | None:
        if self.peek().kind == "ANY":
            self.take()
            return ANY
        return self._singlehost()

    def _singlehost(self) -> Addr | None:
        if self.peek().kind != "STRING":
            return None  # `singlehost: /* empty */` is valid grammar
        return self._resolve(str(self.take().value))

    def phase(self, which: str) -> _Mode:
        """phase1mode (MAIN|AGGRESSIVE) or phase2mode (QUICK), each `transforms lifetime`."""
        kinds = (
            {"MAIN": "main", "AGGRESSIVE": "aggressive"} if which == "main" else {"QUICK": "quick"}
        )
        kind = self.peek().kind
        if kind not in kinds:
            return _Mode(which, None, -1)
        self.take()
        return _Mode(kinds[kind], self.transforms(), self.lifetime())

    def transforms(self) -> Transforms:
        xfs = Transforms()
        tables = {
            "AUTHXF": ("auth", AUTHXFS),
            "ENCXF": ("enc", ENCXFS),
            "COMPXF": ("comp", COMPXFS),
            "GROUP": ("group", GROUPXFS),
        }
        while self.peek().kind in tables:
            attr, table = tables[self.take().kind]
            value = str(self.expect("STRING").value)
            if getattr(xfs, attr) is not None:
                self.diag.yyerror(f"{attr} already set")
                continue
            found = parse_xf(value, table)
            if found is None:
                self.diag.yyerror(f"{value} not a valid transform")
            setattr(xfs, attr, found)
        return xfs

    def lifetime(self) -> int:
        if self.peek().kind != "LIFETIME":
            return -1
        self.take()
        tok = self.peek()
        if tok.kind == "NUMBER":
            self.take()
            return _c_int(_num(tok))
        if tok.kind == "STRING":
            self.take()
            return parse_life(str(tok.value), self.diag)
        raise _Recover(True)

    def ids(self) -> tuple[str | None, str | None]:
        srcid = dstid = None
        if self.peek().kind == "SRCID":
            self.take()
            srcid = str(self.expect("STRING").value)
            if self.peek().kind == "DSTID":
                self.take()
                dstid = str(self.expect("STRING").value)
        elif self.peek().kind == "DSTID":
            self.take()
            dstid = str(self.expect("STRING").value)
        return srcid, dstid

    def ikeauth(self) -> tuple[str, str | None]:
        if self.peek().kind == "RSA":
            self.take()
        elif self.peek().kind == "PSK":
            self.take()
            return "psk", str(self.expect("STRING").value)
        return "rsa", None

    # create_ike / expand_rule ------------------------------------------------------------
    def create_ike(
        self,
        hosts: _Hosts,
        peers: tuple[Addr | None, Addr | None],
        p1: _Mode,
        p2: _Mode,
        fields: dict[str, object],
    ) -> None:
        """parse.y `create_ike` then `expand_rule`: checks, one rule per src x dst of an af."""
        proto = int(fields["proto"])  # type: ignore[call-overload]
        if (hosts.sport or hosts.dport) and proto not in (6, 17):
            raise self.fail("no protocol supplied with source/destination ports")
        xfs = p2.xfs
        if xfs is not None and xfs.enc is not None and xfs.enc.noauth and xfs.auth is not None:
            raise self.fail(f"authentication is implicit for {xfs.enc.name}")
        if _families_mismatch(hosts.src, hosts.dst):
            self.diag.yyerror("source/destination address families do not match")
            return
        added = 0
        for src in _expand(hosts.src):
            for dst in _expand(hosts.dst):
                if src.af == dst.af:
                    self._add_rule(src, dst, hosts, peers, p1, p2, fields)
                    added += 1
        if not added:
            self.diag.yyerror("rule expands to no valid combination")

    def _add_rule(
        self,
        src: Addr,
        dst: Addr,
        hosts: _Hosts,
        peers: tuple[Addr | None, Addr | None],
        p1: _Mode,
        p2: _Mode,
        fields: dict[str, object],
    ) -> None:
        peer, local = peers
        if peer is None and not dst.netaddress:
            peer = dst  # set_rule_peers: the peer defaults to the destination host
        if peer is not None and peer.af == 0:
            peer = None  # `peer any`: the default peer
        rule = IkeRule(
            nr=self.rule_nr,
            src=src,
            sport=hosts.sport,
            dst=dst,
            dport=hosts.dport,
            local=local,
            peer=peer,
            p1ie=p1.ie,
            p1xfs=p1.xfs,
            p1life=p1.life,
            p2xfs=p2.xfs,
            p2life=p2.life,
            file=self.lx.file.name,
            lineno=self.diag.lineno,
            **fields,  # type: ignore[arg-type]
        )
        self.rule_nr += 1
        if rule.peer is None:
            self._check_default_peer(rule)
        self.rules.append(rule)
        if self.opts.verbose and not self.opts.show:
            self._print_rule(rule)

    def _check_default_peer(self, rule: IkeRule) -> None:
        """set_rule_peers: all default-peer rules should configure the same peer (warnings)."""
        first = self.default_peer_rule
        if first is None:
            self.default_peer_rule = rule
            return
        checks = (
            (
                (first.local.name if first.local else None)
                != (rule.local.name if rule.local else None),
                "default peer local mismatch",
            ),
            (first.auth != rule.auth, "default peer phase 1 auth mismatch"),
            (
                first.auth == rule.auth == "psk" and first.psk != rule.psk,
                "default peer psk mismatch",
            ),
            (first.p1ie != rule.p1ie, "default peer phase 1 mode mismatch"),
            (first.srcid != rule.srcid, "default peer srcid mismatch"),
            (first.dstid != rule.dstid, "default peer dstid mismatch"),
        )
        for bad, message in checks:
            if bad:
                self.diag.yywarn(message)

    def _print_rule(self, rule: IkeRule) -> None:
        """ipsecctl_add_rule with -v: `@nr ` (with -vv) then ike_print_config's commands."""
        if self.opts.verbose > 1:
            self.out.append(f"@{rule.nr} ")
        if self.opts.print_rule is not None:
            text, warnings = self.opts.print_rule(rule)
            self.out.append(text)
            self.diag.err.extend(warnings)


def _num(tok: Tok) -> int:
    """The value of a NUMBER token."""
    return tok.value if isinstance(tok.value, int) else 0


def _c_int(value: int) -> int:
    """Truncate to a C int, as `life->lt_seconds = $2` does with an int64 NUMBER."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def _expand(hosts: list[Addr]) -> list[Addr]:
    out: list[Addr] = []
    for host in hosts:
        out.extend(any_hosts() if host.af == 0 else [host])
    return out


def _families_mismatch(src: list[Addr], dst: list[Addr]) -> bool:
    """parse.y `validate_af` (an `any` on either side never mismatches)."""
    if any(h.af == 0 for h in src) or any(h.af == 0 for h in dst):
        return False
    s4, s6 = any(h.af == 4 for h in src), any(h.af == 6 for h in src)
    d4, d6 = any(h.af == 4 for h in dst), any(h.af == 6 for h in dst)
    return s4 != d4 and s6 != d6


# ENOENT is what errno holds when parse_life runs: every literal host went through host_if(),
# whose SIOCGIFGMEMB ioctl fails with ENOENT for a name that is not an interface group
# (sys/net/if.c if_getgroupmembers). Inferred from the code, not seen in a real output.
_PARSE_LIFE_ERRNO = "No such file or directory"


def parse_life(value: str, out: Stderr) -> int:
    """parse.y `parse_life`: sscanf("%d%c"), units m/h; err(1, ...) on anything else."""
    match = re.match(r"\s*([+-]?\d+)(.?)", value, re.DOTALL)
    if not match:
        err(out, PROG, 1, f"invalid time specification: {value}", _PARSE_LIFE_ERRNO)
    seconds = _c_int(int(match.group(1)))
    unit = match.group(2).lower()
    if unit == "":
        return seconds
    if unit == "m":
        return _c_int(seconds * 60)
    if unit == "h":
        return _c_int(seconds * 3600)
    err(out, PROG, 1, "invalid time unit", _PARSE_LIFE_ERRNO)


# -- entry point --------------------------------------------------------------------------


def parse_rules(
    name: str, text: str, opts: ParseOptions, opener: Callable[[str], str | None]
) -> ParseResult:
    """parse.y `parse_rules` for an already opened and checked top file.

    `opener(path)` returns an included file's text, or None when it does not exist.
    Raises NotSimulated. When ipsecctl would exit at once (err(3) in the parser), the result
    holds what was printed until then and the exit status.
    """
    diag = _Diag()
    top = _File(name, text)

    def open_include(path: str) -> _File | None:
        data = opener(path)
        if data is None:  # pushfile's warn(); the sim runs as root, so only ENOENT is possible
            diag.err.append(f"ipsecctl: pushfile: {path}: No such file or directory")
            return None
        return _File(path, data)

    lexer = Lexer(top, diag, open_include)
    diag.lexer_file = lambda: lexer.file.name if lexer.files else name
    for macro, value in opts.macros:
        lexer.symset(macro, value, True)
    parser = Parser(lexer, diag, opts)
    try:
        parser.parse()
    except Exit as stop:
        return ParseResult(parser.rules, parser.out, diag.err, True, exit=stop.rc)
    if opts.verbose > 1:
        for macro in lexer.symbols:
            if macro not in lexer.used:
                diag.err.append(f"warning: macro '{macro}' not used")
    return ParseResult(parser.rules, parser.out, diag.err, diag.errors > 0)


def cmdline_symset(definition: str) -> tuple[str, str] | None:
    """parse.y `cmdline_symset`: split -D name=value at the last '='."""
    pos = definition.rfind("=")
    if pos < 0:
        return None
    return definition[:pos], definition[pos + 1 :]


def check_file_secrecy(name: str, uid: int, mode: int, getuid: int = 0) -> str | None:
    """parse.y `check_file_secrecy` (current releases); the warnx text when refused."""
    if uid != 0 and uid != getuid:
        return f"ipsecctl: {name}: owner not root or current user"
    if mode & 0o037:  # S_IWGRP | S_IXGRP | S_IRWXO
        return f"ipsecctl: {name}: group writable or world read/writable"
    return None
