"""peerops check-pr --base REV [--head REV] [REPO]: a pull request in a reviewer's terms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "review a state repo change like a maintainer: what it does, keys, links (exit 0/1/3)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("repo", nargs="?", default=".", help="state repo work tree (default: .)")
    p.add_argument("--base", required=True, metavar="REV", help="the target branch's commit")
    p.add_argument("--head", default="HEAD", metavar="REV", help="the PR's commit (default: HEAD)")
    p.add_argument("--format", choices=("text", "markdown", "github", "json"), default="text",
                   help="text, markdown (PR comment), github (annotations) or json")
    p.add_argument("--summary", metavar="FILE",
                   help="also append the review as Markdown to FILE (e.g. $GITHUB_STEP_SUMMARY)")
    p.add_argument("--no-simulate", action="store_true",
                   help="skip simulating the links at the head")


def run(args: argparse.Namespace) -> int:
    from agent.pr.render import FORMATS
    from agent.pr.review import review
    from agent.pr.trees import RevisionError

    try:
        result = review(Path(args.repo), args.base, args.head, not args.no_simulate)
    except RevisionError as exc:
        print(f"peerops: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(FORMATS[args.format](result))
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as summary:
            summary.write(FORMATS["markdown"](result))
    return result.exit_code
