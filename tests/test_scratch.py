"""Where a simulation's throwaway fleet goes (agent/lab/scratch.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.lab import scratch


@pytest.fixture
def memory_fs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for /dev/shm, with no $TMPDIR set."""
    fs = tmp_path / "shm"
    fs.mkdir()
    monkeypatch.setattr(scratch, "MEMORY_FS", str(fs))
    monkeypatch.setattr(scratch, "MEMORY_FS_MIN_FREE", 1)
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(name, raising=False)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    return fs


def test_without_tmpdir_the_scratch_tree_goes_to_the_memory_file_system(memory_fs: Path) -> None:
    with scratch.scratch_dir("peerops-simulate-") as tmp:
        assert tmp.parent == memory_fs
        assert tmp.name.startswith("peerops-simulate-")
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o700  # private, as mkdtemp makes it
        (tmp / "peers" / "peer0" / "root").mkdir(parents=True)
        (tmp / "peers" / "peer0" / "root" / "myname").write_text("peer0\n")
    assert not tmp.exists()
    assert list(memory_fs.iterdir()) == []  # nothing left behind


def test_an_explicit_tmpdir_wins(memory_fs: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    monkeypatch.setenv("TMPDIR", str(chosen))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile reads $TMPDIR again
    with scratch.scratch_dir("peerops-demo-") as tmp:
        assert tmp.parent == chosen
    assert list(memory_fs.iterdir()) == []


@pytest.mark.parametrize("variable", ["TEMP", "TMP"])
def test_the_other_temporary_directory_variables_win_too(
    memory_fs: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, str(memory_fs.parent))
    assert scratch.scratch_parent() is None


def test_a_memory_file_system_without_room_is_not_used(memory_fs: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    fs = os.statvfs(memory_fs)
    monkeypatch.setattr(scratch, "MEMORY_FS_MIN_FREE", fs.f_bavail * fs.f_frsize + 1)
    assert scratch.scratch_parent() is None
    monkeypatch.setattr(scratch, "MEMORY_FS_MIN_FREE", fs.f_bavail * fs.f_frsize)
    assert scratch.scratch_parent() == str(memory_fs)  # exactly enough is enough


def test_no_memory_file_system_means_the_system_temporary_directory(
    memory_fs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scratch, "MEMORY_FS", str(memory_fs / "absent"))  # e.g. OpenBSD
    assert scratch.scratch_parent() is None
    with scratch.scratch_dir("peerops-simulate-") as tmp:
        assert tmp.is_dir()
        assert memory_fs not in tmp.parents
