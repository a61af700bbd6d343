"""StatusPublisher against real temporary git repos: a bare remote in tmp_path, never mocks."""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agent.status.publish import PublishError, PublishResult, StatusPublisher

# The tests' own git calls must not depend on the developer's git configuration either.
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "human",
    "GIT_AUTHOR_EMAIL": "human@example.invalid",
    "GIT_COMMITTER_NAME": "human",
    "GIT_COMMITTER_EMAIL": "human@example.invalid",
}


def run_git(*args: str, cwd: Path | None = None) -> str:
    """Run git in a test fixture repo and return stdout; fail the test on error.

    git never looks above cwd for a repository: when a broken publisher (a mutant) left no
    checkout there, the repository around the test's temporary directory (a mutation run's
    work tree sits inside the project's clone) must not be the one changed."""
    env = {**GIT_ENV, "GIT_CEILING_DIRECTORIES": str(Path(cwd).parent)} if cwd else GIT_ENV
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"git {args}: {proc.stderr}"
    return proc.stdout


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare remote whose `main` branch already holds the desired state."""
    return make_remote(tmp_path / "remote.git", tmp_path / "seed")


def make_remote(bare: Path, work: Path) -> Path:
    """Create a bare repo at bare with one commit on main (made in work)."""
    run_git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    run_git("init", "--quiet", "--initial-branch=main", str(work))
    (work / "routers").mkdir()
    (work / "routers" / "rtr1.yaml").write_text("name: rtr1\n")
    run_git("add", "-A", cwd=work)
    run_git("commit", "--quiet", "-m", "desired state", cwd=work)
    run_git("push", "--quiet", str(bare), "main", cwd=work)
    return bare


def publisher(remote: Path | str, router: str, tmp_path: Path, **kw: object) -> StatusPublisher:
    """A publisher with its own checkout and tiny, seeded backoff."""
    kw.setdefault("base_delay", 0.01)
    kw.setdefault("rng", random.Random(router))
    return StatusPublisher(str(remote), router, tmp_path / "co" / router, **kw)  # type: ignore[arg-type]


def branch_files(remote: Path, rev: str = "status") -> dict[str, bytes]:
    """Every file on rev in the bare remote."""
    names = run_git("--git-dir", str(remote), "ls-tree", "-r", "--name-only", rev).split()
    return {
        n: subprocess.run(
            ["git", "--git-dir", str(remote), "show", f"{rev}:{n}"],
            env=GIT_ENV,
            capture_output=True,
            check=True,
        ).stdout
        for n in names
    }


def log(remote: Path, *paths: str) -> list[str]:
    """Subjects on the remote's status branch, newest first (optionally path-limited)."""
    out = run_git("--git-dir", str(remote), "log", "--format=%s", "status", "--", *paths)
    return out.splitlines()


def contents_in_history(remote: Path, path: str) -> list[bytes]:
    """Every version of path committed on the status branch, oldest first."""
    revs = run_git("--git-dir", str(remote), "rev-list", "--reverse", "status", "--", path)
    return [branch_files(remote, rev)[path] for rev in revs.split()]


def report(router: str) -> str:
    """The path of router's report on the status branch."""
    return f"reports/{router}.yaml"


# ---- one router ----------------------------------------------------------------------------


def test_first_publish_creates_an_orphan_branch(remote: Path, tmp_path: Path) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    res = pub.publish({"reports/rtr1.yaml": b"result: converged\n"}, "rtr1: converged")
    assert res == PublishResult(committed=True, pushed=True, attempts=1, pending=0, error=None)
    # Only our file: nothing of main's tree leaks into the status branch ...
    assert branch_files(remote) == {"reports/rtr1.yaml": b"result: converged\n"}
    # ... and no history is shared with main.
    merge_base = subprocess.run(
        ["git", "--git-dir", str(remote), "merge-base", "main", "status"],
        env=GIT_ENV,
        capture_output=True,
        check=False,
    )
    assert merge_base.returncode == 1 and merge_base.stdout == b""
    meta = run_git("--git-dir", str(remote), "log", "-1", "--format=%an|%ae|%cn|%ce|%B", "status")
    assert meta.strip() == (
        "peerops rtr1|peerops@rtr1.invalid|peerops rtr1|peerops@rtr1.invalid|rtr1: converged"
    )
    # main's objects were never fetched into the status checkout.
    main_commit = run_git("--git-dir", str(remote), "rev-parse", "main").strip()
    probe = subprocess.run(
        ["git", "-C", str(pub.checkout), "cat-file", "-e", main_commit],
        env=GIT_ENV,
        capture_output=True,
        check=False,
    )
    assert probe.returncode != 0


