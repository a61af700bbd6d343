"""`peerops doctor`: the debugging checklist the DN42 wiki's OpenBSD page never wrote.

An ordered list of checks (dn42-context §1.5 gathers them from OpenBSD's documentation):

     1. net.inet.gre.allow                    8. flows (ipsecctl -sa)
     2. isakmpd running with -K               9. SAs
     3. local key, safe permissions          10. gre interface
     4. the peer's key where its ID puts it  11. tunnel endpoints
     5. ipsec.conf parses (ipsecctl -n -f)   12. transfer addresses
     6. rule loaded (applied record)         13. ping across the transfer net
     7. (the peering was accepted)           14. MTU sanity for ESP
                                             15. pf hints, when pfctl exists

Router-wide checks run once; per-peer checks run for every peer (or the one asked for), each
step for all peers before the next step, so the first failure is the root cause to fix
first. Every failure names its cause and the exact next command. The per-peer checks are
agent.health.checklist's (health's reason is the doctor's first failure); this module adds the ones
that need commands of their own: `ipsecctl -n -f`, `ifconfig -a` (MTU), `ping`, `pfctl -sr`.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.config import DEFAULT_PATH, AgentConfig
from agent.errors import ParseError, PeeropsError
from agent.esp import ENC_SIZES, esp_size, largest_mtu
from agent.facts.ifconfig import parse_ifconfig
from agent.facts.observe import Observed
from agent.health.checklist import (
    APPLY,
    FAIL,
    PASS,
    SKIP,
    WAIT,
    WARN,
    Check,
    PeerView,
    check_gre_allow,
    check_isakmpd,
    check_local_key,
    cmd,
    first_failure,
    peer_checks,
)
from agent.health.ping import ping_peer
from agent.host import Host
from agent.model import Peering
from agent.router.desired import IPSEC_CONF, LOCAL_KEY, Desired
from agent.run.converge import RunOutcome, prepare
from agent.run.verdict import checklist_exit

# The order of the checklist; per-peer steps run for every peer before the next step.
STEPS = (
    "repo", "gre-allow", "isakmpd", "local-key", "peer-accepted", "peer-key", "ipsec-conf",
    "rule", "flows", "sas", "gre", "tunnel", "addresses", "ping", "mtu", "pf",
)
IPSECCTL_PARSE = ("ipsecctl", "-n", "-f", IPSEC_CONF)
IFCONFIG_ALL = ("ifconfig", "-a")
PFCTL_RULES = ("pfctl", "-sr")
MTU_SOURCE = (
    "sys/netinet/ip_esp.c esp_output: ESP header 8 + IV, padding to MAX(blocksize, 4) with 2 "
    "trailer bytes, ICV; sizes from sys/crypto/xform.c; gre(4) header 4 bytes (if_gre.c)"
)
PF_SOURCE = "dn42-context §5: IKE udp/500 (4500 with NAT-T) and esp on egress, gre only on enc0 "
"(enc(4), OpenBSD FAQ 17)"


class DoctorUsage(PeeropsError):
    """The doctor was asked about something that does not exist (e.g. an unknown peer)."""


@dataclass
class DoctorReport:
    """The checklist of one router (or one of its peers)."""

    router: str
    peer: str | None
    checks: list[Check]

    @property
    def first_failure(self) -> Check | None:
        return first_failure(self.checks)

    @property
    def exit_code(self) -> int:
        return checklist_exit(self.first_failure is not None)

    def to_json(self) -> dict[str, Any]:
        first = self.first_failure
        return {
            "router": self.router,
            "peer": self.peer,
            "ok": first is None,
            "first_failure": first.to_json() if first else None,
            "checks": [c.to_json() for c in self.checks],
        }


def apply_command(cfg: AgentConfig) -> str:
    """`peerops apply` for this configuration (with -c unless it is the default file)."""
    return APPLY if cfg.source == DEFAULT_PATH else cmd("peerops", "apply", "-c", cfg.source)


def run_doctor(
    cfg: AgentConfig,
    peer: str | None = None,
    now: float | None = None,
    ping: bool = True,
) -> DoctorReport:
    """Run the checklist on the configured router; raise DoctorUsage for an unknown peer."""
    now = time.time() if now is None else now
    outcome = RunOutcome(cfg.router)
    prepared = prepare(cfg, outcome)
    if prepared is None:
        return DoctorReport(cfg.router, peer, [_repo_check(cfg, outcome)])
    peerings = _chosen(cfg.router, prepared.peerings, peer)
    host, obs, desired = prepared.host, prepared.observed, prepared.desired
    apply = apply_command(cfg)
    router = [
        check_gre_allow(obs, apply),
        check_isakmpd(obs, desired.isakmpd_flags, apply),
        check_local_key(obs, host.read_file(LOCAL_KEY), _published_key(cfg, outcome)),
        check_ipsec_conf(host, obs, desired, apply),
    ]
    checks = list(router)
    underlay = _underlay(host)
    for p in peerings:
        v = PeerView(p, desired, obs, prepared.record, outcome.peer_errors.get(p.peer), now)
        result = ping_peer(host, p, v.interface) if ping else None
        checks += peer_checks(v, router, apply, pinged=ping, ping=result)
        checks.append(check_mtu(v, underlay))
    if peer is None or peerings:
        checks.append(check_pf(host))
    order = {name: i for i, name in enumerate(STEPS)}
    names = {p.peer: i for i, p in enumerate(peerings)}
    checks.sort(key=lambda c: (order[c.id], names.get(c.peer or "", -1)))
    return DoctorReport(cfg.router, peer, checks)


def _chosen(router: str, peerings: Sequence[Peering], peer: str | None) -> list[Peering]:
    """The peerings to check: all of them, or the one named."""
    ordered = sorted(peerings, key=lambda p: p.peer)
    if peer is None:
        return ordered
    chosen = [p for p in ordered if p.peer == peer]
    if not chosen:
        known = ", ".join(p.peer for p in ordered) or "none"
        raise DoctorUsage(f"{router} has no peer {peer!r} (its peers: {known})")
    return chosen


def _repo_check(cfg: AgentConfig, outcome: RunOutcome) -> Check:
    shown = "; ".join(str(p) for p in outcome.problems[:3])
    more = f" (and {len(outcome.problems) - 3} more)" if len(outcome.problems) > 3 else ""
    return Check(
        "repo", "state repo valid", FAIL, f"{len(outcome.problems)} error(s): {shown}{more}",
        cause="peerops cannot tell what this router should look like, so it checks nothing",
        next=(cmd("peerops", "validate", str(cfg.repo)),),
        source="the state repo format (state/README.md)",
    )


def _published_key(cfg: AgentConfig, outcome: RunOutcome) -> str | None:
    """The public key the repo publishes for this router (peers verify us with it)."""
    inventory = getattr(outcome, "inventory", None)  # set by newer prepare(); else load
    if inventory is None:
        from agent.repo.inventory import load_inventory

        inventory, _ = load_inventory(cfg.repo)
    router = inventory.routers.get(cfg.router) if inventory is not None else None
    return router.public_key if router is not None else None


# -- ipsec.conf ----------------------------------------------------------------------------------


def check_ipsec_conf(host: Host, obs: Observed, desired: Desired, apply: str = APPLY) -> Check:
    """/etc/ipsec.conf exists and `ipsecctl -n -f` parses it; differing from the rendered
    file is worth a warning (edited by hand: `peerops plan` shows how)."""
    title, source = "ipsec.conf parses", "ipsecctl(8) -n; sbin/ipsecctl/parse.y (reference §2.6)"
    fact = obs.files.get(IPSEC_CONF)
    if fact is None:
        return Check(
            "ipsec-conf", title, FAIL, f"{IPSEC_CONF} is missing",
            cause="nothing holds the rules; at boot /etc/rc loads this file when ipsec=YES",
            next=(apply,), source=source,
        )
    result = host.run(IPSECCTL_PARSE)
    if not result.ok:
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        return Check(
            "ipsec-conf", title, FAIL, "; ".join(errors[:3]) or f"exit {result.rc}",
            cause="ipsecctl refuses the file, so `ipsecctl -f` loads no rule from it",
            next=(cmd(*IPSECCTL_PARSE), apply), source=source,
        )
    if fact.content != desired.ipsec_conf.content:
        return Check(
            "ipsec-conf", title, WARN, "parses, but differs from what peerops renders",
            cause="it was edited by hand (or the repo changed since the last apply)",
            next=("peerops plan",), source=source,
        )
    return Check("ipsec-conf", title, PASS, f"{cmd(*IPSECCTL_PARSE)}: ok", source=source)


# -- MTU ---------------------------------------------------------------------------------------

def _underlay(host: Host) -> dict[str, tuple[str, int]] | str:
    """Address -> (interface, mtu) from `ifconfig -a`, or why it is unknown."""
    result = host.run(IFCONFIG_ALL)
    if not result.ok:
        return f"{cmd(*IFCONFIG_ALL)} failed: {result.stderr.strip()}"
    try:
        interfaces = parse_ifconfig(result.stdout, cmd(*IFCONFIG_ALL))
    except ParseError as exc:
        return str(exc)
    out = {}
    for iface in interfaces:
        for address in [a.address for a in iface.inet] + [a.address for a in iface.inet6]:
            if iface.mtu:
                out[address] = (iface.name, iface.mtu)
    return out


def _algorithms(v: PeerView) -> tuple[str, str | None, str]:
    """(enc, auth, where from): the outbound SA's, else the configured quick mode's."""
    for sa in v.obs.ipsec.sas:
        if sa.src == v.p.local_endpoint and sa.dst == v.p.remote_endpoint and sa.enc:
            return sa.enc, sa.auth, "the SA in use"
    quick = v.p.crypto.quick
    aead = ENC_SIZES.get(quick.enc, (0, 0, 0))[2] > 0
    return quick.enc, None if aead else quick.auth, "the configured quick mode"


def check_mtu(v: PeerView, underlay: dict[str, tuple[str, int]] | str) -> Check:
    """A full-size packet of the gre interface, wrapped in GRE and ESP, fits the underlay."""
    title, peer = "MTU for ESP", v.p.peer
    live = v.live
    if live is None or live.mtu is None:
        return Check("mtu", title, SKIP, "no interface to look at", peer, source=MTU_SOURCE)
    if isinstance(underlay, str):
        return Check("mtu", title, SKIP, underlay, peer, source=MTU_SOURCE)
    where = underlay.get(v.p.local_endpoint)
    if where is None:
        return Check("mtu", title, SKIP, f"no interface holds {v.p.local_endpoint}", peer,
                     source=MTU_SOURCE)
    enc, auth, origin = _algorithms(v)
    outer = 20 if ipaddress.ip_address(v.p.local_endpoint).version == 4 else 40
    size = esp_size(live.mtu, outer, enc, auth)
    if size is None:
        return Check("mtu", title, SKIP, f"sizes of esp {enc}/{auth} unknown", peer,
                     source=MTU_SOURCE)
    seen = (f"{live.name} mtu {live.mtu} -> {size} bytes on {where[0]} (mtu {where[1]}) with "
            f"enc {enc}{' auth ' + auth if auth else ''} ({origin})")
    if size <= where[1]:
        return Check("mtu", title, PASS, seen, peer, source=MTU_SOURCE)
    best = largest_mtu(where[1], outer, enc, auth)
    return Check(
        "mtu", title, WARN, seen, peer,
        cause="full-size packets are fragmented after encryption (gre sends with nodf): slower, "
        "and lost where fragments are dropped",
        next=(cmd("ifconfig", live.name, "mtu", str(best)),
              f"and set gre: mtu: {best} in the peering's file of the state repo"),
        source=MTU_SOURCE,
    )


# -- pf ------------------------------------------------------------------------------------------


def pf_hints(rules: str) -> list[str]:
    """What a `pfctl -sr` ruleset may get wrong for IKE, ESP and GRE (hints, not proof:
    pf's last-match and quick semantics are not evaluated)."""
    lines = [line.strip() for line in rules.splitlines() if line.strip()]
    if not any(line.startswith("block") for line in lines):
        return []  # nothing is blocked
    passes = [line for line in lines if line.startswith("pass")]
    open_pass = [line for line in passes if " proto " not in line and " port " not in line]

    def passed(*needles: str) -> bool:
        return any(all(n in line for n in needles) for line in passes)

    hints = []
    if not open_pass and not (passed("proto udp", "port = 500") or passed("proto udp", "isakmp")):
        hints.append("no pass rule for IKE (udp port 500 isakmp, and 4500 ipsec-nat-t with NAT)")
    if not open_pass and not passed("proto esp"):
        hints.append("no pass rule for proto esp")
    if not passed("on enc0", "proto gre") and not any("on enc0" in line for line in open_pass):
        hints.append("no pass rule for proto gre on enc0 (decrypted GRE appears there)")
    cleartext = [line for line in passes if "proto gre" in line and "on enc0" not in line]
    if cleartext:
        hints.append(f"GRE also passes outside enc0 ({cleartext[0]!r}): cleartext GRE would be "
                     "accepted; block proto gre on the egress interface")
    return hints


def check_pf(host: Host) -> Check:
    """pf hints from `pfctl -sr`, skipped where pfctl does not exist."""
    title = "pf hints"
    result = host.run(PFCTL_RULES)
    if result.rc == 127:
        return Check(
            "pf", title, SKIP,
            "pfctl is not available on this host (the simulated router has no pf); check by "
            "hand that pf passes udp/500, esp and gre on enc0",
            source=PF_SOURCE,
        )
    if not result.ok:
        return Check("pf", title, WARN, f"{cmd(*PFCTL_RULES)}: {result.stderr.strip()}",
                     next=(cmd(*PFCTL_RULES),), source=PF_SOURCE)
    hints = pf_hints(result.stdout)
    if not hints:
        return Check("pf", title, PASS, "nothing in the ruleset stands out", source=PF_SOURCE)
    return Check(
        "pf", title, WARN, "; ".join(hints),
        cause="pf may drop IKE or ESP, or accept GRE that did not come through IPsec",
        next=(cmd("pfctl", "-vvsr"), cmd("tcpdump", "-nei", "pflog0")), source=PF_SOURCE,
    )


# -- text ----------------------------------------------------------------------------------------

MARKS = {PASS: "ok", FAIL: "FAIL", WARN: "warn", WAIT: "wait", SKIP: "skip"}


def doctor_text(report: DoctorReport) -> str:
    """The checklist for a person: one line per check, cause and next commands on failures."""
    scope = f"peer {report.peer}" if report.peer else "all peers"
    lines = [f"peerops doctor: {report.router}, {scope}"]
    width = max((len(c.label) for c in report.checks), default=0)
    for c in report.checks:
        lines.append(f"  {MARKS[c.status]:<4}  {c.label:<{width}}  {c.detail}")
        if c.status in (FAIL, WARN) and c.cause:
            lines.append(f"        cause: {c.cause}")
        for i, step in enumerate(c.next if c.status in (FAIL, WARN, WAIT) else ()):
            lines.append(f"        {'next:' if i == 0 else 'then:'} {step}")
        for step in c.debug if c.status in (FAIL, WARN) else ():
            lines.append(f"        look: {step}")
        if c.status in (FAIL, WARN) and c.source and c.next:
            lines.append(f"        (from {c.source})")
    first = report.first_failure
    failures = sum(1 for c in report.checks if c.failed)
    if first is None:
        lines.append(f"{report.router}: every check passed")
    else:
        lines.append(f"{report.router}: {failures} failure(s); fix the first one first: "
                     f"{first.label}: {first.cause or first.detail}")
    return "\n".join(lines) + "\n"
