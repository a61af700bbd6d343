"""What the agent applied last, kept in its state directory (/var/db/peerops by default).

isakmpd cannot be asked which rules it holds, so this record is the memory of what was
loaded and into which isakmpd process (its pid): a restarted isakmpd has forgotten them.
It also lists the files peerops wrote, so it never removes one it did not write.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import atomic

RECORD = "applied.json"
JOURNAL = "applied.journal"  # changes since applied.json was written (RecordJournal)


@dataclass
class Applied:
    rules: dict[str, str] = field(default_factory=dict)  # peer -> rule block loaded into isakmpd
    isakmpd_pid: int | None = None
    loaded_at: float | None = None
    interfaces: dict[str, str] = field(default_factory=dict)  # peer -> greN
    pubkeys: list[str] = field(default_factory=list)  # key files peerops wrote
    peer_keys: dict[str, str] = field(default_factory=dict)  # peer -> its key file
    commit: str | None = None


def load_record(state_dir: Path) -> Applied:
    """The record as applied.json holds it, with the changes its journal lists replayed."""
    path = Path(state_dir) / RECORD
    data = json.loads(path.read_text()) if path.exists() else {}
    for change in _journal_entries(Path(state_dir) / JOURNAL):
        _replay(data, change)
    return Applied(**{k: v for k, v in data.items() if k in Applied.__dataclass_fields__})


def save_record(state_dir: Path, record: Applied) -> None:
    """Write the whole record, then drop the journal it now contains."""
    # One field per line, each value compact: json's C encoder (indent= takes the pure-Python
    # one, a tenth of a run that changed one of a thousand peers).
    fields = sorted(vars(record).items())
    body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in fields)
    write_atomic(Path(state_dir) / RECORD, ("{\n" + body + "\n}\n").encode())
    (Path(state_dir) / JOURNAL).unlink(missing_ok=True)


class RecordJournal:
    """Keeps the record on disk while steps change it, at the cost of what each step changed.

    note() appends one JSON line to applied.journal with the fields, dict entries and list
    items that changed since the last note, and fsyncs it; load_record replays the lines, so
    a run that dies half-way leaves a record that matches the router. compact() writes the
    whole record once at the end (only if anything changed) and removes the journal.
    Replaying a line twice gives the same record, so a crash between the two is harmless.
    """

    def __init__(self, state_dir: Path, record: Applied) -> None:
        self.state_dir, self.record = Path(state_dir), record
        self.last = _snapshot(record)
        self.changed = False

    def note(self) -> None:
        now = vars(self.record)
        change = _diff(self.last, now)
        if not change:
            return
        for name in {name for part in change.values() for name in part}:
            self.last[name] = _copy(now[name])  # only what changed: a step changes one entry
        self.changed = True
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.state_dir / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, json.dumps(change, sort_keys=True).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)

    def compact(self) -> None:
        if self.changed or _diff(self.last, _snapshot(self.record)):
            save_record(self.state_dir, self.record)
        self.last, self.changed = _snapshot(self.record), False


def _snapshot(record: Applied) -> dict[str, Any]:
    """A copy of the record deep enough to compare with later (values are immutable)."""
    return {k: _copy(v) for k, v in vars(record).items()}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    return list(value) if isinstance(value, list) else value


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """{"set": {field: value}, "put": {field: {key: value}}, "drop": {field: [key]},
    "add": {field: [item]}, "remove": {field: [item]}} with only what differs."""
    change: dict[str, dict[str, Any]] = {}
    for name, value in new.items():
        before = old.get(name)
        if value == before:
            continue
        if isinstance(value, dict) and isinstance(before, dict):
            parts = {"put": dict(value.items() - before.items()),
                     "drop": sorted(before.keys() - value.keys())}
        elif isinstance(value, list) and isinstance(before, list):
            parts = {"add": sorted(set(value) - set(before)),
                     "remove": sorted(set(before) - set(value))}
        else:
            parts = {}
            change.setdefault("set", {})[name] = value
        for kind, part in parts.items():
            if part:
                change.setdefault(kind, {})[name] = part
    return change


def _replay(data: dict[str, Any], change: dict[str, Any]) -> None:
    data.update(change.get("set", {}))
    for name, put in change.get("put", {}).items():
        data[name] = {**data.get(name, {}), **put}
    for name, keys in change.get("drop", {}).items():
        data[name] = {k: v for k, v in data.get(name, {}).items() if k not in set(keys)}
    for name, items in change.get("add", {}).items():
        data[name] = sorted({*data.get(name, []), *items})  # lists of the record are sorted
    for name, items in change.get("remove", {}).items():
        data[name] = [i for i in data.get(name, []) if i not in set(items)]


def _journal_entries(path: Path) -> list[dict[str, Any]]:
    """The journal's complete lines; a line cut short by a crash (no newline) is not one."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.split("\n")[:-1] if line]


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace a file of the agent's own state directory (0700, readable by root only)."""
    atomic.write_atomic(path, data, mode, dir_mode=0o700)
