"""Provision a simulated router as a fresh OpenBSD install would leave it.

Like /etc/rc's make_keys on first boot: an RSA 2048 key pair for isakmpd, the private key
0600 root in /etc/isakmpd/private/local.key and the public key (SubjectPublicKeyInfo PEM, as
`openssl rsa -pubout` writes it) in /etc/isakmpd/local.pub.
"""

from __future__ import annotations

from pathlib import Path

from agent.sim import state as simstate
from agent.sim.host import SimHost


def provision_router(root: Path, name: str, addresses: list[str], fleet: Path | None = None) -> str:
    """Create the router's root with its public addresses and keys; return local.pub (PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from agent.sim.cli import init_root

    init_root(root, name, addresses)
    simstate.write_host_info(root, name, str(fleet) if fleet else None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    host = SimHost(root)
    host.write_file("/etc/isakmpd/private/local.key", private, mode=0o600)
    host.write_file("/etc/isakmpd/local.pub", public, mode=0o644)
    return public.decode()
