"""A commit's tree from git archive output (agent.repo.archive), on any Python: files with
git's two modes, links that point out written dangling, anything else refused."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from agent.repo.archive import OUTSIDE, ArchiveError, write_tree


def tar_of(*members: tuple[str, bytes, bytes, str]) -> bytes:
    """name, data, tar type, link target."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data, kind, link in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data)
            info.mode = 0o775 if name.endswith(".sh") else 0o664
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return out.getvalue()


def test_files_directories_and_links_as_git_has_them(tmp_path: Path) -> None:
    write_tree(tar_of(
        ("peers/", b"", tarfile.DIRTYPE, ""),
        ("peers/a.yaml", b"name: a\n", tarfile.REGTYPE, ""),
        ("hooks/run.sh", b"#!/bin/sh\n", tarfile.REGTYPE, ""),
        ("peers/b.yaml", b"", tarfile.SYMTYPE, "a.yaml"),
        ("peers/c.yaml", b"", tarfile.SYMTYPE, "/etc/passwd"),
        ("peers/d.yaml", b"", tarfile.SYMTYPE, "../../etc/passwd"),
    ), tmp_path / "tree")
    tree = tmp_path / "tree"
    assert (tree / "peers/a.yaml").read_bytes() == b"name: a\n"
    assert (tree / "peers/a.yaml").stat().st_mode & 0o777 == 0o644
    assert (tree / "hooks/run.sh").stat().st_mode & 0o777 == 0o755
    assert [os.readlink(tree / f"peers/{n}.yaml") for n in "bcd"] == ["a.yaml", OUTSIDE, OUTSIDE]
    assert not (tree / "peers/c.yaml").exists()  # dangling: nothing outside is reached


@pytest.mark.parametrize("member", [
    ("/etc/x", b"", tarfile.REGTYPE, ""),
    ("peers/../../x", b"", tarfile.REGTYPE, ""),
    ("peers/fifo", b"", tarfile.FIFOTYPE, ""),
    ("peers/hard", b"", tarfile.LNKTYPE, "peers/a.yaml"),
])
def test_what_no_tree_holds_is_refused_and_written_nowhere(
    tmp_path: Path, member: tuple[str, bytes, bytes, str]
) -> None:
    with pytest.raises(ArchiveError, match="git archive"):
        write_tree(tar_of(member), tmp_path / "tree")
    assert not (tmp_path / "x").exists() and not Path("/etc/x").exists()