def test_commits_only_when_the_bytes_change(remote: Path, tmp_path: Path) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({"reports/rtr1.yaml": b"a: 1\n", "keys/rtr1.pub": b"KEY\n"}, "rtr1: first")
    same = pub.publish({"reports/rtr1.yaml": b"a: 1\n"}, "rtr1: same")
    assert same == PublishResult(False, True, 0, 0, None)
    changed = pub.publish({"reports/rtr1.yaml": b"a: 2\n"}, "rtr1: alice up, bob SA missing")
    assert changed == PublishResult(True, True, 1, 0, None)
    assert log(remote) == ["rtr1: alice up, bob SA missing", "rtr1: first"]
    # The key given only the first time is kept, the report has the new bytes.
    assert branch_files(remote) == {"keys/rtr1.pub": b"KEY\n", "reports/rtr1.yaml": b"a: 2\n"}
    assert pub.read_branch() == branch_files(remote)


def test_a_new_checkout_joins_the_existing_branch(remote: Path, tmp_path: Path) -> None:
    publisher(remote, "rtr1", tmp_path).publish({report("rtr1"): b"one\n"}, "rtr1: one")
    rtr2 = publisher(remote, "rtr2", tmp_path)
    assert rtr2.read_branch() == {report("rtr1"): b"one\n"}
    assert rtr2.publish({report("rtr2"): b"two\n"}, "rtr2: two").pushed
    assert log(remote) == ["rtr2: two", "rtr1: one"]  # linear, on top of rtr1's commit
    assert branch_files(remote) == {report("rtr1"): b"one\n", report("rtr2"): b"two\n"}


def test_read_branch_of_a_remote_without_the_branch(remote: Path, tmp_path: Path) -> None:
    assert publisher(remote, "rtr1", tmp_path).read_branch() == {}


# ---- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["reports/rtr2.yaml", "../x", "keys/rtr1.pub/../../x", "/reports/rtr1.yaml", "reports/rtr1"],
)
def test_refuses_any_path_but_our_own(tmp_path: Path, path: str) -> None:
    pub = publisher(tmp_path / "remote.git", "rtr1", tmp_path)
    with pytest.raises(ValueError, match="may write only"):
        pub.publish({"reports/rtr1.yaml": b"ok\n", path: b"evil\n"}, "rtr1: evil")
    assert list(tmp_path.iterdir()) == []  # nothing written: no checkout, no remote


def test_refuses_content_that_is_not_bytes(tmp_path: Path) -> None:
    pub = publisher(tmp_path / "remote.git", "rtr1", tmp_path)
    with pytest.raises(TypeError):
        pub.publish({"reports/rtr1.yaml": "text"}, "rtr1: text")  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("router", ["", "Rtr1", "1rtr", "rtr_1", "a" * 32, "../rtr1", "rtr1\n"])
def test_refuses_bad_router_names(tmp_path: Path, router: str) -> None:
    with pytest.raises(ValueError, match="router name"):
        StatusPublisher(str(tmp_path / "remote.git"), router, tmp_path / "co")


BAD_SETTINGS = {
    # (remote, branch, max_attempts, git_timeout) -> the whole error
    ("r.git", "", 1, 1.0): "branch name '' is not a plain git branch name",
    ("r.git", "a" * 65, 1, 1.0): f"branch name {'a' * 65!r} is not a plain git branch name",
    ("r.git", ".status", 1, 1.0): "branch name '.status' is not a plain git branch name",
    ("r.git", "status.lock", 1, 1.0): "branch name 'status.lock' is not a plain git branch name",
    ("r.git", "status.", 1, 1.0): "branch name 'status.' is not a plain git branch name",
    ("r.git", "sta..tus", 1, 1.0): "branch name 'sta..tus' is not a plain git branch name",
    ("r.git", "a/b", 1, 1.0): "branch name 'a/b' is not a plain git branch name",
    ("", "status", 1, 1.0): "remote '' is not a URL or path",
    ("-uhack", "status", 1, 1.0): "remote '-uhack' is not a URL or path",
    ("r.git\n", "status", 1, 1.0): "remote 'r.git\\n' is not a URL or path",
    ("r\x1f.git", "status", 1, 1.0): "remote 'r\\x1f.git' is not a URL or path",
    ("r.git", "status", 0, 1.0): "max_attempts must be >= 1 and git_timeout > 0",
    ("r.git", "status", 1, 0.0): "max_attempts must be >= 1 and git_timeout > 0",
}
GOOD_SETTINGS = [
    ("r.git", "a" * 64, 1, 0.001), ("r.git", "st.at_us-1", 1, 1.0), ("r\x20x.git", "s", 8, 60.0),
    ("ssh://git@example.net/status.git", "9", 1, 1.0),
]


