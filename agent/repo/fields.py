"""Field checks for state files: each returns None when the value is fine, else a message.

The crypto tables follow sbin/ipsecctl/parse.y (authxfs, encxfs, groupxfs) and the phase-1
restrictions of sbin/ipsecctl/ike.c (shared/docs/openbsd-reference.md §2.2); lifetimes use
isakmpd's accepted range (60..86400 s, §2.3).
"""

from __future__ import annotations

import functools
import ipaddress
import re

AUTH = (
    "hmac-md5",
    "hmac-ripemd160",
    "hmac-sha1",
    "hmac-sha2-256",
    "hmac-sha2-384",
    "hmac-sha2-512",
)
ENC = (
    "3des-cbc",
    "aes",
    "aes-128",
    "aes-192",
    "aes-256",
    "aesctr",
    "aes-128-ctr",
    "aes-192-ctr",
    "aes-256-ctr",
    "aes-128-gcm",
    "aes-192-gcm",
    "aes-256-gcm",
    "aes-128-gmac",
    "aes-192-gmac",
    "aes-256-gmac",
    "blowfish",
    "cast128",
    "chacha20-poly1305",
    "null",
)
GROUP_ALIASES = {
    "grp1": "modp768",
    "grp2": "modp1024",
    "grp5": "modp1536",
    "grp14": "modp2048",
    "grp15": "modp3072",
    "grp16": "modp4096",
    "grp17": "modp6144",
    "grp18": "modp8192",
    "grp19": "ecp256",
    "grp20": "ecp384",
    "grp21": "ecp521",
    "grp26": "ecp224",
    "grp27": "bp224",
    "grp28": "bp256",
    "grp29": "bp384",
    "grp30": "bp512",
}
GROUPS = ("none", *dict.fromkeys(GROUP_ALIASES.values()), *GROUP_ALIASES)
# ike.c accepts only these in phase 1; ctr/gcm/gmac/null/chacha are phase-2 only.
MAIN_ENC = ("3des-cbc", "aes", "aes-128", "aes-192", "aes-256", "blowfish", "cast128")
MAIN_AUTH = ("hmac-md5", "hmac-sha1", "hmac-sha2-256", "hmac-sha2-384", "hmac-sha2-512")
# parse.y marks these "noauth": ipsecctl refuses an `auth` next to them
# ("authentication is implicit for %s").
AEAD_ENC = (
    "aes-128-gcm",
    "aes-192-gcm",
    "aes-256-gcm",
    "aes-128-gmac",
    "aes-192-gmac",
    "aes-256-gmac",
    "chacha20-poly1305",
)
LIFETIME_MIN, LIFETIME_MAX = 60, 86400

