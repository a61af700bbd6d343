"""write_atomic, the one way peerops writes a file: a reader sees the old file or the whole new
one with its final mode, and after a durable write a power cut cannot undo it.

The order of the system calls is the guarantee, so the durable tests record the real calls
(os.fsync and os.replace still run) and check what each one was applied to.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.atomic import write_atomic


def test_a_new_file_gets_the_bytes_and_exactly_the_mode(tmp_path: Path) -> None:
    old_umask = os.umask(0o077)  # the mode must not depend on the caller's umask
    try:
        write_atomic(tmp_path / "hostname.gre1", b"inet 172.20.1.1\n", 0o640)
    finally:
        os.umask(old_umask)
    target = tmp_path / "hostname.gre1"
    assert target.read_bytes() == b"inet 172.20.1.1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["hostname.gre1"]  # no temporary file left behind


def test_the_default_mode_is_0600(tmp_path: Path) -> None:
    write_atomic(tmp_path / "record.json", b"{}")
    assert stat.S_IMODE((tmp_path / "record.json").stat().st_mode) == 0o600


def test_an_existing_file_is_replaced_not_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "ipsec.conf"
    target.write_bytes(b"old rules\n")
    target.chmod(0o644)
    with target.open("rb") as reader:  # a reader that opened the old file keeps all of it
        write_atomic(target, b"new\n", 0o600)
        assert reader.read() == b"old rules\n"
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["ipsec.conf"]


def test_missing_parents_are_created_with_dir_mode(tmp_path: Path) -> None:
    target = tmp_path / "pubkeys" / "fqdn" / "alice.example.org"
    write_atomic(target, b"key\n", 0o644, dir_mode=0o700)
    assert target.read_bytes() == b"key\n"
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "pubkeys").stat().st_mode) == 0o700


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_parents_are_0755_by_default_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """mkdir(2) takes the umask's bits: under umask 077 (an admin's shell, a cron job) the
    pubkeys directories would be 0700, not the 0755 of etc/mtree/4.4BSD.dist."""
    old_umask = os.umask(umask)
    try:
        write_atomic(tmp_path / "isakmpd" / "pubkeys" / "ipv4" / "192.0.2.7", b"key\n", 0o644)
    finally:
        os.umask(old_umask)
    for level in ("isakmpd", "isakmpd/pubkeys", "isakmpd/pubkeys/ipv4"):
        assert stat.S_IMODE((tmp_path / level).stat().st_mode) == 0o755, level


def test_the_temporary_is_hidden_and_named_after_its_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """netstart globs /etc/hostname.*, isakmpd looks keys up by file name: a half-written
    temporary must match neither, and after a crash it says what it was for."""
    names: list[str] = []
    real = os.replace

    def replace(src: str, dst: str) -> None:
        names.append(Path(src).name)
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    write_atomic(tmp_path / "hostname.gre1", b"up\n")
    (name,) = names
    assert name.startswith(".hostname.gre1.") and name != ".hostname.gre1."


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "ipsec.conf"
    target.write_bytes(b"old rules\n")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes", 0o600)  # type: ignore[arg-type]
    assert target.read_bytes() == b"old rules\n"
    assert os.listdir(tmp_path) == ["ipsec.conf"]


def test_chunks_are_written_in_order_and_a_failing_one_leaves_the_old_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "parsed-cache.json"
    write_atomic(target, [b"digest\n", b'{"a": ', b"1}"], 0o640)
    assert target.read_bytes() == b'digest\n{"a": 1}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640

    def broken() -> Iterator[bytes]:
        yield b"half of "
        raise OSError("no space left on device")

    with pytest.raises(OSError):
        write_atomic(target, broken())
    assert target.read_bytes() == b'digest\n{"a": 1}'
    assert os.listdir(tmp_path) == ["parsed-cache.json"]


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # rename(2) of a file over a non-empty directory fails
    (target / "inside").write_bytes(b"x")
    with pytest.raises(OSError):
        write_atomic(target, b"new\n")
    assert sorted(os.listdir(tmp_path)) == ["taken"]
    assert os.listdir(target) == ["inside"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file away (CI runs as root)")
def test_the_owner_is_set_before_the_file_appears(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _record_calls(monkeypatch)
    write_atomic(tmp_path / "peerops.yaml", b"router: rtr1\n", 0o640, owner=(4242, 4343))
    final = (tmp_path / "peerops.yaml").stat()
    assert (final.st_uid, final.st_gid) == (4242, 4343)
    (renamed,) = [c for c in seen if c[0] == "replace"]
    assert renamed[2][:2] == (4242, 4343)  # the temporary already had the owner


def _record_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, tuple[int, ...]]]:
    """Record (call, inode, (uid, gid, mode, size)) for every os.fsync and os.replace; the
    real calls still run."""
    seen: list[tuple[str, int, tuple[int, ...]]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        seen.append(("fsync", st.st_ino, (st.st_uid, st.st_gid, st.st_mode, st.st_size)))
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        st = os.stat(src)
        seen.append(("replace", st.st_ino, (st.st_uid, st.st_gid, st.st_mode, st.st_size)))
        assert Path(src).parent == Path(dst).parent  # rename(2) is atomic within one fs
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return seen


def test_a_durable_write_syncs_the_data_before_the_rename_and_the_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _record_calls(monkeypatch)
    target = tmp_path / "ipsec.conf"
    write_atomic(target, b"ike esp from 192.0.2.1 to 198.51.100.7\n", 0o600)
    file_ino, dir_ino = target.stat().st_ino, tmp_path.stat().st_ino
    assert [(call, ino) for call, ino, _ in seen] == [
        ("fsync", file_ino),  # the data is on disk before the name points at it
        ("replace", file_ino),
        ("fsync", dir_ino),  # the rename itself survives a power cut
    ]
    _, _, (_, _, mode, size) = seen[1]
    assert (stat.S_IMODE(mode), size) == (0o600, 39)  # complete, final mode, before the rename


def test_a_write_that_need_not_be_durable_skips_only_the_syncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _record_calls(monkeypatch)
    write_atomic(tmp_path / "f", b"data", 0o644, durable=False)
    assert [call for call, _, _ in seen] == ["replace"]
    assert (tmp_path / "f").read_bytes() == b"data"
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644
