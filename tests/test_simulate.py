"""`peerops simulate`: the fleet simulation a pull-request check runs on a state repo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import edit
from tests.gitkit import commit_all, git


def peerops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_pull_request_checkout_simulates_every_link_up(state_copy: Path, tmp_path: Path) -> None:
    git(state_copy, "init", "-q")  # a PR checkout is a git work tree: its .git is not copied
    commit_all(state_copy, "the PR")
    keep = tmp_path / "fleet"
    result = peerops("simulate", "--json", "--keep", str(keep), str(state_copy))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["second_run_steps"] == {"rtr1": 0, "rtr2": 0}
    links = {(link["router"], link["peer"]): link["state"] for link in report["peers"]}
    assert links == {
        ("rtr1", "alice"): "up",
        ("rtr1", "bob"): "up",
        ("rtr1", "rtr2"): "up",
        ("rtr2", "carol"): "up",
        ("rtr2", "rtr1"): "up",
    }
    # Each outside peer is a simulated OpenBSD router set up from its `peer config` alone.
    fleet = json.loads((keep / "fleet.json").read_text())
    assert fleet["external"] == {}
    alice = keep / "peers/peer0-alice/root"
    assert fleet["routers"]["peer0-alice"] == str(alice)
    conf = peerops("sim", "--root", str(alice), "ipsecctl", "-s", "flow").stdout
    assert "flow esp out proto gre from 198.51.100.7 to 192.0.2.1 peer 192.0.2.1 srcid " \
        "alice.example.org dstid 192.0.2.1/32" in conf
    gre = peerops("sim", "--root", str(alice), "ifconfig", "gre0").stdout
    assert "inet 172.20.1.2 --> 172.20.1.1" in gre


def test_invalid_pull_request_fails_with_annotations(state_copy: Path) -> None:
    edit(state_copy / "peers/rtr1/alice.yaml", "endpoint: 198.51.100.7", "endpoint: 2001:db8::99")
    edit(state_copy / "routers/rtr1.yaml", '  ipv6: "2001:db8:1::1"\n', "")
    result = peerops("simulate", str(state_copy))
    assert result.returncode == 1
    assert "peers/rtr1/alice.yaml:" in result.stdout and "has no IPv6 endpoint" in result.stdout


@pytest.mark.parametrize("name", ["work", "next", "publish"])
def test_routers_named_like_the_labs_own_entries_get_their_own_directories(
    state_copy: Path, name: str
) -> None:
    """A router called "work", "next" or "publish" (names the lab once gave its scratch
    trees) is simulated like any other: before, its directory was one the lab removed or
    reused, and a valid pull request failed its check (links down, or exit 4)."""
    for path in sorted(state_copy.rglob("*"), reverse=True):
        if path.is_file() and "rtr2" in path.read_text():
            path.write_text(path.read_text().replace("rtr2", name))
        if "rtr2" in path.name:
            path.rename(path.with_name(path.name.replace("rtr2", name)))
    git(state_copy, "init", "-q", "-b", "main")
    commit_all(state_copy, "base")
    edit(state_copy / "peers/rtr1/alice.yaml", "description: dn42 peer alice", "description: a2")
    commit_all(state_copy, "the change")
    result = peerops("simulate", "--base", "HEAD~1", "--json", str(state_copy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["broken"] == {}
    result = peerops("simulate", "--json", str(state_copy))
    report = json.loads(result.stdout)
    assert {(p["router"], p["state"]) for p in report["peers"]} == {("rtr1", "up"), (name, "up")}
    assert result.returncode == 0


def test_a_second_run_that_changes_the_fleet_makes_every_router_look_again(
    state_copy: Path, tmp_path: Path
) -> None:
    """rtr2's isakmpd does not start in its first run, so its second run loads its rules:
    rtr1's own second run (before it) saw no mirror of its rtr2 connection. The links are
    what the fleet holds at the end (every router looks again), not rtr1's earlier look."""
    from agent.lab.simulate import SimulatedFleet
    from agent.repo.inventory import load_inventory
    from agent.sim import faults
    from agent.sim.state import in_memory

    inventory, problems = load_inventory(state_copy)
    assert inventory is not None, problems
    base = tmp_path / "fleet"
    base.mkdir()
    with in_memory(base):
        fleet = SimulatedFleet.build(base, state_copy, inventory)
        fault = faults.Fault(["rcctl", "start", "isakmpd"], times=1, rc=1, stderr="no")
        faults.add(fleet.configs["rtr2"].root, fault)
        sim = fleet.converge()
    assert sim.second_run_steps["rtr1"] == 0 and sim.second_run_steps["rtr2"] > 0
    assert not sim.ok  # a second run that applies something is never a clean result
    links = {(h.router, h.peer): h.state for h in sim.links}
    assert links == dict.fromkeys(
        [("rtr1", "alice"), ("rtr1", "bob"), ("rtr1", "rtr2"), ("rtr2", "carol"),
         ("rtr2", "rtr1")], "up")


def test_a_simulation_runs_without_full_collections_and_leaves_the_collector_as_it_was(
    state_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A simulation's heap lives to its end: no full garbage collection within it (the
    young generations as usual), and the thresholds are back afterwards, also when it
    fails (a caller in this process keeps its collector)."""
    import gc

    import agent.repo.cache
    from agent.lab.simulate import simulate

    before = gc.get_threshold()
    during: list[tuple[int, ...]] = []
    load = agent.repo.cache.load_inventory_cached

    def noted(*args: object) -> object:
        during.append(gc.get_threshold())
        return load(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(agent.repo.cache, "load_inventory_cached", noted)
    edit(state_copy / "routers/rtr1.yaml", "asn:", "as_number:")
    assert not simulate(state_copy).ok  # an invalid repo: the simulation stops at once
    assert during and during[0][:2] == before[:2] and during[0][2] > 10**9
    assert gc.get_threshold() == before

    def broken(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(agent.repo.cache, "load_inventory_cached", broken)
    with pytest.raises(RuntimeError):
        simulate(state_copy)
    assert gc.get_threshold() == before
