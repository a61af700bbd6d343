"""The status report a router commits back to git: one deterministic YAML file per router.

The report separates what the router *is* (commit applied, result, per-peer health, errors,
held peers, warnings) from what one run *did* (start, end, changes). Only the first part is
compared: timestamps never count as a change, and a quiet cycle after convergence commits
nothing. A run that changed something, a changed state, or a due heartbeat does commit.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent import __version__
from agent.health.peer import peers_json
from agent.repo.source import SyncResult
from agent.router.record import write_atomic
from agent.run.converge import RunOutcome
from agent.status import yamlblock
from agent.status.shape import SCHEMA_VERSION, upgrade

LAST_REPORT = "last-report.yaml"
PUBLISHED = "published.json"
_RUN_KEYS = ("run", "changes")  # what one run did: never compared


def iso(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts is not None else None


def build_report(
    router: str,
    sync: SyncResult,
    outcome: RunOutcome,
    *,
    kind: str,
    key_fingerprints: dict[str, str | None] | None = None,
    local_key: dict[str, Any] | None = None,
    schedule: tuple[float, float],
    revert: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the report of one run (state/schema/report.schema.json); kind: what the run's
    changes were (intentional: a new commit; corrective: drift fixed; revert: the dead-man
    switch restored the previous commit); schedule: (interval, heartbeat), so readers can
    tell silence; revert: the dead-man switch's state (agent/run/deadman.py)."""
    errors = [str(p) for p in outcome.problems] + outcome.config_errors + list(outcome.errors)
    errors += [f"{r.step.describe()}: {r.error}" for r in outcome.results if r.error]
    errors += [f"still differs after apply: {s.resource}: {s.why}" for s in outcome.residual]
    errors += list(outcome.observe_errors)
    return {
        "schema": SCHEMA_VERSION,
        "router": router,
        "peerops": __version__,
        "commit": sync.commit,
        "signer": sync.signer,
        "source": {
            "status": sync.status,
            "message": sync.message,
            "unreachable_since": iso(sync.unreachable_since),
        },
        "result": outcome.verdict(sync).result,
        "schedule": {"interval": schedule[0], "heartbeat": schedule[1]},
        "peers": peers_json(outcome.health, key_fingerprints),
        "local_key": local_key,
        "quarantined": dict(sorted(outcome.peer_errors.items())),
        "revert": revert,
        "errors": errors,
        "warnings": list(sync.warnings),
        "run": {"started": iso(outcome.started), "finished": iso(outcome.finished)},
        "changes": [
            {
                "resource": r.step.resource,
                "action": r.step.describe(),
                "why": r.step.why,
                "kind": kind,
                "ok": r.ok,
            }
            for r in outcome.results
        ],
    }


def serialize(report: dict[str, Any]) -> bytes:
    """Canonical YAML: sorted keys, block style, so equal reports are equal bytes."""
    return yamlblock.dump(report).encode()


def state_digest(report: dict[str, Any]) -> str:
    """A digest of what the router is, leaving out what the run did and when."""
    state = {k: v for k, v in report.items() if k not in _RUN_KEYS}
    state["result"] = "converged" if state["result"] == "changed" else state["result"]
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


@dataclass
class PublishDecision:
    commit: bool
    message: str


def decide(
    router: str, report: dict[str, Any], previous: dict[str, Any], now: float, heartbeat: float
) -> PublishDecision:
    """Commit when the run changed something, the state changed, or a heartbeat is due."""
    changed_state = previous.get("digest") != state_digest(report)
    did_something = bool(report["changes"])
    due = now - float(previous.get("committed_at") or 0) >= heartbeat
    message = summary(router, report, previous.get("peers", {}), previous.get("commit"))
    now_key = (report.get("local_key") or {}).get("fingerprint")
    if previous.get("local_key") and now_key != previous["local_key"]:
        message += f"; local key rotated to {now_key}"
    if not (changed_state or did_something) and due:
        message = f"{router}: heartbeat, {_count_up(report)}"
    return PublishDecision(changed_state or did_something or due, message)


def summary(
    router: str,
    report: dict[str, Any],
    previous_peers: dict[str, str],
    previous_commit: str | None = None,
) -> str:
    """One line: what changed, e.g. `rtr1: applied 1a2b3c4 (3 changes); alice up, bob down`."""
    parts = []
    changes = report["changes"]
    if changes and changes[0]["kind"] == "intentional":
        parts.append(f"applied {str(report['commit'])[:7]} ({len(changes)} changes)")
    elif changes:
        parts.append(f"corrected drift ({len(changes)} changes)")
    elif previous_commit and report["commit"] != previous_commit:
        parts.append(f"at {str(report['commit'])[:7]}, nothing to change here")
    if report["result"] in ("failed", "stalled"):
        parts.append(report["result"])
    peers = report["peers"]
    moved = [
        f"{v['peer']} {_short(v)}" for v in peers if previous_peers.get(v["peer"]) != v["state"]
    ]
    moved += [f"{p} removed" for p in sorted(set(previous_peers) - {v["peer"] for v in peers})]
    text = "; ".join(filter(None, [", ".join(parts), ", ".join(moved)]))
    return f"{router}: {text or _count_up(report)}"


def _short(peer: dict[str, Any]) -> str:
    if peer["state"] != "down" or not peer["reason"]:
        return str(peer["state"])
    return f"down ({peer['reason'].split(':')[0][:40]})"


def _count_up(report: dict[str, Any]) -> str:
    peers = report["peers"]
    up = sum(1 for v in peers if v["state"] == "up")
    return f"{up}/{len(peers)} peers up"


def write_last_report(state_dir: Path, report: dict[str, Any]) -> bytes:
    """Write the report as the router's last one; return its bytes (what gets published)."""
    data = serialize(report)
    write_atomic(state_dir / LAST_REPORT, data, mode=0o644)
    return data


def read_last_report(state_dir: Path) -> dict[str, Any] | None:
    """This router's last report, in the current format (one an older agent wrote, upgraded)."""
    path = state_dir / LAST_REPORT
    return upgrade(yaml.safe_load(path.read_text())) if path.exists() else None


def load_published(state_dir: Path) -> dict[str, Any]:
    path = state_dir / PUBLISHED
    return json.loads(path.read_text()) if path.exists() else {}


def save_published(state_dir: Path, report: dict[str, Any], now: float) -> None:
    data = {
        "digest": state_digest(report),
        "committed_at": now,
        "commit": report["commit"],
        "local_key": (report.get("local_key") or {}).get("fingerprint"),
        "peers": {v["peer"]: v["state"] for v in report["peers"]},
    }
    write_atomic(state_dir / PUBLISHED, json.dumps(data, indent=1, sort_keys=True).encode())
