"""`peer new`: write a peer's file the way a reviewer wants to read it.

Every value is checked before it reaches the text (names become paths, the rest becomes YAML),
strings are emitted as JSON-quoted YAML scalars, the key is normalised to SPKI PEM in a literal
block, and transfer addresses come from the router's pools unless given.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from agent.atomic import write_atomic
from agent.errors import PeeropsError
from agent.keys import PublicKeyError, parse_public_key
from agent.model import ID_TYPES, Inventory
from agent.repo import fields
from agent.repo.keyblock import key_block
from agent.repo.pools import free_pair


class ScaffoldError(PeeropsError):
    """A value given to `peer new` is unusable; nothing was written."""


@dataclass(frozen=True)
class NewPeer:
    router: str
    name: str
    asn: int
    endpoint: str
    key_text: str
    identity: str | None = None  # TYPE:VALUE, or a bare value whose type is inferred
    ipv4: tuple[str, str] | None = None  # (router, peer); None: from the pool
    ipv6: tuple[str, str] | str | None = None  # pair, "eui64", or None: from the pool
    description: str | None = None
    key_file: bool = False  # write the key to <name>.pub (public_key_file), e.g. to sign it


def parse_identity(text: str) -> tuple[str, str]:
    """TYPE:VALUE, or a value alone: an address is ipv4/ipv6, user@host ufqdn, else fqdn."""
    kind, sep, value = text.partition(":")
    if sep and kind in ID_TYPES:
        return kind, value
    try:
        return f"ipv{ipaddress.ip_address(text).version}", text
    except ValueError:
        return ("ufqdn" if "@" in text else "fqdn"), text


def scaffold(inventory: Inventory, repo: Path, new: NewPeer) -> list[Path]:
    """Write peers/<router>/<name>.yaml (and <name>.pub); return the paths written."""
    if not fields.NAME_RE.fullmatch(new.name):
        raise ScaffoldError(
            f"--name {new.name!r}: a lower-case letter, then up to 30 lower-case letters, "
            "digits or hyphens"
        )
    if new.router not in inventory.routers:
        known = ", ".join(inventory.routers) or "none"
        raise ScaffoldError(f"--router {new.router!r}: no such router (routers: {known})")
    if not 1 <= new.asn <= 4294967295:
        raise ScaffoldError(f"--asn {new.asn}: an AS number is 1..4294967295")
    if msg := fields.check_endpoint(new.endpoint):
        raise ScaffoldError(f"--endpoint: {msg}")
    try:
        key = parse_public_key(new.key_text)
    except PublicKeyError as exc:
        raise ScaffoldError(f"--key: {exc}") from None
    directory = repo / "peers" / new.router
    target = directory / f"{new.name}.yaml"
    if target.exists() or any(p.peer == new.name for p in inventory.for_router(new.router)):
        raise ScaffoldError(f"{new.router} already has a peering named {new.name}")
    text = _document(inventory, new, key.pem)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    if new.key_file:
        pub = directory / f"{new.name}.pub"
        write_atomic(pub, key.pem.encode(), 0o644)
        written.append(pub)
    write_atomic(target, text.encode(), 0o644)
    return [target, *written]


def _document(inventory: Inventory, new: NewPeer, pem: str) -> str:
    router = inventory.routers[new.router]
    family = ipaddress.ip_address(new.endpoint).version
    ours = router.endpoint(family)
    if ours is None:
        raise ScaffoldError(
            f"--endpoint {new.endpoint}: {router.name} has no IPv{family} endpoint to peer with"
        )
    ipv4 = new.ipv4 or free_pair(inventory, router.name, 4)
    ipv6 = new.ipv6 or free_pair(inventory, router.name, 6)
    if ipv4 is None and ipv6 is None:
        raise ScaffoldError(
            f"{router.source} declares no transfer_pools with a free pair: "
            "give --ipv4 ROUTER,PEER or --ipv6 ROUTER,PEER|eui64"
        )
    q = json.dumps
    out = [
        "# yaml-language-server: $schema=../../schema/peer.schema.json",
        f"# {new.name} peers with {router.name} (AS{router.asn}, {ours}); "
        "written by peerops peer new.",
        f"name: {new.name}                # must equal the file name",
        f"asn: {new.asn}            # your AS number",
        f"endpoint: {q(str(ipaddress.ip_address(new.endpoint)))}   "
        "# your public address: IKE and the gre tunnel",
    ]
    if new.identity:
        kind, value = parse_identity(new.identity)
        if msg := fields.check_identity(kind, value):
            raise ScaffoldError(f"--identity: {msg}")
        out += [
            "identity:                  # the IKE ID your router presents (its srcid)",
            f"  type: {kind}",
            f"  value: {q(value)}",
        ]
    if new.key_file:
        out.append(f"public_key_file: {new.name}.pub   # your RSA public key, in this file")
    else:
        out += key_block(pem, "your RSA public key (/etc/isakmpd/local.pub)").splitlines()
    out += ["gre:                       # the tunnel; its interface is allocated by the router"]
    if ipv4:
        out += [
            "  ipv4:",
            f"    router: {q(ipv4[0])}   # on {router.name}",
            f"    peer: {q(ipv4[1])}     # on your side",
        ]
    if ipv6 == "eui64":
        out.append("  ipv6: eui64               # link-local addresses chosen by each kernel")
    elif ipv6:
        out += [
            "  ipv6:",
            f"    router: {q(ipv6[0])}   # on {router.name}",
            f"    peer: {q(ipv6[1])}     # on your side",
        ]
    description = new.description or f"dn42 peer {new.name}"
    if msg := fields.check_description(description):
        raise ScaffoldError(f"--description: {msg}")
    out.append(f"  description: {q(description)}   # shown on {router.name}'s interface")
    return "\n".join(out) + "\n"