@pytest.mark.parametrize("settings", list(BAD_SETTINGS), ids=range(len(BAD_SETTINGS)))
def test_refuses_unsafe_settings_and_says_which(
    tmp_path: Path, settings: tuple[str, str, int, float]
) -> None:
    remote, branch, attempts, timeout = settings
    with pytest.raises(ValueError) as info:
        StatusPublisher(remote, "rtr1", tmp_path / "co", branch=branch, max_attempts=attempts,
                        git_timeout=timeout)
    assert str(info.value) == BAD_SETTINGS[settings]


@pytest.mark.parametrize("settings", GOOD_SETTINGS, ids=range(len(GOOD_SETTINGS)))
def test_accepts_the_settings_at_the_edges(
    tmp_path: Path, settings: tuple[str, str, int, float]
) -> None:
    remote, branch, attempts, timeout = settings
    pub = StatusPublisher(remote, "r" * 31, tmp_path / "co", branch=branch,
                          max_attempts=attempts, git_timeout=timeout)
    assert (pub.remote, pub.branch, pub.paths) == (
        remote, branch, ("reports/" + "r" * 31 + ".yaml", "keys/" + "r" * 31 + ".pub"))
    assert list(tmp_path.iterdir()) == []  # nothing touched before the first publish


@pytest.mark.parametrize(
    ("author", "part"),
    [(("", "a@b"), ""), (("  ", "a@b"), "  "), (("x <y>", "a@b"), "x <y>"),
     (("x", "a>b"), "a>b"), (("x", "a\tb"), "a\\tb")],
)
def test_refuses_an_author_that_cannot_go_into_a_commit_header(
    tmp_path: Path, author: tuple[str, str], part: str
) -> None:
    with pytest.raises(ValueError) as info:
        StatusPublisher("r.git", "rtr1", tmp_path / "co", author=author)
    assert str(info.value) == (
        f"author part '{part}' is empty or holds <, > or a control char"
    )


def test_refusals_of_files_name_the_path_and_the_rule(tmp_path: Path) -> None:
    pub = publisher(tmp_path / "remote.git", "rtr1", tmp_path)
    with pytest.raises(ValueError) as info:
        pub.publish({"reports/rtr2.yaml": b"x"}, "rtr1: x")
    assert str(info.value) == (
        "'reports/rtr2.yaml': router rtr1 may write only reports/rtr1.yaml and keys/rtr1.pub"
    )
    with pytest.raises(TypeError) as type_info:
        pub.publish({"keys/rtr1.pub": "text"}, "rtr1: x")  # type: ignore[dict-item]
    assert str(type_info.value) == "keys/rtr1.pub: content must be bytes, not str"
    with pytest.raises(ValueError) as message_info:
        pub.publish({"keys/rtr1.pub": b"k"}, "rtr1:\tx")
    assert str(message_info.value) == "commit message 'rtr1:\\tx' must be one non-empty line"


@pytest.mark.parametrize("message", ["", "  ", "two\nlines", "nul\0"])
def test_refuses_a_message_that_is_not_one_line(tmp_path: Path, message: str) -> None:
    pub = publisher(tmp_path / "remote.git", "rtr1", tmp_path)
    with pytest.raises(ValueError, match="one non-empty line"):
        pub.publish({report("rtr1"): b"x\n"}, message)
    assert list(tmp_path.iterdir()) == []


