"""Per-peer health: the checklist (agent.health.checklist) reduced to one state per peer: up,
negotiating or down, with the first failure as its reason, so a peer's reason is always
`peerops doctor`'s first failure for it.

SAs appear only after IKE negotiates, so a missing flow or SA right after the rules were
loaded is "negotiating" for a grace period, not a failure (openbsd-reference §1.10).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.facts.observe import Observed
from agent.health.checklist import (
    PASS,
    WAIT,
    Check,
    PeerView,
    _counts,
    first_failure,
    peer_checks,
    router_checks,
)
from agent.health.ping import PingResult
from agent.model import Peering
from agent.router.desired import Desired
from agent.router.record import Applied


@dataclass(frozen=True)
class PeerHealth:
    router: str
    peer: str
    interface: str | None
    key: bool
    rule: bool
    flows_in: int
    flows_out: int
    sas_in: int
    sas_out: int
    gre: bool
    state: str  # up | negotiating | down
    reason: str | None = None
    check: str | None = None  # id of the check the reason comes from (as `peerops doctor`)
    ping: bool | None = None  # None: not pinged

    def to_json(self, key_fingerprint: str | None = None) -> dict[str, Any]:
        """The one JSON shape of per-peer health (state/schema/report.schema.json, $defs/peer),
        printed by every command and committed in the reports."""
        return {
            "router": self.router,
            "peer": self.peer,
            "state": self.state,
            "reason": self.reason,
            "check": self.check,
            "interface": self.interface,
            "key": self.key,
            "rule": self.rule,
            "flows": {"in": self.flows_in, "out": self.flows_out},
            "sas": {"in": self.sas_in, "out": self.sas_out},
            "gre": self.gre,
            "ping": self.ping,
            "key_fingerprint": key_fingerprint,
        }


def peers_json(
    health: Iterable[PeerHealth], fingerprints: Mapping[str, str | None] | None = None
) -> list[dict[str, Any]]:
    """Per-peer health as the JSON list every command prints: sorted by router, then peer."""
    fingerprints = fingerprints or {}
    ordered = sorted(health, key=lambda h: (h.router, h.peer))
    return [h.to_json(fingerprints.get(h.peer)) for h in ordered]


PingFn = Callable[[Peering, str | None], PingResult | None]


def assess(
    peerings: list[Peering],
    desired: Desired,
    obs: Observed,
    record: Applied,
    errors: dict[str, str],
    now: float | None = None,
    *,
    ping: PingFn | None = None,
) -> list[PeerHealth]:
    """Return the health of every peering of the router, in peer order; with `ping`, each
    peer is also pinged across its transfer net (see `ping_peer`)."""
    now = time.time() if now is None else now
    router = router_checks(obs, desired)
    return [
        _assess_one(PeerView(p, desired, obs, record, errors.get(p.peer), now), router, ping)
        for p in sorted(peerings, key=lambda p: p.peer)
    ]


def _assess_one(v: PeerView, router: list[Check], ping: PingFn | None) -> PeerHealth:
    result = ping(v.p, v.interface) if ping is not None else None
    checks = [*router, *peer_checks(v, router, pinged=ping is not None, ping=result)]
    by_id = {c.id: c for c in checks if c.peer == v.p.peer}
    failed = first_failure(checks)
    waiting = any(c.status == WAIT for c in checks)
    state = "down" if failed else ("negotiating" if waiting else "up")
    fin, fout, sin, sout = _counts(v)
    gre_ok = all(by_id[i].status == PASS for i in ("gre", "tunnel", "addresses"))
    return PeerHealth(
        v.p.router,
        v.p.peer,
        v.interface,
        by_id["peer-key"].status == PASS,
        by_id["rule"].status == PASS,
        fin,
        fout,
        sin,
        sout,
        gre_ok,
        state,
        f"{failed.title}: {failed.detail}" if failed else None,
        failed.id if failed else None,
        None if result is None else result.answered,
    )

