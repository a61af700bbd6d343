"""peerops plan [-c FILE]: what apply would change on this router, each step with its reason."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "show what apply would change (exit 0: nothing, 2: changes pending, 4: failures)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", default="/etc/peerops.yaml", help="agent configuration file")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument("--repo", metavar="DIR",
                   help="preview a change of the state repo work tree DIR instead (needs --router)")
    p.add_argument("--router", help="with --repo: the router whose plan to preview")
    p.add_argument("--base", metavar="REV",
                   help="with --repo: converge a simulated fleet at REV first "
                   "(default: a fresh router)")
    p.add_argument("--head", metavar="REV", default="HEAD",
                   help="with --repo: the change to plan (default: HEAD)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="with --repo: text, markdown (PR comment, job summary) or json")


def run(args: argparse.Namespace) -> int:
    if args.repo is not None or args.router is not None:
        return _preview(args)
    from agent.config import load_config
    from agent.output import plan_text
    from agent.run.converge import plan_router

    outcome = plan_router(load_config(args.config))
    if args.json:
        print(json.dumps(outcome.to_json(), indent=2))
    else:
        sys.stdout.write(plan_text(outcome))
    return outcome.exit_code


def _preview(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agent.pr import preview
    from agent.pr.trees import RevisionError

    if args.repo is None or args.router is None:
        print("peerops: plan --repo DIR and --router NAME go together", file=sys.stderr)
        return 1
    try:
        result = preview.preview(Path(args.repo), args.router, args.base, args.head)
    except (RevisionError, preview.PreviewError) as exc:
        print(f"peerops: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        sys.stdout.write((preview.markdown if args.format == "markdown" else preview.text)(result))
    return result.outcome.exit_code