def test_ignores_the_callers_git_environment_config_and_hooks(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "hook-ran"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("pre-push", "reference-transaction", "post-checkout", "pre-auto-gc"):
        (hooks / name).write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
        (hooks / name).chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(
        f"[user]\n\tname = wrong\n\temail = wrong@example.invalid\n"
        f"[commit]\n\tgpgSign = true\n[core]\n\thooksPath = {hooks}\n"
        # would send every fetch and push somewhere else
        f'[url "/nonexistent/"]\n\tinsteadOf = {tmp_path}/\n'
    )
    for name, value in {
        "GIT_CONFIG_GLOBAL": str(config),
        "GIT_DIR": str(tmp_path / "elsewhere"),
        "GIT_WORK_TREE": str(tmp_path),
        "GIT_AUTHOR_NAME": "wrong",
        "GIT_COMMITTER_EMAIL": "wrong@example.invalid",
        # a hook's environment: another index and object store, config given on the side
        "GIT_INDEX_FILE": str(tmp_path / "elsewhere-index"),
        "GIT_OBJECT_DIRECTORY": str(tmp_path / "elsewhere-objects"),
        "GIT_COMMON_DIR": str(tmp_path / "elsewhere-common"),
        "GIT_CONFIG_SYSTEM": str(config),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "url./nonexistent/.insteadOf",
        "GIT_CONFIG_VALUE_0": f"{tmp_path}/",
        "GIT_CONFIG_PARAMETERS": f"'url./nonexistent/.insteadOf'='{tmp_path}/'",
    }.items():
        monkeypatch.setenv(name, value)
    pub = publisher(remote, "rtr1", tmp_path)
    assert pub.publish({report("rtr1"): b"x\n"}, "rtr1: x").pushed
    # The checkout's own hooks directory is not consulted either, nor a file system monitor
    # set in its configuration (git would run it).
    for name in ("pre-push", "reference-transaction", "fsmonitor"):
        (pub.checkout / ".git" / "hooks" / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (pub.checkout / ".git" / "hooks" / name).chmod(0o755)
    with (pub.checkout / ".git" / "config").open("a") as conf:
        conf.write(f"[core]\n\tfsmonitor = {pub.checkout / '.git' / 'hooks' / 'fsmonitor'}\n")
    assert pub.publish({report("rtr1"): b"y\n"}, "rtr1: y").pushed
    assert not marker.exists()
    monkeypatch.undo()
    who = run_git("--git-dir", str(remote), "log", "--format=%an %ae %cn %ce", "status")
    assert (
        who.splitlines()
        == ["peerops rtr1 peerops@rtr1.invalid peerops rtr1 peerops@rtr1.invalid"] * 2
    )
    for name in ("elsewhere", "elsewhere-index", "elsewhere-objects", "elsewhere-common",
                 "reports"):
        assert not (tmp_path / name).exists()  # "reports": GIT_WORK_TREE was tmp_path


# ---- failures of the remote ----------------------------------------------------------------


def test_remote_down_for_a_cycle_loses_no_report(remote: Path, tmp_path: Path) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    assert pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1").pushed
    away = remote.with_name("away.git")
    remote.rename(away)
    down = pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2")
    assert (down.committed, down.pushed, down.pending, down.attempts) == (True, False, 1, 0)
    assert down.error and "failed" in down.error
    assert pub.flush().pending == 1  # still down: still queued
    with pytest.raises(PublishError):
        pub.read_branch()
    assert pub.read_branch(fetch=False) == {report("rtr1"): b"v1\n"}  # last tip seen
    away.rename(remote)
    assert pub.flush() == PublishResult(False, True, 1, 0, None)
    assert contents_in_history(remote, report("rtr1")) == [b"v1\n", b"v2\n"]
    # Down again for two reports, back for the next publish: all three land, in order.
    remote.rename(away)
    pub.publish({report("rtr1"): b"v3\n"}, "rtr1: v3")
    pub.publish({report("rtr1"): b"v4\n"}, "rtr1: v4")
    away.rename(remote)
    res = pub.publish({report("rtr1"): b"v5\n"}, "rtr1: v5")
    assert (res.pushed, res.pending, res.attempts) == (True, 0, 1)
    versions = [f"v{i}\n".encode() for i in range(1, 6)]
    assert contents_in_history(remote, report("rtr1")) == versions


def test_loser_of_the_orphan_race_rebases_onto_the_winner(remote: Path, tmp_path: Path) -> None:
    rtr1 = publisher(remote, "rtr1", tmp_path)
    rtr2 = publisher(remote, "rtr2", tmp_path)
    away = remote.with_name("away.git")
    remote.rename(away)
    assert rtr1.publish({report("rtr1"): b"one\n"}, "rtr1: one").pending == 1  # own orphan root
    away.rename(remote)
    assert rtr2.publish({report("rtr2"): b"two\n"}, "rtr2: two").pushed  # wins the race
    assert rtr1.flush() == PublishResult(False, True, 1, 0, None)
    roots = run_git("--git-dir", str(remote), "rev-list", "--max-parents=0", "status").split()
    assert len(roots) == 1
    assert log(remote) == ["rtr1: one", "rtr2: two"]


def test_remote_recreated_empty(remote: Path, tmp_path: Path) -> None:
    rtr1 = publisher(remote, "rtr1", tmp_path)
    rtr2 = publisher(remote, "rtr2", tmp_path)
    rtr1.publish({report("rtr1"): b"one\n", "keys/rtr1.pub": b"K1\n"}, "rtr1: one")
    rtr2.publish({report("rtr2"): b"two\n"}, "rtr2: two")
    # The remote is wiped and re-created; a brand-new router creates the branch first.
    shutil.rmtree(remote)
    make_remote(remote, tmp_path / "seed2")
    publisher(remote, "rtr3", tmp_path).publish({report("rtr3"): b"three\n"}, "rtr3: three")
    # rtr1 has nothing new, yet its report and key come back with its next publish; rtr2's
    # queued update lands on the new history too.
    assert rtr1.publish({report("rtr1"): b"one\n"}, "rtr1: one (again)").pushed
    rtr2.publish({report("rtr2"): b"two v2\n"}, "rtr2: v2")
    assert branch_files(remote) == {
        "keys/rtr1.pub": b"K1\n",
        report("rtr1"): b"one\n",
        report("rtr2"): b"two v2\n",
        report("rtr3"): b"three\n",
    }
    # Only what was queued is replayed on the new history, not rtr1's old commits: rtr1's
    # report and key come back in one new commit.
    assert log(remote) == ["rtr2: v2", "rtr1: one (again)", "rtr3: three"]


def test_remote_recreated_empty_gets_the_whole_history_back(remote: Path, tmp_path: Path) -> None:
    rtr1 = publisher(remote, "rtr1", tmp_path)
    rtr1.publish({report("rtr1"): b"one\n"}, "rtr1: one")
    publisher(remote, "rtr2", tmp_path).publish({report("rtr2"): b"two\n"}, "rtr2: two")
    rtr1.publish({report("rtr1"): b"one v2\n"}, "rtr1: v2")
    shutil.rmtree(remote)
    make_remote(remote, tmp_path / "seed2")
    res = rtr1.publish({report("rtr1"): b"one v3\n"}, "rtr1: v3")
    assert (res.pushed, res.attempts) == (True, 1)
    assert log(remote) == ["rtr1: v3", "rtr1: v2", "rtr2: two", "rtr1: one"]


def test_our_version_wins_over_a_hand_edit(remote: Path, tmp_path: Path) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"a\nb\nc\n", "keys/rtr1.pub": b"K\n"}, "rtr1: one")
    human = tmp_path / "human"
    run_git("clone", "--quiet", "--branch", "status", str(remote), str(human))
    (human / "reports" / "rtr1.yaml").write_text("edited by hand\na\nb\nc\n")
    run_git("rm", "--quiet", "keys/rtr1.pub", cwd=human)
    run_git("commit", "--quiet", "-am", "hand edit", cwd=human)
    remote.rename(remote.with_name("away.git"))
    pub.publish({report("rtr1"): b"a\nb\nc2\n", "keys/rtr1.pub": b"K2\n"}, "rtr1: two, café ✓")
    remote.with_name("away.git").rename(remote)
    run_git("push", "--quiet", "origin", "status", cwd=human)  # lands first
    assert pub.flush().pushed
    # Byte for byte ours: no merge of the hand edit's other hunks, the deleted key restored.
    assert branch_files(remote) == {report("rtr1"): b"a\nb\nc2\n", "keys/rtr1.pub": b"K2\n"}
    assert log(remote) == ["rtr1: two, café ✓", "hand edit", "rtr1: one"]  # replayed as is


