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
    p.add_argument("--base", metavar="REV",
                   help="also simulate REV of the git work tree REPO and compare: links "
                   "added, changed, removed and broken by the change")
    p.add_argument("--head", metavar="REV", default="HEAD",
                   help="with --base: the change's commit (default: HEAD)")


def run(args: argparse.Namespace) -> int:
    from agent.lab.simulate import simulate
    from agent.output import health_table, problems_text

    if args.base is not None:
        return _compare(args)
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


def _compare(args: argparse.Namespace) -> int:
    from agent.output import problems_text
    from agent.pr import compare
    from agent.pr.trees import RevisionError

    try:
        result = compare.compare(Path(args.repo), args.base, args.head)
    except RevisionError as exc:
        print(f"peerops: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    elif result.head_sim.problems:
        sys.stdout.write(problems_text(result.head_sim.problems))
    else:
        sys.stdout.write(compare.text(result))
    return 0 if result.ok else 1
