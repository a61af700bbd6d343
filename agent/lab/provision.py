"""Provision a simulated router as a fresh OpenBSD install would leave it.

Like /etc/rc's make_keys on first boot: an RSA 2048 key pair for isakmpd, the private key
0600 root in /etc/isakmpd/private/local.key and the public key (SubjectPublicKeyInfo PEM, as
`openssl rsa -pubout` writes it) in /etc/isakmpd/local.pub. The pair comes from the lab's
key pool (agent/lab/keypool.py): made once, kept for the next simulation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agent.sim import state as simstate
from agent.sim.host import SimHost

if TYPE_CHECKING:
    from agent.sim.cli import FreshRoot


def provision_router(
    root: Path, name: str, addresses: list[str], fleet: Path | None = None,
    template: FreshRoot | None = None,
) -> str:
    """Create the router's root with its public addresses and keys; return local.pub (PEM).
    With a template, the fresh install and its keys are written from it in one go, not
    booted: the same files, modes, owners and store (tests/sim/test_cli.py)."""
    from agent.keys import LOCAL_KEY, LOCAL_PUB, install_key_pair, parse_public_key
    from agent.lab.keypool import lab_key_pair
    from agent.sim.cli import init_root

    pair = lab_key_pair()
    fleet_path = str(fleet) if fleet else None
    if template is not None:
        private, public = pair
        keys = {LOCAL_KEY: (private, 0o600), LOCAL_PUB: (public, 0o644)}
        template.copy(root, name, addresses, fleet_path, keys)
        return parse_public_key(public.decode()).pem
    init_root(root, name, addresses)
    simstate.write_host_info(root, name, fleet_path)
    return install_key_pair(SimHost(root), pair=pair).pem