def test_rejected_past_the_bound_stays_queued(remote: Path, tmp_path: Path) -> None:
    # A pre-receive hook on the remote refuses every push: attempts stop at the bound.
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho closed >&2\nexit 1\n")
    hook.chmod(0o755)
    delays: list[float] = []
    pub = publisher(remote, "rtr1", tmp_path, max_attempts=4, sleep=delays.append)
    res = pub.publish({report("rtr1"): b"x\n"}, "rtr1: x")
    assert (res.committed, res.pushed, res.attempts, res.pending) == (True, False, 4, 1)
    assert res.error == "push rejected: [remote rejected] (pre-receive hook declined)"
    # Jittered exponential backoff: base * 2**n times a factor in [0.5, 1.5).
    assert len(delays) == 3
    for n, delay in enumerate(delays):
        assert 0.01 * 2**n * 0.5 <= delay < 0.01 * 2**n * 1.5
    hook.unlink()
    assert pub.flush().pushed


# ---- a damaged checkout --------------------------------------------------------------------


def test_checkout_left_mid_rebase_recovers(remote: Path, tmp_path: Path) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2")
    co = pub.checkout
    # A rebase that stops half-way (as if its process were killed), plus a stale index lock.
    stopped = subprocess.run(
        ["git", "rebase", "--exec", "false", "HEAD~1"],
        cwd=co,
        env=GIT_ENV,
        capture_output=True,
        check=False,
    )
    assert stopped.returncode != 0 and (co / ".git" / "rebase-merge").is_dir()
    (co / ".git" / "index.lock").write_text("")
    fresh = publisher(remote, "rtr1", tmp_path)  # the next run of the agent
    res = fresh.publish({report("rtr1"): b"v3\n"}, "rtr1: v3")
    assert (res.committed, res.pushed) == (True, True)
    assert not (co / ".git" / "rebase-merge").exists()
    assert run_git("symbolic-ref", "HEAD", cwd=co).strip() == "refs/heads/status"
    assert run_git("status", "--porcelain", cwd=co) == ""
    assert contents_in_history(remote, report("rtr1")) == [b"v1\n", b"v2\n", b"v3\n"]


