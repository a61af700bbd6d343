"""The files of one simulated router, by OpenBSD path: on disk under its root, or in memory.

Every command of the simulator reads and writes a router's files through one of these two
classes, which behave alike (tests/sim/test_files.py runs the same operations on both):

- `DiskFiles`: real files under ROOT; what a router made by `peerops sim --init`, `peerops
  demo` or a test has, so a person can look at them, edit them and make symbolic links.
- `MemoryFiles`: the same tree held in this process (a dictionary per directory), for the
  routers of a simulation (agent.sim.state.in_memory): a thousand routers of thirty files
  each cost seconds of system calls on disk, even on tmpfs. No symbolic links: nothing a
  simulation runs makes one. Written to disk when a simulation keeps its fleet (`write_to`).

Paths are absolute OpenBSD paths; `..` is refused (SimPathError): nothing leaves the root.
Writes replace a file whole, never in place (as agent.atomic does on disk), so a copy of a
router may share its template's bytes. The owner of a file is not kept here but in the
router's store (its "owners" table), as on disk, where the real owner is whoever ran us.
"""

from __future__ import annotations

import errno
import itertools
import os
import posixpath
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from agent.atomic import write_atomic
from agent.errors import PeeropsError

# What a fresh directory on OpenBSD's FFS reports as its size (DIRBLKSIZ).
DIRECTORY_SIZE = 512


class SimPathError(PeeropsError, ValueError):
    """A path that is not absolute or would leave the simulated root."""


class FileInfo(NamedTuple):
    """The fields of stat(2) the simulator reads."""

    st_mode: int  # type and permission bits
    st_size: int
    st_ino: int
    st_mtime_ns: int


def parts(os_path: str) -> list[str]:
    """The names along an absolute path ("." and empty ones dropped); SimPathError for a
    relative path or one with `..`."""
    if not os_path.startswith("/"):
        raise SimPathError(f"not an absolute path: {os_path!r}")
    names = [p for p in os_path.split("/") if p not in ("", ".")]
    if ".." in names:
        raise SimPathError(f"path escapes the simulated root: {os_path!r}")
    return names


class DiskFiles:
    """A router's files as real files under root."""

    in_memory = False

    def __init__(self, root: str) -> None:
        self.root = root

    def real(self, os_path: str) -> str:
        """The real path of os_path under the root."""
        return os.path.join(self.root, *parts(os_path))

    def read(self, os_path: str) -> bytes | None:
        """A file's bytes (links followed); None when there is none or it is a directory.
        A FIFO reads as empty: opened without waiting for a writer, it has none."""
        try:
            with open(self.real(os_path), "rb", opener=_without_waiting) as fh:
                return fh.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def stat(self, os_path: str) -> FileInfo | None:
        """stat(2) of the path (links followed); None when there is nothing."""
        return _info(os.stat, self.real(os_path))

    def lstat(self, os_path: str) -> FileInfo | None:
        """lstat(2): a symbolic link itself."""
        return _info(os.lstat, self.real(os_path))

    def listdir(self, os_path: str) -> list[str] | None:
        """The names in a directory, sorted; None when it is not one."""
        try:
            return sorted(os.listdir(self.real(os_path)))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write(self, os_path: str, data: bytes | Iterable[bytes], mode: int) -> None:
        """Replace the file with data (or its chunks, not joined first) and mode; missing
        parents are made 0755."""
        write_atomic(self.real(os_path), data, mode, durable=False)

    def create(self, os_path: str, data: bytes, mode: int, template: str | None = None) -> None:
        """Make a new file (FileExistsError if there is one): a hard link to the real file
        template when given and the file system can (a link is a directory entry, a new
        file an inode), else a file of data and mode."""
        real = self.real(os_path)
        if template is not None:
            try:
                os.link(template, real)
            except OSError:
                pass
            else:
                return
        with open(real, "xb") as fh:
            fh.write(data)
        os.chmod(real, mode)  # not the umask's

    def remove(self, os_path: str) -> bool:
        """unlink(2); False when there was nothing. A directory raises."""
        try:
            os.unlink(self.real(os_path))
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def mkdir(self, os_path: str, mode: int) -> None:
        """mkdir -p: the directory and its missing parents, made with mode (the parents
        0755; not the umask's); one that exists is left as it is."""
        real = self.real(os_path)
        if os.path.isdir(real):
            return
        if not parts(os_path):  # the root itself
            os.makedirs(real)
            return
        parent = posixpath.dirname(os_path.rstrip("/")) or "/"
        self.mkdir(parent, 0o755)
        os.mkdir(real)
        os.chmod(real, mode)

    def chmod(self, os_path: str, mode: int) -> None:
        os.chmod(self.real(os_path), mode)

    def mkfifo(self, os_path: str, mode: int) -> None:
        real = self.real(os_path)
        os.mkfifo(real, mode)
        os.chmod(real, mode)  # not the umask's

    def set_mtime(self, os_path: str, ns: int) -> None:
        os.utime(self.real(os_path), ns=(ns, ns))

    def write_temp(self, directory: str, prefix: str, data: bytes, mode: int) -> str:
        """A new file of data in directory (made if missing) with a unique name; its path."""
        real_dir = self.real(directory)
        os.makedirs(real_dir, exist_ok=True)
        fd, real = tempfile.mkstemp(prefix=prefix, dir=real_dir)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
        return directory.rstrip("/") + "/" + os.path.basename(real)

    def walk(self) -> Iterator[tuple[str, FileInfo, bytes | None]]:
        """(path, lstat, bytes of a regular file else None) of everything below the root,
        each directory before what it holds, names sorted."""
        for directory, dirs, names in os.walk(self.root):
            dirs.sort()
            for name in sorted([*dirs, *names]):
                real = os.path.join(directory, name)
                info = _info(os.lstat, real)
                if info is None:
                    continue
                path = "/" + os.path.relpath(real, self.root)
                yield path, info, self.read(path) if stat.S_ISREG(info.st_mode) else None