# Every pattern is matched against the whole string (fullmatch): `^…$` would accept a trailing
# newline, and a name or description with a line break breaks the file it is written into.
NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,30}")
IFACE_RE = re.compile(r"gre([0-9]|[1-9][0-9]{1,3})")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# The last label starts with a letter: ipsecctl's lexer reads an all-digit word as a NUMBER
# (parse.y yylex), and `srcid 1234` is a syntax error.
_LAST_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
FQDN_RE = re.compile(rf"(?=.{{1,253}}\Z)(?:{_LABEL}\.)*{_LAST_LABEL}")
# The user part of user@fqdn as a dot-atom (RFC 5322 §3.2.3, restricted to what is safe in
# ipsec.conf and in a key file name): no leading '-' (an option to every tool that sees the
# file name), no leading, trailing or doubled dot ('..' and '.' are directory names).
# It starts with a letter, digit or '_': parse.y's yylex begins a word only with isalnum(c),
# ':', '_' or '*', so `dstid +x@y` is a syntax error.
UFQDN_USER_RE = re.compile(r"(?=.{1,64}\Z)[A-Za-z0-9_](?:[A-Za-z0-9_+-]|\.(?!\.))*(?<!\.)")
# Free text ends up inside a double-quoted hostname.if line that netstart evals with ksh:
# only characters that have no meaning to the shell inside double quotes are allowed.
DESCRIPTION_RE = re.compile(r"[A-Za-z0-9 _.,:/@+-]*")
DESCRIPTION_MAX = 48
IFDESCR_MAX = 63  # IFDESCRSIZE 64 in sys/net/if.h, with the terminating NUL
# sbin/ipsecctl/parse.y, keywords[] in lookup(): an unquoted word equal to one of these is
# read as the keyword, so `srcid peer` or `dstid rsa` is a syntax error. Identities are
# rendered unquoted, so a one-label FQDN must not be one of them (lookup is case-sensitive).
IPSEC_KEYWORDS = frozenset(
    {
        "acquire", "active", "aggressive", "ah", "any", "auth", "authkey", "bundle", "bypass",
        "comp", "deny", "dontacq", "dstid", "dynamic", "enc", "enckey", "esp", "file", "flow",
        "from", "group", "ike", "in", "include", "interface", "ipcomp", "ipip", "lifetime",
        "local", "main", "out", "passive", "peer", "port", "proto", "psk", "quick", "require",
        "rsa", "spi", "srcid", "tag", "tcpmd5", "to", "transport", "tunnel", "type", "udpencap",
        "use",
    }
)
# Phase 2 ciphers for which sbin/ipsecctl/ike.c (ike_section_qm) has no isakmpd transform:
# the rule parses (`ipsecctl -n` is happy) but loading it fails with "illegal transform".
QUICK_ENC_WITHOUT_TRANSFORM = ("chacha20-poly1305",)
# The crypto floor (policy.min_crypto in the agent's config; the repo cannot lower it).
# "default": what OpenBSD's current ipsec.conf defaults offer or better (openbsd-reference
# §2.3: AES, hmac-sha1 in phase 1 / hmac-sha2-256 in phase 2, modp3072): AES only (no null,
# 3DES, Blowfish, CAST, and no GMAC, which authenticates without encrypting), SHA-1 or SHA-2
# HMACs, groups of at least 2048 bits (MODP) or 256 bits (elliptic), and PFS.
# "legacy": whatever OpenBSD accepts, for an operator who must peer with an old router.
_STRONG_ENC = (
    "aes", "aes-128", "aes-192", "aes-256", "aesctr", "aes-128-ctr", "aes-192-ctr",
    "aes-256-ctr", "aes-128-gcm", "aes-192-gcm", "aes-256-gcm",
)
_STRONG_AUTH = ("hmac-sha1", "hmac-sha2-256", "hmac-sha2-384", "hmac-sha2-512")
_STRONG_GROUPS = (
    "modp2048", "modp3072", "modp4096", "modp6144", "modp8192", "ecp256", "ecp384", "ecp521",
    "bp256", "bp384", "bp512",
)
CRYPTO_FLOORS: dict[str, dict[str, tuple[str, ...]] | None] = {
    "default": {"enc": _STRONG_ENC, "auth": _STRONG_AUTH, "group": _STRONG_GROUPS},
    "legacy": None,
}


def check_floor(field: str, value: str, floor: str) -> str | None:
    """Refuse a transform below the crypto floor (value already canonical: no grpN alias)."""
    allowed = CRYPTO_FLOORS[floor]
    if allowed is None or field not in allowed or value in allowed[field]:
        return None
    return (
        f"{value} is below this router's crypto floor (policy.min_crypto: {floor}); "
        f"use one of {', '.join(allowed[field])}, or the router's operator sets "
        "policy.min_crypto: legacy in the agent's configuration"
    )


def check_phase(phase: str, field: str, value: object) -> str | None:
    """Check one crypto parameter of phase "main" or "quick"."""
    if field == "lifetime":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer number of seconds"
        if not LIFETIME_MIN <= value <= LIFETIME_MAX:
            return f"must be between {LIFETIME_MIN} and {LIFETIME_MAX} seconds (isakmpd's range)"
        return None
    table = {"auth": AUTH, "enc": ENC, "group": GROUPS}[field]
    if not isinstance(value, str) or value not in table:
        return f"{value!r} is not an ipsec.conf {field} value (one of: {', '.join(table)})"
    if phase == "quick" and field == "enc" and value in QUICK_ENC_WITHOUT_TRANSFORM:
        return (
            f"isakmpd has no transform for {value} (sbin/ipsecctl/ike.c): the rule would not "
            "load; use aes-256-gcm or aes-256"
        )
    if phase == "main":
        if field == "enc" and value not in MAIN_ENC:
            allowed = ", ".join(MAIN_ENC)
            return f"isakmpd does not accept {value} in main mode (phase 1): use one of {allowed}"
        if field == "auth" and value not in MAIN_AUTH:
            return f"isakmpd does not accept {value} in main mode (phase 1)"
        if field == "group" and value == "none":
            return "main mode needs a Diffie-Hellman group; 'none' is only for quick mode (no PFS)"
    return None


