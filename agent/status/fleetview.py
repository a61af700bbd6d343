"""The fleet as a person (or a monitor) reads it: one row per router from its last report.

A router that stopped reporting must not look like one that is fine: its row is **silent**
once its report is older than its declared interval x 2 + heartbeat (a quiet router still
commits a heartbeat). A report that cannot be read or breaks the schema is shown as
`invalid`, never trusted: any router can write anything on the status branch.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from agent.run.verdict import EXIT_FAILED, EXIT_OK, HEALTHY
from agent.status.cache import duration
from agent.status.shape import report_problems, upgrade

INVALID = "invalid"
# A timestamp as reports write them: replacing one by another never changes the validity.
_TIME_RE = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_VALID: set[bytes] = set()  # digests of reports found valid, timestamps blanked
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: many reports


@dataclass(frozen=True)
class RouterRow:
    router: str
    result: str
    commit: str | None
    behind: int | None  # commits of the state repo's main this router has not applied
    peers_up: int
    peers_total: int
    quarantined: dict[str, str]
    age_s: int | None  # seconds since the reporting run finished
    silent: bool
    notes: list[str]
    peers: list[dict[str, Any]]
    report: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.result in HEALTHY and not self.silent

    def to_json(self) -> dict[str, Any]:
        return {
            "router": self.router,
            "result": self.result,
            "commit": self.commit,
            "behind": self.behind,
            "peers_up": self.peers_up,
            "peers_total": self.peers_total,
            "quarantined": self.quarantined,
            "age_s": self.age_s,
            "silent": self.silent,
            "notes": self.notes,
            "peers": self.peers,
        }


def parse_report(router: str, data: bytes | None) -> tuple[dict[str, Any] | None, list[str]]:
    """The report of router from the bytes on the branch, upgraded and validated; (None,
    problems) when it cannot be trusted."""
    if data is None:
        return None, ["no report"]
    try:
        report = upgrade(yaml.load(data, Loader=_Loader))  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        return None, [f"not YAML: {str(exc).splitlines()[0]}"]
    problems = _checked(data, report)
    if not problems and report["router"] != router:
        problems = [f"router: {report['router']!r} in reports/{router}.yaml"]
    return (None, problems) if problems else (report, [])


def _checked(data: bytes, report: Any) -> list[str]:
    """report_problems(report), skipped for a report that differs from one already found
    valid only in its timestamps: a router's reports over a month are mostly the same few
    states at different times, and `history` reads every one of them."""
    key = hashlib.sha256(_TIME_RE.sub(b"T", data)).digest()
    if key in _VALID:
        return []
    problems = report_problems(report)
    if not problems:
        if len(_VALID) >= 4096:
            _VALID.clear()
        _VALID.add(key)
    return problems


def router_row(
    router: str,
    data: bytes | None,
    now: float,
    behind: Callable[[str | None], int | None] = lambda _: None,
) -> RouterRow:
    """The fleet's view of one router; ensures an unreadable report is a failing row."""
    report, problems = parse_report(router, data)
    if report is None:
        return RouterRow(
            router, INVALID, None, None, 0, 0, {}, None, False,
            [f"invalid report: {p}" for p in problems[:3]], [], None,
        )
    finished = _epoch(report["run"]["finished"]) or _epoch(report["run"]["started"])
    age = None if finished is None else max(0, int(now - finished))
    schedule = report["schedule"]
    silent = age is None or age > schedule["interval"] * 2 + schedule["heartbeat"]
    peers = report["peers"]
    notes = [f"silent for {duration(age)}" if age is not None else "never finished a run"]
    notes = notes if silent else []
    notes += [f"{p} held: {why}" for p, why in report["quarantined"].items()]
    if report["source"]["status"] not in ("ok", "local"):
        notes.append(f"source {report['source']['status']}")
    revert = report.get("revert")  # the dead-man switch (absent in older reports)
    if revert:
        until = f" unless confirmed by {revert['deadline']}" if revert["state"] == "armed" else ""
        notes.append(f"revert {revert['state']}: {str(revert['commit'])[:12]}{until}")
    notes += list(report["warnings"])
    return RouterRow(
        router,
        report["result"],
        report["commit"],
        behind(report["commit"]),
        sum(1 for p in peers if p["state"] == "up"),
        len(peers),
        dict(report["quarantined"]),
        age,
        silent,
        notes,
        peers,
        report,
    )


def fleet_rows(
    reports: Mapping[str, bytes],
    now: float | None = None,
    behind: Callable[[str | None], int | None] = lambda _: None,
) -> list[RouterRow]:
    """One row per router, sorted by name."""
    now = time.time() if now is None else now
    return [router_row(r, reports[r], now, behind) for r in sorted(reports)]


def fleet_exit(rows: list[RouterRow]) -> int:
    """0 when every router is healthy and reporting; 4 when any is failing, degraded,
    stalled, invalid or silent (for monitoring)."""
    return EXIT_OK if all(r.ok for r in rows) else EXIT_FAILED


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))

