"""Field checks for state files: each returns None when the value is fine, else a message.

The crypto tables follow sbin/ipsecctl/parse.y (authxfs, encxfs, groupxfs) and the phase-1
restrictions of sbin/ipsecctl/ike.c (shared/docs/openbsd-reference.md §2.2); lifetimes use
isakmpd's accepted range (60..86400 s, §2.3).
"""

from __future__ import annotations

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

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
FQDN_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
UFQDN_USER_RE = re.compile(r"^[A-Za-z0-9._+-]{1,64}$")
# Free text ends up inside a double-quoted hostname.if line that netstart evals with ksh:
# only characters that have no meaning to the shell inside double quotes are allowed.
DESCRIPTION_RE = re.compile(r"^[A-Za-z0-9 _.,:/@+-]*$")
DESCRIPTION_MAX = 48
IFDESCR_MAX = 63  # IFDESCRSIZE 64 in sys/net/if.h, with the terminating NUL


def check_phase(phase: str, field: str, value: object) -> str | None:
    """Check one crypto parameter of phase "main" or "quick"."""
    if field == "lifetime":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer number of seconds"
        if not LIFETIME_MIN <= value <= LIFETIME_MAX:
            return f"must be between {LIFETIME_MIN} and {LIFETIME_MAX} seconds (isakmpd's range)"
        return None
    table = {"auth": AUTH, "enc": ENC, "group": GROUPS}[field]
    if value not in table:
        return f"{value!r} is not an ipsec.conf {field} value (one of: {', '.join(table)})"
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


def check_address(value: object, family: int | None = None) -> str | None:
    """Check an IP literal (no prefix length, no zone), optionally of one family."""
    if not isinstance(value, str):
        return "must be an IP address"
    try:
        ip = ipaddress.ip_address(value)
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
    ip = ipaddress.ip_address(str(value))
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback or ip.is_link_local:
        return (
            f"{value} cannot be a tunnel endpoint (multicast, unspecified, loopback or link-local)"
        )
    return None


def check_identity(id_type: str, value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if id_type in ("ipv4", "ipv6"):
        return check_address(value, 4 if id_type == "ipv4" else 6)
    if id_type == "fqdn":
        return None if FQDN_RE.match(value) else f"{value!r} is not a valid FQDN"
    if id_type == "ufqdn":
        user, at, domain = value.partition("@")
        if at and UFQDN_USER_RE.match(user) and FQDN_RE.match(domain):
            return None
        return f"{value!r} is not a valid user@fqdn"
    return f"unknown identity type {id_type!r}"


def check_description(value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > DESCRIPTION_MAX:
        return f"is {len(value)} characters long; at most {DESCRIPTION_MAX} are allowed"
    if not DESCRIPTION_RE.match(value):
        bad = sorted({c for c in value if not DESCRIPTION_RE.match(c)})
        shown = ", ".join(repr(c) for c in bad)
        return (
            f"contains {shown}: only letters, digits, space and - _ . , : / @ + are allowed "
            "(netstart evaluates hostname.if lines with the shell)"
        )
    return None
