"""agent.sim.files: a router's files in memory behave as the same files on disk.

Each case runs the same operations on a DiskFiles and a MemoryFiles and compares what they
return or raise and the trees they leave; a random sequence over a few paths looks for the
corners nobody wrote down.
"""

from __future__ import annotations

import os
import random
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.sim import state as simstate
from agent.sim.files import DiskFiles, FileInfo, MemoryFiles, RouterFiles, SimPathError
from agent.sim.host import SimHost
from sim.fleetkit import gre_rule

RULE = gre_rule("192.0.2.1", "198.51.100.7")

# Both kinds are made here by each test itself: once is enough.
pytestmark = pytest.mark.disk_only


@pytest.fixture
def both(tmp_path: Path) -> tuple[DiskFiles, MemoryFiles]:
    root = tmp_path / "root"
    root.mkdir()
    return DiskFiles(str(root)), MemoryFiles()


def outcome(call: Callable[[], Any]) -> Any:
    """What a call returned, comparable across the two kinds: a stat as its type, its
    permission bits and (for a regular file) its size; an exception as its type."""
    try:
        result = call()
    except (OSError, SimPathError) as exc:
        return type(exc).__name__
    if isinstance(result, FileInfo):
        size = result.st_size if stat.S_ISREG(result.st_mode) else None
        return ("stat", stat.S_IFMT(result.st_mode), stat.S_IMODE(result.st_mode), size)
    return result


def tree(files: RouterFiles) -> list[tuple[str, int, bytes | None]]:
    return [(path, info.st_mode, data) for path, info, data in files.walk()]


def same(both: tuple[DiskFiles, MemoryFiles], op: str, *args: Any) -> Any:
    """Run op on both; they agree on the outcome, and leave the same tree."""
    disk, memory = both
    got = [outcome(lambda f=f: getattr(f, op)(*args)) for f in (disk, memory)]
    assert got[0] == got[1], f"{op}{args}: disk {got[0]!r}, memory {got[1]!r}"
    assert tree(disk) == tree(memory), f"after {op}{args}"
    return got[0]


@pytest.fixture
def umask_077() -> Iterator[None]:
    """A umask that would take bits from every mode the disk made (it must not)."""
    before = os.umask(0o077)
    yield
    os.umask(before)


@pytest.mark.usefixtures("umask_077")
def test_writes_make_parents_0755_and_files_of_their_own_mode(
    both: tuple[DiskFiles, MemoryFiles],
) -> None:
    assert same(both, "write", "/etc/isakmpd/private/local.key", b"key\n", 0o600) is None
    assert same(both, "stat", "/etc/isakmpd") == ("stat", stat.S_IFDIR, 0o755, None)
    assert same(both, "stat", "/etc/isakmpd/private/local.key") == (
        "stat", stat.S_IFREG, 0o600, 4)
    same(both, "write", "/etc/isakmpd/private/local.key", b"longer\n", 0o644)  # replaced
    assert same(both, "read", "/etc/isakmpd/private/local.key") == b"longer\n"
    same(both, "mkdir", "/etc/isakmpd/private", 0o700)  # there already: its mode stays
    assert same(both, "stat", "/etc/isakmpd/private")[2] == 0o755
    same(both, "mkdir", "/var/run/rc.d", 0o700)  # parents 0755, the last its own
    assert same(both, "stat", "/var/run")[2] == 0o755
    assert same(both, "stat", "/var/run/rc.d")[2] == 0o700
    same(both, "chmod", "/var/run/rc.d", 0o755)
    assert same(both, "listdir", "/") == ["etc", "var"]
    assert same(both, "listdir", "/etc/isakmpd/private/local.key") is None  # not a directory


def test_errors_are_those_of_the_system_calls(both: tuple[DiskFiles, MemoryFiles]) -> None:
    same(both, "write", "/etc/rc.conf", b"x", 0o644)
    same(both, "mkdir", "/var/run", 0o755)
    assert same(both, "write", "/var/run", b"x", 0o644) == "IsADirectoryError"
    assert same(both, "write", "/etc/rc.conf/x", b"x", 0o644) == "FileExistsError"
    assert same(both, "create", "/etc/rc.conf", b"x", 0o644) == "FileExistsError"
    assert same(both, "create", "/nowhere/x", b"x", 0o644) == "FileNotFoundError"
    assert same(both, "create", "/etc/rc.conf/x", b"x", 0o644) == "NotADirectoryError"
    assert same(both, "remove", "/var/run") == "IsADirectoryError"
    assert same(both, "remove", "/etc/missing") is False
    assert same(both, "remove", "/etc/rc.conf/x") is False
    assert same(both, "chmod", "/etc/missing", 0o600) == "FileNotFoundError"
    assert same(both, "chmod", "/etc/rc.conf/x", 0o600) == "NotADirectoryError"
    assert same(both, "mkdir", "/etc/rc.conf", 0o755) == "FileExistsError"
    assert same(both, "mkfifo", "/var/run", 0o600) == "FileExistsError"
    assert same(both, "mkfifo", "/nowhere/fifo", 0o600) == "FileNotFoundError"
    assert same(both, "read", "/var/run") is None and same(both, "read", "/missing") is None
    assert same(both, "stat", "/etc/rc.conf/x") is None
    for bad in ("/etc/../../outside", "etc/rc.conf", "/.."):
        assert same(both, "read", bad) == "SimPathError"
        assert same(both, "write", bad, b"x", 0o644) == "SimPathError"


