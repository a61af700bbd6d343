"""Read a state repo's files as hostile input: only regular files inside the repo.

A pull request can commit a symbolic link (to /dev/zero, to a FIFO, to /etc), a name with a
line break, or a huge file. Every directory below the repo is opened with O_NOFOLLOW and
O_DIRECTORY relative to its parent's descriptor, every file with O_NOFOLLOW | O_NONBLOCK
(a FIFO or device never blocks the open), checked with fstat to be a regular file, and read
with a bound that never trusts st_size. Nothing that is not a regular file inside the repo is
ever opened for reading, so no error can quote content from anywhere else.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = (
    os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
)
# Names shown to people as they are; anything else is shown escaped (a name with a line
# break or a terminal escape must not forge lines in validate's output or a report).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._+@-]{1,255}")


class RepoFileError(Exception):
    """A repo path that is not a readable regular file; the message never quotes content."""


@dataclass(frozen=True)
class Entry:
    """One directory entry, typed by lstat (a symbolic link is never followed)."""

    name: str
    kind: str  # "file", "dir", "symlink" or "other"


def shown(name: str) -> str:
    """The name as it may be printed: itself when plain, else escaped like a Python string."""
    return name if _PLAIN_NAME.fullmatch(name) else repr(name)[1:-1]


def shown_rel(rel: str) -> str:
    return "/".join(shown(part) for part in rel.split("/"))


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


def _open_dir(repo: Path, rel: str) -> int:
    """A descriptor of repo/rel, reached without following any link below repo."""
    fd = os.open(repo, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in [p for p in rel.split("/") if p]:
            if part in (".", ".."):
                raise RepoFileError(f"{shown_rel(rel)}: not a path inside the repo")
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                why = _why(exc)
                if _lstat_kind(fd, part) == "symlink":  # Linux says ENOTDIR, OpenBSD ELOOP
                    why = _why(OSError(errno.ELOOP, "link"))
                raise RepoFileError(f"{shown_rel(rel)}: {why}") from None
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def kind_of(repo: Path, rel: str) -> str | None:
    """lstat type of repo/rel ("file", "dir", "symlink", "other"), None when absent."""
    directory, _, name = rel.rpartition("/")
    try:
        fd = _open_dir(repo, directory)
    except RepoFileError:
        return None
    try:
        return _kind(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return None
    finally:
        os.close(fd)


def list_dir(repo: Path, rel: str = "") -> list[Entry]:
    """The entries of repo/rel, sorted by name, each typed without following links."""
    fd = _open_dir(repo, rel)
    try:
        out = []
        for name in sorted(os.listdir(fd)):
            try:
                mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
            except OSError:
                continue  # vanished between listdir and lstat
            out.append(Entry(name, _kind(mode)))
        return out
    finally:
        os.close(fd)


def read_regular(repo: Path, rel: str, limit: int) -> bytes:
    """The bytes of repo/rel, a regular file of at most limit bytes; RepoFileError otherwise."""
    directory, _, name = rel.rpartition("/")
    dfd = _open_dir(repo, directory)
    try:
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dfd)
        except OSError as exc:
            raise RepoFileError(_why(exc)) from None
    finally:
        os.close(dfd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RepoFileError("not a regular file (only regular files inside the repo are read)")
        chunks, total = [], 0
        while True:  # st_size is not trusted: read until EOF or past the limit
            chunk = os.read(fd, min(65536, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise RepoFileError(f"larger than {limit} bytes: not a state file")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _lstat_kind(dir_fd: int, name: str) -> str | None:
    try:
        return _kind(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return None


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic link (only regular files inside the repo are read)"
    if exc.errno == errno.ENOTDIR:
        return "is not a directory"
    if exc.errno == errno.ENOENT:
        return "does not exist"
    return os.strerror(exc.errno or 0) or type(exc).__name__
