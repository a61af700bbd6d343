"""Reading a state repo as hostile input (agent.repo.files) and the OpenBSD host's refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.host.openbsd import HostRefused, OpenBSDHost, refusal
from agent.repo import files


def test_a_file_whose_size_lies_is_still_bounded() -> None:
    # /proc files report st_size 0 and hold more: the bound counts bytes actually read.
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(files.RepoFileError, match="larger than 16 bytes"):
        files.read_regular(Path("/proc/self"), "status", 16)


def test_links_and_special_files_are_typed_and_never_opened(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "ok.yaml").write_text("name: ok\n")
    (tmp_path / "d" / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "d" / "pipe.yaml")  # opening it for reading would block for ever
    (tmp_path / "link").symlink_to(tmp_path / "d")
    kinds = {e.name: e.kind for e in files.list_dir(tmp_path, "d")}
    assert kinds == {"ok.yaml": "file", "zero.yaml": "symlink", "pipe.yaml": "other"}
    assert files.read_regular(tmp_path, "d/ok.yaml", 100) == b"name: ok\n"
    for rel, why in (("d/zero.yaml", "symbolic link"), ("d/pipe.yaml", "not a regular file"),
                     ("link/ok.yaml", "symbolic link")):
        with pytest.raises(files.RepoFileError, match=why):
            files.read_regular(tmp_path, rel, 100)
    with pytest.raises(files.RepoFileError):
        files.list_dir(tmp_path, "link")


def test_odd_names_are_shown_escaped() -> None:
    assert files.shown("alice.yaml") == "alice.yaml"
    assert files.shown("eve\n.yaml") == "eve\\n.yaml"
    assert files.shown_rel("peers/\x1b[2J/x.yaml") == "peers/\\x1b[2J/x.yaml"


@pytest.mark.parametrize(
    ("sysname", "euid", "message"),
    [("Linux", 0, "refuses to run on Linux"), ("OpenBSD", 1000, "must run as root"),
     ("", 0, "unknown system")],
)
def test_the_openbsd_host_refuses_anywhere_else(sysname: str, euid: int, message: str) -> None:
    assert message in (refusal(sysname, euid) or "")


def test_the_openbsd_host_is_never_built_here() -> None:
    assert refusal("OpenBSD", 0) is None
    if os.uname().sysname != "OpenBSD":
        with pytest.raises(HostRefused, match="host: openbsd refuses"):
            OpenBSDHost()
