"""`peerops demo`: a whole simulated fleet built from the example state repo, converged twice.

Layout (kept with --keep DIR): DIR/remote.git (bare state repo), DIR/fleet.json, and per
router DIR/<router>/{peerops.yaml, repo/ (checkout), root/ (simulated OpenBSD), state/}.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from agent.config import AgentConfig, load_config
from agent.converge import RunOutcome, apply_router, plan_router
from agent.inventory import load_inventory
from agent.output import health_table
from agent.resources import example_state_dir
from agent.sim.fleet import build_fleet, write_fleet
from agent.sim.provision import provision_router
from agent.source import GitSource


def build_demo_fleet(base: Path, source: Path | None = None) -> dict[str, AgentConfig]:
    """Create the fleet under base from the state repo at source; return each router's config."""
    source = source or example_state_dir()
    work = base / "work"
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    inventory, problems = load_inventory(work)
    if inventory is None:
        raise SystemExit("the example state repo is invalid:\n" + "\n".join(map(str, problems)))
    fleet_file = base / "fleet.json"
    roots = {name: base / name / "root" for name in inventory.routers}
    for name, router in inventory.routers.items():
        addresses = [a for a in (router.ipv4, router.ipv6) if a]
        public = provision_router(roots[name], name, addresses, fleet_file)
        _set_router_key(work / "routers" / f"{name}.yaml", public)
    inventory, problems = load_inventory(work)
    assert inventory is not None, problems  # noqa: S101 - only keys changed
    write_fleet(fleet_file, build_fleet(inventory, roots))
    remote = _publish(work, base / "remote.git")
    configs = {}
    for name in inventory.routers:
        configs[name] = _router_config(base / name, name, remote)
        GitSource(configs[name]).sync()  # the first pull: each router checks the repo out
    shutil.rmtree(work)
    return configs


def _set_router_key(path: Path, public_pem: str) -> None:
    """Replace public_key in a router file with this simulated router's own key."""
    data = yaml.safe_load(path.read_text())
    data["public_key"] = public_pem
    header = "# yaml-language-server: $schema=../schema/router.schema.json\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False))


def _publish(work: Path, remote: Path) -> Path:
    import git

    git.Repo.init(remote, bare=True, initial_branch="main")
    repo = git.Repo.init(work, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "peerops demo")
        cw.set_value("user", "email", "demo@peerops.invalid")
    repo.git.add(all=True)
    repo.index.commit("Example fleet: rtr1, rtr2 and their DN42 peers")
    repo.create_remote("origin", str(remote)).push("main:main")
    return remote


def _router_config(directory: Path, name: str, remote: Path) -> AgentConfig:
    """Write the router's peerops.yaml; its first `peerops run` clones the remote."""
    config = {
        "router": name,
        "remote": "../remote.git",
        "repo": "repo",
        "root": "root",
        "host": "simulated",
        "state_dir": "state",
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "peerops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return load_config(directory / "peerops.yaml")


def run_demo(keep: str | None = None, as_json: bool = False) -> int:
    """Build the fleet, apply twice, print health; exit 0 only if all links are up, idempotent."""
    if keep:
        base = Path(keep).resolve()
        if base.exists() and any(base.iterdir()):
            print(f"peerops demo: {base} is not empty", file=sys.stderr)
            return 1
        base.mkdir(parents=True, exist_ok=True)
        return _demo(base, as_json)
    with tempfile.TemporaryDirectory(prefix="peerops-demo-") as tmp:
        return _demo(Path(tmp), as_json)


def _demo(base: Path, as_json: bool) -> int:
    say = (lambda *_: None) if as_json else print
    say(f"Building a simulated fleet in {base} from the example state repo ...")
    configs = build_demo_fleet(base)
    first: dict[str, RunOutcome] = {}
    for name, cfg in configs.items():
        planned = plan_router(cfg)
        say(f"\n== {name}: plan ({len(planned.plan)} steps), then apply")
        first[name] = apply_router(cfg)
        say(f"{name}: {first[name].result}, {sum(r.ok for r in first[name].results)} change(s)")
    second = {name: apply_router(cfg) for name, cfg in configs.items()}
    second_changes = sum(len(o.plan) for o in second.values())
    health = [h for name in configs for h in plan_router(configs[name]).health]
    all_up = bool(health) and all(h.state == "up" for h in health)
    ok = all_up and second_changes == 0 and all(not o.failed for o in second.values())
    summary: dict[str, Any] = {
        "fleet": str(base),
        "links": [
            {"router": h.router, "peer": h.peer, "state": h.state, "reason": h.reason}
            for h in health
        ],
        "first_run_changes": {n: sum(r.ok for r in o.results) for n, o in first.items()},
        "second_run_changes": second_changes,
        "ok": ok,
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return 0 if ok else 1
    print("\nPer-peer health after the first run:\n")
    print(health_table(health))
    idempotent = "yes" if not second_changes else "NO"
    print(f"Second run: {second_changes} change(s) planned (idempotent: {idempotent})")
    print(f"\n{'Every link is up.' if ok else 'NOT every link is up.'}")
    return 0 if ok else 1
