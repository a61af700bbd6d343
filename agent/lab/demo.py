"""`peerops demo`: a whole simulated fleet built from the example state repo, converged twice.

Layout (kept with --keep DIR): DIR/remote.git (bare state repo), DIR/fleet.json, and per
router DIR/<router>/{peerops.yaml, repo/ (checkout), root/ (simulated OpenBSD), state/};
DIR/parse-cache/ holds the state files parsed while building it (agent/repo/cache.py).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from agent.config import AgentConfig, load_config
from agent.health.peer import peers_json
from agent.lab.provision import provision_router
from agent.output import health_table
from agent.repo.cache import load_inventory_cached
from agent.repo.inventory import load_inventory
from agent.repo.source import GitSource
from agent.resources import example_state_dir
from agent.run.converge import plan_router
from agent.run.cycle import Agent
from agent.sim.fleet import build_fleet, refresh_external, write_fleet

if TYPE_CHECKING:
    from agent.model import Inventory

# The fleet's own entries beside its routers' directories (BASE/ROUTER): each name has a
# dot, which no router's name can have (router.schema.json: [a-z][a-z0-9-]*), so a router
# called "work" or "next" gets a directory of its own, not the lab's scratch tree.
FLEET_PARSE_CACHE = "parse.cache"  # state files parsed for the fleet
WORK_TREE = "source.work"  # the state repo prepared for the routers' first pull
NEXT_TREE = "source.next"  # simulate --base: the head prepared for the next pull
PUSH_CLONE = "remote.clone"  # simulate --base: the clone that pushes the head
PEER_TEMPLATE = "peers.template"  # the fresh router the outside peers' routers copy


def build_demo_fleet(
    base: Path,
    source: Path | None = None,
    before_publish: Callable[[Path, Inventory], None] | None = None,
    inventory: Inventory | None = None,
) -> dict[str, AgentConfig]:
    """Create the fleet under base from the state repo at source; return each router's config.
    before_publish(work, inventory) may change the work tree (and the fleet) before the
    routers' first pull. inventory: source's, when the caller has parsed it already."""
    source = source or example_state_dir()
    work = base / WORK_TREE
    shutil.copytree(
        source, work, ignore=shutil.ignore_patterns("__pycache__", "__init__.py", ".git")
    )
    if inventory is None:
        # One parse cache for the fleet's loads: the second load re-reads only the router files.
        inventory, problems = load_inventory_cached(work, base / FLEET_PARSE_CACHE)
        if inventory is None:
            raise SystemExit("the example state repo is invalid:\n" + "\n".join(map(str, problems)))
    fleet_file = base / "fleet.json"
    roots = {name: base / name / "root" for name in inventory.routers}
    for name, router in inventory.routers.items():
        addresses = [a for a in (router.ipv4, router.ipv6) if a]
        public = provision_router(roots[name], name, addresses, fleet_file)
        _set_router_key(work / "routers" / f"{name}.yaml", public)
    # The fleet models peers from their files: no key of our routers is part of it.
    write_fleet(fleet_file, build_fleet(inventory, roots))
    if before_publish is not None:
        before_publish(work, inventory)
    # Parsed as published (only keys changed), once: the fleet's next loads reuse it.
    inventory, problems = load_inventory_cached(work, base / FLEET_PARSE_CACHE)
    assert inventory is not None, problems  # noqa: S101 - only keys changed
    remote = _publish(work, base / "remote.git")
    configs = {}
    for name in inventory.routers:
        configs[name] = _router_config(base / name, name, remote)
        GitSource(configs[name]).sync()  # the first pull: each router checks the repo out
    shutil.rmtree(work)
    return configs


def _set_router_key(path: Path, public_pem: str) -> None:
    """Replace public_key in a router file with this simulated router's own key."""
    from agent.repo.keyblock import set_key_block

    path.write_text(set_key_block(path.read_text(), public_pem))


def _publish(work: Path, remote: Path) -> Path:
    import git

    git.Repo.init(remote, bare=True, initial_branch="main")
    repo = git.Repo.init(work, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "peerops demo")
        cw.set_value("user", "email", "demo@peerops.invalid")
        # No delta search when packing the push: a thousand similar peer files made it most
        # of the push's time; the routers fetch the objects as they are.
        cw.set_value("pack", "window", "0")
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
    from agent.lab.scratch import scratch_dir

    with scratch_dir("peerops-demo-") as tmp:
        return _demo(tmp, as_json)