def canonical_group(value: str) -> str:
    return GROUP_ALIASES.get(value, value)


@functools.lru_cache(maxsize=256, typed=True)
def ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """ipaddress.ip_address(text), remembered a while: each address of a peer file is read
    by its checks in turn (four or five times), and parsing them was a sixth of loading a
    thousand new files. A few hundred entries: the repeats come one file at a time."""
    return ipaddress.ip_address(text)


def check_address(value: object, family: int | None = None) -> str | None:
    """Check an IP literal (no prefix length, no zone), optionally of one family."""
    if not isinstance(value, str):
        return "must be an IP address"
    try:
        ip = ip_address(value)
    except ValueError:
        return f"{value!r} is not an IP address"
    if family and ip.version != family:
        return f"{value} is not an IPv{family} address"
    return None


ULA = ipaddress.IPv6Network("fd00::/8")


def check_pool(value: object, family: int) -> str | None:
    """Check a transfer-address pool: a network of the family with zero host bits, room for
    at least one pair, and for IPv6 inside fd00::/8 (the ULA form a /127 pair must have)."""
    if not isinstance(value, str):
        return "must be a network in CIDR form"
    try:
        net = ipaddress.ip_network(value)
    except ValueError:
        return f"{value!r} is not a network in CIDR form with the host bits zero"
    if net.version != family:
        return f"{value} is not an IPv{family} network"
    if net.num_addresses < 2:
        return f"{value} holds no pair of addresses"
    if family == 6 and not net.subnet_of(ULA):  # type: ignore[arg-type]
        return f"{value} is not inside fd00::/8: IPv6 transfer pairs from a pool are ULA"
    return None


def check_endpoint(value: object, family: int | None = None) -> str | None:
    """Check a public tunnel endpoint: a unicast literal that can carry IKE."""
    problem = check_address(value, family)
    if problem:
        return problem
    ip = ip_address(str(value))
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback or ip.is_link_local:
        return (
            f"{value} cannot be a tunnel endpoint (multicast, unspecified, loopback or link-local)"
        )
    return impossible_address(ip)


def impossible_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ip can never be a router's or a tunnel's unicast address, or None."""
    if ip.version == 4 and ip in ipaddress.IPv4Network("240.0.0.0/4"):
        # 240/4 is reserved (RFC 1112 §4) and 255.255.255.255 the limited broadcast
        return f"{ip} is reserved (240.0.0.0/4, including the broadcast 255.255.255.255)"
    if isinstance(ip, ipaddress.IPv6Address) and (
        ip.ipv4_mapped is not None or ip in ipaddress.IPv6Network("::/96")
    ):
        return (
            f"{ip} is an IPv4-mapped or IPv4-compatible IPv6 address: write the IPv4 "
            "address in the ipv4 field instead"
        )
    return None


def check_identity(id_type: str, value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if id_type in ("ipv4", "ipv6"):
        return check_address(value, 4 if id_type == "ipv4" else 6)
    if id_type == "fqdn":
        if value in IPSEC_KEYWORDS:
            return f"{value!r} is an ipsec.conf keyword (parse.y): ipsecctl cannot read it as an ID"
        return None if FQDN_RE.fullmatch(value) else f"{value!r} is not a valid FQDN"
    if id_type == "ufqdn":
        user, at, domain = value.partition("@")
        if at and UFQDN_USER_RE.fullmatch(user) and FQDN_RE.fullmatch(domain):
            return None
        return (
            f"{value!r} is not a valid user@fqdn (the user part is letters, digits and _ + - ., "
            "starting with a letter, digit or _, with no trailing or doubled dot)"
        )
    return f"unknown identity type {id_type!r}"


def check_description(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > DESCRIPTION_MAX:
        return f"is {len(value)} characters long; at most {DESCRIPTION_MAX} are allowed"
    if not DESCRIPTION_RE.fullmatch(value):
        bad = sorted({c for c in value if not DESCRIPTION_RE.fullmatch(c)})
        shown = ", ".join(repr(c) for c in bad)
        return (
            f"contains {shown}: only letters, digits, space and - _ . , : / @ + are allowed "
            "(netstart evaluates hostname.if lines with the shell)"
        )
    return None
