"""IKE between simulated routers: which flows and SAs the kernel of this router holds.

Computed at observation time (inside `ipsecctl -s`) as a pure function of this router's state
and files and, for each connection, the state and files of the other end, so both ends of a
pair always agree (same SAs, same SPIs). Nothing is written here; agent.sim.ike_memo keeps a
view between commands while nothing it was computed from changes.

A connection (a name in isakmpd's [Phase 2]:Connections / Passive-Connections, decoded from
the section database ipsecctl wrote through the FIFO, see agent.sim.isakmpd) is up when:
- isakmpd runs here and there with -K (without -K KeyNote policy decides: not simulated);
- the other end is found: an external peer of the fleet whose endpoint is our peer address,
  or another managed router whose isakmpd holds the mirror connection (its local address is
  our peer, its peer is our local address, its phase 2 Local-ID/Remote-ID are our
  Remote-ID/Local-ID, same protocol and ports);
- one end may initiate (active or dynamic, with an explicit peer) and the responder accepts
  it: same phase 1 exchange type; a phase 1 transform of the initiator matches one of the
  responder's [Phase 1]:<initiator address> section (method, hash, cipher, key length within
  the responder's range, group); same PSK, or RSA signatures both ways: the signer's
  /etc/isakmpd/private/local.key passes util.c `check_file_secrecy_fd` (owner root, no
  group/other bit) and is an RSA PEM key, the verifier's Remote-ID (if set) is the signer's
  ID, and the verifier's /etc/isakmpd/pubkeys/<ipv4|ipv6|fqdn|ufqdn>/<signer ID> (an RSA
  "PUBLIC KEY" or "RSA PUBLIC KEY" PEM, ike_auth.c) holds the public half of that key;
  a phase 2 transform of the initiator matches the responder's (protocol, cipher, key length,
  auth, PFS group, encapsulation). isakmpd only checks a Remote-ID when one is configured
  (ike_phase_1.c `ike_phase_1_recv_ID`), so without dstid any ID with a public key file works.
- The signer's ID is the phase 1 ID of its peer section (srcid) or else its local address.

Then the router has 2 flows (`in` and `out`, type require as current pf_key_v2.c installs
both) with srcid/dstid as pf_key_v2.c prints IDs (IPv4 `a.b.c.d/32`, IPv6 `x::y/128`, names
bare), and 2 SAs whose names are what pfkdump.c derives from the negotiated algorithm and key
length (AES-128 -> `aes`, AEAD ciphers print no auth).

SPIs are a hash of both ends (addresses, isakmpd pids, `ipsecctl -F` generations, connection
serials), so they change when either side restarts isakmpd, flushes, or re-adds the rule.

Simplified (documented, not guessed): SAs follow the current config at once (a real isakmpd
keeps old SAs until rekey and needs a few seconds to negotiate new ones); a default peer
(`peer any` or a network destination without `peer`) never comes up; the local address of a
connection is `local` or the host address of its Local-ID (tunnels between networks need
`local`); lifetimes are not compared; external peers are modelled as main-mode, RSA, ESP
transport peers of `proto gre` between local_endpoint and endpoint.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.sim import fleet_index
from agent.sim import state as simstate
from agent.sim.files import RouterFiles
from agent.sim.fleet import load_fleet
from agent.sim.ike_conf import P1_AUTH, P1_ENC, P2_AUTH, P2_ENC
from agent.sim.isakmpd import conf_list, running, secrecy_problem
from agent.sim.parse_y import AUTHXFS, ENCXFS, GROUPXFS, ntop, parse_xf

PRIVATE_KEY = "/etc/isakmpd/private/local.key"
LOCAL_PUB = "/etc/isakmpd/local.pub"
PUBKEY_DIR = "/etc/isakmpd/pubkeys"
ID_DIRS = {"IPV4_ADDR": "ipv4", "IPV6_ADDR": "ipv6", "FQDN": "fqdn", "USER_FQDN": "ufqdn"}
FLEET_ID_TYPES = {"ipv4": "IPV4_ADDR", "ipv6": "IPV6_ADDR", "fqdn": "FQDN", "ufqdn": "USER_FQDN"}

Numbers = tuple[int, int]  # RSA (n, e)


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KernelFlow:
    """One SPD entry as `ipsecctl -sf` prints it."""

    satype: str
    direction: str
    proto: int
    src: str
    sport: int
    dst: str
    dport: int
    peer: str
    srcid: str
    dstid: str
    ftype: str = "require"


@dataclass(frozen=True, slots=True)
class KernelSA:
    """One SAD entry as `ipsecctl -ss` prints it (keys are synthetic, for -k, and made only
    when asked for: most looks at the SAD never show them)."""

    satype: str
    tmode: str
    src: str
    dst: str
    spi: int
    auth: str | None
    enc: str | None
    seed: bytes
    authkey_len: int
    enckey_len: int

    @property
    def authkey(self) -> bytes:
        return _key_bytes(self.seed + b"a", self.authkey_len)

    @property
    def enckey(self) -> bytes:
        return _key_bytes(self.seed + b"e", self.enckey_len)


@dataclass
class IkeView:
    """Flows (kernel order), SAs (unsorted) and, per connection, "up" or why it is not."""

    flows: list[KernelFlow]
    sas: list[KernelSA]
    status: dict[str, str]


# -- keys -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def private_numbers(data: bytes) -> Numbers | None:
    """Public (n, e) of a PEM RSA private key (PKCS#1 or PKCS#8, unencrypted), else None."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(data, password=None, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, rsa.RSAPrivateKey):
        return None
    numbers = key.public_key().public_numbers()
    return numbers.n, numbers.e


# One parse per key text (the same key is read per connection), remembered by the text's
# digest: keyed by the text itself, a thousand peers' keys kept half a megabyte alive.
_PUBLIC_NUMBERS: dict[bytes, Numbers | None] = {}


def public_numbers(data: bytes) -> Numbers | None:
    """(n, e) of a PEM RSA public key: "PUBLIC KEY" (SPKI) or "RSA PUBLIC KEY" (PKCS#1)."""
    digest = hashlib.sha256(data).digest()
    if digest not in _PUBLIC_NUMBERS:
        if len(_PUBLIC_NUMBERS) >= 4096:
            _PUBLIC_NUMBERS.clear()
        _PUBLIC_NUMBERS[digest] = _parse_public_numbers(data)
    return _PUBLIC_NUMBERS[digest]


def _parse_public_numbers(data: bytes) -> Numbers | None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, rsa.RSAPublicKey):
        return None
    numbers = key.public_numbers()
    return numbers.n, numbers.e


