"""peerops demo [--keep DIR] [--json]: a simulated fleet from the example repo, converged."""

from __future__ import annotations

import argparse

HELP = "build a simulated fleet from the example state repo and converge it"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keep", metavar="DIR", help="build the fleet in DIR and leave it there")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from agent.lab.demo import run_demo

    return run_demo(keep=args.keep, as_json=args.json)
