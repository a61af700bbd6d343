"""peerops fleet [--remote URL | -c FILE] [--branch B] [--json]: every router's last report.

Read-only, from any machine: the status branch is fetched into the user's cache dir (no root,
no agent configuration needed with --remote) and read there; when the remote cannot be
reached the last fetched copy is used, with a note. Exit 0: every router healthy and
reporting; 4: a router is failing, degraded, stalled, silent or its report invalid; 1: usage,
or nothing could be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = "show every router's last report from the status branch (exit 4: a router failing or silent)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_source_arguments(p)
    p.add_argument("--json", action="store_true", help="print {\"routers\": [...]} as JSON")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                   help="json: the same as --json; markdown: write README.md and fleet.svg "
                        "(the dashboard) into --output")
    p.add_argument("--output", metavar="DIR", default=".",
                   help="where --format markdown writes (default: the current directory)")


def add_source_arguments(p: argparse.ArgumentParser) -> None:
    """Where the status branch comes from (shared with `peerops history`)."""
    p.add_argument("-c", "--config", help="agent configuration file: its remote and branches "
                   "(default /etc/peerops.yaml when --remote is not given)")
    p.add_argument("--remote", metavar="URL", help="the state repo's git URL or path; "
                   "needs no configuration")
    p.add_argument("--branch", metavar="NAME", help="the status branch (default: status)")
    p.add_argument("--main", metavar="NAME",
                   help="the state repo's branch to count commits behind (default: main)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="give up fetching after this long and use the cached copy (default 30)")
    p.add_argument("--offline", action="store_true", help="do not fetch: use the cached copy")


def source_of(args: argparse.Namespace) -> tuple[str, str, str]:
    """(remote, status branch, main branch) from --remote or the agent's configuration."""
    from agent.errors import ConfigError

    if args.remote:
        return args.remote, args.branch or "status", args.main or "main"
    from agent.config import load_config

    cfg = load_config(args.config or "/etc/peerops.yaml")
    if cfg.remote is None:
        raise ConfigError(f"{cfg.source}: remote: needed to read the status branch")
    return cfg.remote, args.branch or cfg.status_branch, args.main or cfg.branch


def open_cache(args: argparse.Namespace) -> tuple[Any, Any]:
    """The cache of the status branch and its refreshed snapshot (the note on stderr)."""
    from agent.status.cache import StatusCache

    remote, branch, main = source_of(args)
    cache = StatusCache(remote, branch=branch, main=main, timeout=args.timeout)
    snapshot = cache.refresh(fetch=not args.offline)
    if snapshot.note:
        print(f"peerops: {snapshot.note}", file=sys.stderr)
    return cache, snapshot


def run(args: argparse.Namespace) -> int:
    from agent.output import fleet_table
    from agent.status.cache import CacheError
    from agent.status.fleetview import fleet_exit, fleet_rows

    try:
        cache, snapshot = open_cache(args)
    except (CacheError, ValueError) as exc:
        print(f"peerops: {exc}", file=sys.stderr)
        return 1
    reports = cache.reports(snapshot.tip) if snapshot.tip else {}
    rows = fleet_rows(reports, behind=lambda commit: cache.behind(commit, snapshot.main))
    fmt = "json" if args.json else args.format
    if fmt == "json":
        print(json.dumps(fleet_json(snapshot, rows), indent=2))
    elif fmt == "markdown":
        from pathlib import Path

        from agent.status.dashboard import write_dashboard

        for path in write_dashboard(Path(args.output), snapshot, rows):
            print(path)
    else:
        if not rows:
            print(f"peerops: no router has reported on {snapshot.branch} yet", file=sys.stderr)
        sys.stdout.write(fleet_table(rows))
    return fleet_exit(rows)


def fleet_json(snapshot: Any, rows: list[Any]) -> dict[str, Any]:
    import time

    from agent.git import redact

    def iso(ts: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))

    return {
        "remote": redact(snapshot.remote),
        "branch": snapshot.branch,
        "status_commit": snapshot.tip,
        "main": snapshot.main,
        "fetched_at": iso(snapshot.fetched_at),
        "offline": snapshot.offline,
        "note": snapshot.note,
        "routers": [r.to_json() for r in rows],
    }