def _without_waiting(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK)


def _info(call: Callable[[str], os.stat_result], real: str) -> FileInfo | None:
    try:
        st = call(real)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return FileInfo(st.st_mode, st.st_size, st.st_ino, st.st_mtime_ns)


# Inode numbers of files in memory: never reused in a process, as stat(2) tells files apart.
_INODES = itertools.count(1_000_000)


@dataclass
class _Node:
    mode: int  # type and permission bits
    data: bytes = b""
    entries: dict[str, _Node] | None = None  # a directory's
    ino: int = field(default_factory=lambda: next(_INODES))
    mtime_ns: int = field(default_factory=time.time_ns)

    def info(self) -> FileInfo:
        size = DIRECTORY_SIZE if self.entries is not None else len(self.data)
        return FileInfo(self.mode, size, self.ino, self.mtime_ns)


class MemoryFiles:
    """A router's files in this process's memory (see the module text)."""

    in_memory = True

    def __init__(self) -> None:
        self._top = _Node(stat.S_IFDIR | 0o755, entries={})

    def _lookup(self, os_path: str) -> _Node:
        """The node at os_path; the errors of stat(2) when there is none."""
        node = self._top
        for name in parts(os_path):
            if node.entries is None:
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), os_path)
            child = node.entries.get(name)
            if child is None:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os_path)
            node = child
        return node

    def _find(self, os_path: str) -> _Node | None:
        try:
            return self._lookup(os_path)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _parent(self, os_path: str, make: bool = False) -> tuple[dict[str, _Node], str]:
        """The entries of the directory holding os_path, and its name; the errors of open(2)
        when that directory is missing (make: it and its parents are made 0755)."""
        names = parts(os_path)
        if not names:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os_path)
        node = self._top
        for name in names[:-1]:
            assert node.entries is not None  # noqa: S101 - the loop only walks directories
            child = node.entries.get(name)
            if child is None:
                if not make:
                    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os_path)
                child = node.entries[name] = _Node(stat.S_IFDIR | 0o755, entries={})
            if child.entries is None:  # mkdir -p says "File exists", open(2) ENOTDIR
                error = FileExistsError if make else NotADirectoryError
                code = errno.EEXIST if make else errno.ENOTDIR
                raise error(code, os.strerror(code), os_path)
            node = child
        assert node.entries is not None  # noqa: S101
        return node.entries, names[-1]

    def read(self, os_path: str) -> bytes | None:
        node = self._find(os_path)
        return None if node is None or node.entries is not None else node.data

    def stat(self, os_path: str) -> FileInfo | None:
        node = self._find(os_path)
        return None if node is None else node.info()

    lstat = stat  # no symbolic links in memory

    def listdir(self, os_path: str) -> list[str] | None:
        node = self._find(os_path)
        return None if node is None or node.entries is None else sorted(node.entries)

    def write(self, os_path: str, data: bytes | Iterable[bytes], mode: int) -> None:
        entries, name = self._parent(os_path, make=True)
        old = entries.get(name)
        if old is not None and old.entries is not None:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os_path)
        whole = bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else b"".join(data)
        entries[name] = _Node(stat.S_IFREG | stat.S_IMODE(mode), whole)

    def create(self, os_path: str, data: bytes, mode: int, template: str | None = None) -> None:
        # (No link to template: the bytes are shared as they are, nothing writes in place.)
        entries, name = self._parent(os_path)
        if name in entries:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os_path)
        entries[name] = _Node(stat.S_IFREG | stat.S_IMODE(mode), bytes(data))

    def remove(self, os_path: str) -> bool:
        try:
            entries, name = self._parent(os_path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        node = entries.get(name)
        if node is None:
            return False
        if node.entries is not None:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os_path)
        del entries[name]
        return True

    def mkdir(self, os_path: str, mode: int) -> None:
        node = self._find(os_path)
        if node is None:
            entries, name = self._parent(os_path, make=True)
            entries[name] = _Node(stat.S_IFDIR | stat.S_IMODE(mode), entries={})
        elif node.entries is None:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os_path)

    def chmod(self, os_path: str, mode: int) -> None:
        node = self._lookup(os_path)
        node.mode = stat.S_IFMT(node.mode) | stat.S_IMODE(mode)

    def mkfifo(self, os_path: str, mode: int) -> None:
        entries, name = self._parent(os_path)
        if name in entries:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os_path)
        entries[name] = _Node(stat.S_IFIFO | stat.S_IMODE(mode))

    def set_mtime(self, os_path: str, ns: int) -> None:
        self._lookup(os_path).mtime_ns = ns

    def write_temp(self, directory: str, prefix: str, data: bytes, mode: int) -> str:
        if self._find(directory) is None:
            self.mkdir(directory, 0o755)
        while True:
            path = f"{directory.rstrip('/')}/{prefix}{os.urandom(4).hex()}"
            if self._find(path) is None:
                self.create(path, data, mode)
                return path

    def mode_of(self, os_path: str) -> int:
        """The permission bits of what is at os_path (FileNotFoundError: nothing)."""
        return stat.S_IMODE(self._lookup(os_path).mode)

    def fill_from(self, other: MemoryFiles) -> None:
        """Make these files (none yet) a copy of other's: the same tree and modes, each file
        new (its own inode) but sharing other's bytes, which nothing writes in place."""
        if self._top.entries:
            raise FileExistsError(errno.EEXIST, "not an empty tree", "/")
        self._top = _clone(other._top)

    def walk(self) -> Iterator[tuple[str, FileInfo, bytes | None]]:
        """(path, stat, bytes of a regular file else None) of everything below the top,
        each directory before what it holds, names sorted."""
        stack = [("", self._top)]
        while stack:
            path, node = stack.pop()
            assert node.entries is not None  # noqa: S101
            for name in sorted(node.entries, reverse=True):
                child = node.entries[name]
                if child.entries is not None:
                    stack.append((f"{path}/{name}", child))
            for name in sorted(node.entries):
                child = node.entries[name]
                data = child.data if stat.S_ISREG(child.mode) else None
                yield f"{path}/{name}", child.info(), data

    def write_to(self, root: str) -> None:
        """Make these files real under root with their modes (a directory that is there
        already keeps its place); a FIFO keeps its mtime, which isakmpd's state names it by
        (agent.sim.isakmpd: the inode on disk is another)."""
        disk = DiskFiles(root)
        for path, info, data in self.walk():
            kind = stat.S_IFMT(info.st_mode)
            if kind == stat.S_IFDIR:
                disk.mkdir(path, stat.S_IMODE(info.st_mode))
                disk.chmod(path, stat.S_IMODE(info.st_mode))
            elif kind == stat.S_IFIFO:
                disk.remove(path)
                disk.mkfifo(path, stat.S_IMODE(info.st_mode))
                disk.set_mtime(path, info.st_mtime_ns)
            else:
                disk.write(path, data or b"", stat.S_IMODE(info.st_mode))


def _clone(node: _Node) -> _Node:
    entries = None if node.entries is None else {
        name: _clone(child) for name, child in node.entries.items()}
    return _Node(node.mode, node.data, entries)


# Either kind, as a router's files are passed around.
RouterFiles = DiskFiles | MemoryFiles
