"""The simulated fleet: which routers and external peers a simulated router can talk to.

A fleet is one JSON file (written by `peerops demo`, `peerops simulate` and tests) that every
router root points to from ROOT/.peerops-sim/host.json ("fleet": "/abs/path/fleet.json"):

    {"routers": {"rtr1": "/abs/root/of/rtr1", "rtr2": "/abs/root/of/rtr2"},
     "external": {"rtr1": {"alice": EXTERNAL_PEER, ...}, ...}}

EXTERNAL_PEER models a DN42 peer outside the repo, from the repo's data:

    {"name": "alice",
     "endpoint": "198.51.100.7",            # the peer's IKE/GRE address
     "local_endpoint": "192.0.2.1",         # our router's address it peers with
     "identity": {"type": "fqdn", "value": "alice.example.org"},   # the ID the peer sends
     "expects_identity": {"type": "ipv4", "value": "192.0.2.1"},   # the ID it expects from us
     "public_key": "-----BEGIN PUBLIC KEY-----...",  # the peer's key (SPKI PEM)
     "main":  {"auth": "hmac-sha2-256", "enc": "aes-256", "group": "modp2048", "lifetime": 28800},
     "quick": {"auth": "hmac-sha2-256", "enc": "aes-256", "group": "modp2048", "lifetime": 3600},
     "state": "up" | "down" | "mismatch",  # down: never answers; mismatch: other proposal
     "gre": {"inet": {"local": "172.20.1.2", "remote": "172.20.1.1"} or null,
             "inet6": {"local": "fd42::1", "remote": "fd42::"} or null}}

The peer trusts whatever /etc/isakmpd/local.pub our router holds (it was exchanged out of band).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.sim import state as simstate


def load_fleet(root: Path) -> dict[str, Any]:
    """Return the fleet this router belongs to; a router without one is alone (treat it as
    read-only: inside simstate.snapshot() it is shared)."""
    return simstate.snapshot_cached(("fleet", str(root)), lambda: _load_fleet(root))


def _load_fleet(root: Path) -> dict[str, Any]:
    info = simstate.read_host_info(root)
    path = info.get("fleet")
    if not path or not Path(path).exists():
        return {"routers": {info["name"]: str(root)}, "external": {}}
    return json.loads(Path(path).read_text())


def write_fleet(path: Path, fleet: dict[str, Any]) -> None:
    # Not indented: json's indenting encoder is the pure-Python one, 8 times slower (70 ms of
    # a 10x100 simulation, whose fleet file is a megabyte).
    path.write_text(json.dumps(fleet, sort_keys=True))


def external_peer(p: Any, state: str = "up") -> dict[str, Any]:
    """Model an external peer of peering p (an agent.model.Peering) that mirrors our config."""
    ipv6 = p.ipv6
    return {
        "name": p.peer,
        "endpoint": p.remote_endpoint,
        "local_endpoint": p.local_endpoint,
        "identity": {"type": p.remote_id.type, "value": p.remote_id.value},
        "expects_identity": {"type": p.local_id.type, "value": p.local_id.value},
        "public_key": p.public_key,
        "main": dict(vars(p.crypto.main)),
        "quick": dict(vars(p.crypto.quick)),
        "state": state,
        "gre": {
            "inet": {"local": p.ipv4.peer, "remote": p.ipv4.router} if p.ipv4 else None,
            "inet6": (
                {"local": ipv6.peer, "remote": ipv6.router} if ipv6 and ipv6.router else None
            ),
        },
    }


def build_fleet(
    inventory: Any,
    roots: dict[str, Path],
    states: dict[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    """Return a fleet document: the managed routers' roots and every external peer, modelled
    from the repo; states maps (router, peer) to "down" or "mismatch" for a scenario."""
    states = states or {}
    external: dict[str, dict[str, Any]] = {}
    for router, peerings in inventory.peerings.items():
        for p in peerings:
            if not p.internal:
                external.setdefault(router, {})[p.peer] = external_peer(
                    p, states.get((router, p.peer), "up")
                )
    return {"routers": {name: str(root) for name, root in roots.items()}, "external": external}


def refresh_external(fleet_path: Path, inventory: Any) -> None:
    """Model every external peer of the repo in the fleet file, keeping scenario states
    ("down", "mismatch") of peers that were already there; peers no longer in the repo go."""
    fleet = json.loads(fleet_path.read_text())
    old = fleet.get("external", {})
    roots = {name: Path(root) for name, root in fleet["routers"].items()}
    states = {(r, p): e["state"] for r, peers in old.items() for p, e in peers.items()}
    fleet["external"] = build_fleet(inventory, roots, states)["external"]
    write_fleet(fleet_path, fleet)
