"""A simulated OpenBSD router of an outside peer, set up only from `peerops peer config`.

The peer's side is built from the exported text, not from the repo, so a test (or `simulate`)
checks what the peer is actually told: a file the text forgets, a wrong path or mode, a rule
that does not mirror ours, all keep the link down.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from agent.errors import PeeropsError
from agent.lab.provision import provision_router
from agent.peer.openbsd import sections
from agent.sim.fleet import write_fleet
from agent.sim.host import SimHost


class PeerSetupError(PeeropsError):
    """A command of the exported configuration failed on the simulated peer router."""


def provision_peer(root: Path, name: str, endpoint: str, fleet: Path) -> str:
    """A fresh OpenBSD router for the peer at endpoint, joined to the fleet as a router (so
    our routers negotiate with its real config); return its local.pub (PEM)."""
    pem = provision_router(root, name, [endpoint], fleet)
    join_fleet(fleet, {name: root})
    return pem


def join_fleet(fleet: Path, routers: dict[str, Path]) -> None:
    """Add peer routers to the fleet file in one write (a simulation adds hundreds), each
    replacing the modelled stand-in of its name."""
    doc = json.loads(fleet.read_text())
    doc.setdefault("routers", {}).update({name: str(root) for name, root in routers.items()})
    for peers in doc.get("external", {}).values():
        for name in routers:
            peers.pop(name, None)  # the modelled stand-in would answer first
    write_fleet(fleet, doc)


def apply_export(root: Path, text: str) -> None:
    """Do what the exported OpenBSD text says: write (or append to) each file with its mode,
    then run each command; PeerSetupError names the first command that fails. The files
    before a command are written together (one transaction of the simulated host)."""
    host = SimHost(root)
    files: dict[str, tuple[bytes, int]] = {}
    for path, how, mode, body in sections(text):
        if path != "commands":
            old = None
            if how == "append":  # onto what this text wrote already, else the router's file
                old = files[path][0] if path in files else host.read_file(path)
            files[path] = ((old or b"") + body.encode(), mode if mode is not None else 0o644)
            continue
        host.write_files(files)
        files = {}
        for line in body.splitlines():
            argv = shlex.split(line, comments=True)
            if not argv:
                continue
            result = host.run(argv)
            if result.rc != 0:
                raise PeerSetupError(f"{line}: exit {result.rc}: {result.stderr.strip()}")
    host.write_files(files)
