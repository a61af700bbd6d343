"""Pull and trust: fast-forward only, signed commits, unreachable and frozen remotes."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from agent.config import AgentConfig, TrustConfig
from agent.lab.demo import build_demo_fleet
from agent.repo.source import GitSource, load_source_state
from agent.run.converge import apply_router, plan_router
from tests.gitkit import (
    allowed_signers,
    commit_all,
    git,
    maintainer_clone,
    push,
    ssh_key,
)


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, AgentConfig]:
    return build_demo_fleet(tmp_path / "fleet")


def remote_of(cfg: AgentConfig) -> Path:
    assert cfg.remote
    return Path(cfg.remote)


def head(cfg: AgentConfig) -> str:
    return git(cfg.repo, "rev-parse", "HEAD")


def test_new_commit_moves_checkout_only_after_fetch(
    fleet: dict[str, AgentConfig], tmp_path: Path
) -> None:
    cfg = fleet["rtr1"]
    work = maintainer_clone(remote_of(cfg), tmp_path / "work")
    (work / "peers/rtr1/bob.yaml").unlink()
    sha = commit_all(work, "remove bob")
    push(work)
    result = GitSource(cfg).sync()
    assert (result.status, result.new, result.commit) == ("ok", True, sha)
    assert head(cfg) == sha and not (cfg.repo / "peers/rtr1/bob.yaml").exists()
    again = GitSource(cfg).sync()
    assert (again.status, again.new) == ("ok", False)


def test_force_push_to_older_commit_is_refused_and_nothing_applied(
    fleet: dict[str, AgentConfig], tmp_path: Path
) -> None:
    cfg = fleet["rtr1"]
    apply_router(cfg)
    first = head(cfg)
    work = maintainer_clone(remote_of(cfg), tmp_path / "work")
    (work / "peers/rtr1/bob.yaml").unlink()
    commit_all(work, "remove bob")
    push(work)
    assert GitSource(cfg).sync().status == "ok"
    second = head(cfg)
    git(work, "reset", "-q", "--hard", first)
    push(work, force=True)  # the remote is rewound behind what this router verified
    result = GitSource(cfg).sync()
    assert result.status == "refused"
    assert "rewound or force-pushed" in (result.message or "")
    assert head(cfg) == second  # the working tree stayed on the verified commit
    assert load_source_state(cfg.state_dir).refused == {"commit": first, "reason": result.message}
    allowed = dataclasses.replace(cfg, trust=TrustConfig(allow_rewind=True))
    assert GitSource(allowed).sync().status == "ok" and head(cfg) == first


def test_signed_commits_only(fleet: dict[str, AgentConfig], tmp_path: Path) -> None:
    alice, mallory = ssh_key(tmp_path, "alice"), ssh_key(tmp_path, "mallory")
    signers = allowed_signers(tmp_path / "allowed_signers", "alice@example.net", alice)
    cfg = dataclasses.replace(
        fleet["rtr1"], trust=TrustConfig(require_signed=True, allowed_signers=signers)
    )
    before = head(cfg)
    work = maintainer_clone(remote_of(cfg), tmp_path / "work")

    (work / "peers/rtr1/bob.yaml").unlink()
    commit_all(work, "unsigned: remove bob")
    push(work)
    result = GitSource(cfg).sync()
    assert result.status == "refused" and "is not signed" in (result.message or "")
    assert head(cfg) == before and (cfg.repo / "peers/rtr1/bob.yaml").exists()

    # a signed commit on top does not launder the unsigned one below it
    (work / "README.md").write_text("signed\n")
    commit_all(work, "signed by alice", alice)
    push(work)
    assert GitSource(cfg).sync().status == "refused"
    assert head(cfg) == before

    git(work, "reset", "-q", "--hard", before)
    (work / "peers/rtr1/bob.yaml").unlink()
    commit_all(work, "signed by mallory", mallory)
    push(work, force=True)
    result = GitSource(cfg).sync()
    assert result.status == "refused" and "not an allowed signer" in (result.message or "")
    assert head(cfg) == before

    git(work, "reset", "-q", "--hard", before)
    (work / "peers/rtr1/bob.yaml").unlink()
    sha = commit_all(work, "signed by alice", alice)
    push(work, force=True)
    result = GitSource(cfg).sync()
    assert (result.status, result.commit, result.signer) == ("ok", sha, "alice@example.net")
    assert head(cfg) == sha


def test_unreachable_remote_keeps_enforcing_last_verified_commit(
    fleet: dict[str, AgentConfig],
) -> None:
    cfg = fleet["rtr1"]
    verified = head(cfg)
    clock = iter([1000.0, 1300.0, 1600.0])
    shutil.move(remote_of(cfg), remote_of(cfg).with_suffix(".away"))
    first = GitSource(cfg, clock=lambda: next(clock)).sync()
    second = GitSource(cfg, clock=lambda: next(clock)).sync()
    assert (first.status, first.commit) == ("unreachable", verified)
    assert second.unreachable_since == 1000.0  # "since when" is kept, not reset
    assert "remote unreachable since" in (second.message or "")
    assert apply_router(cfg).exit_code == 2  # drift correction does not need git
    shutil.move(remote_of(cfg).with_suffix(".away"), remote_of(cfg))
    back = GitSource(cfg, clock=lambda: next(clock)).sync()
    assert back.status == "ok" and back.unreachable_since is None


def test_frozen_remote_raises_a_stale_warning(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    day = cfg.schedule.stale_after
    seen = load_source_state(cfg.state_dir).last_new_commit  # the first pull's time
    assert seen is not None
    assert GitSource(cfg, clock=lambda: seen + day - 60).sync().warnings == []
    later = GitSource(cfg, clock=lambda: seen + day + 3600).sync()
    assert later.status == "ok"
    assert any("remote stale: no new commit on main" in w for w in later.warnings)


def test_merged_change_converges_on_next_run(fleet: dict[str, AgentConfig], tmp_path: Path) -> None:
    cfg = fleet["rtr1"]
    apply_router(cfg)
    work = maintainer_clone(remote_of(cfg), tmp_path / "work")
    bob = work / "peers/rtr1/bob.yaml"
    bob.write_text(bob.read_text().replace("enc: aes-128", "enc: aes-192"))
    (work / "peers/rtr1/alice.yaml").unlink()
    commit_all(work, "change bob, remove alice")
    push(work)
    assert GitSource(cfg).sync().new
    outcome = apply_router(cfg)
    assert outcome.exit_code == 2
    assert {h.peer for h in outcome.health} == {"bob", "rtr2"}
    assert plan_router(cfg).plan == []


def test_a_hung_signature_check_is_bounded_and_applies_nothing(
    fleet: dict[str, AgentConfig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git verifies SSH signatures with ssh-keygen: one that never answers must not hang the
    agent. The check is killed after git.fetch_timeout and the commit is not taken."""
    import sys
    import time

    from tests.test_signature_tools import slow_tool

    alice = ssh_key(tmp_path, "alice")
    signers = allowed_signers(tmp_path / "allowed_signers", "alice@example.net", alice)
    base = fleet["rtr1"]
    cfg = dataclasses.replace(
        base,
        trust=TrustConfig(require_signed=True, allowed_signers=signers),
        git=dataclasses.replace(base.git, fetch_timeout=3.0),
    )
    before = head(cfg)
    work = maintainer_clone(remote_of(cfg), tmp_path / "work")
    (work / "peers/rtr1/bob.yaml").unlink()
    sha = commit_all(work, "signed by alice", alice)
    push(work)
    bin_dir = tmp_path / "slow-bin"
    slow_tool(bin_dir, "ssh-keygen", "-Y")  # git's `ssh-keygen -Y verify` / find-principals
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")

    started = time.monotonic()
    result = GitSource(cfg).sync()
    assert time.monotonic() - started < 9.0  # the wrapper sleeps 10 s before answering
    assert result.status == "refused" and result.commit != sha
    assert result.message == (
        f"commit {sha[:12]}: the signature check did not finish within git.fetch_timeout "
        "(3 s): nothing applied"
    )
    assert head(cfg) == before and (cfg.repo / "peers/rtr1/bob.yaml").exists()

    monkeypatch.undo()  # ssh-keygen answers again: the same commit is taken
    result = GitSource(cfg).sync()
    assert (result.status, result.commit, result.signer) == ("ok", sha, "alice@example.net")


def test_a_signature_check_git_cannot_run_refuses_the_commit(
    fleet: dict[str, AgentConfig]
) -> None:
    """Fail closed: when `git log` cannot report the signatures at all, nothing is trusted."""
    import git as gitpython

    cfg = dataclasses.replace(fleet["rtr1"], trust=TrustConfig(require_signed=True))
    missing = "0" * 40
    refusal, signer = GitSource(cfg)._check_signatures(gitpython.Repo(cfg.repo), [missing])
    assert signer is None and refusal is not None
    assert refusal == (  # git's own words, without GitPython's wrapping quotes
        f"commit 000000000000: the signature check failed: fatal: bad object {missing}: "
        "nothing applied"
    )
