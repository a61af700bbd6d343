"""One run: load → observe → allocate → render → plan → apply → verify → report.

`plan_router` stops after the plan (dry run = the plan, no second code path);
`apply_router` executes it, looks again at what it changed (facts.observe.reobserve), and
reports what is still different.
The result and exit code come from `agent.run.verdict` (one place for every command).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.config import AgentConfig
from agent.errors import ConfigError
from agent.facts.observe import Observed, observe, observe_local_addresses, reobserve
from agent.health.peer import PeerHealth, assess, peers_json
from agent.host import Host
from agent.model import Inventory, Peering
from agent.repo.cache import load_inventory_cached
from agent.repo.gates import gate_peers
from agent.repo.yamlpos import Problem
from agent.router.allocate import allocate
from agent.router.apply import Applier, StepResult
from agent.router.desired import Desired
from agent.router.plan import Step, make_plan
from agent.router.record import Applied, load_record
from agent.router.render import Held, render
from agent.router.render_cache import RenderCache
from agent.run.contain import blame, rollback_steps
from agent.run.deadline import Deadline
from agent.run.quarantine import Failure, update
from agent.run.verdict import Findings, Verdict, verdict

if TYPE_CHECKING:
    from agent.repo.source import SyncResult


@dataclass
class RunOutcome:
    """What a plan or apply found and did; enough to print, exit and report."""

    router: str
    problems: list[Problem] = field(default_factory=list)  # the repo is invalid: nothing done
    peer_errors: dict[str, str] = field(default_factory=dict)  # peers left out this run
    observe_errors: list[str] = field(default_factory=list)
    plan: list[Step] = field(default_factory=list)
    results: list[StepResult] = field(default_factory=list)
    residual: list[Step] = field(default_factory=list)  # still different after apply
    health: list[PeerHealth] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    inventory: Inventory | None = None  # what was loaded (the daemon's fast path reuses it)

    errors: list[str] = field(default_factory=list)  # the run itself broke (internal, deadline)
    # this router's configuration does not fit the repo (e.g. the router is not in it): exit 1
    config_errors: list[str] = field(default_factory=list)
    planned_only: bool = False  # a plan: nothing was meant to be applied

    @property
    def changed(self) -> bool:
        return any(r.ok for r in self.results)

    def findings(self, sync: SyncResult | None = None) -> Findings:
        """The facts the verdict needs. With the cycle's sync: a refused commit is a failure
        an operator must see, even when the router is healthy on its last verified commit."""
        left_out = len(self.peer_errors) + len(self.observe_errors)
        down = 0 if self.planned_only else sum(1 for h in self.health if h.state == "down")
        return Findings(
            invalid=bool(self.problems),
            config_error=bool(self.config_errors),
            refused=sync is not None and sync.status in ("refused", "held"),
            run_errors=len(self.errors),
            failed_steps=sum(1 for r in self.results if not r.ok),
            residual=len(self.residual),
            changed=sum(1 for r in self.results if r.ok),
            degraded=left_out + down,
            pending=len(self.plan) if self.planned_only else 0,
        )

    def verdict(self, sync: SyncResult | None = None) -> Verdict:
        return verdict(self.findings(sync))

    @property
    def result(self) -> str:
        return self.verdict().result

    @property
    def exit_code(self) -> int:
        return self.verdict().exit_code

    def to_json(self) -> dict[str, Any]:
        return {
            "router": self.router,
            "result": self.result,
            "exit_code": self.exit_code,
            "errors": self.config_errors + self.errors,
            "problems": [p.to_json() for p in self.problems],
            "peer_errors": self.peer_errors,
            "observe_errors": self.observe_errors,
            "plan": [s.to_json() for s in self.plan],
            "applied": [r.to_json() for r in self.results],
            "residual": [s.to_json() for s in self.residual],
            "peers": peers_json(self.health),
        }


@dataclass
class Prepared:
    host: Host
    peerings: list[Peering]
    desired: Desired
    observed: Observed
    record: Applied


def prepare(
    cfg: AgentConfig,
    outcome: RunOutcome,
    inventory: Inventory | None = None,
    held: dict[str, str] | None = None,
) -> Prepared | None:
    """Load and validate the repo (unless a still-valid inventory is given), observe the host
    and render; None when the repo is invalid. `held`: peers this run quarantined already."""
    if inventory is None:
        inventory, problems = load_inventory_cached(
            cfg.repo,
            cfg.state_dir,
            min_bits=cfg.keys.min_bits,
            min_crypto=cfg.policy.min_crypto,
        )
        if inventory is None:
            outcome.problems = problems
            return None
    require_router(cfg, inventory)
    outcome.inventory = inventory
    host = cfg.make_host()
    record = load_record(cfg.state_dir)
    obs = observe(host)
    outcome.observe_errors = list(obs.errors)
    peerings = list(inventory.for_router(cfg.router))
    gated = gate_peers(cfg, peerings) | (held or {})
    active = [p for p in peerings if p.peer not in gated]
    owners = {i: obs.owner_of_interface(i) for i in set(obs.gre) | set(obs.hostname_files)}
    held_ifaces = {record.interfaces[p] for p in gated if p in record.interfaces}
    interfaces, errors = allocate(active, record.interfaces, owners, taken=held_ifaces)
    outcome.peer_errors = gated | errors
    texts = RenderCache(cfg.state_dir)
    desired = render(cfg.router, active, interfaces, held_from(record, gated), texts)
    texts.save()
    return Prepared(host, peerings, desired, obs, record)


def require_router(cfg: AgentConfig, inventory: Inventory) -> None:
    """A router the repo does not describe is a configuration error, never "no peerings":
    read as empty, it would tear down every key, rule and tunnel of the router."""
    if cfg.router in inventory.routers:
        return
    from agent.repo.source import checkout_head

    commit = checkout_head(cfg.repo) or "no commit"
    known = ", ".join(sorted(inventory.routers)) or "none"
    raise ConfigError(
        f"{cfg.source}: router: {cfg.router} is not in the state repo {cfg.repo} at "
        f"{commit[:12]} (routers/{cfg.router}.yaml is missing; routers there: {known}); "
        "nothing was changed"
    )


def held_from(record: Applied, peers: Iterable[str]) -> Held:
    """What stays applied for gated peers: exactly what the record says was applied."""
    peers = [p for p in peers if p in record.rules or p in record.interfaces]
    return Held(
        rules={p: record.rules[p] for p in peers if p in record.rules},
        interfaces={p: record.interfaces[p] for p in peers if p in record.interfaces},
        keys={p: record.peer_keys[p] for p in peers if p in record.peer_keys},
    )


def plan_router(cfg: AgentConfig, inventory: Inventory | None = None) -> RunOutcome:
    """Return the plan for this router without changing anything (with an inventory already
    loaded from the same commit, it is not loaded again)."""
    outcome = RunOutcome(cfg.router, planned_only=True)
    prepared = prepare(cfg, outcome, inventory)
    if prepared is not None:
        outcome.plan = make_plan(prepared.desired, prepared.observed, prepared.record)
        outcome.health = _assess(
            prepared, prepared.observed, prepared.record, outcome.peer_errors
        )
    outcome.finished = time.time()
    return outcome


def apply_router(
    cfg: AgentConfig,
    deadline: Deadline | None = None,
    inventory: Inventory | None = None,
    before_changes: Callable[[Prepared, RunOutcome], None] | None = None,
    after_verify: Callable[[Prepared, Observed, Applied], None] | None = None,
) -> RunOutcome:
    """Plan, apply, then verify by observing again (uncached, when anything was applied)
    and planning once more.

    A step that fails for one peering quarantines that peer (agent/run/contain.py): its
    partial changes are undone, the router is observed and planned again with the peer held,
    and the rest is applied in the same run. A router-wide failure stops the run (a failed
    load of ipsec.conf is rolled back first). before_changes runs before the first step of a
    non-empty plan (the dead-man switch arms there); after_verify gets what verify saw (the
    run's peerings and desired state, the router as observed after it, the record), for a
    caller that assesses it again (`peerops simulate` pings each link) without a new look."""
    outcome = RunOutcome(cfg.router)
    held: dict[str, str] = {}
    prepared = prepare(cfg, outcome, inventory)
    if prepared is None:
        outcome.finished = time.time()
        return outcome
    outcome.plan = plan = make_plan(prepared.desired, prepared.observed, prepared.record)
    if plan and before_changes is not None:
        before_changes(prepared, outcome)
    while True:
        applier = Applier(prepared.host, prepared.desired, prepared.record, cfg.state_dir,
                          cfg.command_timeout, deadline)
        results = applier.apply(plan)
        outcome.results += results
        failed = next((r for r in results if not r.ok), None)
        if failed is None:
            break
        blamed = [f for f in blame(failed, prepared, applier) if f.peer not in held]
        undo = rollback_steps(failed, results, prepared, applier, [f.peer for f in blamed])
        outcome.results += applier.apply(undo)
        if not blamed:
            break  # the router's failure: reported as such, never blamed on a peer
        held |= {f.peer: f"quarantined: {f.reason}: {f.command}: {f.message}" for f in blamed}
        _quarantine(cfg, prepared.peerings, blamed, set())
        prepared = prepare(cfg, outcome, outcome.inventory, held)
        assert prepared is not None  # noqa: S101 - the same inventory validated above
        plan = make_plan(prepared.desired, prepared.observed, prepared.record)
    # Verify: look again at what the applied steps changed; the rest is as observed a moment
    # ago (nothing applied: the first look stands as a whole).
    after = reobserve(prepared.host, prepared.observed, _touched(outcome.results))
    outcome.observe_errors = list(after.errors)
    outcome.residual = make_plan(prepared.desired, after, applier.record)
    outcome.health = _assess(prepared, after, applier.record, outcome.peer_errors)
    down = {h.peer for h in outcome.health if h.state == "down"}
    converged = {p.peer for p in prepared.peerings} - set(outcome.peer_errors) - down
    _quarantine(cfg, prepared.peerings, [], converged if not outcome.residual else set())
    if after_verify is not None:
        after_verify(prepared, after, applier.record)
    outcome.finished = time.time()
    return outcome


def _touched(results: list[StepResult]) -> list[str]:
    """The resources of every step run, failed or undone ones included (they may have
    changed something before failing)."""
    return sorted({r.step.resource for r in results})


def _assess(
    prepared: Prepared, obs: Observed, record: Applied, errors: dict[str, str]
) -> list[PeerHealth]:
    """Per-peer health; when a peering is not up, the router's own addresses are looked at
    too, so an endpoint the router does not hold is a failure, not "negotiating"."""
    health = assess(prepared.peerings, prepared.desired, obs, record, errors)
    if obs.local_addresses is None and any(h.state != "up" for h in health):
        observe_local_addresses(prepared.host, obs)
        health = assess(prepared.peerings, prepared.desired, obs, record, errors)
    return health


def _quarantine(
    cfg: AgentConfig, peerings: list[Peering], failures: list[Failure], converged: set[str]
) -> None:
    update(cfg.state_dir, peerings, failures, converged,
           backoff=cfg.quarantine.backoff, backoff_max=cfg.quarantine.backoff_max)
