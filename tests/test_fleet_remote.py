"""`peerops fleet --remote` and `peerops history` from any machine, against real remotes:
`git daemon` on loopback, a remote that is down, and one that is slow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet
from agent.router.record import load_record, save_record
from agent.run.cycle import Agent
from agent.status.publish import StatusPublisher
from agent.status.shape import report_problems
from tests.gitkit import commit_all, git, maintainer_clone, push
from tests.gitserve import git_daemon, slow_link


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A converged demo fleet whose routers have reported twice; its base dir (remote.git)."""
    base = tmp_path_factory.mktemp("served")
    configs = build_demo_fleet(base)
    for _ in range(2):
        for cfg in configs.values():
            Agent(cfg).cycle()
    return base


def peerops(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """peerops as a person runs it on a laptop: no config, no root, its own cache and HOME."""
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache")}
    home.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], cwd=home, env=env, capture_output=True,
        text=True, check=False, timeout=timeout,
    )


def fleet_json(home: Path, url: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    out = peerops(home, "fleet", "--remote", url, "--json", *extra)
    assert out.stdout, out.stderr
    return out.returncode, json.loads(out.stdout), out.stderr


def refs(remote: Path) -> str:
    return git(remote, "for-each-ref")


def test_fleet_over_git_daemon_needs_no_config_and_writes_nothing_there(
    served: Path, tmp_path: Path
) -> None:
    before = refs(served / "remote.git")
    with git_daemon(served) as url:
        code, data, err = fleet_json(tmp_path, f"{url}/remote.git")
        table = peerops(tmp_path, "fleet", "--remote", f"{url}/remote.git")
    assert code == 0 and err == "", err
    assert data["offline"] is False and data["note"] is None
    main = git(served / "remote.git", "rev-parse", "main")
    assert data["main"] == main
    rows = {r["router"]: r for r in data["routers"]}
    assert set(rows) == {"rtr1", "rtr2"}
    for row in rows.values():
        assert {"router", "result", "commit", "behind", "peers_up", "peers_total", "age_s",
                "silent"} <= set(row)
        assert (row["commit"], row["behind"], row["silent"]) == (main, 0, False)
        assert row["peers_up"] == row["peers_total"] > 0 and 0 <= row["age_s"] < 600
    assert table.returncode == 0 and table.stdout.splitlines()[0].split()[:4] == [
        "ROUTER", "RESULT", "COMMIT", "BEHIND"]
    assert refs(served / "remote.git") == before  # read-only
    assert (tmp_path / "cache" / "peerops").is_dir()


def test_behind_counts_the_commits_merged_since(served: Path, tmp_path: Path) -> None:
    remote = tmp_path / "srv" / "remote.git"
    shutil.copytree(served / "remote.git", remote)
    work = maintainer_clone(remote, tmp_path / "work")
    for n in range(3):
        (work / "NOTES").write_text(f"{n}\n")
        commit_all(work, f"note {n}")
    push(work)
    with git_daemon(remote.parent) as url:
        code, data, _ = fleet_json(tmp_path / "home", f"{url}/remote.git")
    assert code == 0
    assert [r["behind"] for r in data["routers"]] == [3, 3]


def publish_report(remote: Path, checkout: Path, report: dict[str, Any] | bytes) -> None:
    data = report if isinstance(report, bytes) else yaml.safe_dump(report).encode()
    router = checkout.name
    StatusPublisher(str(remote), router, checkout).publish(
        {f"reports/{router}.yaml": data}, f"{router}: test report"
    )


def rtr1_report(served: Path) -> dict[str, Any]:
    return yaml.safe_load(git(served / "remote.git", "show", "status:reports/rtr1.yaml"))


def as_router(report: dict[str, Any], name: str, finished: float) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(finished))
    report = {**report, "router": name, "run": {"started": stamp, "finished": stamp}}
    report["peers"] = [{**p, "router": name} for p in report["peers"]]
    assert report_problems(report) == []
    return report


def test_silent_and_invalid_routers_fail_the_check(served: Path, tmp_path: Path) -> None:
    remote = tmp_path / "srv" / "remote.git"
    shutil.copytree(served / "remote.git", remote)
    report = rtr1_report(served)
    interval, heartbeat = report["schedule"]["interval"], report["schedule"]["heartbeat"]
    limit = interval * 2 + heartbeat
    # Just inside the limit: not silent. Just past it: silent.
    publish_report(remote, tmp_path / "rtr8", as_router(report, "rtr8", time.time() - limit + 120))
    publish_report(remote, tmp_path / "rtr9", as_router(report, "rtr9", time.time() - limit - 60))
    with git_daemon(remote.parent) as url:
        code, data, _ = fleet_json(tmp_path / "home", f"{url}/remote.git")
        rows = {r["router"]: r for r in data["routers"]}
        assert code == 4
        assert [rows[r]["silent"] for r in ("rtr1", "rtr2", "rtr8", "rtr9")] == [
            False, False, False, True]
        table = peerops(tmp_path / "home", "fleet", "--remote", f"{url}/remote.git")
        assert table.returncode == 4
        assert "rtr9    SILENT" in table.stdout and "silent for 1d" in table.stdout
        # A router's report that is not even YAML, and one claiming to be another router.
        publish_report(remote, tmp_path / "rtr7", b"result: [unclosed\n")
        publish_report(remote, tmp_path / "rtr6", as_router(report, "rtr1", time.time()))
        code, data, err = fleet_json(tmp_path / "home", f"{url}/remote.git")
    rows = {r["router"]: r for r in data["routers"]}
    assert code == 4 and "Traceback" not in err
    assert rows["rtr7"]["result"] == "invalid" and "not YAML" in rows["rtr7"]["notes"][0]
    assert rows["rtr6"]["result"] == "invalid" and "'rtr1' in reports/rtr6" in str(rows["rtr6"])
    assert rows["rtr1"]["result"] in ("converged", "changed")


