"""Per-peer health: key, rule, flows, SAs and gre, and one state: up, negotiating or down.

SAs appear only after IKE negotiates, so a missing SA right after the rules were loaded is
"negotiating" for a grace period, not a failure (openbsd-reference §1.10).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from agent.desired import Desired
from agent.facts.observe import Observed
from agent.model import Peering
from agent.plan import gre_difference
from agent.record import Applied

NEGOTIATION_GRACE = 90.0  # seconds: a few IKE retransmits (isakmpd retries after 7, 14, ... s)


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def assess(
    peerings: list[Peering],
    desired: Desired,
    obs: Observed,
    record: Applied,
    errors: dict[str, str],
    now: float | None = None,
) -> list[PeerHealth]:
    """Return the health of every peering of the router, in peer order."""
    now = time.time() if now is None else now
    return [
        _assess_one(p, desired, obs, record, errors.get(p.peer), now)
        for p in sorted(peerings, key=lambda p: p.peer)
    ]


def _assess_one(
    p: Peering, desired: Desired, obs: Observed, record: Applied, error: str | None, now: float
) -> PeerHealth:
    iface = desired.interfaces.get(p.peer)
    key_file = obs.pubkey_files.get(p.remote_id.pubkey_path)
    key = key_file is not None and key_file.content == p.public_key.encode()
    rule = (
        obs.isakmpd_running
        and record.isakmpd_pid == obs.isakmpd_pid
        and record.rules.get(p.peer) is not None
        and record.rules.get(p.peer) == desired.rules.get(p.peer)
    )
    gre_flows = [f for f in obs.ipsec.flows if f.proto == "gre" and f.peer == p.remote_endpoint]
    flows_in = sum(1 for f in gre_flows if f.direction == "in")
    flows_out = sum(1 for f in gre_flows if f.direction == "out")
    sas_in = sum(
        1 for s in obs.ipsec.sas if s.src == p.remote_endpoint and s.dst == p.local_endpoint
    )
    sas_out = sum(
        1 for s in obs.ipsec.sas if s.src == p.local_endpoint and s.dst == p.remote_endpoint
    )
    spec = desired.gre.get(iface) if iface else None  # held peers have no new spec
    gre = spec is not None and gre_difference(spec, obs.gre.get(iface)) is None
    checks = [
        (error is None, error),
        (obs.local_key is not None, "our private key /etc/isakmpd/private/local.key is missing"),
        (key, f"peer key not installed at {p.remote_id.pubkey_path}"),
        (obs.isakmpd_running, "isakmpd is not running"),
        (obs.isakmpd_flags == desired.isakmpd_flags, "isakmpd runs without -K"),
        (rule, "rule not loaded into isakmpd"),
        (gre, f"{iface} does not match its configuration" if iface else "no gre interface"),
        (
            obs.sysctl.get("net.inet.gre.allow") == "1",
            "net.inet.gre.allow=0: GRE packets are dropped",
        ),
    ]
    reason = next((why for ok, why in checks if not ok), None)
    up = flows_in > 0 and flows_out > 0 and sas_in > 0 and sas_out > 0
    if reason is None and not up and now - (record.loaded_at or 0) >= NEGOTIATION_GRACE:
        reason = "no IPsec SA with the peer: IKE negotiation fails (see peerops doctor)"
    state = "up" if reason is None and up else ("negotiating" if reason is None else "down")
    return PeerHealth(
        p.router, p.peer, iface, key, rule, flows_in, flows_out, sas_in, sas_out, gre, state, reason
    )
