"""Every validation rule of the state format at its edges: the value just inside each limit
loads, the value just outside is refused with an error naming the file, the line and the field.

One row per case, readable as the spec of agent/repo/fields.py and state/schema/*.json. Each
row edits one line of the example repo (alice: IPv4 external peer of rtr1; bob: IPv6 external
peer of rtr1 with a crypto block; the routers' own files) and loads it with load_inventory.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.repo import fields
from agent.repo.inventory import load_inventory
from tests.conftest import edit

ALICE = "peers/rtr1/alice.yaml"
BOB = "peers/rtr1/bob.yaml"
CAROL = "peers/rtr2/carol.yaml"
RTR1 = "routers/rtr1.yaml"
RTR2 = "routers/rtr2.yaml"
BOB_QUICK = "  quick: {enc: aes-128, group: modp3072}"
BOB_PAIR = '    router: "fd42:4242:b0b::"     # on rtr1\n    peer: "fd42:4242:b0b::1"      # on bob'


@dataclass(frozen=True)
class Case:
    """Replace old by new in file; field None: the repo stays valid, else the load is refused
    with an error on field at the line holding `at` (default: the first line new adds)."""

    file: str
    old: str
    new: str
    field: str | None = None
    says: str = ""
    at: str | None = None
    line: int | None = None  # the line when it is not the one holding `at`
    min_crypto: str = "default"
    rename: str | None = None  # move the file to this stem (its name: field along)


def ok(file: str, old: str, new: str, **kw: Any) -> Case:
    return Case(file, old, new, None, **kw)


def bad(file: str, old: str, new: str, field: str, says: str = "", **kw: Any) -> Case:
    return Case(file, old, new, field, says, **kw)


def alice_gre(line: str) -> tuple[str, str]:
    """alice's gre block with one more line (interface, mtu, ...)."""
    return "  ipv6: eui64", f"  ipv6: eui64\n  {line}"


def bob_crypto(line: str) -> tuple[str, str]:
    """bob's crypto block with the main line (or a replaced quick line)."""
    if line.startswith("quick:"):
        return BOB_QUICK, f"  {line}"
    return BOB_QUICK, f"  {line}\n{BOB_QUICK}"


def bob_pair(router: str, peer: str) -> tuple[str, str]:
    return BOB_PAIR, f'    router: "{router}"\n    peer: "{peer}"'


def alice_pair(router: str, peer: str) -> tuple[str, str]:
    return (
        "    router: 172.20.1.1   # on rtr1\n    peer: 172.20.1.2     # on alice",
        f"    router: {router}\n    peer: {peer}",
    )


def alice_identity(kind: str, value: str) -> tuple[str, str]:
    """(value first: the error is on its line)"""
    return "  type: fqdn\n  value: alice.example.org", f"  value: '{value}'\n  type: {kind}"


LABEL63 = "a" * 63
FQDN253 = ".".join([LABEL63] * 3 + ["b" * 61])  # 3 * 64 + 61 = 253 characters
USER64 = "u" * 64

