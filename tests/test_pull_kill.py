"""SIGKILL during the pull step (issue 8, class 7): a run killed while git fetches, checks
out or clones leaves locks, half-written refs or a half-made checkout; the next run must
repair what it needs, converge and publish its report. Delays are random (seeded) so the
kill lands in different places of the pull from one scenario to the next."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from agent.config import AgentConfig
from tests.gitkit import git
from tests.simfleet import clone


@pytest.fixture
def fleet(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> dict[str, AgentConfig]:
    return clone(tmp_path_factory, tmp_path / "fleet")


def peerops_run(cfg: AgentConfig) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "-c", cfg.source],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: git children die with it
    )


def kill_after(proc: subprocess.Popen[bytes], delay: float) -> None:
    time.sleep(delay)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def new_commit(fleet_dir: Path, work: Path, n: int) -> str:
    """A maintainer pushes a commit that changes nothing on the routers."""
    if not work.exists():
        subprocess.run(["git", "clone", "-q", "-b", "main", str(fleet_dir / "remote.git"),
                        str(work)], check=True)
    git(work, "commit", "-q", "--allow-empty", "-m", f"noop {n}")
    git(work, "push", "-q", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


def reported_commit(fleet_dir: Path) -> str:
    text = subprocess.run(
        ["git", "--git-dir", str(fleet_dir / "remote.git"), "show", "status:reports/rtr1.yaml"],
        capture_output=True, text=True, check=True,
    ).stdout
    return str(yaml.safe_load(text)["commit"])


@pytest.mark.parametrize("scenario", ["fetch-and-checkout", "clone"])
def test_a_run_killed_in_the_pull_step_is_repaired_by_the_next(
    fleet: dict[str, AgentConfig], tmp_path: Path, scenario: str
) -> None:
    cfg = fleet["rtr1"]
    fleet_dir = tmp_path / "fleet"
    rng = random.Random(f"pull-kill-{scenario}")
    for n in range(2):
        commit = new_commit(fleet_dir, tmp_path / "maintainer", n)
        if scenario == "clone":
            shutil.rmtree(cfg.repo)  # the run must fetch the whole repo anew
        kill_after(peerops_run(cfg), rng.uniform(0.05, 1.5))
        after = subprocess.run(
            [sys.executable, "-m", "agent", "run", "-c", cfg.source],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert after.returncode == 0, after.stdout + after.stderr
        assert "Traceback" not in after.stderr
        assert reported_commit(fleet_dir) == commit
        again = subprocess.run(
            [sys.executable, "-m", "agent", "plan", "-c", cfg.source],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert again.returncode == 0, again.stdout  # converged: nothing left to do
