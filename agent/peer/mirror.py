"""One peering seen from the peer's side: the same tunnel with both ends swapped.

Built from the router's resolved `Peering`, so both ends come from one place: the proposal,
the identities and the transfer pair can only disagree if the exported text does.
"""

from __future__ import annotations

import dataclasses
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agent.errors import PeeropsError
from agent.keys import PublicKeyError, parse_public_key
from agent.model import Inventory, Ipv4Pair, Ipv6Config, Peering, Router


class PeerConfigError(PeeropsError):
    """The peering cannot be exported (unknown, internal, or the router's key is unknown)."""


@dataclass(frozen=True)
class PeerSide:
    """What the peer configures: `view` is the tunnel from its side (view.router is the peer,
    view.peer our router, view.public_key our router's key)."""

    router: Router
    view: Peering
    key_source: str  # where our router's key came from, for the reader


def peer_side(inventory: Inventory, repo: Path, router: str, peer: str) -> PeerSide:
    """The peer's side of router/peer; PeerConfigError when there is nothing to export."""
    if router not in inventory.routers:
        raise PeerConfigError(f"no router {router!r} in routers/")
    found = [p for p in inventory.for_router(router) if p.peer == peer]
    if not found:
        raise PeerConfigError(f"{router} has no peering named {peer!r}")
    p = found[0]
    if p.internal:
        raise PeerConfigError(
            f"{router}/{peer} is an internal link: both routers are managed from this repo"
        )
    r = inventory.routers[router]
    key, source = router_key(r, repo)
    view = dataclasses.replace(
        p,
        router=p.peer,
        peer=p.router,
        asn=r.asn,
        local_endpoint=p.remote_endpoint,
        remote_endpoint=p.local_endpoint,
        local_id=p.remote_id,
        remote_id=p.local_id,
        public_key=key,
        ipv4=Ipv4Pair(p.ipv4.peer, p.ipv4.router) if p.ipv4 else None,
        ipv6=(
            Ipv6Config(p.ipv6.mode, p.ipv6.peer, p.ipv6.router)
            if p.ipv6 and p.ipv6.mode != "eui64"
            else p.ipv6
        ),
        interface=None,
    )
    return PeerSide(r, view, source)


def router_key(router: Router, repo: Path) -> tuple[str, str]:
    """Our router's public key (SPKI PEM) and where it came from: routers/<r>.yaml, else the
    key the router itself published on the status branch (keys/<r>.pub)."""
    if router.public_key:
        return router.public_key, router.source
    path = f"keys/{router.name}.pub"
    for ref in ("origin/status", "status"):
        out = subprocess.run(
            ["git", "-C", str(repo), "show", f"{ref}:{path}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode == 0:
            try:
                return parse_public_key(out.stdout).pem, f"{ref}:{path}"
            except PublicKeyError as exc:
                raise PeerConfigError(f"{ref}:{path}: {exc}") from None
    raise PeerConfigError(
        f"{router.source} has no public_key and the repo has no status branch with {path}: "
        f"ask the operator of {router.name} for its key (peerops key show)"
    )