CASES = [
    # -- names: a lower-case letter, then up to 30 of [a-z0-9-] (31 characters) ------------
    pytest.param(ok(ALICE, "name: alice", "name: a", rename="a"), id="name-1-char"),
    pytest.param(ok(ALICE, "name: alice", f"name: a{'-' * 30}", rename=f"a{'-' * 30}"),
                 id="name-31-chars"),
    pytest.param(bad(ALICE, "name: alice", f"name: a{'b' * 31}", "name"), id="name-32-chars"),
    pytest.param(bad(ALICE, "name: alice", "name: 1alice", "name"), id="name-leading-digit"),
    pytest.param(bad(ALICE, "name: alice", "name: Alice", "name"), id="name-upper-case"),
    pytest.param(bad(ALICE, "name: alice", "name: al_ice", "name"), id="name-underscore"),
    pytest.param(bad(ALICE, "name: alice", "name: 'alice\\n'", "name"), id="name-newline"),
    # a file whose name breaks the rule is refused as a file (line 1), before its fields
    pytest.param(bad(ALICE, "name: alice", f"name: a{'b' * 31}", "(file)", "file names",
                     rename=f"a{'b' * 31}", line=1), id="file-name-32-chars"),
    pytest.param(bad(ALICE, "name: alice", "name: 1alice", "(file)", rename="1alice", line=1),
                 id="file-name-leading-digit"),
    pytest.param(bad(ALICE, "name: alice", "name: Alice", "(file)", rename="Alice", line=1),
                 id="file-name-upper-case"),
    pytest.param(bad(ALICE, "name: alice", "name: alice2", "name", "file name"),
                 id="name-not-the-file-stem"),
    # -- AS numbers: 1 .. 2^32-1 -------------------------------------------------------------
    pytest.param(ok(ALICE, "asn: 4242421234", "asn: 1"), id="asn-1"),
    pytest.param(bad(ALICE, "asn: 4242421234", "asn: 0", "asn"), id="asn-0"),
    pytest.param(ok(ALICE, "asn: 4242421234", "asn: 4294967295"), id="asn-2^32-1"),
    pytest.param(bad(ALICE, "asn: 4242421234", "asn: 4294967296", "asn"), id="asn-2^32"),
    pytest.param(bad(ALICE, "asn: 4242421234", "asn: -1", "asn"), id="asn-negative"),
    pytest.param(bad(ALICE, "asn: 4242421234", "asn: true", "asn"), id="asn-boolean"),
    pytest.param(bad(ALICE, "asn: 4242421234", "asn: '4242421234'", "asn"), id="asn-string"),
    pytest.param(bad(RTR1, "asn: 4242420001", "asn: 4294967296", "asn"), id="router-asn-2^32"),
    # -- gre interface: gre0 .. gre9999, no leading zero -------------------------------------
    pytest.param(ok(ALICE, *alice_gre("interface: gre1")), id="gre-unit-1"),
    pytest.param(ok(ALICE, *alice_gre("interface: gre9999")), id="gre-unit-9999"),
    pytest.param(bad(ALICE, *alice_gre("interface: gre10000"), "gre.interface"),
                 id="gre-unit-10000"),
    pytest.param(bad(ALICE, *alice_gre("interface: gre01"), "gre.interface"),
                 id="gre-unit-leading-zero"),
    pytest.param(bad(ALICE, *alice_gre("interface: gre"), "gre.interface"), id="gre-no-unit"),
    pytest.param(bad(ALICE, *alice_gre("interface: gre-1"), "gre.interface"),
                 id="gre-unit-negative"),
    pytest.param(bad(ALICE, *alice_gre("interface: GRE1"), "gre.interface"), id="gre-upper"),
    pytest.param(bad(ALICE, *alice_gre("interface: gif1"), "gre.interface"), id="gre-other-if"),
    pytest.param(bad(ALICE, *alice_gre('interface: "gre1\\n"'), "gre.interface"),
                 id="gre-trailing-newline"),
    # -- lifetimes: 60 .. 86400 s in both phases ---------------------------------------------
    pytest.param(ok(BOB, *bob_crypto("main: {lifetime: 60}")), id="main-lifetime-60"),
    pytest.param(bad(BOB, *bob_crypto("main: {lifetime: 59}"), "crypto.main.lifetime",
                     "60"), id="main-lifetime-59"),
    pytest.param(ok(BOB, *bob_crypto("main: {lifetime: 86400}")), id="main-lifetime-86400"),
    pytest.param(bad(BOB, *bob_crypto("main: {lifetime: 86401}"), "crypto.main.lifetime",
                     "86400"), id="main-lifetime-86401"),
    pytest.param(ok(BOB, *bob_crypto("quick: {enc: aes-128, group: modp3072, lifetime: 60}")),
                 id="quick-lifetime-60"),
    pytest.param(bad(BOB, *bob_crypto("quick: {enc: aes-128, group: modp3072, lifetime: 59}"),
                     "crypto.quick.lifetime"), id="quick-lifetime-59"),
    pytest.param(ok(BOB, *bob_crypto("quick: {enc: aes-128, group: modp3072, "
                                     "lifetime: 86400}")), id="quick-lifetime-86400"),
    pytest.param(bad(BOB, *bob_crypto("quick: {enc: aes-128, group: modp3072, "
                                      "lifetime: 86401}"), "crypto.quick.lifetime"),
                 id="quick-lifetime-86401"),
    pytest.param(bad(BOB, *bob_crypto("main: {lifetime: 600.0}"), "crypto.main.lifetime"),
                 id="lifetime-float"),
    pytest.param(bad(BOB, *bob_crypto("main: {lifetime: true}"), "crypto.main.lifetime"),
                 id="lifetime-boolean"),
    pytest.param(ok(RTR2, "  main: {group: modp3072}", "  main: {group: modp3072, lifetime: 60}"),
                 id="router-main-lifetime-60"),
    pytest.param(bad(RTR2, "  main: {group: modp3072}", "  main: {group: modp3072, lifetime: 59}",
                     "crypto.main.lifetime"), id="router-main-lifetime-59"),
    # -- phase rules: what isakmpd accepts in main mode, what ipsecctl loads in quick mode ----
    pytest.param(bad(BOB, *bob_crypto("main: {group: none}"), "crypto.main.group", "none"),
                 id="main-group-none"),
    pytest.param(ok(BOB, *bob_crypto("quick: {enc: aes-128, group: none}"),
                    min_crypto="legacy"), id="quick-group-none-legacy"),
    pytest.param(bad(BOB, *bob_crypto("quick: {enc: aes-128, group: none}"),
                     "crypto.quick.group", "crypto floor"), id="quick-group-none-floor"),
    pytest.param(ok(BOB, *bob_crypto("main: {group: grp14}")), id="main-group-alias-grp14"),
    pytest.param(bad(BOB, *bob_crypto("main: {group: grp3}"), "crypto.main.group"),
                 id="main-group-alias-grp3"),
    pytest.param(bad(BOB, *bob_crypto("main: {group: modp1024}"), "crypto.main.group",
                     "crypto floor"), id="main-group-below-floor"),
    pytest.param(ok(BOB, *bob_crypto("main: {group: modp1024}"), min_crypto="legacy"),
                 id="main-group-legacy-floor"),
    pytest.param(ok(BOB, *bob_crypto("main: {enc: aes-128}")), id="main-enc-cbc"),
    pytest.param(bad(BOB, *bob_crypto("main: {enc: aes-128-ctr}"), "crypto.main.enc",
                     ""), id="main-enc-ctr"),
    pytest.param(bad(BOB, *bob_crypto("main: {enc: aes-128-gcm}"), "crypto.main.enc",
                     ""), id="main-enc-gcm"),
    pytest.param(bad(BOB, *bob_crypto("main: {auth: hmac-ripemd160}"), "crypto.main.auth",
                     ""), id="main-auth-ripemd160"),
    pytest.param(ok(BOB, *bob_crypto("quick: {enc: aes-128, auth: hmac-ripemd160}"),
                    min_crypto="legacy"), id="quick-auth-ripemd160"),
    pytest.param(bad(BOB, *bob_crypto("quick: {enc: chacha20-poly1305}"), "crypto.quick.enc"),
                 id="quick-enc-chacha20"),
    pytest.param(ok(BOB, *bob_crypto("quick: {enc: aes-256-gcm}")), id="quick-enc-gcm"),
    pytest.param(bad(BOB, *bob_crypto("quick: {enc: aes-256-gcm, auth: hmac-sha1}"),
                     "crypto.quick.auth"), id="quick-gcm-with-auth"),
    pytest.param(bad(BOB, *bob_crypto("quick: {enc: aes-256-gmac}"), "crypto.quick.enc",
                     "crypto floor"), id="quick-enc-gmac-floor"),
    pytest.param(bad(BOB, *bob_crypto("quick: {enc: AES-256}"), "crypto.quick.enc"),
                 id="quick-enc-upper-case"),
    # -- tunnel endpoints: unicast, not link-local, loopback, multicast or reserved ----------
    pytest.param(ok(ALICE, "endpoint: 198.51.100.7", "endpoint: 223.255.255.254"),
                 id="endpoint-below-multicast"),
    pytest.param(bad(ALICE, "endpoint: 198.51.100.7", "endpoint: 224.0.0.1", "endpoint",
                     "multicast"), id="endpoint-multicast"),
    pytest.param(bad(ALICE, "endpoint: 198.51.100.7", "endpoint: 240.0.0.1", "endpoint",
                     "reserved"), id="endpoint-240/4"),
    pytest.param(bad(ALICE, "endpoint: 198.51.100.7", "endpoint: 255.255.255.255", "endpoint",
                     "broadcast"), id="endpoint-broadcast"),
    pytest.param(bad(ALICE, "endpoint: 198.51.100.7", "endpoint: 169.254.0.1", "endpoint",
                     "link-local"), id="endpoint-ipv4-link-local"),
    pytest.param(ok(ALICE, "endpoint: 198.51.100.7", "endpoint: 169.253.255.255"),
                 id="endpoint-below-ipv4-link-local"),
    pytest.param(bad(ALICE, "endpoint: 198.51.100.7", "endpoint: 127.0.0.1", "endpoint",
                     "loopback"), id="endpoint-loopback"),
    pytest.param(bad(ALICE, "endpoint: 198.51.100.7", "endpoint: 0.0.0.0", "endpoint",
                     "unspecified"), id="endpoint-unspecified"),
    pytest.param(bad(ALICE, "endpoint: 198.51.100.7", "endpoint: 198.51.100.07", "endpoint"),
                 id="endpoint-leading-zero"),
    pytest.param(bad(ALICE, "endpoint: 198.51.100.7", "endpoint: 198.51.100.7/32", "endpoint"),
                 id="endpoint-with-prefix"),
    pytest.param(bad(BOB, 'endpoint: "2001:db8:b0b::7"', 'endpoint: "fe80::7"', "endpoint",
                     "link-local"), id="endpoint-ipv6-link-local"),
    pytest.param(bad(BOB, 'endpoint: "2001:db8:b0b::7"', 'endpoint: "febf::7"', "endpoint",
                     "link-local"), id="endpoint-ipv6-link-local-top"),
    pytest.param(bad(BOB, 'endpoint: "2001:db8:b0b::7"', 'endpoint: "::1"', "endpoint",
                     "loopback"), id="endpoint-ipv6-loopback"),
    pytest.param(bad(BOB, 'endpoint: "2001:db8:b0b::7"', 'endpoint: "ff02::1"', "endpoint",
                     "multicast"), id="endpoint-ipv6-multicast"),
    pytest.param(bad(BOB, 'endpoint: "2001:db8:b0b::7"', 'endpoint: "::ffff:198.51.100.9"',
                     "endpoint", "IPv4-mapped"), id="endpoint-ipv4-mapped"),
    pytest.param(bad(BOB, 'endpoint: "2001:db8:b0b::7"', 'endpoint: "2001:db8:b0b::7%em0"',
                     "endpoint"), id="endpoint-zone"),
    pytest.param(bad(RTR1, "  ipv4: 192.0.2.1", "  ipv4: 169.254.1.1", "endpoints.ipv4",
                     "link-local"), id="router-endpoint-link-local"),
    pytest.param(bad(RTR1, '  ipv6: "2001:db8:1::1"', '  ipv6: "fe80::1"', "endpoints.ipv6",
                     "link-local"), id="router-endpoint-ipv6-link-local"),
    pytest.param(bad(RTR1, '  ipv6: "2001:db8:1::1"', '  ipv6: "192.0.2.1"', "endpoints.ipv6"),
                 id="router-endpoint-wrong-family"),
    # -- IPv4 transfer pairs: two distinct unicast addresses ---------------------------------
    pytest.param(ok(ALICE, *alice_pair("172.20.1.254", "172.20.1.255")), id="pair4-any-two"),
    pytest.param(bad(ALICE, *alice_pair("172.20.1.1", "172.20.1.1"), "gre.ipv4.peer", "same",
                     at="peer: 172.20.1.1"), id="pair4-same-address"),
    pytest.param(bad(ALICE, *alice_pair("127.0.0.1", "172.20.1.2"), "gre.ipv4.router"),
                 id="pair4-loopback"),
    pytest.param(bad(ALICE, *alice_pair("172.20.1.1", "224.0.0.2"), "gre.ipv4.peer",
                     at="peer: 224.0.0.2"), id="pair4-multicast"),
    pytest.param(bad(ALICE, *alice_pair("0.0.0.0", "172.20.1.2"), "gre.ipv4.router"),  # noqa: S104
                 id="pair4-unspecified"),
    pytest.param(bad(ALICE, *alice_pair("172.20.1.1", "240.0.0.2"), "gre.ipv4.peer",
                     "reserved", at="peer: 240.0.0.2"), id="pair4-reserved"),
    pytest.param(bad(ALICE, *alice_pair("172.20.1.256", "172.20.1.2"), "gre.ipv4.router"),
                 id="pair4-octet-256"),
    pytest.param(bad(ALICE, *alice_pair("172.20.1.1/31", "172.20.1.2"), "gre.ipv4.router"),
                 id="pair4-with-prefix"),
    # -- IPv6 transfer pairs: link-local pair, or a ULA pair in one /127 (not one /64) -------
    pytest.param(ok(BOB, *bob_pair("fd42:4242:b0b::2", "fd42:4242:b0b::3")),
                 id="pair6-ula-same-127"),
    pytest.param(bad(BOB, *bob_pair("fd42:4242:b0b::1", "fd42:4242:b0b::2"), "gre.ipv6.peer",
                     "/127", at='peer: "fd42:4242:b0b::2"'), id="pair6-ula-same-64-only"),
    pytest.param(bad(BOB, *bob_pair("fd42:4242:b0b::", "fd42:4242:b0c::1"), "gre.ipv6.peer",
                     "/127", at='peer: "fd42:4242:b0c::1"'), id="pair6-ula-other-64"),
    pytest.param(ok(BOB, *bob_pair("fe80::b:1", "fe80::b:2")), id="pair6-link-local"),
    pytest.param(ok(BOB, *bob_pair("febf::b:1", "febf::b:2")), id="pair6-link-local-top"),
    pytest.param(bad(BOB, *bob_pair("fe80::b:1", "fd42:4242:b0b::1"), "gre.ipv6.peer",
                     at='peer: "fd42:4242:b0b::1"'), id="pair6-mixed"),
    pytest.param(bad(BOB, *bob_pair("fec0::1", "fec0::"), "gre.ipv6.router"),
                 id="pair6-site-local"),
    pytest.param(bad(BOB, *bob_pair("fc00::", "fc00::1"), "gre.ipv6.router"),
                 id="pair6-fc00"),
    pytest.param(bad(BOB, *bob_pair("2001:db8::", "2001:db8::1"), "gre.ipv6.router"),
                 id="pair6-global"),
    pytest.param(bad(BOB, *bob_pair("fd42:4242:b0b::1", "fd42:4242:b0b::1"), "gre.ipv6.peer",
                     "same", at='peer: "fd42:4242:b0b::1"'), id="pair6-same-address"),
    pytest.param(bad(BOB, *bob_pair("fd42:4242:b0b::/127", "fd42:4242:b0b::1"),
                     "gre.ipv6.router"), id="pair6-with-prefix"),
    pytest.param(bad(ALICE, "  ipv6: eui64", "  ipv6: eui-64", "gre.ipv6"),
                 id="pair6-eui64-misspelt"),
    # -- transfer pools: room for a pair (/31, /127), host bits zero, IPv6 inside fd00::/8 ---
    pytest.param(ok(RTR1, "  ipv4: [172.20.1.0/26]", "  ipv4: [172.20.1.0/31]"),
                 id="pool4-/31"),
    pytest.param(bad(RTR1, "  ipv4: [172.20.1.0/26]", "  ipv4: [172.20.1.0/32]",
                     "transfer_pools.ipv4[0]"), id="pool4-/32"),
    pytest.param(ok(RTR1, "  ipv4: [172.20.1.0/26]", "  ipv4: [172.20.0.0/16]"),
                 id="pool4-/16"),
    pytest.param(bad(RTR1, "  ipv4: [172.20.1.0/26]", "  ipv4: [172.0.0.0/15]",
                     "transfer_pools.ipv4[0]"), id="pool4-/15"),
    pytest.param(bad(RTR1, "  ipv4: [172.20.1.0/26]", "  ipv4: [172.20.1.1/31]",
                     "transfer_pools.ipv4[0]", "host bits"), id="pool4-host-bits"),
    pytest.param(ok(RTR1, '  ipv6: ["fd42:4242:1::/64"]', '  ipv6: ["fd42:4242:1::/127"]'),
                 id="pool6-/127"),
    pytest.param(bad(RTR1, '  ipv6: ["fd42:4242:1::/64"]', '  ipv6: ["fd42:4242:1::/128"]',
                     "transfer_pools.ipv6[0]"), id="pool6-/128"),
    pytest.param(ok(RTR1, '  ipv6: ["fd42:4242:1::/64"]', '  ipv6: ["fd00::/8"]'),
                 id="pool6-fd00::/8"),
    pytest.param(bad(RTR1, '  ipv6: ["fd42:4242:1::/64"]', '  ipv6: ["fc00::/7"]',
                     "transfer_pools.ipv6[0]"), id="pool6-fc00::/7"),
    pytest.param(bad(RTR1, '  ipv6: ["fd42:4242:1::/64"]', '  ipv6: ["fd42:4242:1::1/127"]',
                     "transfer_pools.ipv6[0]", "host bits"), id="pool6-host-bits"),
    pytest.param(bad(RTR1, '  ipv6: ["fd42:4242:1::/64"]', '  ipv6: ["fd42:4242:1::/64", '
                     '"fd42:4242:1::/64"]', "transfer_pools.ipv6"), id="pool6-twice"),
    # -- MTU: 1280 .. what fits a 1500-byte path under ESP -----------------------------------
    pytest.param(ok(ALICE, *alice_gre("mtu: 1280")), id="mtu-1280"),
    pytest.param(bad(ALICE, *alice_gre("mtu: 1279"), "gre.mtu"), id="mtu-1279"),
    pytest.param(bad(ALICE, *alice_gre("mtu: 9001"), "gre.mtu"), id="mtu-9001"),
    pytest.param(ok(ALICE, *alice_gre("mtu: 1418")), id="mtu-largest-under-esp"),
    pytest.param(bad(ALICE, *alice_gre("mtu: 1419"), "gre.mtu", "use 1418 or less"),
                 id="mtu-one-over-esp"),
    pytest.param(bad(RTR1, "  mtu: 1400", "  mtu: 1279", "gre.mtu"), id="router-mtu-1279"),
    # -- descriptions: at most 48 of [A-Za-z0-9 _.,:/@+-], and 63 bytes with the prefix ------
    pytest.param(ok(ALICE, "description: dn42 peer alice", f"description: {'d' * 48}"),
                 id="description-48"),
    pytest.param(bad(ALICE, "description: dn42 peer alice", f"description: {'d' * 49}",
                     "gre.description"), id="description-49"),
    pytest.param(bad(ALICE, "description: dn42 peer alice", "description: ''",
                     "gre.description"), id="description-empty"),
    pytest.param(ok(ALICE, "description: dn42 peer alice", "description: 'aZ9 _.,:/@+-'"),
                 id="description-every-allowed-sign"),
    pytest.param(bad(ALICE, "description: dn42 peer alice", "description: 'a$b'",
                     "gre.description", "'$'"), id="description-dollar"),
    pytest.param(bad(ALICE, "description: dn42 peer alice", "description: 'a`b'",
                     "gre.description", "'`'"), id="description-backtick"),
    pytest.param(bad(ALICE, "description: dn42 peer alice", "description: 'a\\b'",
                     "gre.description"), id="description-backslash"),
    pytest.param(bad(ALICE, "description: dn42 peer alice", "description: 'a;b'",
                     "gre.description", "';'"), id="description-semicolon"),
    pytest.param(bad(ALICE, "description: dn42 peer alice", 'description: "a\\tb"',
                     "gre.description"), id="description-tab"),
    # 'peerops <17 chars>: ' is 27 bytes: 36 more fill IFDESCRSIZE's 63, 37 do not
    pytest.param(ok(ALICE, "description: dn42 peer alice", f"description: {'d' * 36}",
                    rename="alice-seventeen-c"), id="description-fills-ifdescr"),
    pytest.param(bad(ALICE, "description: dn42 peer alice", f"description: {'d' * 37}",
                     "gre.description", "IFDESCRSIZE", rename="alice-seventeen-c"),
                 id="description-over-ifdescr"),
    # -- identities: FQDN, user@FQDN, addresses ----------------------------------------------
    pytest.param(ok(ALICE, *alice_identity("fqdn", "a")), id="fqdn-one-letter"),
    pytest.param(ok(ALICE, *alice_identity("fqdn", f"{LABEL63}.org")), id="fqdn-label-63"),
    pytest.param(bad(ALICE, *alice_identity("fqdn", f"a{LABEL63}.org"), "identity.value"),
                 id="fqdn-label-64"),
    pytest.param(ok(ALICE, *alice_identity("fqdn", FQDN253)), id="fqdn-253"),
    pytest.param(bad(ALICE, *alice_identity("fqdn", FQDN253 + "b"), "identity.value"),
                 id="fqdn-254"),
    pytest.param(bad(ALICE, *alice_identity("fqdn", "alice.example.org."), "identity.value"),
                 id="fqdn-trailing-dot"),
    pytest.param(bad(ALICE, *alice_identity("fqdn", "alice.42"), "identity.value"),
                 id="fqdn-numeric-last-label"),
    pytest.param(bad(ALICE, *alice_identity("fqdn", "1234"), "identity.value"),
                 id="fqdn-all-digits"),
    pytest.param(bad(ALICE, *alice_identity("fqdn", "-alice.org"), "identity.value"),
                 id="fqdn-leading-hyphen"),
    pytest.param(bad(ALICE, *alice_identity("fqdn", "alice-.org"), "identity.value"),
                 id="fqdn-label-trailing-hyphen"),
    pytest.param(bad(ALICE, *alice_identity("fqdn", "al_ice.org"), "identity.value"),
                 id="fqdn-underscore"),
    pytest.param(bad(ALICE, *alice_identity("fqdn", "peer"), "identity.value", "keyword"),
                 id="fqdn-ipsec-keyword"),
    pytest.param(ok(ALICE, *alice_identity("fqdn", "Peer")), id="fqdn-keyword-other-case"),
    pytest.param(ok(ALICE, *alice_identity("ufqdn", "ike@alice.example.org")), id="ufqdn"),
    pytest.param(ok(ALICE, *alice_identity("ufqdn", "_a.b+c-d@alice.org")),
                 id="ufqdn-every-sign"),
    pytest.param(ok(ALICE, *alice_identity("ufqdn", f"{USER64}@alice.org")),
                 id="ufqdn-user-64"),
    pytest.param(bad(ALICE, *alice_identity("ufqdn", f"{USER64}u@alice.org"),
                     "identity.value"), id="ufqdn-user-65"),
    pytest.param(bad(ALICE, *alice_identity("ufqdn", "+ike@alice.org"), "identity.value"),
                 id="ufqdn-leading-plus"),
    pytest.param(bad(ALICE, *alice_identity("ufqdn", "-ike@alice.org"), "identity.value"),
                 id="ufqdn-leading-hyphen"),
    pytest.param(bad(ALICE, *alice_identity("ufqdn", ".ike@alice.org"), "identity.value"),
                 id="ufqdn-leading-dot"),
    pytest.param(bad(ALICE, *alice_identity("ufqdn", "ike.@alice.org"), "identity.value"),
                 id="ufqdn-trailing-dot"),
    pytest.param(bad(ALICE, *alice_identity("ufqdn", "i..ke@alice.org"), "identity.value"),
                 id="ufqdn-double-dot"),
    pytest.param(bad(ALICE, *alice_identity("ufqdn", "ike@"), "identity.value"),
                 id="ufqdn-no-domain"),
    pytest.param(bad(ALICE, *alice_identity("ufqdn", "alice.example.org"), "identity.value"),
                 id="ufqdn-no-at"),
    pytest.param(bad(ALICE, *alice_identity("ufqdn", "ike@alice@org"), "identity.value"),
                 id="ufqdn-two-ats"),
    pytest.param(ok(ALICE, *alice_identity("ipv4", "198.51.100.7")), id="id-ipv4"),
    pytest.param(bad(ALICE, *alice_identity("ipv4", "198.51.100"), "identity.value"),
                 id="id-ipv4-three-octets"),
    pytest.param(bad(ALICE, *alice_identity("ipv6", "198.51.100.7"), "identity.value"),
                 id="id-ipv6-given-ipv4"),
    pytest.param(bad(ALICE, *alice_identity("asn", "4242421234"), "identity.type",
                     at="type: asn"), id="id-unknown-type"),
]


