"""`peerops simulate [REPO]`: would every link of this state repo come up?

The seam for pull-request checks: the repo (e.g. a PR's checkout) is validated, a simulated
fleet is built from it (every managed router with keys of its own; every outside peer a
simulated OpenBSD router configured only from what `peerops peer config` hands it, see
agent.lab.peer_fleet), each router converges twice, and the result says per link whether it
came up and whether the second run was quiet. Nothing touches a real router.

For a change (`simulate --base`), one fleet converges at the base, then the head is pushed
to it and it converges again: the outside peers keep the side they were given at the base
(a peer's router does not change with a pull request), peers new at the head get the head's
`peer config`. So a change that the peer's side cannot follow (addresses swapped, a moved
endpoint) shows as a link that goes down.

This process runs every command of every simulated router, so their files and stores are
kept in its memory while it runs (agent.sim.state.in_memory), written to disk only for
--keep: a thousand routers' files on disk cost more system time than the simulation's own
work.
"""

from __future__ import annotations

import contextlib
import gc
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.facts.observe import Observed
from agent.health.peer import PeerHealth, peers_json
from agent.lab.peer_fleet import PeerFleet
from agent.lab.scratch import scratch_dir
from agent.model import Inventory
from agent.repo.inventory import load_inventory
from agent.repo.yamlpos import Problem
from agent.router.record import Applied
from agent.run.converge import Prepared, RunOutcome, apply_router, prepare
from agent.sim.state import in_memory, snapshot

# What the removal guard would hold is check-pr's to say; the simulation applies the change.
ALLOW_REMOVALS = "peerops-allow-removals: 999999"
Seen = tuple[Prepared, Observed, Applied]  # what a run's verify saw (apply_router)
_IGNORE = shutil.ignore_patterns("__pycache__", "__init__.py", ".git")


@dataclass
class Simulation:
    problems: list[Problem] = field(default_factory=list)
    links: list[PeerHealth] = field(default_factory=list)
    second_run_steps: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and all(h.state == "up" for h in self.links)
            and not any(self.second_run_steps.values())
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": [p.to_json() for p in self.problems],
            "peers": peers_json(self.links),
            "second_run_steps": self.second_run_steps,
        }


def simulate(repo: Path, keep: Path | None = None) -> Simulation:
    """Validate repo, converge a simulated fleet built from it twice, and report each link."""
    from agent.lab.demo import FLEET_PARSE_CACHE
    from agent.repo.cache import load_inventory_cached

    with _workdir(keep) as base, in_memory(base, keep=keep is not None), _long_lived_heap():
        # Into the fleet's parse cache: building the fleet parses the same files again.
        inventory, problems = load_inventory_cached(repo, base / FLEET_PARSE_CACHE)
        if inventory is None:
            return Simulation(problems=problems)
        return SimulatedFleet.build(base, repo, inventory).converge()


def simulate_change(base_dir: Path, head_dir: Path) -> tuple[Simulation, Simulation]:
    """Simulate the base, then the head applied to the same fleet (see the module text);
    each side's Simulation. A head that adds or removes routers gets a fleet of its own."""
    old, old_problems = load_inventory(base_dir)
    new, new_problems = load_inventory(head_dir)
    if new is None:
        return Simulation(problems=old_problems), Simulation(problems=new_problems)
    if old is None or set(old.routers) != set(new.routers):
        before = Simulation(problems=old_problems) if old is None else simulate(base_dir)
        return before, simulate(head_dir)
    with _workdir(None) as base, in_memory(base), _long_lived_heap():
        fleet = SimulatedFleet.build(base, base_dir, old)
        before = fleet.converge()
        fleet.advance(head_dir, new)
        return before, fleet.converge()


