"""The removal guard: one commit must not tear down most of a router's peerings at once.

A peering is *removed* when the applied record has it and the repo no longer does. When more
would go than `safety.max_removals` allows (default: more than 5, or more than half of the
router's applied peerings), every removal is held: the gate keeps those peers at their
applied state (agent.repo.gates), everything else converges, and the report says
"removal held". The operator confirms with `safety.allow_removals: N` in the agent's config,
or with a trailer `peerops-allow-removals: N` in the message of the commit being applied
(counted only because that commit passed the trust policy of agent.repo.source: with
`trust.require_signed` an unsigned commit never reaches the checkout).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.config import AgentConfig
    from agent.model import Peering

TRAILER = "peerops-allow-removals"
_TRAILER_RE = re.compile(rf"{TRAILER}:[ \t]*([0-9]{{1,6}})[ \t]*", re.IGNORECASE)
DEFAULT_COUNT, DEFAULT_SHARE = 5, 50


def removal_gate(cfg: AgentConfig, peerings: Sequence[Peering]) -> dict[str, str]:
    """Return peer -> reason for every removal held back (empty when they may go)."""
    from agent.router.record import load_record

    record = load_record(cfg.state_dir)
    applied = set(record.rules) | set(record.interfaces) | set(record.peer_keys)
    removed = sorted(applied - {p.peer for p in peerings})
    if not removed or not _too_many(cfg, len(removed), len(applied)):
        return {}
    confirmed = max(cfg.safety.allow_removals, trailer_count(cfg))
    if confirmed >= len(removed):
        return {}
    why = (
        f"removal held: {len(removed)} of {len(applied)} peerings would go "
        f"({', '.join(removed)}), more than {_limit_text(cfg)}; confirm with "
        f"safety.allow_removals: {len(removed)} in {cfg.source} or a commit trailer "
        f"'{TRAILER}: {len(removed)}'"
    )
    return dict.fromkeys(removed, why)


def _too_many(cfg: AgentConfig, count: int, total: int) -> bool:
    return exceeds_limit(count, total, cfg.safety.max_removals)


def exceeds_limit(count: int, total: int, limit: int | str | None = None) -> bool:
    """Whether count removals out of total peerings is more than limit allows (None: the
    default; also what `check-pr` tells a reviewer)."""
    if limit is None:
        return count > DEFAULT_COUNT or count * 100 > total * DEFAULT_SHARE
    if isinstance(limit, str):  # "N%", checked by agent.config
        return count * 100 > total * int(limit.rstrip("%"))
    return count > limit


def _limit_text(cfg: AgentConfig) -> str:
    limit = cfg.safety.max_removals
    if limit is None:
        return f"the default limit ({DEFAULT_COUNT}, or {DEFAULT_SHARE}% of them)"
    return f"safety.max_removals ({limit})"


def trailer_count(cfg: AgentConfig) -> int:
    """N of the last `peerops-allow-removals: N` trailer of the checked-out commit, or 0."""
    return trailer_in(_head_message(cfg))


def trailer_in(message: str) -> int:
    """N of the last `peerops-allow-removals: N` trailer of a commit message, or 0."""
    lines = message.rstrip("\n").split("\n")
    found = 0
    for line in reversed(lines):  # trailers are the message's last paragraph
        if not line.strip():
            break
        if m := _TRAILER_RE.fullmatch(line):
            found = found or int(m.group(1))
    return found


def _head_message(cfg: AgentConfig) -> str:
    import git

    try:
        return str(git.Repo(cfg.repo).head.commit.message)
    except Exception:  # no checkout or no commit: no confirmation
        return ""
