"""A checkout edited by hand (its working tree no longer matches the committed blobs) is read
as it is now: neither the parsed-file cache (keyed by git blob id) nor the daemon's in-memory
inventory of the last converged cycle may stand in for what the files say."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet
from agent.repo.cache import CACHE_FILE, load_inventory_cached
from agent.run.cycle import Agent
from agent.sim.host import SimHost
from tests.conftest import edit
from tests.gitkit import commit_all, git

ALICE = "peers/rtr1/alice.yaml"


def _cached_files(cache_dir: Path) -> dict[str, str]:
    """path -> blob id of every state file the cache holds."""
    body = (cache_dir / CACHE_FILE).read_bytes().partition(b"\n")[2]
    return {
        key.split(" ")[1]: key.split(" ")[2] for key in json.loads(body)["documents"]
    }


def test_the_parse_cache_sees_a_hand_edit_of_a_git_checkout(
    state_copy: Path, tmp_path: Path
) -> None:
    git(state_copy, "init", "-q", "-b", "main")
    commit_all(state_copy, "state")
    cache_dir = tmp_path / "cache"
    first, problems = load_inventory_cached(state_copy, cache_dir)
    assert first is not None and problems == []
    committed = git(state_copy, "rev-parse", f"HEAD:{ALICE}")
    assert _cached_files(cache_dir)[ALICE] == committed  # the entry a reuse would hit

    edit(state_copy / ALICE, "description: dn42 peer alice", "description: edited by hand")
    dirty = subprocess.run(["git", "diff", "--quiet", "--", ALICE], cwd=state_copy)
    assert dirty.returncode == 1  # the working tree differs from the committed blob
    second, problems = load_inventory_cached(state_copy, cache_dir)
    assert second is not None and problems == []
    (alice,) = [p for p in second.for_router("rtr1") if p.peer == "alice"]
    assert alice.description == "edited by hand"
    assert _cached_files(cache_dir)[ALICE] != committed

    # A broken hand edit is refused, with the cache holding the good file's entry no more.
    edit(state_copy / ALICE, "asn: 4242421234", "asn: 0")
    third, problems = load_inventory_cached(state_copy, cache_dir)
    assert third is None
    assert [(p.file, p.field) for p in problems] == [(ALICE, "asn")]
    assert ALICE not in _cached_files(cache_dir)


def test_a_local_checkout_edited_between_cycles_is_applied(tmp_path: Path) -> None:
    """Without a remote the checkout is used as it is: the daemon's inventory of the last
    converged cycle (same HEAD) must not hide a hand edit made since."""
    fleet = build_demo_fleet(tmp_path / "fleet")
    cfg: AgentConfig = dataclasses.replace(fleet["rtr1"], remote=None)
    Agent(dataclasses.replace(fleet["rtr2"], remote=None)).cycle()  # the internal link's far end
    agent = Agent(cfg)  # one daemon: its memory persists across cycles
    assert agent.cycle().report["result"] == "changed"
    assert agent.cycle().report["result"] == "converged"  # the fast path's condition holds
    head = git(cfg.repo, "rev-parse", "HEAD")
    host = SimHost(cfg.root)
    (iface,) = [f for f in ("gre1", "gre2")
                if b"peer alice" in (host.read_file(f"/etc/hostname.{f}") or b"")]

    edit(cfg.repo / ALICE, "description: dn42 peer alice", "description: edited by hand")
    result = agent.cycle()
    assert git(cfg.repo, "rev-parse", "HEAD") == head  # no commit: the same HEAD
    assert result.report["result"] == "changed", result.report
    assert b"edited by hand" in host.read_file(f"/etc/hostname.{iface}")


def test_a_pulled_checkout_edited_by_hand_is_put_back_to_the_verified_commit(
    tmp_path: Path,
) -> None:
    """With a remote only verified commits are applied: an edit made in the checkout is
    discarded (with a warning in the report), by the running daemon and by a fresh one."""
    fleet = build_demo_fleet(tmp_path / "fleet")
    cfg = fleet["rtr1"]
    Agent(fleet["rtr2"]).cycle()
    agent = Agent(cfg)
    agent.cycle()
    assert agent.cycle().report["result"] == "converged"
    host = SimHost(cfg.root)
    before = {f: host.read_file(f"/etc/hostname.{f}") for f in ("gre0", "gre1", "gre2")}

    for run in (agent.cycle, Agent(cfg).cycle):  # the same daemon, then a restarted one
        edit(cfg.repo / ALICE, "description: dn42 peer alice", "description: edited by hand")
        (cfg.repo / "peers/rtr1/zed.yaml").write_text("name: zed\n")  # added by hand
        result = run()
        assert result.report["result"] == "converged", result.report
        assert any("edited by hand?): discarded" in w for w in result.report["warnings"])
        assert "edited by hand" not in (cfg.repo / ALICE).read_text()
        assert not (cfg.repo / "peers/rtr1/zed.yaml").exists()
        assert git(cfg.repo, "status", "--porcelain", "--ignored") == ""
        assert {f: host.read_file(f"/etc/hostname.{f}") for f in before} == before
    assert not any("discarded" in w for w in agent.cycle().report["warnings"])
