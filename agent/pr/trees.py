"""Materialise one revision of a state repo as a plain directory (no checkout is moved)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agent.errors import PeeropsError
from agent.repo.archive import ArchiveError, write_tree

GIT_TIMEOUT = 60


class RevisionError(PeeropsError):
    """A revision cannot be read from the repo."""


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=GIT_TIMEOUT,
    )
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["failed"])[-1]
        raise RevisionError(f"git {' '.join(args)}: {last}")
    return out.stdout


def resolve(repo: Path, rev: str) -> str:
    """The commit id of rev; a revision that starts with '-' is refused (never an option)."""
    if rev.startswith("-"):
        raise RevisionError(f"{rev!r} is not a revision")
    return git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()


def export(repo: Path, commit: str, dest: Path) -> Path:
    """Write the tree of commit into dest (agent.repo.archive: directories, files, and links
    that point out written dangling)."""
    # From the top of the work tree: run inside a subdirectory, git archive would keep only
    # that subtree, and callers add the subdirectory's prefix themselves.
    top = git(repo, "rev-parse", "--show-toplevel").strip()
    data = subprocess.run(
        ["git", "-C", top, "archive", "--format=tar", commit],
        capture_output=True,
        check=False,
        timeout=GIT_TIMEOUT,
    )
    if data.returncode != 0:
        raise RevisionError(f"git archive {commit}: {data.stderr.decode(errors='replace')}")
    try:
        write_tree(data.stdout, dest)
    except ArchiveError as exc:
        raise RevisionError(str(exc)) from exc
    return dest


def changed_files(repo: Path, base: str, head: str) -> list[tuple[str, str]]:
    """(status letter, path) of every file that differs between base and head (renames are
    a deletion plus an addition, so both sides are reviewed)."""
    out = git(repo, "diff", "--no-renames", "--name-status", "-z", base, head)
    parts = out.split("\0")
    return [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
