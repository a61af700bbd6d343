"""Key pairs for simulated routers, made once and kept for the next simulation.

An RSA 2048 key pair costs about 50 ms to make, and `peerops simulate` of a fleet with a
thousand outside peers provisions a thousand routers. The pool is one file of pairs (the
private key as /etc/rc make_keys writes it, then its SPKI public key) in the user's cache:
$PEEROPS_LAB_KEYS, else $XDG_CACHE_HOME/peerops/lab-keys.pem (~/.cache/...). Within one
process every pair is handed out once, so the routers of a simulation never share a key;
pairs the file lacks are made and appended. A pool that cannot be read or written only
costs speed, and a damaged entry is skipped. Simulation material only: a real router's
key comes from `peerops key init`.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

_PAIR = re.compile(
    rb"(-----BEGIN RSA PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END RSA PRIVATE KEY-----\n)"
    rb"(-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n)"
)

_pairs: list[tuple[bytes, bytes]] | None = None  # the pool as read by this process
_handed_out = 0


def pool_path() -> Path | None:
    """Where the pool lives (see the module docstring); None without a home directory."""
    if os.environ.get("PEEROPS_LAB_KEYS"):
        return Path(os.environ["PEEROPS_LAB_KEYS"])
    from agent.status.cache import cache_root

    try:
        return cache_root() / "lab-keys.pem"
    except RuntimeError:  # Path.home() with no HOME and no passwd entry
        return None


def lab_key_pair() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) not handed out before in this process."""
    global _pairs, _handed_out
    if _pairs is None:
        path = pool_path()
        try:
            data = path.read_bytes() if path else b""
        except OSError:
            data = b""
        _pairs = [(m.group(1), m.group(2)) for m in _PAIR.finditer(data)]
    if _handed_out >= len(_pairs):
        from agent.keys import generate_key_pair

        pair = generate_key_pair()
        _pairs.append(pair)
        _keep(pair)
    _handed_out += 1
    return _pairs[_handed_out - 1]


def fill(count: int) -> None:
    """Make the pool hold at least count pairs (what a simulation of count routers takes),
    generating what it lacks; hands none out."""
    global _handed_out
    handed = _handed_out
    while _handed_out < count:
        lab_key_pair()
    _handed_out = handed


def _keep(pair: tuple[bytes, bytes]) -> None:
    """Append the pair to the pool file (0600; an append is one write)."""
    path = pool_path()
    if path is None:
        return
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as fh:
            fh.write(pair[0] + pair[1])