# ---- many writers --------------------------------------------------------------------------

ROUTERS = [f"rtr{i}" for i in range(20)]
# Sleeps stay tiny (base 0.01 s, capped at 0.32 s). The bound is the fleet size: each rejection
# means another router's push landed inside our fetch-to-push window, and those windows do not
# overlap, so with N routers publishing once each, the k-th to land needs at most k attempts.
BURST = {"base_delay": 0.01, "max_delay": 0.32, "max_attempts": len(ROUTERS)}


def burst_agent(
    remote: Path, router: str, tmp_path: Path, version: str, start: Callable[[], object]
) -> PublishResult:
    """One router: set up, wait for the others, publish its report for version."""
    rng = random.Random(f"{router}{version}")
    pub = publisher(remote, router, tmp_path, rng=rng, **BURST)
    start()
    return pub.publish({report(router): f"{router} {version}\n".encode()}, f"{router}: {version}")


def publish_in_threads(remote: Path, tmp_path: Path, version: str) -> dict[str, PublishResult]:
    """Every router publishes at the same moment, each from its own thread and checkout."""
    barrier = threading.Barrier(len(ROUTERS))

    def one(router: str) -> PublishResult:
        return burst_agent(remote, router, tmp_path, version, barrier.wait)

    with ThreadPoolExecutor(len(ROUTERS)) as pool:
        return dict(zip(ROUTERS, pool.map(one, ROUTERS), strict=True))


def _process_agent(
    remote: Path,
    router: str,
    tmp_path: Path,
    version: str,
    barrier: multiprocessing.synchronize.Barrier,
    out: multiprocessing.queues.Queue[tuple[str, object]],
) -> None:
    """Body of one forked router process: its result (or its failure) goes to out."""
    try:
        out.put((router, burst_agent(remote, router, tmp_path, version, barrier.wait)))
    except BaseException as exc:
        out.put((router, repr(exc)))


def publish_in_processes(remote: Path, tmp_path: Path, version: str) -> dict[str, PublishResult]:
    """Every router publishes at the same moment, each from its own process and checkout.
    Forked, so the interpreters need not start and import again."""
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(len(ROUTERS)), ctx.Queue()
    procs = [
        ctx.Process(target=_process_agent, args=(remote, r, tmp_path, version, barrier, out))
        for r in ROUTERS
    ]
    sys.stdout.flush()  # a forked child must not write out a copy of our buffered output
    try:
        for proc in procs:
            proc.start()
        results = dict(out.get(timeout=60) for _ in procs)
        for proc in procs:
            proc.join(timeout=10)
            assert proc.exitcode == 0
    finally:
        for proc in procs:  # only if the test failed: no router process outlives it
            if proc.is_alive():
                proc.kill()
    return results