def _line_of(path: Path, marker: str) -> int:
    lines = [i for i, text in enumerate(path.read_text().splitlines(), 1) if marker in text]
    assert len(lines) == 1, f"{marker!r} is on lines {lines} of {path}"
    return lines[0]


@pytest.mark.parametrize("case", CASES)
def test_each_rule_at_its_edge(state_copy: Path, case: Case) -> None:
    target = state_copy / case.file
    edit(target, case.old, case.new)
    file = case.file
    if case.rename:
        if f"name: {case.rename}\n" not in target.read_text():
            edit(target, f"name: {target.stem}", f"name: {case.rename}")
        moved = target.with_name(f"{case.rename}.yaml")
        shutil.move(target, moved)
        target, file = moved, f"{Path(case.file).parent}/{case.rename}.yaml"
    added = [x for x in case.new.splitlines() if x not in case.old.splitlines()]
    marker = case.at or added[0].strip()
    inventory, problems = load_inventory(state_copy, min_crypto=case.min_crypto)
    if case.field is None:
        assert problems == [], [str(p) for p in problems]
        assert inventory is not None
        return
    assert inventory is None
    line = case.line or _line_of(target, marker)
    named = [p for p in problems if (p.file, p.line, p.field) == (file, line, case.field)]
    assert named, f"no error on {file}:{line} {case.field}: {[str(p) for p in problems]}"
    assert any(case.says in p.message for p in named), [str(p) for p in named]


