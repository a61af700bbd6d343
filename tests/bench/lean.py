"""The lean baseline: what a hand-written script pays to render and compare the same kind of
files as a no-op `peerops apply` (per peer a key file and a hostname.greN, plus ipsec.conf).

Usage: python lean.py PEERS_DIR ROOT. Prints how many files differ. It takes no lock, checks
nothing and asks the router nothing: it is the floor the agent is compared with, not a tool.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

HOSTNAME = """# managed by peerops: do not edit (peer {name}, AS{asn})
description "{description}"
mtu 1400
tunnel {local} {endpoint}
inet {inet} 255.255.255.255
dest {dest}
up
"""
RULE = """# peer {name} (AS{asn})
ike active esp transport proto gre from {local} to {endpoint} peer {endpoint} \\
\tmain auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 28800 \\
\tquick auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 3600 \\
\trsa"""


def differs(path: Path, content: str) -> bool:
    try:
        return path.read_text() != content
    except OSError:
        return True


def main(peers_dir: Path, root: Path) -> int:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    local = "192.0.2.1"
    rules, changed = [], 0
    for unit, path in enumerate(sorted(peers_dir.glob("*.yaml"))):
        peer = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader
        gre = peer["gre"]["ipv4"]
        fields = dict(peer, local=local, inet=gre["router"], dest=gre["peer"],
                      description=peer["gre"]["description"])
        key = root / "etc/isakmpd/pubkeys/ipv4" / peer["endpoint"]
        changed += differs(key, peer["public_key"])
        changed += differs(root / f"etc/hostname.gre{unit}", HOSTNAME.format(**fields))
        rules.append(RULE.format(**fields))
    changed += differs(root / "etc/ipsec.conf", "\n\n".join(rules) + "\n")
    print(f"{changed} file(s) differ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2])))
