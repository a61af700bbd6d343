"""packaging/ci: the pull-request check a state repo copies (shell script, GitHub and Forgejo
workflows), run for real on a temporary state repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE_STATE, edit
from tests.gitkit import commit_all, git

CI = Path(__file__).resolve().parent.parent / "packaging" / "ci"
SCRIPT = CI / "check-pr.sh"


@pytest.fixture
def pr_repo(tmp_path: Path) -> Path:
    """A state repo with main (the example) and a PR branch checked out on top of it."""
    repo = tmp_path / "state"
    shutil.copytree(EXAMPLE_STATE, repo, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "pr")
    return repo


def run_script(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # peerops of this checkout comes first on PATH, so the script does not pip install.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["sh", str(SCRIPT), *args], cwd=repo, capture_output=True, text=True, check=False,
        env={**os.environ, "PATH": path, **env}, timeout=300,
    )  # fmt: skip


def test_the_script_passes_a_good_pr_and_writes_the_summary(pr_repo: Path) -> None:
    edit(pr_repo / "peers/rtr1/alice.yaml", "description: dn42 peer alice", "description: a2")
    commit_all(pr_repo, "alice: description")
    summary = pr_repo.parent / "summary.md"
    done = run_script(pr_repo, "main", PEEROPS_SUMMARY=str(summary))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "changed rtr1/alice" in done.stdout and "description: dn42 peer alice -> a2" in (
        done.stdout
    )
    page = summary.read_text()
    assert page.startswith("### peerops check-pr: ok") and "| rtr1/alice | changed |" in page
    # the plan of the touched router, from a fleet converged at the base, with its diff
    assert "### peerops plan: rtr1 at `" in page and "### peerops plan: rtr2" not in page
    assert '+description "peerops alice: a2"' in page


def test_the_script_exits_3_for_a_router_file_and_1_for_a_broken_file(pr_repo: Path) -> None:
    edit(pr_repo / "routers/rtr1.yaml", "  mtu: 1400", "  mtu: 1380")
    commit_all(pr_repo, "rtr1 mtu")
    done = run_script(pr_repo, "main", PEEROPS_FORMAT="github")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "::warning file=routers/rtr1.yaml" in done.stdout
    edit(pr_repo / "peers/rtr1/bob.yaml", "asn: 4242425678", "asn:4242425678")
    commit_all(pr_repo, "broken bob")
    done = run_script(pr_repo, "main", PEEROPS_FORMAT="github")
    assert done.returncode == 1
    assert "::error file=peers/rtr1/bob.yaml,line=" in done.stdout
    assert "put a space after the colon" in done.stdout


def test_the_script_refuses_a_wrong_call(pr_repo: Path) -> None:
    done = run_script(pr_repo)
    assert done.returncode == 1 and "usage: check-pr.sh BASE [HEAD]" in done.stderr
    assert subprocess.run(["sh", "-n", str(SCRIPT)], check=False).returncode == 0


def _steps(path: Path) -> tuple[dict, list[dict]]:
    doc = yaml.safe_load(path.read_text())
    # YAML 1.1 (PyYAML, and the runners' parsers) may read the key `on` as true.
    trigger = doc.get("on", doc.get(True))
    assert trigger and "pull_request" in trigger, doc
    [job] = doc["jobs"].values()
    assert job["runs-on"]
    return job, job["steps"]


def test_the_github_workflow_checks_out_history_and_annotates() -> None:
    _job, steps = _steps(CI / "github-pr.yml")
    assert all(("uses" in s) != ("run" in s) for s in steps)
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the base must be in the clone
    run = " ".join(s["run"] for s in steps if "run" in s)
    assert "peerops check-pr --base" in run and "--format github" in run
    assert '--summary "$GITHUB_STEP_SUMMARY"' in run
    assert 'peerops plan --repo . --router "$router" --base "$BASE"' in run


def test_the_forgejo_workflow_runs_the_same_check() -> None:
    _job, steps = _steps(CI / "forgejo-pr.yml")
    assert all(("uses" in s) != ("run" in s) for s in steps)
    checkout = next(s for s in steps if "checkout@" in s.get("uses", ""))
    assert checkout["uses"].startswith("https://code.forgejo.org/actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    run = " ".join(s["run"] for s in steps if "run" in s)
    assert "peerops check-pr --base" in run
    assert 'peerops plan --repo . --router "$router" --base "$BASE"' in run