# -- the field checks themselves (agent/repo/fields.py), for every caller ----------------------
# The schema refuses many of these values first when a state file is loaded; `peerops peer new`,
# the PR checks and the allocator call the same functions, so each is pinned at its edges here.
def _phase(phase: str, field: str) -> Any:
    return lambda value: fields.check_phase(phase, field, value)


def _match(pattern: re.Pattern[str]) -> Any:
    return lambda value: None if pattern.fullmatch(value) else "no match"


FIELD_CASES = [
    # (check, value, refused, words of the message)
    (_phase("main", "lifetime"), 60, False, ""),
    (_phase("main", "lifetime"), 59, True, "between 60 and 86400"),
    (_phase("main", "lifetime"), 86400, False, ""),
    (_phase("main", "lifetime"), 86401, True, "between 60 and 86400"),
    (_phase("quick", "lifetime"), 60, False, ""),
    (_phase("quick", "lifetime"), 86401, True, "isakmpd's range"),
    (_phase("quick", "lifetime"), True, True, "integer"),
    (_phase("quick", "lifetime"), 3600.0, True, "integer"),
    (_phase("quick", "lifetime"), "3600", True, "integer"),
    (_phase("main", "group"), "none", True, "needs a Diffie-Hellman group"),
    (_phase("quick", "group"), "none", False, ""),
    (_phase("main", "group"), "grp14", False, ""),
    (_phase("main", "group"), "grp3", True, "not an ipsec.conf group value"),
    (_phase("main", "enc"), "aes-256", False, ""),
    (_phase("main", "enc"), "cast128", False, ""),
    (_phase("main", "enc"), "aesctr", True, "main mode"),
    (_phase("main", "enc"), "aes-256-gcm", True, "main mode"),
    (_phase("quick", "enc"), "aes-256-gcm", False, ""),
    (_phase("quick", "enc"), "null", False, ""),
    (_phase("quick", "enc"), "chacha20-poly1305", True, "no transform"),
    (_phase("main", "enc"), "chacha20-poly1305", True, "main mode"),
    (_phase("quick", "enc"), 256, True, "not an ipsec.conf enc value"),
    (_phase("main", "auth"), "hmac-sha2-512", False, ""),
    (_phase("main", "auth"), "hmac-ripemd160", True, "main mode"),
    (_phase("quick", "auth"), "hmac-ripemd160", False, ""),
    (_phase("quick", "auth"), "hmac-sha2-1024", True, "not an ipsec.conf auth value"),
    (lambda v: fields.check_floor("group", v, "default"), "modp2048", False, ""),
    (lambda v: fields.check_floor("group", v, "default"), "modp1536", True, "crypto floor"),
    (lambda v: fields.check_floor("group", v, "default"), "ecp256", False, ""),
    (lambda v: fields.check_floor("group", v, "default"), "ecp224", True, "policy.min_crypto"),
    (lambda v: fields.check_floor("group", v, "default"), "none", True, "crypto floor"),
    (lambda v: fields.check_floor("group", v, "legacy"), "modp768", False, ""),
    (lambda v: fields.check_floor("enc", v, "default"), "aes-128-gmac", True, "crypto floor"),
    (lambda v: fields.check_floor("enc", v, "default"), "aes-128-gcm", False, ""),
    (lambda v: fields.check_floor("auth", v, "default"), "hmac-md5", True, "crypto floor"),
    (lambda v: fields.check_floor("auth", v, "default"), "hmac-sha1", False, ""),
    (lambda v: fields.check_floor("lifetime", v, "default"), 60, False, ""),
    (_match(fields.IFACE_RE), "gre0", False, ""),
    (_match(fields.IFACE_RE), "gre9", False, ""),
    (_match(fields.IFACE_RE), "gre10", False, ""),
    (_match(fields.IFACE_RE), "gre9999", False, ""),
    (_match(fields.IFACE_RE), "gre10000", True, ""),
    (_match(fields.IFACE_RE), "gre01", True, ""),
    (_match(fields.IFACE_RE), "gre00", True, ""),
    (_match(fields.IFACE_RE), "gre", True, ""),
    (_match(fields.IFACE_RE), "gre1\n", True, ""),
    (_match(fields.NAME_RE), "a", False, ""),
    (_match(fields.NAME_RE), "a" * 31, False, ""),
    (_match(fields.NAME_RE), "a" * 32, True, ""),
    (_match(fields.NAME_RE), "a-9", False, ""),
    (_match(fields.NAME_RE), "9a", True, ""),
    (_match(fields.NAME_RE), "-a", True, ""),
    (lambda v: fields.check_address(v), "192.0.2.1", False, ""),
    (lambda v: fields.check_address(v), "2001:db8::1", False, ""),
    (lambda v: fields.check_address(v), "192.0.2.1/32", True, "not an IP address"),
    (lambda v: fields.check_address(v), 3221225985, True, "must be an IP address"),
    (lambda v: fields.check_address(v, 4), "2001:db8::1", True, "not an IPv4 address"),
    (lambda v: fields.check_address(v, 6), "192.0.2.1", True, "not an IPv6 address"),
    (lambda v: fields.check_endpoint(v), "198.51.100.7", False, ""),
    (lambda v: fields.check_endpoint(v), "169.254.255.255", True, "link-local"),
    (lambda v: fields.check_endpoint(v), "169.255.0.0", False, ""),
    (lambda v: fields.check_endpoint(v), "fe80::1", True, "link-local"),
    (lambda v: fields.check_endpoint(v), "febf:ffff::1", True, "link-local"),
    (lambda v: fields.check_endpoint(v), "2001:db8::1", False, ""),
    (lambda v: fields.check_endpoint(v), "127.255.255.254", True, "loopback"),
    (lambda v: fields.check_endpoint(v), "::", True, "unspecified"),
    (lambda v: fields.check_endpoint(v), "239.255.255.255", True, "multicast"),
    (lambda v: fields.check_endpoint(v), "223.255.255.255", False, ""),
    (lambda v: fields.check_endpoint(v), "240.0.0.0", True, "reserved"),
    (lambda v: fields.check_endpoint(v), "::ffff:192.0.2.1", True, "IPv4-mapped"),
    (lambda v: fields.check_endpoint(v), "::192.0.2.1", True, "IPv4-compatible"),
    (lambda v: fields.check_endpoint(v), "::1:0:0:1", False, ""),
    (lambda v: fields.check_endpoint(v, 6), "192.0.2.1", True, "not an IPv6 address"),
    (lambda v: fields.check_endpoint(v), None, True, "must be an IP address"),
    (lambda v: fields.check_pool(v, 4), "172.20.1.0/31", False, ""),
    (lambda v: fields.check_pool(v, 4), "172.20.1.0/32", True, "no pair"),
    (lambda v: fields.check_pool(v, 4), "172.20.1.1/31", True, "host bits"),
    (lambda v: fields.check_pool(v, 4), "fd42::/64", True, "not an IPv4 network"),
    (lambda v: fields.check_pool(v, 4), 17, True, "CIDR"),
    (lambda v: fields.check_pool(v, 6), "fd42::/127", False, ""),
    (lambda v: fields.check_pool(v, 6), "fd42::/128", True, "no pair"),
    (lambda v: fields.check_pool(v, 6), "fd00::/8", False, ""),
    (lambda v: fields.check_pool(v, 6), "fc00::/7", True, "fd00::/8"),
    (lambda v: fields.check_pool(v, 6), "fcff::/16", True, "fd00::/8"),
    (lambda v: fields.check_pool(v, 6), "2001:db8::/64", True, "fd00::/8"),
    (lambda v: fields.check_pool(v, 6), "172.20.1.0/26", True, "not an IPv6 network"),
    (lambda v: fields.check_identity("fqdn", v), "a", False, ""),
    (lambda v: fields.check_identity("fqdn", v), "peer", True, "keyword"),
    (lambda v: fields.check_identity("fqdn", v), "a." * 125 + "abc", False, ""),
    (lambda v: fields.check_identity("fqdn", v), "a." * 125 + "abcd", True, "not a valid FQDN"),
    (lambda v: fields.check_identity("fqdn", v), "x.1", True, "not a valid FQDN"),
    (lambda v: fields.check_identity("fqdn", v), 5, True, "must be a string"),
    (lambda v: fields.check_identity("ufqdn", v), "u" * 64 + "@a.org", False, ""),
    (lambda v: fields.check_identity("ufqdn", v), "u" * 65 + "@a.org", True, "user@fqdn"),
    (lambda v: fields.check_identity("ufqdn", v), "a.b@a.org", False, ""),
    (lambda v: fields.check_identity("ufqdn", v), "a..b@a.org", True, "user@fqdn"),
    (lambda v: fields.check_identity("ufqdn", v), "a.@a.org", True, "user@fqdn"),
    (lambda v: fields.check_identity("ufqdn", v), "+a@a.org", True, "user@fqdn"),
    (lambda v: fields.check_identity("ufqdn", v), "a@", True, "user@fqdn"),
    (lambda v: fields.check_identity("ufqdn", v), "a@1", True, "user@fqdn"),
    (lambda v: fields.check_identity("ipv4", v), "192.0.2.1", False, ""),
    (lambda v: fields.check_identity("ipv4", v), "2001:db8::1", True, "not an IPv4 address"),
    (lambda v: fields.check_identity("ipv6", v), "2001:db8::1", False, ""),
    (lambda v: fields.check_identity("ipv6", v), "192.0.2.1", True, "not an IPv6 address"),
    (lambda v: fields.check_identity("asn", v), "4242421234", True, "unknown identity type"),
    (fields.check_description, "d" * 48, False, ""),
    (fields.check_description, "d" * 49, True, "49 characters long; at most 48"),
    (fields.check_description, "", False, ""),
    (fields.check_description, "aZ9 _.,:/@+-", False, ""),
    (fields.check_description, "a$b'c", True, "contains '$', \"'\":"),
    (fields.check_description, "a\nb", True, "contains '\\n'"),
    (fields.check_description, 7, True, "must be a string"),
]