# -- decoded isakmpd configuration ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyLen:
    """KEY_LENGTH=offer,min:max (isakmpd: the offered length and the accepted range)."""

    offer: int
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class P1Xf:
    method: str
    hash: str
    enc: str
    keylen: KeyLen | None
    group: str


@dataclass(frozen=True, slots=True)
class P2Xf:
    transform_id: str
    keylen: KeyLen | None
    encap: str
    auth: str | None
    group: str | None


@dataclass(frozen=True, slots=True)
class P1Conf:
    """A phase 1 peer section: exchange, transforms, PSK, own ID and expected peer ID."""

    section: str
    exchange: str
    transforms: tuple[P1Xf, ...]
    psk: str | None
    my_id: tuple[str, str] | None
    remote_id: tuple[str, str] | None
    address: str | None
    local_address: str | None


@dataclass(frozen=True, slots=True)
class NetId:
    """A phase 2 ID: an address or subnet, protocol and port."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    subnet: bool
    proto: int
    port: int

    def render(self) -> str:
        """ipsecctl_print_addr: host addresses bare, networks with /bits."""
        text = ntop(self.network.network_address)
        return f"{text}/{self.network.prefixlen}" if self.subnet else text


@dataclass(frozen=True, slots=True)
class Conn:
    """One phase 2 connection of an isakmpd."""

    name: str
    passive: bool
    serial: int
    p1: P1Conf
    peer_addr: str | None
    local_addr: str | None
    protocol: str
    transforms: tuple[P2Xf, ...]
    local_id: NetId
    remote_id: NetId


class Conf:
    """isakmpd's section database as a look reads it (agent.sim.isakmpd keeps it one store
    row per section): a section is decoded when first asked for and kept until `forget()`,
    so a look at a thousand connections need not hold all their sections at once."""

    def __init__(self, rows: Mapping[str, dict[str, str]]) -> None:
        # A store's table is peeked at: the view's input is isakmpd's generation instead.
        self._read = rows.peek if isinstance(rows, simstate.Table) else rows.get
        self._kept: dict[str, dict[str, str] | None] = {}

    def get(self, section: str) -> dict[str, str]:
        """The tags of a (lower-case) section; empty when there is none."""
        if section not in self._kept:
            self._kept[section] = self._read(section)
        return self._kept[section] or _EMPTY

    def forget(self) -> None:
        self._kept.clear()


def _get(conf: Conf, section: str, tag: str) -> str | None:
    """conf_get_str: sections and tags compare case-insensitively (stored lower-case)."""
    return conf.get(_lower(section)).get(_lower(tag))


_EMPTY: dict[str, str] = {}
_lower = functools.lru_cache(maxsize=256)(str.lower)  # tags; section names go by


# Small caches: what recurs is a router's own address and ID (in every connection of a look);
# a peer's is asked once per look, and at a thousand peers 4096 entries each held ~0.8 MiB
# more at the first apply's peak memory (its verify), for no CPU measured.
@functools.lru_cache(maxsize=256)
def canon(text: str | None) -> str | None:
    """The address as isakmpd prints it (inet_ntop), or None when it is not an address."""
    if text is None:
        return None
    try:
        return ntop(ipaddress.ip_address(text))
    except ValueError:
        return None


def _keylen(value: str | None) -> KeyLen | None:
    if not value:
        return None
    try:
        offer, rng = value.split(",", 1)
        low, high = rng.split(":", 1)
        return KeyLen(int(offer), int(low), int(high))
    except ValueError:
        return None


def _phase1_id(conf: Conf, section: str | None) -> tuple[str, str] | None:
    """An ID section (ID-type, Address or Name) as (type, value); addresses canonical."""
    if section is None:
        return None
    kind = _get(conf, section, "ID-type")
    if kind in ("IPV4_ADDR", "IPV6_ADDR"):
        value = canon(_get(conf, section, "Address"))
    else:
        value = _get(conf, section, "Name")
    return (kind, value) if kind in ID_DIRS and value else None


def decode_p1(conf: Conf, section: str) -> P1Conf | None:
    """Read a phase 1 peer section and its transforms; None when incomplete."""
    config = _get(conf, section, "Configuration")
    if config is None:
        return None
    transforms = []
    for name in conf_list(_get(conf, config, "Transforms") or ""):
        xf = _p1_transform(conf, name)
        if xf is not None:
            transforms.append(xf)
    return P1Conf(
        section=section,
        exchange=_get(conf, config, "EXCHANGE_TYPE") or "",
        transforms=tuple(transforms),
        psk=_get(conf, section, "Authentication"),
        my_id=_phase1_id(conf, _get(conf, section, "ID")),
        remote_id=_phase1_id(conf, _get(conf, section, "Remote-ID")),
        address=canon(_get(conf, section, "Address")),
        local_address=canon(_get(conf, section, "Local-address")),
    )


def _p1_transform(conf: Conf, name: str) -> P1Xf | None:
    method = _get(conf, name, "AUTHENTICATION_METHOD")
    hash_alg = _get(conf, name, "HASH_ALGORITHM")
    enc = _get(conf, name, "ENCRYPTION_ALGORITHM")
    group = _get(conf, name, "GROUP_DESCRIPTION")
    if not (method and hash_alg and enc and group):
        return None
    return P1Xf(method, hash_alg, enc, _keylen(_get(conf, name, "KEY_LENGTH")), group)


def _p2_transform(conf: Conf, name: str) -> P2Xf | None:
    transform_id = _get(conf, name, "TRANSFORM_ID")
    encap = _get(conf, name, "ENCAPSULATION_MODE")
    if not (transform_id and encap):
        return None
    auth = _get(conf, name, "AUTHENTICATION_ALGORITHM")
    return P2Xf(
        transform_id,
        _keylen(_get(conf, name, "KEY_LENGTH")),
        encap,
        auth.removeprefix("HMAC_") if auth else None,
        _get(conf, name, "GROUP_DESCRIPTION"),
    )


def _net_id(conf: Conf, section: str | None) -> NetId | None:
    if section is None:
        return None
    fields = conf.get(_lower(section))
    return _make_net_id(
        fields.get("id-type") or "",
        fields.get("address"),
        fields.get("network"),
        fields.get("netmask"),
        fields.get("protocol"),
        fields.get("port"),
    )


@functools.lru_cache(maxsize=256)
def _make_net_id(
    kind: str,
    address: str | None,
    network: str | None,
    netmask: str | None,
    proto: str | None,
    port: str | None,
) -> NetId | None:
    """A phase 2 ID section's values as a NetId (cached: a router's own ID recurs)."""
    try:
        if kind in ("IPV4_ADDR", "IPV6_ADDR"):
            net = ipaddress.ip_network(ipaddress.ip_address(address or ""))
        elif kind in ("IPV4_ADDR_SUBNET", "IPV6_ADDR_SUBNET"):
            base = ipaddress.ip_address(network or "")
            bits = bin(int(ipaddress.ip_address(netmask or ""))).count("1")
            net = ipaddress.ip_network(f"{base}/{bits}", strict=False)
        else:
            return None
        return NetId(net, kind.endswith("SUBNET"), int(proto or 0), int(port or 0))
    except ValueError:
        return None


def decode_connection(conf: Conf, name: str, passive: bool, serial: int) -> Conn | str:
    """One connection from the section database, or why it cannot be negotiated."""
    p1name = _get(conf, name, "ISAKMP-peer")
    p1 = decode_p1(conf, p1name) if p1name else None
    if p1 is None:
        return f"incomplete phase 1 configuration for {name}"
    p2conf = _get(conf, name, "Configuration") or ""
    suite = _get(conf, p2conf, "Suites") or ""
    protocol_section = conf_list(_get(conf, suite, "Protocols") or "")
    proto_sec = protocol_section[0] if protocol_section else ""
    protocol = _get(conf, proto_sec, "PROTOCOL_ID") or ""
    transforms = tuple(
        xf
        for xf in (
            _p2_transform(conf, t) for t in conf_list(_get(conf, proto_sec, "Transforms") or "")
        )
        if xf is not None
    )
    local_id = _net_id(conf, _get(conf, name, "Local-ID"))
    remote_id = _net_id(conf, _get(conf, name, "Remote-ID"))
    if not transforms or protocol not in ("IPSEC_ESP", "IPSEC_AH") or not local_id or not remote_id:
        return f"incomplete phase 2 configuration for {name}"
    local_addr = p1.local_address
    if local_addr is None and not local_id.subnet:
        local_addr = ntop(local_id.network.network_address)
    return Conn(
        name, passive, serial, p1, p1.address, local_addr, protocol, transforms, local_id, remote_id
    )


# -- one router, read-only ------------------------------------------------------------------


def read_under(files: RouterFiles, path: str) -> bytes | None:
    """The contents of a router's file, or None when it is missing, not a file, or not a
    plain absolute path (isakmpd would not find a pubkey whose ID walks up with `..`)."""
    if "/../" in f"{path}/" or not path.startswith("/"):
        return None
    return files.read(path)


def stat_mode(files: RouterFiles, path: str) -> int | None:
    """st_mode (links followed, as isakmpd's open does), None when there is nothing."""
    st = files.stat(path)
    return None if st is None else st.st_mode


def content_print(data: bytes | None) -> str:
    """A short stand-in for file contents (or their absence), to tell a change."""
    return "-" if data is None else hashlib.sha1(data, usedforsecurity=False).hexdigest()


class RouterView:
    """A router's state and files as isakmpd there would see them (read-only)."""

    def __init__(self, name: str, root: Path, state: dict[str, Any]) -> None:
        self.name = name
        self.root = root
        self.files = simstate.router_files(root)
        self.state = state
        self.running = running(state)
        self.ist: dict[str, Any] = state.get("isakmpd", {}) if self.running else {}
        self.pid = int(state["daemons"]["isakmpd"]["pid"]) if self.running else 0
        self.flushgen = int(state.get("ipsec", {}).get("flush_generation", 0))
        rows = state.get(simstate.CONF_TABLE) if self.running else None
        self.conf = Conf(rows if rows is not None else {})  # (not bool(rows): a whole-table look)
        # Decoded connections, kept with a state another router's look shares (a fleet's
        # hundred peer routers are looked at by every look of their hub: decoded once).
        self._derived = simstate.derived(root, state)
        self._decoded: dict[str, Conn | str] = self._derived.setdefault("connections", {})
        self._key: tuple[Numbers | None, str] | None = None
        # When a dict: what each file look saw (agent.sim.ike_memo keeps a view with it).
        self.seen: dict[str, str] | None = None

    def read(self, path: str) -> bytes | None:
        """File contents, or None when it is missing (or the path is not a plain one)."""
        data = read_under(self.files, path)
        if self.seen is not None:
            self.seen[f"data {path}"] = content_print(data)
        return data

    def local_key(self) -> tuple[Numbers | None, str]:
        """Our RSA key as isakmpd loads it (secrecy check first), or None and the reason."""
        if self._key is None:
            self._key = self._load_local_key()
        return self._key

    def _load_local_key(self) -> tuple[Numbers | None, str]:
        mode = stat_mode(self.files, PRIVATE_KEY)
        if self.seen is not None:
            self.seen[f"mode {PRIVATE_KEY}"] = str(mode)
        if mode is None:
            return None, f"{PRIVATE_KEY}: No such file or directory"
        uid = int(self.state.get("owners", {}).get(PRIVATE_KEY, [0, 0])[0])
        problem = secrecy_problem(PRIVATE_KEY, uid, mode)
        if problem is not None:
            return None, problem
        data = self.read(PRIVATE_KEY) if stat.S_ISREG(mode) else None
        numbers = private_numbers(data) if data is not None else None
        if numbers is None:
            return None, f"{PRIVATE_KEY}: not an RSA private key (PEM)"
        return numbers, "ok"

    def pubkey(self, ident: tuple[str, str]) -> Numbers | None:
        """The key in pubkeys/<type>/<id> (no permission check on these files)."""
        data = self.read(pubkey_path(ident))
        return public_numbers(data) if data is not None else None

    @functools.cached_property
    def local_pub(self) -> Numbers | None:
        """The key in local.pub, read once per look at this router."""
        data = self.read(LOCAL_PUB)
        return public_numbers(data) if data is not None else None

    def connection(self, name: str) -> Conn | str:
        """One loaded connection, decoded once."""
        if name not in self._decoded:
            self._decoded[name] = self._decode(name)
        return self._decoded[name]

    def _decode(self, name: str) -> Conn | str:
        entry = self.ist.get("connections", {}).get(name, {})
        return decode_connection(
            self.conf, name, bool(entry.get("passive")), int(entry.get("serial", 0))
        )

    def each_connection(self) -> Iterator[tuple[str, Conn | str]]:
        """Every loaded connection by name, decoded one at a time and not kept (a look at
        its own thousand connections holds the sections of one)."""
        for name in sorted(self.ist.get("connections", {})):
            yield name, self._decoded.get(name) or self._decode(name)
            self.conf.forget()

    def connections(self) -> dict[str, Conn | str]:
        """Every loaded connection, by name."""
        return {name: self.connection(name) for name in sorted(self.ist.get("connections", {}))}

    def peer_index(self) -> dict[str | None, list[str]]:
        """Connection names by the (canonical) address of their phase 1 peer."""
        by_peer: dict[str | None, list[str]] | None = self._derived.get("by_peer")
        if by_peer is None:
            by_peer = self._derived["by_peer"] = {}
            for name in sorted(self.ist.get("connections", {})):
                p1name = _get(self.conf, name, "ISAKMP-peer")
                address = canon(_get(self.conf, p1name, "Address")) if p1name else None
                by_peer.setdefault(address, []).append(name)
        return by_peer


def known(address: str | None) -> str:
    """An address that _evaluate() has already checked is set."""
    if address is None:
        raise ValueError("connection address unknown")
    return address


def pubkey_path(ident: tuple[str, str]) -> str:
    """ike_auth.c: <Pubkey-directory>/<ipv4|ipv6|fqdn|ufqdn>/<id>."""
    return f"{PUBKEY_DIR}/{ID_DIRS[ident[0]]}/{ident[1]}"


def format_id(ident: tuple[str, str]) -> str:
    """pf_key_v2.c `pf_key_v2_convert_id`: the srcid/dstid text of a flow."""
    kind, value = ident
    if kind == "IPV4_ADDR":
        return f"{value}/32"
    if kind == "IPV6_ADDR":
        return f"{value}/128"
    return value


@dataclass(frozen=True, slots=True)
class Side:
    view: RouterView
    conn: Conn


def _sent_id(p1: P1Conf, local_addr: str) -> tuple[str, str]:
    """The phase 1 ID a side sends: its configured ID, else its address."""
    if p1.my_id is not None:
        return p1.my_id
    return ("IPV6_ADDR" if ":" in local_addr else "IPV4_ADDR", local_addr)


# -- negotiation ----------------------------------------------------------------------------


def _keylen_ok(offer: KeyLen | None, accept: KeyLen | None) -> bool:
    if offer is None or accept is None:
        return offer is None and accept is None
    return accept.low <= offer.offer <= accept.high


def _p1_ok(offer: P1Xf, accept: P1Xf) -> bool:
    return (offer.method, offer.hash, offer.enc, offer.group) == (
        accept.method,
        accept.hash,
        accept.enc,
        accept.group,
    ) and _keylen_ok(offer.keylen, accept.keylen)


def _p2_ok(offer: P2Xf, accept: P2Xf) -> bool:
    return (offer.transform_id, offer.auth, offer.group, offer.encap) == (
        accept.transform_id,
        accept.auth,
        accept.group,
        accept.encap,
    ) and _keylen_ok(offer.keylen, accept.keylen)


def _responder_p1(side: Side, remote: str) -> P1Conf | None:
    """The responder's peer section for an initiator address ([Phase 1]:<addr> or Default)."""
    section = _get(side.view.conf, "Phase 1", remote) or _get(side.view.conf, "Phase 1", "Default")
    return decode_p1(side.view.conf, section) if section else None


def _rsa_ok(signer: Side, signer_p1: P1Conf, verifier: Side, verifier_p1: P1Conf) -> str | None:
    """Can `verifier` check a signature of `signer`? None when yes, else why not."""
    key, why = signer.view.local_key()
    if key is None:
        return f"{signer.view.name}: {why}"
    ident = _sent_id(signer_p1, known(signer.conn.local_addr))
    if verifier_p1.remote_id is not None and verifier_p1.remote_id != ident:
        return (
            f"{verifier.view.name}: received remote ID other than expected "
            f"{verifier_p1.remote_id[1]}"
        )
    pub = verifier.view.pubkey(ident)
    if pub is None:
        return f"{verifier.view.name}: no RSA public key in {pubkey_path(ident)}"
    if pub != key:
        return f"{verifier.view.name}: {pubkey_path(ident)} is not the key of {signer.view.name}"
    return None


@dataclass(frozen=True, slots=True)
class _Deal:
    """A negotiated pair: who initiated, the phase 2 transform, each side's peer section."""

    initiator: Side
    responder: Side
    xf: P2Xf
    init_p1: P1Conf
    resp_p1: P1Conf


def _try(init: Side, resp: Side) -> _Deal | str:
    """Initiator `init` negotiates with responder `resp`: a deal or why it fails."""
    init_addr = known(init.conn.local_addr)
    resp_p1 = _responder_p1(resp, init_addr)
    if resp_p1 is None:
        return f"{resp.view.name}: no phase 1 configuration for {init_addr}"
    init_p1 = init.conn.p1
    if init_p1.exchange != resp_p1.exchange:
        return "phase 1 exchange types differ (main/aggressive)"
    chosen = next(
        (t for t in init_p1.transforms if any(_p1_ok(t, r) for r in resp_p1.transforms)), None
    )
    if chosen is None:
        return f"{resp.view.name}: no acceptable phase 1 proposal"
    if chosen.method == "PRE_SHARED":
        if init_p1.psk is None or init_p1.psk != resp_p1.psk:
            return "pre-shared keys differ"
    else:
        for problem in (
            _rsa_ok(init, init_p1, resp, resp_p1),
            _rsa_ok(resp, resp_p1, init, init_p1),
        ):
            if problem is not None:
                return problem
    if init.conn.protocol != resp.conn.protocol:
        return "phase 2 protocols differ (esp/ah)"
    for offer in init.conn.transforms:
        if any(_p2_ok(offer, accept) for accept in resp.conn.transforms):
            return _Deal(init, resp, offer, init_p1, resp_p1)
    return f"{resp.view.name}: no acceptable phase 2 proposal"


def _negotiate(a: Side, b: Side) -> _Deal | str:
    """Try each end that can initiate (in a fixed order, so both ends reach the same result)."""
    if not b.view.running:
        return f"isakmpd is not running on {b.view.name}"
    if b.view.ist.get("keynote"):
        return f"isakmpd on {b.view.name} runs without -K (KeyNote policy is not simulated)"
    reasons = []
    for init, resp in sorted(
        ((a, b), (b, a)), key=lambda p: (p[0].conn.local_addr or "", p[0].view.name)
    ):
        if init.conn.passive:
            reasons.append(f"{init.view.name}: passive")
            continue
        deal = _try(init, resp)
        if isinstance(deal, _Deal):
            return deal
        reasons.append(deal)
    return "; ".join(reasons)


# -- the fleet --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def fleet_root(root: str) -> Path:
    """A root named in the fleet file, resolved once per process (a look at the fleet
    resolved every router's path: a thousand realpath walks per look)."""
    return Path(root).resolve()


@functools.lru_cache(maxsize=8)
def _fleet_paths(routers: tuple[tuple[str, str], ...]) -> list[tuple[str, Path, str]]:
    """(name, resolved root, the same as a string) of each of a fleet file's routers: each
    look of a simulation walks a thousand of them, and compared Paths (slow) before."""
    return [(name, path, str(path)) for name, path in ((n, fleet_root(r)) for n, r in routers)]


def load_state(root: Path, needles: frozenset[bytes] = frozenset()) -> dict[str, Any] | None:
    """Another router's state, read without its lock (a reader sees the last commit).

    With `needles`, a router whose isakmpd state contains none of them is not loaded (None):
    it cannot hold a connection towards us. Treat the result as read-only.
    """
    return simstate.snapshot_cached(
        ("state", str(root), needles), lambda: _load_state(root, needles)
    )


def _load_state(root: Path, needles: frozenset[bytes]) -> dict[str, Any] | None:
    if not simstate.is_provisioned(root):
        return None
    if needles and not simstate.mentions(root, simstate.CONF_TABLE, needles):
        return None
    return simstate.load_unchanged(root)


class _Fleet:
    """The other ends this router can reach: fleet routers (loaded lazily) and externals."""

    def __init__(self, me: RouterView) -> None:
        self.me = me
        fleet = load_fleet(me.root)
        self.routers: dict[str, str] = fleet.get("routers", {})
        self._index: dict[str, list[tuple[RouterView, str]]] | None = None
        # Per address of ours: the decoded connections towards it by their local address (a
        # router's hundred connections from one address would each scan all hundred).
        self._towards: dict[str, dict[str | None, list[Side]]] = {}
        # This router's external peers by endpoint (not a scan of all of them per peer), each
        # kept as its JSON text and decoded when a connection asks for it: the decoded fleet
        # file held through a whole look was the largest part of a verify (3.4 MiB at N=1000).
        self._externals: dict[str | None, list[str]] = {}
        for entry in fleet.get("external", {}).get(me.name, {}).values():
            self._externals.setdefault(canon(entry.get("endpoint")), []).append(json.dumps(entry))

    @property
    def alone(self) -> bool:
        """True while no other router of the fleet was looked at."""
        return self._index is None

    def _build_index(self) -> dict[str, list[tuple[RouterView, str]]]:
        """Peer address -> (router, connection name) over every other running isakmpd."""
        ours = {
            c.local_addr
            for c in self.me.connections().values()
            if isinstance(c, Conn) and c.local_addr
        }
        needles = frozenset(f'"{addr}"'.encode() for addr in ours)
        index: dict[str, list[tuple[RouterView, str]]] = {}
        indexed = fleet_index.lookup(self.me.root, needles)  # one query, not one per router
        me = str(self.me.root)
        for name, path, text in _fleet_paths(tuple(sorted(self.routers.items()))):
            if name == self.me.name or text == me or fleet_index.skip(indexed, text):
                continue
            state = load_state(path, needles)
            view = RouterView(name, path, state) if state is not None else None
            if view is None or not view.running:
                continue
            for peer, names in view.peer_index().items():
                index.setdefault(peer or "", []).extend((view, n) for n in names)
        return index

    def external(self, peer: str, local: str) -> dict[str, Any] | None:
        for text in self._externals.get(peer, []):
            entry: dict[str, Any] = json.loads(text)
            if canon(entry.get("local_endpoint", local)) == local:
                return entry
        return None

    def mirror(self, conn: Conn) -> Side | None:
        """The connection of another router that mirrors `conn`, if one is loaded."""
        if self._index is None:
            self._index = self._build_index()
        ours = known(conn.local_addr)
        if ours not in self._towards:
            towards: dict[str | None, list[Side]] = {}
            for view, name in self._index.get(ours, []):
                other = view.connection(name)
                if isinstance(other, Conn):
                    towards.setdefault(other.local_addr, []).append(Side(view, other))
            self._towards[ours] = towards
        for side in self._towards[ours].get(conn.peer_addr, []):
            if side.conn.local_id == conn.remote_id and side.conn.remote_id == conn.local_id:
                return side
        return None


# -- external peers ---------------------------------------------------------------------------


def _ext_id(entry: dict[str, Any] | None) -> tuple[str, str] | None:
    if not entry or entry.get("type") not in FLEET_ID_TYPES:
        return None
    kind = FLEET_ID_TYPES[entry["type"]]
    value = canon(entry.get("value")) if kind in ("IPV4_ADDR", "IPV6_ADDR") else entry.get("value")
    return (kind, value) if value else None


def _ext_p1(prop: dict[str, Any]) -> P1Xf | None:
    auth = parse_xf(str(prop.get("auth", "")), AUTHXFS) if prop.get("auth") else None
    enc = parse_xf(str(prop.get("enc", "")), ENCXFS) if prop.get("enc") else None
    group = parse_xf(str(prop.get("group", "")), GROUPXFS) if prop.get("group") else None
    if not (auth and enc and group and auth.name in P1_AUTH and enc.name in P1_ENC and group.ident):
        return None
    alg, keylen = P1_ENC[enc.name]
    kl = _keylen(keylen)
    fixed = KeyLen(kl.offer, kl.offer, kl.offer) if kl else None
    return P1Xf("RSA_SIG", P1_AUTH[auth.name], f"{alg}_CBC", fixed, group.ident)


def _ext_p2(prop: dict[str, Any]) -> P2Xf | None:
    enc = parse_xf(str(prop.get("enc", "")), ENCXFS) if prop.get("enc") else None
    auth = parse_xf(str(prop.get("auth", "")), AUTHXFS) if prop.get("auth") else None
    group = parse_xf(str(prop.get("group", "")), GROUPXFS) if prop.get("group") else None
    if enc is None or enc.name not in P2_ENC or (auth is not None and auth.name not in P2_AUTH):
        return None
    alg, keylen, needauth = P2_ENC[enc.name]
    auth_alg = P2_AUTH[auth.name] if auth is not None and needauth else None
    if needauth and auth_alg is None:
        auth_alg = "SHA2_256"
    kl = _keylen(keylen)
    fixed = KeyLen(kl.offer, kl.offer, kl.offer) if kl else None
    pfs = (group.ident or None) if group is not None else "MODP_3072"
    return P2Xf(alg, fixed, "TRANSPORT", auth_alg, pfs)


def _external_deal(a: Side, ext: dict[str, Any]) -> tuple[P2Xf, tuple[str, str]] | str:
    """Negotiate with an external peer: the phase 2 transform and its ID, or why not."""
    name = ext.get("name", ext.get("endpoint"))
    if ext.get("state") != "up":
        return f"external peer {name} is {ext.get('state')}"
    main, quick = _ext_p1(ext.get("main") or {}), _ext_p2(ext.get("quick") or {})
    p1 = a.conn.p1
    if (
        main is None
        or p1.exchange != "ID_PROT"
        or not any(_p1_ok(main, t) or _p1_ok(t, main) for t in p1.transforms)
    ):
        return f"external peer {name}: no acceptable phase 1 proposal"
    problem = _external_auth(a, ext, str(name))
    if isinstance(problem, str):
        return problem
    local_endpoint = canon(ext.get("local_endpoint")) or a.conn.local_addr
    if (
        a.conn.protocol != "IPSEC_ESP"
        or a.conn.local_id.subnet
        or a.conn.remote_id.subnet
        or ntop(a.conn.local_id.network.network_address) != local_endpoint
        or ntop(a.conn.remote_id.network.network_address) != canon(ext.get("endpoint"))
        or a.conn.local_id.proto != 47
    ):
        return f"external peer {name}: phase 2 IDs are not proto gre between the endpoints"
    if quick is None or not any(_p2_ok(quick, t) or _p2_ok(t, quick) for t in a.conn.transforms):
        return f"external peer {name}: no acceptable phase 2 proposal"
    return quick, problem


def _external_auth(a: Side, ext: dict[str, Any], name: str) -> tuple[str, str] | str:
    """RSA both ways with an external peer; its ID when it works, else why not."""
    key, why = a.view.local_key()
    if key is None:
        return f"{a.view.name}: {why}"
    if a.view.local_pub != key:
        return f"{a.view.name}: {LOCAL_PUB} is not the public half of {PRIVATE_KEY}"
    if _sent_id(a.conn.p1, known(a.conn.local_addr)) != _ext_id(ext.get("expects_identity")):
        return f"external peer {name}: received remote ID other than expected"
    peer_id = _ext_id(ext.get("identity"))
    if peer_id is None:
        return f"external peer {name}: no identity"
    if a.conn.p1.remote_id is not None and a.conn.p1.remote_id != peer_id:
        return f"{a.view.name}: received remote ID other than expected {a.conn.p1.remote_id[1]}"
    theirs = public_numbers(str(ext.get("public_key", "")).encode())
    if theirs is None or a.view.pubkey(peer_id) != theirs:
        return f"{a.view.name}: {pubkey_path(peer_id)} is not the key of {name}"
    return peer_id


# -- output -----------------------------------------------------------------------------------

_ENC_KEY_BYTES = {"3DES": 24, "CAST": 16, "NULL": 0}
_AUTH_NAMES = {
    "MD5": ("hmac-md5", 16),
    "SHA": ("hmac-sha1", 20),
    "RIPEMD": ("hmac-ripemd160", 20),
    "SHA2_256": ("hmac-sha2-256", 32),
    "SHA2_384": ("hmac-sha2-384", 48),
    "SHA2_512": ("hmac-sha2-512", 64),
}


def enc_display(xf: P2Xf) -> tuple[str | None, int]:
    """pfkdump.c `pfkey_print_sa`: the enc name from algorithm and key length, key bytes."""
    bits = xf.keylen.offer if xf.keylen else 0
    if xf.transform_id == "AES":
        return {192: "aes-192", 256: "aes-256"}.get(bits, "aes"), bits // 8
    salted = {
        "AES_CTR": ("aesctr", "aes-192-ctr", "aes-256-ctr"),
        "AES_GCM_16": ("aes-128-gcm", "aes-192-gcm", "aes-256-gcm"),
        "AES_GMAC": ("aes-128-gmac", "aes-192-gmac", "aes-256-gmac"),
    }
    if xf.transform_id in salted:
        names = salted[xf.transform_id]
        return {192: names[1], 256: names[2]}.get(bits, names[0]), bits // 8 + 4
    simple = {"3DES": "3des-cbc", "BLOWFISH": "blowfish", "CAST": "cast128", "NULL": "null"}
    if xf.transform_id in simple:
        return simple[xf.transform_id], _ENC_KEY_BYTES.get(xf.transform_id, bits // 8)
    return None, 0


def _sa_names(protocol: str, xf: P2Xf) -> tuple[str | None, str | None, int, int]:
    """(auth, enc, auth key bytes, enc key bytes) as the SA line shows them."""
    if protocol == "IPSEC_AH":
        auth = _AUTH_NAMES.get(xf.transform_id)
        return (auth[0], None, auth[1], 0) if auth else (None, None, 0, 0)
    enc, enc_bytes = enc_display(xf)
    if xf.transform_id in ("AES_GCM_16", "AES_GMAC"):  # AEAD: the kernel prints no auth
        return None, enc, enc_bytes, enc_bytes
    auth = _AUTH_NAMES.get(xf.auth or "")
    return (auth[0] if auth else None), enc, (auth[1] if auth else 0), enc_bytes


def _material(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


def spi_for(sides: tuple[str, str], src: str, dst: str) -> int:
    """A deterministic SPI outside the reserved range 0-255 for the SA src -> dst."""
    low, high = sorted(sides)
    value = int.from_bytes(_material(low, high, src, dst)[:4], "big")
    return value if value >= 0x100 else value + 0x100


def _key_bytes(seed: bytes, size: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:size]


def _side_key(side: Side) -> str:
    return (
        f"{side.conn.local_addr}|{side.view.root}|{side.view.pid}|{side.view.flushgen}|"
        f"{side.conn.serial}|{side.conn.name}"
    )


def build(
    a: Side, other_key: str, xf: P2Xf, srcid: str, dstid: str
) -> tuple[list[KernelFlow], list[KernelSA]]:
    """The 2 flows and 2 SAs of side `a` for a negotiated transform."""
    conn = a.conn
    local_addr, peer_addr = known(conn.local_addr), known(conn.peer_addr)
    satype = "esp" if conn.protocol == "IPSEC_ESP" else "ah"
    local, remote = conn.local_id, conn.remote_id
    ends = {"in": (remote, local), "out": (local, remote)}
    flows = [
        KernelFlow(
            satype,
            way,
            local.proto,
            src.render(),
            src.port,
            dst.render(),
            dst.port,
            peer_addr,
            srcid,
            dstid,
        )
        for way, (src, dst) in ends.items()
    ]
    auth, enc, auth_bytes, enc_bytes = _sa_names(conn.protocol, xf)
    sides = (_side_key(a), other_key)
    sas = []
    for src, dst in ((local_addr, peer_addr), (peer_addr, local_addr)):
        spi = spi_for(sides, src, dst)
        seed = _material(spi, *sorted(sides))
        sas.append(
            KernelSA(
                satype,
                xf.encap.lower(),
                src,
                dst,
                spi,
                auth,
                enc,
                seed,
                auth_bytes,
                enc_bytes,
            )
        )
    return flows, sas


# -- entry point ------------------------------------------------------------------------------


def _evaluate(a: Side, fleet: _Fleet) -> tuple[list[KernelFlow], list[KernelSA]] | str:
    """Flows and SAs of one of our connections, or why it is not up."""
    if a.view.ist.get("keynote"):
        return "isakmpd runs without -K (KeyNote policy is not simulated)"
    if a.conn.peer_addr is None:
        return "default peer (peer any, or no peer for a network) is not simulated"
    if a.conn.local_addr is None:
        return "local address unknown (give `local` for a network Local-ID)"
    ext = fleet.external(a.conn.peer_addr, a.conn.local_addr)
    if ext is not None:
        deal = _external_deal(a, ext)
        if isinstance(deal, str):
            return deal
        xf, peer_id = deal
        ours = format_id(_sent_id(a.conn.p1, a.conn.local_addr))
        return build(
            a, f"external|{ext.get('name')}|{a.conn.peer_addr}", xf, ours, format_id(peer_id)
        )
    b = fleet.mirror(a.conn)
    if b is None:
        return f"no router of the fleet holds the mirror of {a.conn.name}"
    deal = _negotiate(a, b)
    if isinstance(deal, str):
        return deal
    a_p1 = deal.init_p1 if deal.initiator is a else deal.resp_p1
    b_p1 = deal.resp_p1 if deal.initiator is a else deal.init_p1
    return build(
        a,
        _side_key(b),
        deal.xf,
        format_id(_sent_id(a_p1, a.conn.local_addr)),
        format_id(_sent_id(b_p1, known(b.conn.local_addr))),
    )


def observe(root: Path, state: dict[str, Any], *, kept: bool = False) -> IkeView:
    """The flows and SAs of the router at `root` whose (locked) state is `state` (inside
    simstate.snapshot(), the same view again while nothing changed: treat it as read-only).

    kept: for a command that changed nothing before it looks (`ipsecctl -s`), the view an
    earlier command computed is reused when nothing it depends on changed (ike_memo)."""
    from agent.sim import ike_memo

    def compute() -> IkeView:
        if kept:
            return ike_memo.observe(root, state, _observe_traced)
        return _observe_traced(root, state)[0]

    return simstate.snapshot_cached(("ike", str(root)), compute)


def _observe_traced(
    root: Path, state: dict[str, Any]
) -> tuple[IkeView, dict[str, str] | None]:
    """The view, and what it saw of this router's files; None instead when it looked at
    other routers of the fleet too (their state and files are then part of the view)."""
    me = RouterView(str(simstate.read_host_info(root)["name"]), Path(root).resolve(), state)
    me.seen = {}
    view = IkeView([], [], {})
    if not me.running:
        return view, me.seen
    fleet = _Fleet(me)
    for name, conn in me.each_connection():
        if isinstance(conn, str):
            view.status[name] = conn
            continue
        result = _evaluate(Side(me, conn), fleet)
        if isinstance(result, str):
            view.status[name] = result
            continue
        view.status[name] = "up"
        view.flows.extend(result[0])
        view.sas.extend(result[1])
    return view, (me.seen if fleet.alone else None)
