"""A commit's tree written out from `git archive` output, member by member.

By hand, not with tarfile's extractall: its "data" filter is missing before Python 3.10.12
and 3.11.4 (Debian 12 has 3.11.2), and it raises on a link that points out of the tree,
which a hostile pull request may add, where the loader should refuse that file by name.
Directories are 0755, files 0644 (0755 when git has them executable); a link that stays
inside dest is kept as it is, one that points out (absolute or through "..") is written
pointing at OUTSIDE, a name that does not exist: the loader still finds a link to refuse,
and nothing outside is ever reached through it.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from agent.errors import PeeropsError

OUTSIDE = ".peerops-link-points-outside-the-repo"


class ArchiveError(PeeropsError):
    """git archive output that holds something a commit's tree cannot."""


def write_tree(archive: bytes, dest: Path) -> None:
    """Write the tar archive (git archive's output) under dest, which is created."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            for member in tar:
                _write(tar, member, dest)
    except tarfile.TarError as exc:
        raise ArchiveError(f"git archive: {exc}") from exc


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path) -> None:
    if member.type in (tarfile.XGLTYPE, tarfile.XHDTYPE):  # pax headers (the commit id)
        return
    parts = member.name.split("/")
    if member.name.startswith("/") or ".." in parts:
        raise ArchiveError(f"git archive: {member.name!r} is not a path inside the repo")
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
        raise ArchiveError(f"git archive: {member.name!r} is neither a file, a directory "
                           "nor a symbolic link")
