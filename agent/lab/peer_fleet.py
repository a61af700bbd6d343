"""The outside peers of a simulated fleet, each a simulated OpenBSD router of its own.

A peer's router is provisioned at its endpoint with a key pair of its own (the key goes into
the simulated copy of the state repo, as the peer would paste its local.pub), and it is
configured only from what `peerops peer config` hands that peer (agent.lab.peer_router), so
what is simulated is the peer's side as the peer actually gets it, never a model read from
the peer's file. One router per endpoint: an operator peering with two of our routers from
one address runs one isakmpd with one key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from agent.lab.peer_router import apply_export, join_fleet
from agent.lab.provision import provision_router
from agent.model import Inventory, Peering
from agent.repo.keyblock import set_key_block
from agent.sim.cli import FreshRoot
from agent.sim.fleet import write_fleet

# libyaml when present (a simulation reads a thousand peer files here); the file was validated.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class PeerFleet:
    """The peer routers of one simulation: by endpoint, with the key each one made."""

    base: Path
    fleet_file: Path
    roots: dict[str, Path] = field(default_factory=dict)  # endpoint -> root
    keys: dict[str, str] = field(default_factory=dict)  # endpoint -> local.pub (PEM)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)  # (router, peer) -> endpoint
    interfaces: dict[str, int] = field(default_factory=dict)  # endpoint -> greN handed out
    configured: set[tuple[str, str]] = field(default_factory=set)  # exports applied
    failures: dict[tuple[str, str], str] = field(default_factory=dict)  # export that failed
    template: FreshRoot | None = None  # the fresh router the peer routers are copies of

    def provision(self, peerings: list[Peering]) -> None:
        """Give every external peering a peer router (a new one per endpoint not seen yet);
        a peering already known keeps its router (the peer's side does not move with a
        pull request)."""
        from agent.lab.demo import PEER_TEMPLATE

        joining: dict[str, Path] = {}
        for p in peerings:
            key = (p.router, p.peer)
            if p.internal or key in self.owners:
                continue
            endpoint = p.remote_endpoint
            if endpoint not in self.roots:
                if self.template is None:  # a boot costs several copies: boot once
                    self.template = FreshRoot.boot(self.base / PEER_TEMPLATE)
                name = f"peer{len(self.roots)}-{p.peer}"
                root = self.base / "peers" / name / "root"
                self.keys[endpoint] = provision_router(
                    root, name, [endpoint], self.fleet_file, self.template)
                self.roots[endpoint] = joining[name] = root
            self.owners[key] = endpoint
        if joining:
            join_fleet(self.fleet_file, joining)
        fleet = json.loads(self.fleet_file.read_text())
        fleet["external"] = {}  # no modelled stand-in: the peers are routers now
        write_fleet(self.fleet_file, fleet)

    def rekey(self, tree: Path, peerings: list[Peering]) -> None:
        """Write each peer router's own public key into its peering's file in tree (inline,
        or the <peer>.pub the file names)."""
        for p in peerings:
            if p.internal:
                continue
            pem = self.keys[self.owners[(p.router, p.peer)]]
            path = tree / p.source
            text = path.read_text(encoding="utf-8")
            if "public_key_file" in (yaml.load(text, Loader=_LOADER) or {}):  # noqa: S506 - safe
                (path.parent / f"{p.peer}.pub").write_text(pem)
            else:
                path.write_text(set_key_block(text, pem))

    def configure(self, inventory: Inventory, repo: Path) -> None:
        """Apply `peer config` (OpenBSD) of every external peering not configured yet to its
        peer router, each on a gre interface of its own there."""
        from agent.lab.peer_router import PeerSetupError
        from agent.peer.mirror import PeerConfigError, peer_side
        from agent.peer.openbsd import openbsd_text

        for router, peerings in inventory.peerings.items():
            for p in peerings:
                key = (router, p.peer)
                if p.internal or key in self.configured:
                    continue
                endpoint = self.owners[key]
                unit = self.interfaces.get(endpoint, 0)
                self.interfaces[endpoint] = unit + 1
                self.configured.add(key)
                try:
                    text = openbsd_text(peer_side(inventory, repo, router, p.peer), p.asn,
                                        f"gre{unit}")  # fmt: skip
                    apply_export(self.roots[endpoint], text)
                except (PeerConfigError, PeerSetupError) as exc:
                    self.failures[key] = f"the peer's side from `peerops peer config`: {exc}"
