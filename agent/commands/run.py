"""peerops run [-c FILE]: one cycle: pull, verify, converge, report, push."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "one cycle: pull, verify trust, converge, verify, commit the status report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", default="/etc/peerops.yaml", help="agent configuration file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.output import cycle_text
    from agent.run.cycle import Agent
    from agent.run.lock import LockHeld, RunLock

    cfg = load_config(args.config)
    try:
        with RunLock(cfg.lock_path):
            result = Agent(cfg).cycle()
    except LockHeld as exc:
        print(f"peerops: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.report, indent=2))
    else:
        sys.stdout.write(cycle_text(result))
    for error in result.outcome.config_errors:  # nothing was changed: say why, on stderr
        print(f"peerops: {error}", file=sys.stderr)
    return result.exit_code