@pytest.mark.parametrize(
    ("check", "value", "refused", "says"),
    FIELD_CASES,
    # plain ids: a node id must survive a command line (mutmut passes them to pytest)
    ids=[f"{i:03d}-{'refused' if refused else 'ok'}" for i, (_, _, refused, _) in
         enumerate(FIELD_CASES)],
)
def test_each_field_check_at_its_edge(check: Any, value: Any, refused: bool, says: str) -> None:
    problem = check(value)
    if not refused:
        assert problem is None
    else:
        assert problem is not None and says in problem, problem


def test_group_aliases_name_the_groups_they_stand_for() -> None:
    """grpN is the IKE transform number: ipsecctl's groupxfs table (sbin/ipsecctl/parse.y)."""
    assert {a: fields.canonical_group(a) for a in ("grp2", "grp14", "grp19", "grp30")} == {
        "grp2": "modp1024", "grp14": "modp2048", "grp19": "ecp256", "grp30": "bp512",
    }
    assert fields.canonical_group("modp3072") == "modp3072"


# The messages in full, one per kind: a peer reads them on the pull request.
MESSAGES = [
    (lambda: fields.check_address(5), "must be an IP address"),
    (lambda: fields.check_description(7), "must be a string"),
    (lambda: fields.check_description("a$b"),
     "contains '$': only letters, digits, space and - _ . , : / @ + are allowed "
     "(netstart evaluates hostname.if lines with the shell)"),
    (lambda: fields.check_floor("group", "modp1536", "default"),
     "modp1536 is below this router's crypto floor (policy.min_crypto: default); use one of "
     "modp2048, modp3072, modp4096, modp6144, modp8192, ecp256, ecp384, ecp521, bp256, bp384, "
     "bp512, or the router's operator sets policy.min_crypto: legacy in the agent's "
     "configuration"),
    (lambda: fields.check_identity("fqdn", 5), "must be a string"),
    (lambda: fields.check_identity("ufqdn", "+a@b.org"),
     "'+a@b.org' is not a valid user@fqdn (the user part is letters, digits and _ + - ., "
     "starting with a letter, digit or _, with no trailing or doubled dot)"),
    (lambda: fields.check_phase("quick", "group", "modp1000"),
     f"'modp1000' is not an ipsec.conf group value (one of: {', '.join(fields.GROUPS)})"),
    (lambda: fields.check_phase("quick", "enc", "chacha20-poly1305"),
     "isakmpd has no transform for chacha20-poly1305 (sbin/ipsecctl/ike.c): the rule would "
     "not load; use aes-256-gcm or aes-256"),
    (lambda: fields.check_phase("main", "enc", "aesctr"),
     "isakmpd does not accept aesctr in main mode (phase 1): use one of 3des-cbc, aes, "
     "aes-128, aes-192, aes-256, blowfish, cast128"),
    (lambda: fields.check_phase("main", "auth", "hmac-ripemd160"),
     "isakmpd does not accept hmac-ripemd160 in main mode (phase 1)"),
    (lambda: fields.check_phase("main", "group", "none"),
     "main mode needs a Diffie-Hellman group; 'none' is only for quick mode (no PFS)"),
    (lambda: fields.check_phase("main", "lifetime", True), "must be an integer number of seconds"),
    (lambda: fields.check_phase("quick", "lifetime", 59),
     "must be between 60 and 86400 seconds (isakmpd's range)"),
    (lambda: fields.check_pool(17, 4), "must be a network in CIDR form"),
    (lambda: fields.check_endpoint("::ffff:192.0.2.1"),
     "::ffff:c000:201 is an IPv4-mapped or IPv4-compatible IPv6 address: write the IPv4 "
     "address in the ipv4 field instead"),
    (lambda: fields.check_endpoint("127.0.0.1"),
     "127.0.0.1 cannot be a tunnel endpoint (multicast, unspecified, loopback or link-local)"),
]


@pytest.mark.parametrize(("check", "message"), MESSAGES,
                         ids=[f"message-{i:02d}" for i in range(len(MESSAGES))])
def test_field_check_messages(check: Any, message: str) -> None:
    assert check() == message
