"""peerops history [ROUTER[/PEER]] [--since DATE] [--remote URL] [--json]: when each peering
went down or up, and which state-repo commit was applied then, from the status branch."""

from __future__ import annotations

import argparse
import calendar
import dataclasses
import json
import re
import sys
import time

from agent.commands.fleet import add_source_arguments, open_cache

HELP = "show when each peering went down or up, with the state-repo commit applied then"

_TARGET_RE = re.compile(r"([a-z][a-z0-9-]{0,30})(?:/([a-z][a-z0-9-]{0,30}))?")
_RELATIVE_RE = re.compile(r"([0-9]{1,6})([mhd])")
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", nargs="?", metavar="TARGET",
                   help="ROUTER (only its peerings) or ROUTER/PEER (only that peering)")
    p.add_argument("--since", metavar="DATE", type=since_date,
                   help="only events from DATE on: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SSZ] (UTC) "
                        "or an age such as 36h, 7d, 90m")
    add_source_arguments(p)
    p.add_argument("--json", action="store_true", help="print the events as a JSON list")


def since_date(text: str) -> float:
    """The epoch of a --since value (UTC); argparse reports a bad one as a usage error."""
    relative = _RELATIVE_RE.fullmatch(text)
    if relative:
        unit = {"m": 60, "h": 3600, "d": 86400}[relative[2]]
        return time.time() - int(relative[1]) * unit
    for fmt in _DATE_FORMATS:
        try:
            return float(calendar.timegm(time.strptime(text, fmt)))
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(
        f"{text!r}: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SSZ] or an age like 7d"
    )


def run(args: argparse.Namespace) -> int:
    from agent.status.cache import CacheError
    from agent.status.history import select, transitions

    router = peer = None
    if args.target:
        match = _TARGET_RE.fullmatch(args.target)
        if not match:
            print(f"peerops history: {args.target!r} is not ROUTER or ROUTER/PEER",
                  file=sys.stderr)
            return 1
        router, peer = match[1], match[2]
    try:
        cache, snapshot = open_cache(args)
    except (CacheError, ValueError) as exc:
        print(f"peerops: {exc}", file=sys.stderr)
        return 1
    changes = cache.changes(snapshot.tip, since=args.since) if snapshot.tip else []
    changes = [c for c in changes if router is None or c.router == router]  # parse only these
    events = select(transitions(changes), router, peer, args.since)
    subjects = cache.subjects([e.commit for e in events if e.commit])
    events = [dataclasses.replace(e, subject=subjects.get(e.commit or "")) for e in events]
    if args.json:
        print(json.dumps([e.to_json() for e in events], indent=2))
        return 0
    for e in events:
        move = f"{e.from_state or 'new'} -> {e.to_state or 'removed'}"
        at = f"at {e.commit[:12]}" if e.commit else "at no commit"
        if e.subject:
            at += f" ({e.subject})"
        why = f": {e.reason}" if e.reason else ""
        print(f"{e.time}  {e.router}/{e.peer}  {move}{why}  {at}")
    if not events:
        print("peerops history: no state change in this range", file=sys.stderr)
    return 0
