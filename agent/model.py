"""The desired state as plain frozen data: routers and each router's resolved peerings.

A `Peering` is one router's complete view of one tunnel: both endpoints, both IKE
identities, the peer's key, the merged crypto and the gre settings. Internal links (both
routers managed here) are written once in the repo and yield one `Peering` on each side.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

PUBKEY_DIR = "/etc/isakmpd/pubkeys"
ID_TYPES = ("ipv4", "ipv6", "fqdn", "ufqdn")


@dataclass(frozen=True)
class Identity:
    """An IKE identity: how isakmpd names a peer, and so where it looks for the peer's key."""

    type: str  # one of ID_TYPES
    value: str  # IPv6 always in compressed form

    @property
    def pubkey_path(self) -> str:
        """Where isakmpd reads this identity's public key (ike_auth.c: <dir>/<type>/<id>)."""
        return f"{PUBKEY_DIR}/{self.type}/{self.value}"

    @property
    def kernel_id(self) -> str:
        """The string isakmpd stores in flows' srcid/dstid (pf_key_v2.c: a.b.c.d/32, x::y/128)."""
        if self.type == "ipv4":
            return f"{self.value}/32"
        if self.type == "ipv6":
            return f"{self.value}/128"
        return self.value

    @staticmethod
    def of_address(address: str) -> Identity:
        return _identity_of_address(address)


@functools.lru_cache(maxsize=16384)  # asked per peering and per render of each rule
def _identity_of_address(address: str) -> Identity:
    ip = ipaddress.ip_address(address)
    return Identity("ipv4" if ip.version == 4 else "ipv6", str(ip))


@dataclass(frozen=True)
class Phase:
    """One IKE phase's proposal, every parameter explicit."""

    auth: str | None  # None with an AEAD cipher: authentication is implicit (parse.y)
    enc: str
    group: str
    lifetime: int


@dataclass(frozen=True)
class Crypto:
    main: Phase
    quick: Phase


DEFAULT_CRYPTO = Crypto(
    main=Phase("hmac-sha2-256", "aes-256", "modp2048", 28800),
    quick=Phase("hmac-sha2-256", "aes-256", "modp2048", 3600),
)


@dataclass(frozen=True)
class Router:
    name: str
    asn: int
    ipv4: str | None
    ipv6: str | None
    identity: Identity | None  # None: the endpoint address of the family a peering uses
    public_key: str | None  # SPKI PEM of /etc/isakmpd/local.pub
    crypto: Crypto
    mtu: int | None  # gre.mtu of the router file; None: each peering fits its own
    source: str
    # Where `peer new` proposes transfer pairs from: compressed CIDR strings, per family.
    pools4: tuple[str, ...] = ()
    pools6: tuple[str, ...] = ()

    def endpoint(self, family: int) -> str | None:
        return self.ipv4 if family == 4 else self.ipv6

    def identity_for(self, endpoint: str) -> Identity:
        return self.identity or Identity.of_address(endpoint)


@dataclass(frozen=True)
class Ipv4Pair:
    """An IPv4 transfer pair on a /32 point-to-point link: the address on the router (the
    one this view belongs to) and the address on the peer."""

    router: str
    peer: str


@dataclass(frozen=True)
class Ipv6Config:
    """IPv6 on the tunnel: "eui64" (kernel link-local), "link-local" pair or "ula" /127 pair."""

    mode: str
    router: str | None = None  # the address on the router (this view's side)
    peer: str | None = None  # the address on the peer

    @property
    def prefixlen(self) -> int:
        return 64 if self.mode == "link-local" else 127


@dataclass(frozen=True)
class Peering:
    """One router's view of one peering, every default resolved."""

    router: str
    peer: str
    asn: int
    internal: bool
    local_endpoint: str
    remote_endpoint: str
    local_id: Identity
    remote_id: Identity
    public_key: str  # the peer's key, SPKI PEM
    crypto: Crypto
    interface: str | None  # explicit greN, or None for a stable allocation
    mtu: int  # set by the loader: as written, or the largest that fits ESP (agent/esp.py)
    ipv4: Ipv4Pair | None
    ipv6: Ipv6Config | None
    description: str | None
    source: str

    @property
    def family(self) -> int:
        return ipaddress.ip_address(self.remote_endpoint).version

    @property
    def needs_srcid(self) -> bool:
        return self.local_id != Identity.of_address(self.local_endpoint)

    @property
    def needs_dstid(self) -> bool:
        return self.remote_id != Identity.of_address(self.remote_endpoint)


@dataclass(frozen=True)
class Inventory:
    """A loaded, validated state repo."""

    routers: dict[str, Router]
    peerings: dict[str, tuple[Peering, ...]]  # router name -> its peerings, sorted by peer name

    def for_router(self, name: str) -> tuple[Peering, ...]:
        return self.peerings.get(name, ())
