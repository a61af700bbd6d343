"""peerops plan [-c FILE]: what apply would change on this router, each step with its reason."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "show what apply would change (exit 0: nothing, 2: changes pending, 4: failures)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", default="/etc/peerops.yaml", help="agent configuration file")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.output import plan_text
    from agent.run.converge import plan_router

    outcome = plan_router(load_config(args.config))
    if args.json:
        print(json.dumps(outcome.to_json(), indent=2))
    else:
        sys.stdout.write(plan_text(outcome))
    return outcome.exit_code
