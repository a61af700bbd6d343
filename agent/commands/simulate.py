"""peerops simulate [REPO] [--json] [--keep DIR]: would every link of a state repo come up?"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "build a simulated fleet from a state repo, converge it, and say if every link comes up"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("repo", nargs="?", default=".", help="state repo directory (default: .)")
    p.add_argument("--keep", metavar="DIR", help="build the fleet in DIR and leave it there")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from agent.lab.simulate import simulate
    from agent.output import health_table, problems_text

    result = simulate(Path(args.repo), Path(args.keep) if args.keep else None)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    elif result.problems:
        sys.stdout.write(problems_text(result.problems))
    else:
        sys.stdout.write(health_table(result.links))
        for router, steps in result.second_run_steps.items():
            if steps:
                print(f"{router}: the second run still planned {steps} step(s): not idempotent")
        print("every link comes up" if result.ok else "NOT every link comes up")
    return 0 if result.ok else 1