def test_a_fifo_keeps_its_mode_and_the_mtime_stamped_on_it(
    both: tuple[DiskFiles, MemoryFiles],
) -> None:
    same(both, "mkdir", "/var/run", 0o755)
    same(both, "mkfifo", "/var/run/isakmpd.fifo", 0o600)
    assert same(both, "stat", "/var/run/isakmpd.fifo") == ("stat", stat.S_IFIFO, 0o600, None)
    assert same(both, "read", "/var/run/isakmpd.fifo") == b""  # never waits for a writer
    for files in both:
        files.set_mtime("/var/run/isakmpd.fifo", 10**18 + 7)
        made = files.stat("/var/run/isakmpd.fifo")
        assert made is not None and made.st_mtime_ns == 10**18 + 7
        files.remove("/var/run/isakmpd.fifo")
        files.mkfifo("/var/run/isakmpd.fifo", 0o600)  # made again: another FIFO
        again = files.stat("/var/run/isakmpd.fifo")
        assert again is not None and again.st_mtime_ns != made.st_mtime_ns


def test_temporary_files_get_names_of_their_own(both: tuple[DiskFiles, MemoryFiles]) -> None:
    for files in both:
        made = {files.write_temp("/etc/tmp", ".ipsec.conf.", b"rules\n", 0o600)
                for _ in range(20)}
        assert len(made) == 20 and all(p.startswith("/etc/tmp/.ipsec.conf.") for p in made)
        assert sorted(made) == [f"/etc/tmp/{name}" for name in files.listdir("/etc/tmp") or []]
        info = files.stat(next(iter(made)))
        assert info is not None and stat.S_IMODE(info.st_mode) == 0o600


PATHS = ["/a", "/a/b", "/a/b/c", "/a/d", "/e", "/a/b/c/f"]


def _random_op(rng: random.Random) -> tuple[str, tuple[Any, ...]]:
    path = rng.choice(PATHS)
    mode = rng.choice([0o600, 0o644, 0o700, 0o755, 0o640])
    op = rng.choice(["write", "create", "remove", "mkdir", "chmod", "mkfifo", "read", "stat",
                     "listdir"])
    if op in ("write", "create"):
        return op, (path, rng.choice([b"", b"x", b"longer text\n"]), mode)
    if op in ("mkdir", "chmod", "mkfifo"):
        return op, (path, mode)
    return op, (path,)


@pytest.mark.parametrize("seed", range(40))
def test_random_operations_agree(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    root = tmp_path / "root"
    root.mkdir()
    pair = (DiskFiles(str(root)), MemoryFiles())
    for _ in range(60):
        op, args = _random_op(rng)
        same(pair, op, *args)


def test_a_simulation_keeps_its_routers_files_on_disk(tmp_path: Path) -> None:
    """simstate.in_memory(keep=True): the files of a router held in memory are written
    out with their modes, and its running isakmpd still reads its FIFO there."""
    from agent.sim.cli import init_root

    with simstate.in_memory(tmp_path, keep=True):
        init_root(tmp_path / "r", "r", ["192.0.2.1"])
        host = SimHost(tmp_path / "r")
        host.write_file("/etc/ipsec.conf", RULE.encode(), mode=0o600)
        for rcctl in ("enable isakmpd", "set isakmpd flags -K", "start isakmpd"):
            assert host.run(["rcctl", *rcctl.split()]).rc == 0
        assert host.files().in_memory
        held = tree(host.files())
        assert not (tmp_path / "r" / "etc").exists()
    kept = host.files()
    assert not kept.in_memory and _differences(held, tree(kept)) == []
    assert (tmp_path / "r/etc/ipsec.conf").read_bytes() == RULE.encode()
    assert stat.S_IMODE((tmp_path / "r/etc/ipsec.conf").stat().st_mode) == 0o600
    assert stat.S_ISFIFO((tmp_path / "r/var/run/isakmpd.fifo").stat().st_mode)
    load = host.run(["ipsecctl", "-f", "/etc/ipsec.conf"])  # not a stale FIFO: no block
    assert (load.rc, load.timed_out) == (0, False)
    assert list(simstate.load(tmp_path / "r")["isakmpd"]["connections"]) == [
        "from-192.0.2.1=47-to-198.51.100.7=47"]


def _differences(held: list[Any], kept: list[Any]) -> list[Any]:
    """Entries that differ but for the store's files, which only the disk has."""
    store = (simstate.STATE_FILE, simstate.MEMORY_MARK)
    return [e for e in set(held) ^ set(kept) if not e[0].rpartition("/")[2].startswith(store)
            and e[0] != "/" + simstate.SIM_DIR + "/" + "ike-view.json"]