@contextlib.contextmanager
def _long_lived_heap() -> Iterator[None]:
    """No full garbage collection within the block, the young generations as usual. A
    simulation's routers, stores and looks are a heap of a few hundred MiB that lives to its
    end, and each full collection walked all of it: eight of them were 0.7 s of a 10x100
    simulation, and found nothing to free (the peak RSS is the same without them)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], _NEVER)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


_NEVER = 2**31 - 1  # first-generation collections before a full one: none in a simulation


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()  # the routers' remote is a path: relative would break their pulls
        return
    with scratch_dir("peerops-simulate-") as tmp:
        yield tmp


@dataclass
class SimulatedFleet:
    """Our routers (by name) and the outside peers' routers of one simulation."""

    base: Path
    configs: dict[str, AgentConfig]
    peers: PeerFleet

    @classmethod
    def build(cls, base: Path, source: Path, inventory: Inventory) -> SimulatedFleet:
        """Routers from source, a router per outside peer, keys written into the repo copy."""
        from agent.lab.demo import build_demo_fleet

        peers = PeerFleet(base, base / "fleet.json")

        def add_peers(work: Path, resolved: Inventory) -> None:
            every = [p for ps in resolved.peerings.values() for p in ps]
            peers.provision(every)
            peers.rekey(work, every)

        configs = build_demo_fleet(base, source, add_peers, inventory)  # parsed once
        return cls(base, configs, peers)

    def converge(self) -> Simulation:
        """Configure the peers not configured yet, converge every router twice, report."""
        from agent.lab.demo import FLEET_PARSE_CACHE
        from agent.repo.cache import load_inventory_cached

        # Every router checked out the same commit: parse and validate it once for all of them
        # (each router's own first load would be a cold cache: repo size x routers).
        first = next(iter(self.configs.values()))
        inventory, problems = load_inventory_cached(first.repo, self.base / FLEET_PARSE_CACHE)
        if inventory is None:
            return Simulation(problems=problems)
        self.peers.configure(inventory, first.repo)
        for cfg in self.configs.values():
            apply_router(cfg, inventory=inventory)
        # When every second run is quiet, each one's verify is its router's look at the
        # fleet as it stays: the links are assessed from it. Inside snapshot(), a look that
        # nothing changed since is reused (a quiet second run's IKE view serves the pings,
        # each router's IKE is negotiated once); every change a command makes ends the reuse.
        seen: dict[str, Seen] = {}
        with snapshot():
            second = {
                name: apply_router(cfg, inventory=inventory,
                                   after_verify=lambda *look, name=name: seen.update({name: look}))
                for name, cfg in self.configs.items()
            }  # fmt: skip
            if any(o.plan for o in second.values()):
                seen = {}  # a later router changed something: every router looks again
            links = [h for name, cfg in self.configs.items()
                     for h in _pinged_health(cfg, inventory, second[name], seen.get(name))]
        return Simulation(
            links=[self._failed_side(h) for h in links],
            second_run_steps={name: len(o.plan) for name, o in second.items()},
        )

    def _failed_side(self, h: PeerHealth) -> PeerHealth:
        """A link whose peer could not apply its `peer config` says so as its reason."""
        why = self.peers.failures.get((h.router, h.peer))
        if why is None or h.state == "up":
            return h
        from dataclasses import replace

        return replace(h, reason=why)

    def advance(self, tree: Path, inventory: Inventory) -> None:
        """Push tree (valid, same routers) as the next commit and let every router pull it:
        each router's key and each peer router's key written in, as at build time."""
        from agent.lab.demo import NEXT_TREE, PUSH_CLONE
        from agent.repo.keyblock import set_key_block
        from agent.repo.source import GitSource
        from agent.sim.host import SimHost

        work = self.base / NEXT_TREE
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(tree, work, ignore=_IGNORE)
        for name, cfg in self.configs.items():
            pem = SimHost(cfg.root).read_file("/etc/isakmpd/local.pub")
            path = work / "routers" / f"{name}.yaml"
            if pem is not None:
                path.write_text(set_key_block(path.read_text(encoding="utf-8"), pem.decode()))
        every = [p for ps in inventory.peerings.values() for p in ps]
        self.peers.provision(every)
        self.peers.rekey(work, every)
        _commit(self.base / "remote.git", work, self.base / PUSH_CLONE)
        for cfg in self.configs.values():
            GitSource(cfg).sync()


def _pinged_health(
    cfg: AgentConfig, inventory: Inventory, outcome: RunOutcome, seen: Seen | None
) -> list[PeerHealth]:
    """The router's health of each link, from what its last run saw (seen) or else a new
    look, each peer also pinged across its transfer net: only a peer that answers on the
    address the router expects is up (a link whose two ends hold swapped addresses passes
    IKE and GRE and still carries nothing)."""
    import time

    from agent.health.checklist import NEGOTIATION_GRACE
    from agent.health.peer import assess
    from agent.health.ping import ping_peer

    errors = outcome.peer_errors
    if seen is None:
        look = RunOutcome(cfg.router, planned_only=True)
        fresh = prepare(cfg, look, inventory)
        if fresh is None:
            return outcome.health
        seen, errors = (fresh, fresh.observed, fresh.record), look.peer_errors
    prepared, observed, record = seen
    # The simulated IKE negotiates at once (agent/sim/ike.py): what is not up now never will
    # be, so the health is read as after the grace period, with the reason IKE fails.
    later = time.time() + NEGOTIATION_GRACE + 1
    return assess(
        prepared.peerings, prepared.desired, observed, record, errors, later,
        ping=lambda p, iface: ping_peer(prepared.host, p, iface, count=1),
    )  # fmt: skip


def _commit(remote: Path, tree: Path, clone: Path) -> None:
    """Make tree the next commit of remote's main (through a clone of it)."""
    import git

    repo = git.Repo(clone) if clone.exists() else git.Repo.clone_from(str(remote), clone)
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "peerops simulate")
        cw.set_value("user", "email", "simulate@peerops.invalid")
    for entry in clone.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(tree, clone, dirs_exist_ok=True)
    repo.git.add(all=True)
    repo.git.commit("--allow-empty", "-m", f"the change, simulated\n\n{ALLOW_REMOVALS}")
    repo.git.push("origin", "HEAD:main")
