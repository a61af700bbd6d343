"""Gates: reasons to keep a peer out of this run while the others converge.

A gated peer is *held*: what was applied for it before (its rule in isakmpd, its gre
interface, its key file) stays exactly as it was, so a bad new commit for one peer neither
installs untrusted material nor tears down a link that worked. A peer never applied before
is simply not configured. Gates: key signatures (agent.repo.signatures), the removal guard
(agent.repo.removals: a removed peer is held at its applied state) and quarantine
(agent.run.quarantine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.config import AgentConfig
    from agent.model import Peering

Gate = Callable[["AgentConfig", "Sequence[Peering]"], dict[str, str]]


def _gates() -> list[Gate]:
    """Every gate, imported lazily (each may need tools such as gpg or ssh-keygen)."""
    from agent.repo.removals import removal_gate
    from agent.repo.signatures import key_signature_gate
    from agent.run.quarantine import quarantine_gate

    return [key_signature_gate, removal_gate, quarantine_gate]


def gate_peers(cfg: AgentConfig, peerings: Sequence[Peering]) -> dict[str, str]:
    """Return peer -> reason for every peer a gate keeps out of this run."""
    reasons: dict[str, str] = {}
    for gate in _gates():
        for peer, why in gate(cfg, peerings).items():
            reasons.setdefault(peer, why)
    return reasons
