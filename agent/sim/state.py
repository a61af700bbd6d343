"""Persistent kernel and daemon state of one simulated router, shared between processes.

The state is one JSON document at ROOT/.peerops-sim/state.json. Every command runs inside
`transaction()`: an exclusive flock on a lock file, load, mutate, atomic save. Top-level keys
belong to the module that models them (interfaces to ifconfig, daemons to the rc layer, ...).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SIM_DIR = ".peerops-sim"
STATE_FILE = "state.json"
HOST_FILE = "host.json"
LOCK_FILE = "lock"

# What a freshly installed OpenBSD kernel reports for the sysctls the agent touches
# (sys/netinet/ip_gre.c: gre_allow defaults to 0; esp/ah enable default 1).
DEFAULT_SYSCTL: dict[str, int] = {
    "net.inet.gre.allow": 0,
    "net.inet.gre.wccp": 0,
    "net.inet.esp.enable": 1,
    "net.inet.ah.enable": 1,
    "net.inet.ipcomp.enable": 0,
    "net.inet.ip.forwarding": 0,
    "net.inet6.ip6.forwarding": 0,
}


def new_state() -> dict[str, Any]:
    """Return the kernel state of a router that has just booted with nothing configured."""
    return {
        "version": 1,
        "boot": 1,
        "next_pid": 20000,
        "next_ifindex": 5,  # lo0, em0, enc0, pflog0 take the first indexes on a real box
        "sysctl": dict(DEFAULT_SYSCTL),
        "interfaces": {},
        "daemons": {},
        "owners": {},
    }


def sim_dir(root: Path) -> Path:
    return root / SIM_DIR


def is_provisioned(root: Path) -> bool:
    return (sim_dir(root) / STATE_FILE).exists()


def load(root: Path) -> dict[str, Any]:
    """Read the state without locking (for read-only looks at another router of the fleet)."""
    path = sim_dir(root) / STATE_FILE
    if not path.exists():
        return new_state()
    return json.loads(path.read_text())


def save(root: Path, state: dict[str, Any]) -> None:
    """Write the state atomically (temp file + rename) so readers never see half a document."""
    directory = sim_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{STATE_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, directory / STATE_FILE)


@contextmanager
def transaction(root: Path) -> Iterator[dict[str, Any]]:
    """Yield the state under an exclusive lock and save it when the block ends without error."""
    directory = sim_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = load(root)
            yield state
            save(root, state)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def allocate_pid(state: dict[str, Any]) -> int:
    pid = int(state["next_pid"])
    state["next_pid"] = pid + 7  # real pids are not consecutive
    return pid


def read_host_info(root: Path) -> dict[str, Any]:
    """Return ROOT/.peerops-sim/host.json: {"name": ..., "fleet": path or None}."""
    path = sim_dir(root) / HOST_FILE
    if not path.exists():
        return {"name": root.name, "fleet": None}
    return json.loads(path.read_text())


def write_host_info(root: Path, name: str, fleet: str | None) -> None:
    directory = sim_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / HOST_FILE).write_text(json.dumps({"name": name, "fleet": fleet}, indent=1))