def assert_all_landed(remote: Path, results: dict[str, PublishResult], version: str) -> None:
    """Every report is on the remote, and no router needed more attempts than the bound."""
    for router, res in results.items():
        assert isinstance(res, PublishResult), (router, res)
        assert res.pushed and res.pending == 0 and res.error is None, (router, res)
    # The k-th router to land made at most k attempts, so the i-th fewest is at most i + 1.
    attempts = sorted(res.attempts for res in results.values())
    assert all(1 <= n <= i + 1 for i, n in enumerate(attempts)), attempts
    files = branch_files(remote)
    assert files == {report(r): f"{r} {version}\n".encode() for r in ROUTERS}


def assert_each_commit_touches_one_router(remote: Path) -> None:
    """Linear history, one root, and every commit changes only its author's own report."""
    revs = run_git("--git-dir", str(remote), "rev-list", "--parents", "status").splitlines()
    assert all(len(line.split()) <= 2 for line in revs)  # no merges
    assert sum(len(line.split()) == 1 for line in revs) == 1  # one root
    out = run_git("--git-dir", str(remote), "log", "--format=#%ae", "--name-only", "status")
    for entry in filter(None, out.split("#")):
        email, *names = entry.split()
        router = email.removeprefix("peerops@").removesuffix(".invalid")
        assert names == [report(router)], entry


def test_twenty_routers_publish_at_once(remote: Path, tmp_path: Path) -> None:
    # Round 1, threads: fresh checkouts, so all twenty also race to create the orphan branch.
    t0 = time.monotonic()
    first = publish_in_threads(remote, tmp_path, "v1")
    t1 = time.monotonic()
    assert_all_landed(remote, first, "v1")
    # Round 2, processes: every router updates its report from a process of its own.
    second = publish_in_processes(remote, tmp_path, "v2")
    t2 = time.monotonic()
    assert_all_landed(remote, second, "v2")
    assert len(log(remote)) == 2 * len(ROUTERS)
    assert_each_commit_touches_one_router(remote)
    for name, took, results in (("threads", t1 - t0, first), ("processes", t2 - t1, second)):
        attempts = sorted(r.attempts for r in results.values())
        print(f"\n{name}: {took:.2f} s, attempts {attempts}")


def test_a_moved_remote_is_followed(remote: Path, tmp_path: Path) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"one\n"}, "rtr1: one")
    moved = tmp_path / "moved.git"
    run_git("clone", "--quiet", "--bare", str(remote), str(moved))
    again = publisher(moved, "rtr1", tmp_path)  # same checkout, new URL in the configuration
    assert again.publish({report("rtr1"): b"two\n"}, "rtr1: two").pushed
    assert log(moved) == ["rtr1: two", "rtr1: one"]
    assert log(remote) == ["rtr1: one"]


# ---- nothing to do, and what others put on the branch ----------------------------------------


def test_flush_with_nothing_queued_reports_pushed_and_makes_no_attempt(
    remote: Path, tmp_path: Path
) -> None:
    # A checkout that never committed (the agent's first cycle before any report): nothing
    # to push, so the remote is not even asked (here it does not exist) ...
    fresh = publisher(tmp_path / "nowhere.git", "rtr1", tmp_path)
    assert fresh.flush() == PublishResult(False, True, 0, 0, None)
    # ... and one whose reports are all on the remote: nothing pending, nothing pushed.
    pub = publisher(remote, "rtr2", tmp_path)
    pub.publish({report("rtr2"): b"x\n"}, "rtr2: x")
    before = log(remote)
    assert pub.flush() == PublishResult(False, True, 0, 0, None)
    assert log(remote) == before


def test_read_branch_of_an_unreachable_remote_says_which_fetch_failed(
    remote: Path, tmp_path: Path
) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"x\n"}, "rtr1: x")
    remote.rename(remote.with_name("away.git"))
    with pytest.raises(PublishError, match=rf"\Afetch from {remote} failed: .+"):
        pub.read_branch()