def test_a_remote_that_is_down_falls_back_to_the_last_fetch(served: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with git_daemon(served) as url:
        fresh_code, fresh, _ = fleet_json(home, f"{url}/remote.git")
    # The daemon is gone: connection refused.
    code, data, err = fleet_json(home, f"{url}/remote.git")
    assert (code, fresh_code) == (0, 0)
    assert data["offline"] is True and fresh["offline"] is False
    assert [{**r, "age_s": 0} for r in data["routers"]] == [
        {**r, "age_s": 0} for r in fresh["routers"]]
    assert err.startswith("peerops: offline: fetch from git://127.0.0.1:")
    assert "showing the copy fetched" in err and data["note"] in err
    history = peerops(home, "history", "--remote", f"{url}/remote.git", "--json")
    assert history.returncode == 0 and json.loads(history.stdout)
    # Another machine that never fetched: nothing to fall back on, a clear error, exit 1.
    never = peerops(tmp_path / "other", "fleet", "--remote", f"{url}/remote.git")
    assert never.returncode == 1 and "no copy of it was fetched before" in never.stderr
    assert "Traceback" not in never.stderr


def test_a_slow_remote_is_waited_for_up_to_the_timeout(served: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with git_daemon(served) as url:
        port = int(url.rsplit(":", 1)[1])
        with slow_link(port, delay=1.0) as slow:
            code, data, err = fleet_json(home, f"git://127.0.0.1:{slow}/remote.git")
            assert (code, data["offline"], err) == (0, False, "")  # slow, within the timeout
            started = time.monotonic()
            code, data, err = fleet_json(
                home, f"git://127.0.0.1:{slow}/remote.git", "--timeout", "0.5"
            )
            took = time.monotonic() - started
    assert data["offline"] is True and "timed out after 0.5s" in err
    assert [r["router"] for r in data["routers"]] == ["rtr1", "rtr2"]
    assert took < 5  # the fetch was cut off, not waited out


def test_history_names_the_merge_that_broke_a_peering(tmp_path: Path) -> None:
    configs = build_demo_fleet(tmp_path / "fleet")
    cfg: AgentConfig = configs["rtr1"]
    for c in configs.values():
        Agent(c).cycle()
    remote = tmp_path / "fleet" / "remote.git"
    work = maintainer_clone(remote, tmp_path / "work")
    alice = work / "peers" / "rtr1" / "alice.yaml"
    alice.write_text(alice.read_text().replace("alice.example.org", "alice.example.net"))
    breaking = commit_all(work, "Merge pull request #7: alice moves to alice.example.net")
    push(work)
    Agent(cfg).cycle()  # the rules are reloaded: alice negotiates ...
    record = load_record(cfg.state_dir)
    record.loaded_at = (record.loaded_at or time.time()) - 600  # ... and never gets an SA
    save_record(cfg.state_dir, record)
    Agent(cfg).cycle()
    git(work, "revert", "--no-edit", "HEAD")
    fixing = git(work, "rev-parse", "HEAD")
    push(work)
    Agent(cfg).cycle()
    with git_daemon(remote.parent) as url:
        out = peerops(tmp_path / "home", "history", "rtr1/alice", "--remote",
                      f"{url}/remote.git", "--json")
        text = peerops(tmp_path / "home", "history", "rtr1/alice", "--remote",
                       f"{url}/remote.git")
        since = peerops(tmp_path / "home", "history", "rtr1", "--remote", f"{url}/remote.git",
                        "--since", time.strftime("%Y-%m-%d", time.gmtime()), "--json")
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)
    assert {e["router"] for e in events} == {"rtr1"} and {e["peer"] for e in events} == {"alice"}
    assert events == sorted(events, key=lambda e: e["time"])
    moves = [(e["from"], e["to"]) for e in events]
    assert moves[0] == (None, "up")
    down = next(e for e in events if e["to"] == "down")
    assert down["commit"] == breaking and down["reason"]
    assert down["subject"] == "Merge pull request #7: alice moves to alice.example.net"
    assert events[-1]["to"] == "up" and events[-1]["commit"] == fixing
    assert f"up -> negotiating  at {breaking[:12]}" in text.stdout
    assert {e["peer"] for e in json.loads(since.stdout)} >= {"alice", "bob"}
