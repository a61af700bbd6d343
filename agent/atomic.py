"""Atomic file replacement, the one way peerops writes a file anywhere.

Temp file in the same directory, owner and mode set on the temp file (so no reader ever sees
the file with the wrong mode), fsync, rename over the target, fsync of the directory (so the
rename survives a power cut). A crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], data: bytes | Iterable[bytes],
                 mode: int = 0o600, *, owner: tuple[int, int] | None = None, dir_mode: int = 0o755,
                 durable: bool = True) -> None:
    """Replace path with data (mode, and owner when given); parents are created with dir_mode.
    Readers see the old or the new file, never a mix; durable adds the fsyncs that keep it
    so across a power loss (the simulated host, a model of a disk, does without). data may
    come in chunks (a large file need not be joined in memory first)."""
    path = Path(path)
    _make_parents(path.parent, dir_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if owner is not None:
                os.fchown(fh.fileno(), *owner)
            os.fchmod(fh.fileno(), mode)
            for chunk in [data] if isinstance(data, (bytes, bytearray, memoryview)) else data:
                fh.write(chunk)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if not durable:
        return
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _make_parents(directory: Path, mode: int) -> None:
    """Create directory and its missing parents, each with mode, whatever the umask
    (mkdir(parents=True) gives mode to the last one only, and mkdir(2) takes the umask's
    bits from it: under umask 077 a 0755 directory would be 0700)."""
    missing = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for each in reversed(missing):
        each.mkdir(mode=mode, exist_ok=True)
        os.chmod(each, mode)