def _demo(base: Path, as_json: bool) -> int:
    say = (lambda *_: None) if as_json else print
    say(f"Building a simulated fleet in {base} from the example state repo ...")
    configs = build_demo_fleet(base)

    say("\n== Act 1: each router runs `peerops run` (pull, converge, verify, report)")
    first = {name: _cycle(cfg, say) for name, cfg in configs.items()}
    second = {name: Agent(cfg).cycle() for name, cfg in configs.items()}
    second_changes = sum(len(r.outcome.plan) for r in second.values())
    health = _health(configs)
    say("\nPer-peer health:\n")
    say(health_table(health))
    idempotent = "yes" if not second_changes else "NO"
    say(
        f"Second run: {second_changes} change(s) planned (idempotent: {idempotent}), "
        f"{sum(r.committed for r in second.values())} status commit(s)"
    )

    say("\n== Act 2: a peer's pull request is merged: dave peers with rtr2")
    merge = merge_peer_pull_request(base, configs)
    say(f"merged {merge[:12]} into main of {base / 'remote.git'}")
    third = {name: _cycle(cfg, say) for name, cfg in configs.items()}
    fourth = {name: Agent(cfg).cycle() for name, cfg in configs.items()}
    after_changes = sum(len(r.outcome.plan) for r in fourth.values())
    health_after = _health(configs)
    say("\nPer-peer health after the merge:\n")
    say(health_table(health_after))
    say("Status branch (git log --oneline status of the remote):\n")
    say(_status_log(base / "remote.git"))

    ok = (
        all(h.state == "up" for h in [*health, *health_after])
        and any(h.peer == "dave" for h in health_after)
        and second_changes == 0
        and after_changes == 0
        and all(r.pushed and r.verdict.healthy for r in [*second.values(), *fourth.values()])
    )
    summary: dict[str, Any] = {
        "fleet": str(base),
        "peers": peers_json(health_after),
        "first_run_changes": {n: len(r.outcome.results) for n, r in first.items()},
        "second_run_changes": second_changes,
        "merged_commit": merge,
        "after_merge_changes": {n: len(r.outcome.results) for n, r in third.items()},
        "status_commits": _status_log(base / "remote.git").splitlines(),
        "ok": ok,
    }
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"\n{'Every link is up.' if ok else 'NOT every link is up.'}")
    return 0 if ok else 1


def _cycle(cfg: AgentConfig, say: Any) -> Any:
    result = Agent(cfg).cycle()
    applied = sum(r.ok for r in result.outcome.results)
    say(
        f"{cfg.router}: {result.report['result']}, {applied} change(s), status report "
        f"{'committed and pushed' if result.pushed and result.committed else 'unchanged'}"
    )
    return result


def _health(configs: dict[str, AgentConfig]) -> list[Any]:
    return [h for cfg in configs.values() for h in plan_router(cfg).health]


def merge_peer_pull_request(base: Path, configs: dict[str, AgentConfig]) -> str:
    """Play a DN42 peer and its reviewer: a branch adds peers/rtr2/dave.yaml, it is merged
    into main with a merge commit and pushed; the simulated dave configures its side."""
    import git
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    work = base / "pull-request"
    repo = git.Repo.clone_from(str(base / "remote.git"), work, branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "dave (AS4242421111)")
        cw.set_value("user", "email", "dave@example.invalid")
    repo.git.checkout("-b", "peer/dave")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    peer = {
        "name": "dave",
        "asn": 4242421111,
        "endpoint": "203.0.113.20",
        "public_key": pem,
        "gre": {
            "ipv4": {"router": "172.20.4.1", "peer": "172.20.4.2"},
            "ipv6": "eui64",
            "description": "dn42 peer dave",
        },
    }
    path = work / "peers" / "rtr2" / "dave.yaml"
    from agent.repo.keyblock import set_key_block

    path.write_text(
        set_key_block(
            "# yaml-language-server: $schema=../../schema/peer.schema.json\n"
            + yaml.safe_dump(peer, sort_keys=False),
            pem,
        )
    )
    repo.git.add(str(path))
    repo.git.commit("-m", "Add peering: dave (AS4242421111) on rtr2")
    repo.git.checkout("main")
    repo.git.merge("--no-ff", "peer/dave", "-m", "Merge pull request #1 from dave/peer-dave")
    repo.git.push("origin", "main")
    inventory, problems = load_inventory(work)
    assert inventory is not None, problems  # noqa: S101 - the example is valid
    refresh_external(base / "fleet.json", inventory)
    return repo.head.commit.hexsha


def _status_log(remote: Path) -> str:
    import git

    try:
        return str(git.Repo(remote).git.log("--oneline", "status"))
    except git.GitCommandError:
        return "(no status branch)"
