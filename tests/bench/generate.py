"""State repos for the benchmark: R managed routers with N external peers each.

Every peer gets its own RSA key (a shared key would flatter any per-key cache), its own
endpoint, identity and transfer pair. Keys are the slow part (about 40 ms each), so they are
made once into a pool file that later runs reuse.
"""

from __future__ import annotations

from pathlib import Path

import yaml

PEER_HEADER = "# yaml-language-server: $schema=../../schema/peer.schema.json\n"
ROUTER_HEADER = "# yaml-language-server: $schema=../schema/router.schema.json\n"
PEM_END = "-----END PUBLIC KEY-----\n"


def key_pool(path: Path, count: int) -> list[str]:
    """Return count distinct RSA 2048 public keys (SPKI PEM), generating what path lacks."""
    keys = path.read_text().split(PEM_END)[:-1] if path.exists() else []
    keys = [k.lstrip("\n") + PEM_END for k in keys]
    if len(keys) < count:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        for _ in range(count - len(keys)):
            public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
            keys.append(public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(keys))
    return keys[:count]


def peer_name(index: int) -> str:
    return f"p{index:04d}"


def peer_document(router_index: int, index: int, key: str, description: str = "") -> str:
    """The YAML file of external peer `index` of router `router_index` (both from 0)."""
    serial = router_index * 1000 + index
    transfer = 2 * serial  # one /31 per peering out of 172.20.0.0/16
    peer = {
        "name": peer_name(index),
        "asn": 4242420000 + serial % 4000,
        "endpoint": f"198.18.{serial // 250}.{serial % 250 + 1}",
        "public_key": key,
        "gre": {
            "ipv4": {
                "router": f"172.20.{transfer // 256}.{transfer % 256}",
                "peer": f"172.20.{transfer // 256}.{transfer % 256 + 1}",
            },
            "description": description or f"dn42 peer {peer_name(index)}",
        },
    }
    return PEER_HEADER + yaml.safe_dump(peer, sort_keys=False)


def write_repo(repo: Path, routers: int, peers: int, keys: list[str]) -> None:
    """Write a state repo (no git yet) with routers r00.. and peers p0000.. under each."""
    if len(keys) < routers * peers + routers:
        raise ValueError("key pool too small")
    (repo / "routers").mkdir(parents=True)
    for r in range(routers):
        name = f"r{r:02d}"
        router = {
            "name": name,
            "asn": 4242423900 + r,
            "endpoints": {"ipv4": f"192.0.2.{r + 1}"},
            "public_key": keys[-1 - r],  # replaced by the simulated router's own key
        }
        (repo / "routers" / f"{name}.yaml").write_text(
            ROUTER_HEADER + yaml.safe_dump(router, sort_keys=False)
        )
        directory = repo / "peers" / name
        directory.mkdir(parents=True)
        for i in range(peers):
            key = keys[r * peers + i]
            (directory / f"{peer_name(i)}.yaml").write_text(peer_document(r, i, key))
