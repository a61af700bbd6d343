"""The `peerops` command. Subcommands import their modules lazily to keep start-up cheap."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from agent import __version__

EXIT_USAGE = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="peerops", description=__doc__)
    parser.add_argument("--version", action="version", version=f"peerops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a state repo (schema and semantics)")
    p.add_argument("repo", nargs="?", default=".", help="state repo directory (default: .)")
    p.add_argument("--json", action="store_true")

    for name, text in (
        ("plan", "show what apply would change"),
        ("apply", "make the router match"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("-c", "--config", default="/etc/peerops.yaml")
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("demo", help="build a simulated fleet from state/ and converge it")
    p.add_argument("--keep", metavar="DIR", help="build the fleet in DIR and leave it there")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "sim", help="run a command on a simulated OpenBSD router", add_help=True, prefix_chars="-"
    )
    p.add_argument("sim_args", nargs=argparse.REMAINDER, help="--root DIR [--init] COMMAND [ARGS]")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sim"]:  # everything after `sim` belongs to the simulated command
        from agent.sim.cli import main as sim_main

        return sim_main(argv[1:])
    args = _parser().parse_args(argv)
    from agent.errors import ConfigError

    try:
        return int(_dispatch(args))
    except ConfigError as exc:
        print(f"peerops: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "validate":
        return _validate(args.repo, args.json)
    if args.command in ("plan", "apply"):
        return _plan_or_apply(args.command, args.config, args.json)
    if args.command == "demo":
        from agent.demo import run_demo

        return run_demo(keep=args.keep, as_json=args.json)
    raise AssertionError(args.command)


def _validate(repo: str, as_json: bool) -> int:
    from pathlib import Path

    from agent.inventory import load_inventory
    from agent.output import problems_text

    inventory, problems = load_inventory(Path(repo))
    if as_json:
        routers = (
            {n: [p.peer for p in inventory.for_router(n)] for n in inventory.routers}
            if inventory
            else {}
        )
        print(
            json.dumps(
                {"ok": not problems, "errors": [p.to_json() for p in problems], "routers": routers},
                indent=2,
            )
        )
    elif problems:
        sys.stdout.write(problems_text(problems))
    else:
        assert inventory is not None  # noqa: S101 - no problems means an inventory
        count = sum(len(ps) for ps in inventory.peerings.values())
        print(f"{repo}: ok ({len(inventory.routers)} routers, {count} peerings)")
    return 1 if problems else 0


def _plan_or_apply(command: str, config_path: str, as_json: bool) -> int:
    from agent.config import load_config
    from agent.converge import apply_router, plan_router
    from agent.output import apply_text, health_table, plan_text

    cfg = load_config(config_path)
    outcome = plan_router(cfg) if command == "plan" else apply_router(cfg)
    if as_json:
        print(json.dumps(outcome.to_json(), indent=2))
    elif command == "plan":
        sys.stdout.write(plan_text(outcome))
    else:
        sys.stdout.write(apply_text(outcome))
        if outcome.health:
            sys.stdout.write(health_table(outcome.health))
    if command == "plan":
        return 1 if outcome.problems else (2 if outcome.plan else 0)
    return outcome.exit_code
