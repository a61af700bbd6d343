"""Status reports made directly (valid against state/schema/report.schema.json), for tests
that need many reports without running cycles."""

from __future__ import annotations

import time
from typing import Any

import yaml

from agent.status.shape import SCHEMA_VERSION


def peer(router: str, name: str, state: str, reason: str | None = None) -> dict[str, Any]:
    up = state == "up"
    return {
        "router": router, "peer": name, "state": state,
        "reason": reason if not up else None, "check": None if up else "sas",
        "interface": "gre0", "key": True, "rule": True,
        "flows": {"in": int(up), "out": int(up)}, "sas": {"in": int(up), "out": int(up)},
        "gre": True, "ping": None, "key_fingerprint": None,
    }


def report(
    router: str,
    peers: dict[str, str],
    *,
    commit: str = "0" * 40,
    finished: float | None = None,
    result: str | None = None,
    reasons: dict[str, str] | None = None,
    interval: float = 3600.0,
    heartbeat: float = 86400.0,
) -> dict[str, Any]:
    """A report of router whose peers are in the given states (name -> state)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if finished is None
                                                              else finished))
    down = [p for p, s in peers.items() if s != "up"]
    return {
        "schema": SCHEMA_VERSION, "router": router, "peerops": "0.1.0", "commit": commit,
        "signer": None,
        "source": {"status": "ok", "message": None, "unreachable_since": None},
        "result": result or ("degraded" if down else "converged"),
        "schedule": {"interval": interval, "heartbeat": heartbeat},
        "peers": [peer(router, p, s, (reasons or {}).get(p, "sas: no SA"))
                  for p, s in sorted(peers.items())],
        "local_key": None, "quarantined": {}, "errors": [], "warnings": [],
        "run": {"started": stamp, "finished": stamp}, "changes": [],
    }


def dump(doc: dict[str, Any]) -> bytes:
    """The bytes an agent commits (agent.status.report.serialize's canonical form)."""
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False).encode()
