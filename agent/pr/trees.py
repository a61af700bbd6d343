"""Materialise one revision of a state repo as a plain directory (no checkout is moved)."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

from agent.errors import PeeropsError

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
    """Write the tree of commit into dest: its directories, its files (0644, or 0755 for an
    executable one) and its symbolic links, each a link that stays inside dest (one that
    points out, absolute or through "..", is written dangling, so the loader still finds a
    link to refuse and nothing outside is ever reached through it)."""
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
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data.stdout)) as tar:
        for member in tar:
            _extract(tar, member, dest)
    return dest


OUTSIDE = ".peerops-link-points-outside-the-repo"


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path) -> None:
    """One member of git archive's output under dest (by hand, not extractall: its "data"
    filter is missing before Python 3.10.12 and 3.11.4, and it raises on a link that points
    out, which a hostile pull request may add)."""
    if member.type == tarfile.XGLTYPE:  # git archive's pax header with the commit id
        return
    parts = member.name.split("/")
    if member.name.startswith("/") or ".." in parts:
        raise RevisionError(f"git archive: {member.name!r} is not a path inside the repo")
    path = dest.joinpath(*[p for p in parts if p not in ("", ".")])
    path.parent.mkdir(parents=True, exist_ok=True)
    if member.isdir():
        path.mkdir(mode=0o755, exist_ok=True)
    elif member.isfile():
        source = tar.extractfile(member)
        assert source is not None  # noqa: S101 - a regular file member has content
        path.write_bytes(source.read())
        path.chmod(0o755 if member.mode & 0o111 else 0o644)
    elif member.issym():
        inside = os.path.normpath(os.path.join(os.path.dirname(member.name), member.linkname))
        safe = not os.path.isabs(member.linkname) and inside.split("/")[0] != ".."
        os.symlink(member.linkname if safe else OUTSIDE, path)
    else:  # git archive writes only the three kinds above
        raise RevisionError(f"git archive: {member.name!r} is neither a file, a directory "
                            "nor a symbolic link")


def changed_files(repo: Path, base: str, head: str) -> list[tuple[str, str]]:
    """(status letter, path) of every file that differs between base and head (renames are
    a deletion plus an addition, so both sides are reviewed)."""
    out = git(repo, "diff", "--no-renames", "--name-status", "-z", base, head)
    parts = out.split("\0")
    return [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
