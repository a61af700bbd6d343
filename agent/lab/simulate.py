"""`peerops simulate [REPO]`: would every link of this state repo come up?

The seam for pull-request checks: the repo (e.g. a PR's checkout) is validated, a simulated
fleet is built from it (every managed router with keys of its own, every external peer
modelled from its file), each router converges twice, and the result says per link whether
it came up and whether the second run was quiet. Nothing touches a real router.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.health.peer import PeerHealth, peers_json
from agent.repo.inventory import load_inventory
from agent.repo.yamlpos import Problem
from agent.run.converge import apply_router, plan_router


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
    _, problems = load_inventory(repo)
    if problems:
        return Simulation(problems=problems)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return _run(repo, keep)
    with tempfile.TemporaryDirectory(prefix="peerops-simulate-") as tmp:
        return _run(repo, Path(tmp))


def _run(repo: Path, base: Path) -> Simulation:
    from agent.lab.demo import FLEET_PARSE_CACHE, build_demo_fleet
    from agent.repo.cache import load_inventory_cached

    configs = build_demo_fleet(base, source=repo)
    # Every router checked out the same commit: parse and validate it once for all of them
    # (each router's own first load would be a cold cache: repo size x routers).
    first = next(iter(configs.values()))
    inventory, problems = load_inventory_cached(first.repo, base / FLEET_PARSE_CACHE)
    if inventory is None:
        return Simulation(problems=problems)
    for cfg in configs.values():
        apply_router(cfg, inventory=inventory)
    second = {name: apply_router(cfg, inventory=inventory) for name, cfg in configs.items()}
    return Simulation(
        links=[h for cfg in configs.values() for h in plan_router(cfg, inventory).health],
        second_run_steps={name: len(o.plan) for name, o in second.items()},
    )
