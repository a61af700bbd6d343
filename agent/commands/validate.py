"""peerops validate [REPO]: schema and semantic checks of a state repo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "check a state repo: every error as path:line:col: field: message"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("repo", nargs="?", default=".", help="state repo directory (default: .)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from agent.keys import fingerprint_of
    from agent.output import problems_text
    from agent.repo.inventory import load_inventory

    inventory, problems = load_inventory(Path(args.repo))
    keys = (
        {
            n: {p.peer: fingerprint_of(p.public_key) for p in inventory.for_router(n)}
            for n in inventory.routers
        }
        if inventory
        else {}
    )
    if args.json:
        routers = {n: sorted(peers) for n, peers in keys.items()}
        report = {
            "ok": not problems,
            "errors": [p.to_json() for p in problems],
            "routers": routers,
            "key_fingerprints": keys,
        }
        print(json.dumps(report, indent=2))
    elif problems:
        sys.stdout.write(problems_text(problems))
    elif inventory is not None:
        count = sum(len(ps) for ps in inventory.peerings.values())
        print(f"{args.repo}: ok ({len(inventory.routers)} routers, {count} peerings)")
        for router, peers in keys.items():
            for peer, fp in peers.items():
                print(f"  {router:10} {peer:16} {fp}")
    return 1 if problems else 0
