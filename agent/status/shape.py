"""The report's format contract: its schema version, the JSON Schema that documents it
(state/schema/report.schema.json) and the upgrade of reports written by older agents.

Reports on the status branch come from every router of the fleet, each at its own version,
and any router can write anything there: readers (`fleet`, `history`) upgrade what they know
and validate the rest instead of trusting it.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from agent.resources import schema_dir

SCHEMA_VERSION = 2


@functools.cache
def _validator(pointer: str = "") -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads((schema_dir() / "report.schema.json").read_text())
    if pointer:  # validate against one of $defs, with the $refs resolving inside the document
        schema = {**schema, "$ref": f"#/$defs/{pointer}"}
        for key in ("type", "required", "properties", "additionalProperties"):
            schema.pop(key, None)
    return Draft202012Validator(schema)


def report_problems(report: Any) -> list[str]:
    """Every way report breaks the schema, as `field.path: message` (empty: it conforms)."""
    return _problems(_validator(), report)


def peer_problems(peer: Any) -> list[str]:
    """Every way one per-peer health object breaks `$defs/peer` (empty: it conforms)."""
    return _problems(_validator("peer"), peer)


def _problems(validator: Any, doc: Any) -> list[str]:
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}" for e in errors
    ]


def upgrade(report: Any) -> Any:
    """Return report in the current format when it is an older version we know how to read
    (a copy; the input is left alone); anything else is returned as it is, for validation to
    reject."""
    if not isinstance(report, dict) or report.get("schema") != 1:
        return report
    new = copy.deepcopy(report)
    new["schema"] = SCHEMA_VERSION
    peers = new.get("peers")
    if isinstance(peers, dict):  # v1: {name: {...}} without router/peer in each entry
        new["peers"] = [
            {"router": new.get("router"), "peer": name, "ping": None, "check": None,
             "key_fingerprint": None, **entry}
            for name, entry in sorted(peers.items())
            if isinstance(entry, dict)
        ]
    if "schedule" not in new:  # v1 did not say: the agent's defaults were in force
        from agent.config import ScheduleConfig

        defaults = ScheduleConfig()
        new["schedule"] = {"interval": defaults.interval, "heartbeat": defaults.heartbeat}
    return new
