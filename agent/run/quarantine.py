"""Per-peer quarantine: a peering whose change OpenBSD refused is held at its last good state
while every other peering converges.

A step that fails for one peer (its rule refused by `ipsecctl -n`, its key file, its gre
interface) quarantines that peer: the record says why, with the failing command and its own
message. A quarantined peer is a gate (agent/repo/gates.py): held as applied, never half
changed. It is tried again when a new commit changes the peering (its digest differs) or
after an exponential backoff (base · 2^(attempts-1), capped), and leaves quarantine when it
converges. Kept in <state_dir>/quarantine.json, a derived file: deleting it only means the
next run tries every peer again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.router.record import write_atomic

if TYPE_CHECKING:
    from agent.config import AgentConfig
    from agent.model import Peering

QUARANTINE_FILE = "quarantine.json"


@dataclass
class Entry:
    reason: str  # what failed, in words ("its rule is refused by ipsecctl -n")
    command: str  # the failing command as typed
    message: str  # that command's own message
    since: float
    attempts: int
    retry_at: float
    digest: str  # the peering as the repo said when it failed

    def describe(self) -> str:
        retry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.retry_at))
        return (f"quarantined: {self.reason}: {self.command}: {self.message} "
                f"(attempt {self.attempts}; retried at {retry} or when its file changes)")


def digest(p: Peering) -> str:
    """What the repo says about a peering: a new commit that changes it changes this."""
    return hashlib.sha256(repr(p).encode()).hexdigest()[:16]


def load(state_dir: Path) -> dict[str, Entry]:
    path = Path(state_dir) / QUARANTINE_FILE
    try:
        data = json.loads(path.read_text())
        return {peer: Entry(**e) for peer, e in data.items()}
    except FileNotFoundError:
        return {}
    except (ValueError, TypeError):  # a damaged derived file: try every peer again
        return {}


def save(state_dir: Path, entries: dict[str, Entry]) -> None:
    data = {peer: asdict(e) for peer, e in sorted(entries.items())}
    write_atomic(Path(state_dir) / QUARANTINE_FILE, json.dumps(data, indent=1).encode())


def held(entries: dict[str, Entry], peerings: Sequence[Peering], now: float) -> dict[str, str]:
    """Peer -> why it stays held this run: quarantined, unchanged, and not yet due again."""
    out = {}
    for p in peerings:
        e = entries.get(p.peer)
        if e is not None and e.digest == digest(p) and now < e.retry_at:
            out[p.peer] = e.describe()
    return out


def quarantine_gate(cfg: AgentConfig, peerings: Sequence[Peering]) -> dict[str, str]:
    """The gate: peers held by their quarantine (agent/repo/gates.py)."""
    return held(load(cfg.state_dir), peerings, time.time())


@dataclass(frozen=True)
class Failure:
    peer: str
    reason: str
    command: str
    message: str


def update(
    state_dir: Path,
    peerings: Sequence[Peering],
    failures: Sequence[Failure],
    converged: set[str],
    *,
    backoff: float,
    backoff_max: float,
    now: float | None = None,
) -> dict[str, Entry]:
    """Record this run's failures (attempts + 1, next retry after the backoff) and clear the
    peers that converged; peers gone from the repo leave quarantine too."""
    now = time.time() if now is None else now
    entries = load(state_dir)
    by_peer = {p.peer: p for p in peerings}
    for f in failures:
        if f.peer not in by_peer:
            continue
        old = entries.get(f.peer)
        attempts = (old.attempts if old else 0) + 1
        delay = min(backoff * 2 ** (attempts - 1), backoff_max)
        entries[f.peer] = Entry(
            reason=f.reason,
            command=f.command,
            message=f.message,
            since=old.since if old else now,
            attempts=attempts,
            retry_at=now + delay,
            digest=digest(by_peer[f.peer]),
        )
    failed = {f.peer for f in failures}
    for peer in list(entries):
        if peer not in by_peer or (peer in converged and peer not in failed):
            del entries[peer]
    if entries or (Path(state_dir) / QUARANTINE_FILE).exists():
        save(state_dir, entries)
    return entries
