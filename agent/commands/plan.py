"""peerops plan [-c FILE]: what apply would change on this router, each step with its reason."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.config import AgentConfig

HELP = "show what apply would change (exit 0: nothing, 2: changes pending, 4: failures)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", default="/etc/peerops.yaml", help="agent configuration file")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument("--fetch", action="store_true",
                   help="fetch the remote, verify it under the trust policy and plan its "
                   "commit, leaving the checkout and the router as they are")
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
    from agent.repo.source import GitSource
    from agent.run.converge import plan_router

    cfg = load_config(args.config)
    if args.fetch:
        return _fetched(cfg, args.json)
    outcome = plan_router(cfg)
    note = GitSource(cfg).ahead()
    if args.json:
        print(json.dumps({**outcome.to_json(), "remote_ahead": note}, indent=2))
    else:
        sys.stdout.write(plan_text(outcome) + (f"note: {note}\n" if note else ""))
    return outcome.exit_code


def _fetched(cfg: AgentConfig, as_json: bool) -> int:
    """`plan --fetch`: the plan of the remote's commit, verified, without moving anything."""
    import tempfile
    from pathlib import Path

    from agent.output import plan_text
    from agent.repo.inventory import load_inventory
    from agent.repo.source import GitSource
    from agent.run.converge import RunOutcome, plan_router

    with tempfile.TemporaryDirectory(prefix="peerops-fetched-") as tmp:
        sync = GitSource(cfg).preview(Path(tmp))
        if sync.status != "ok":
            print(f"peerops: plan --fetch: {sync.status}: {sync.message}", file=sys.stderr)
            return 4
        inventory, problems = load_inventory(
            Path(tmp), min_bits=cfg.keys.min_bits, min_crypto=cfg.policy.min_crypto
        )
        if inventory is None:
            outcome = RunOutcome(cfg.router, problems=problems, planned_only=True)
        else:
            outcome = plan_router(cfg, inventory)
    head = f"plan of {sync.commit[:12]} (fetched and verified, not applied)" if sync.commit else ""
    if as_json:
        print(json.dumps({**outcome.to_json(), "commit": sync.commit}, indent=2))
    else:
        sys.stdout.write(f"{head}\n{plan_text(outcome)}")
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
