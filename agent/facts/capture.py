"""Save what a router shows, raw, for a bug report: `peerops facts --capture DIR`.

Each command's stdout goes to DIR/<name>.txt exactly as printed (parsers are tested against
such captures), stderr to DIR/<name>.stderr.txt when there is any; DIR/manifest.json lists
every command with its argv and exit status, the peerops version and the host kind. Only
read-only commands run; no key and no file content is copied (ipsec.conf may hold a psk).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import __version__
from agent.errors import PeeropsError
from agent.host import Host

# (file name, argv): what `ipsecctl -sa`, `ifconfig` and the rc/sysctl facts are made from,
# plus the OpenBSD version (uname(1) -a and the kernel's own banner, sysctl kern.version).
COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ipsecctl-sa", ("ipsecctl", "-sa")),
    ("ifconfig-a", ("ifconfig", "-a")),
    ("ifconfig-gre", ("ifconfig", "gre")),
    ("rcctl-get-isakmpd-flags", ("rcctl", "get", "isakmpd", "flags")),
    ("rcctl-check-isakmpd", ("rcctl", "check", "isakmpd")),
    ("rcctl-get-ipsec", ("rcctl", "get", "ipsec")),
    ("sysctl-net.inet.gre.allow", ("sysctl", "net.inet.gre.allow")),
    ("uname-a", ("uname", "-a")),
    ("sysctl-kern.version", ("sysctl", "-n", "kern.version")),
)
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Captured:
    """One command's capture: where its output went and how it ended."""

    name: str
    argv: tuple[str, ...]
    rc: int
    stdout_file: str
    stderr_file: str | None
    timed_out: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "argv": list(self.argv),
            "rc": self.rc,
            "stdout": self.stdout_file,
            "stderr": self.stderr_file,
            "timed_out": self.timed_out,
        }


class CaptureError(PeeropsError):
    """The capture directory cannot be used."""


def capture(host: Host, directory: Path, timeout: float = 30.0) -> list[Captured]:
    """Run every capture command on host and save its raw output under directory.

    Ensures: directory exists and held nothing before (a capture never mixes with another);
    one .txt per command, a .stderr.txt when it wrote to stderr, and manifest.json.
    """
    _prepare(directory)
    done = []
    for name, argv in COMMANDS:
        result = host.run(argv, timeout=timeout)
        out = f"{name}.txt"
        (directory / out).write_text(result.stdout)
        err = None
        if result.stderr:
            err = f"{name}.stderr.txt"
            (directory / err).write_text(result.stderr)
        done.append(Captured(name, argv, result.rc, out, err, result.timed_out))
    manifest = {
        "peerops_version": __version__,
        "host": getattr(host, "kind", "unknown"),
        "captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commands": [c.to_json() for c in done],
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return done


def _prepare(directory: Path) -> None:
    """Create directory (0700: outputs show the router's addresses) or accept an empty one."""
    if directory.exists():
        if not directory.is_dir():
            raise CaptureError(f"{directory}: not a directory")
        if any(directory.iterdir()):
            raise CaptureError(f"{directory}: not empty (a capture goes into a new directory)")
        return
    directory.mkdir(parents=True, mode=0o700)
    os.chmod(directory, 0o700)
