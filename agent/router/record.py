"""What the agent applied last, kept in its state directory (/var/db/peerops by default).

isakmpd cannot be asked which rules it holds, so this record is the memory of what was
loaded and into which isakmpd process (its pid): a restarted isakmpd has forgotten them.
It also lists the files peerops wrote, so it never removes one it did not write.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agent import atomic

RECORD = "applied.json"


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
    path = Path(state_dir) / RECORD
    if not path.exists():
        return Applied()
    data = json.loads(path.read_text())
    return Applied(**{k: v for k, v in data.items() if k in Applied.__dataclass_fields__})


def save_record(state_dir: Path, record: Applied) -> None:
    write_atomic(
        Path(state_dir) / RECORD, json.dumps(asdict(record), indent=1, sort_keys=True).encode()
    )


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace a file of the agent's own state directory (0700, readable by root only)."""
    atomic.write_atomic(path, data, mode, dir_mode=0o700)
