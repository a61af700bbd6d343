"""peerops apply [-c FILE]: make this router match the state repo, then verify."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "make the router match; exit 0 unchanged+healthy, 2 changed, 4 failures, 6 both"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", default="/etc/peerops.yaml", help="agent configuration file")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")


def run(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.output import apply_text, health_table
    from agent.run.converge import apply_router

    outcome = apply_router(load_config(args.config))
    if args.json:
        print(json.dumps(outcome.to_json(), indent=2))
    else:
        sys.stdout.write(apply_text(outcome))
        if outcome.health:
            sys.stdout.write(health_table(outcome.health))
    return outcome.exit_code