def test_read_branch_returns_every_regular_file_byte_for_byte(
    remote: Path, tmp_path: Path
) -> None:
    """Others (people, other tools) push to the status branch too: read_branch returns the
    regular files of every kind of name and content exactly, and leaves out what is not a
    file (a symlink)."""
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"result: converged\n"}, "rtr1: converged")
    human = tmp_path / "human"
    run_git("clone", "--quiet", "--branch", "status", str(remote), str(human))
    odd = {
        "reports/tab\there.yaml": b"a name with a tab\n",
        "notes/caf\u00e9 \u2713.txt": "caf\u00e9 \u2713 \u00fcber\n".encode(),
        "blobs/latin1.bin": b"\xff\xfe\x00 not UTF-8 \xe9\n",
        "empty": b"",
        "no-newline": b"x",
    }
    for name, data in odd.items():
        (human / name).parent.mkdir(parents=True, exist_ok=True)
        (human / name).write_bytes(data)
    (human / "tools").mkdir()
    (human / "tools" / "run.sh").write_bytes(b"#!/bin/sh\necho hi\n")
    (human / "tools" / "run.sh").chmod(0o755)
    (human / "link").symlink_to("reports/rtr1.yaml")
    run_git("add", "-A", cwd=human)
    run_git("commit", "--quiet", "-m", "hand-made files", cwd=human)
    run_git("push", "--quiet", "origin", "status", cwd=human)
    modes = run_git("ls-tree", "-r", "HEAD", cwd=human)
    assert "100755 blob" in modes and "120000 blob" in modes  # the kinds the test means
    assert pub.read_branch() == {
        report("rtr1"): b"result: converged\n",
        **odd,
        "tools/run.sh": b"#!/bin/sh\necho hi\n",
    }


def test_a_queue_is_replayed_as_committed_and_only_our_files_leave(
    remote: Path, tmp_path: Path
) -> None:
    """While the remote is away, an operator withdraws the key in the status checkout by
    hand and notes something beside it; the agent queues a report whose message ends in a
    space. Another router lands first. The replay keeps each of our commits as it was (the
    deletion, the message byte for byte, the author); the foreign file stays local."""
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n", "keys/rtr1.pub": b"K\n"}, "rtr1: v1")
    remote.rename(remote.with_name("away.git"))
    co = pub.checkout
    run_git("rm", "--quiet", "keys/rtr1.pub", cwd=co)
    run_git("commit", "--quiet", "-m", "withdraw rtr1's key", cwd=co)
    (co / "notes.txt").write_text("not for the remote\n")
    run_git("add", "notes.txt", cwd=co)
    run_git("commit", "--quiet", "-m", "a note", cwd=co)
    assert pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2 ").pending == 3
    remote.with_name("away.git").rename(remote)
    publisher(remote, "rtr2", tmp_path).publish({report("rtr2"): b"two\n"}, "rtr2: two")
    assert pub.flush() == PublishResult(False, True, 1, 0, None)
    assert branch_files(remote) == {report("rtr1"): b"v2\n", report("rtr2"): b"two\n"}
    bodies = run_git("--git-dir", str(remote), "log", "--format=%an|%ae|%B%x00", "status")
    assert bodies.split("\0")[:2] == [
        "peerops rtr1|peerops@rtr1.invalid|rtr1: v2 \n",
        "\nhuman|human@example.invalid|withdraw rtr1's key\n",
    ]


def test_a_push_that_fails_without_a_rejection_is_not_retried(
    remote: Path, tmp_path: Path
) -> None:
    """The remote can be read but not written (here a push URL an operator set by hand in the
    checkout points nowhere): one attempt, the report stays queued, the error says why."""
    pub = publisher(remote, "rtr1", tmp_path, max_attempts=4)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    nowhere = tmp_path / "nowhere.git"
    run_git("config", "remote.origin.pushurl", str(nowhere), cwd=pub.checkout)
    res = pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2")
    assert (res.committed, res.pushed, res.attempts, res.pending) == (True, False, 1, 1)
    assert res.error == (
        f"push to {remote} failed: fatal: '{nowhere}' does not appear to be a git repository"
    )
    run_git("config", "--unset", "remote.origin.pushurl", cwd=pub.checkout)
    assert pub.flush() == PublishResult(False, True, 1, 0, None)
