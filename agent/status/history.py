"""The fleet's timeline from the status branch: every state change of every peering.

Each status commit changes some routers' reports; walking them oldest first and comparing
each peer's state with the one before gives the transitions (up -> down with the reason,
down -> up), each with the state-repo commit the router had applied at that moment, so
"which merge broke alice?" is one look. A report whose peers are unknown (the run could not
assess them: an invalid repo, a crash) changes nothing; a peer missing from a report that did
assess its peers was removed (`to` is null).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agent.status.cache import ReportChange
from agent.status.fleetview import parse_report


@dataclass(frozen=True)
class Event:
    time: str
    router: str
    peer: str
    from_state: str | None  # None: the peer was not there before
    to_state: str | None  # None: the peer was removed
    reason: str | None
    commit: str | None  # the state-repo commit applied when the router saw it
    subject: str | None = None  # that commit's subject line, when the cache has it

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "router": self.router,
            "peer": self.peer,
            "from": self.from_state,
            "to": self.to_state,
            "reason": self.reason,
            "commit": self.commit,
            "subject": self.subject,
        }


def transitions(changes: Iterable[ReportChange]) -> list[Event]:
    """Every transition of every peering in the order the reports were committed; changes
    marked initial set the starting states without events."""
    states: dict[tuple[str, str], str] = {}
    events: list[Event] = []
    for change in changes:
        report, _problems = parse_report(change.router, change.data)
        if report is None:
            continue  # an unreadable report tells nothing about the peers
        when = report["run"]["finished"] or _iso(change.committed)
        seen = {p["peer"]: p for p in report["peers"]}
        assessed = bool(seen) or report["result"] in ("converged", "changed", "degraded")
        for name, peer in seen.items():
            key = (change.router, name)
            before = states.get(key)
            states[key] = peer["state"]
            if before != peer["state"] and not change.initial:
                reason = peer["reason"] if peer["state"] != "up" else None
                events.append(
                    Event(when, change.router, name, before, peer["state"], reason,
                          report["commit"])
                )
        if not assessed:
            continue
        for key in [k for k in states if k[0] == change.router and k[1] not in seen]:
            before = states.pop(key)
            if not change.initial:
                events.append(
                    Event(when, key[0], key[1], before, None, "no longer in the state repo",
                          report["commit"])
                )
    return events


def select(
    events: list[Event], router: str | None, peer: str | None, since: float | None
) -> list[Event]:
    """The events of router (and peer) at or after since."""
    start = _iso(since) if since is not None else None
    return [
        e
        for e in events
        if (router is None or e.router == router)
        and (peer is None or e.peer == peer)
        and (start is None or e.time >= start)
    ]


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
