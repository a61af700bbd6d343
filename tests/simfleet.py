"""A converged demo fleet, built once per test session and copied for each test.

Building and converging the fleet costs about a second; a copy costs a fraction of that.
A copy must not share anything with the original: the absolute paths in fleet.json and
host.json are rewritten, and isakmpd's FIFO (a real FIFO that copytree cannot copy) is made
again, with the identity the simulated isakmpd remembers for it (inode and a stamped mtime,
as agent/sim/isakmpd.py `_ui_init` does), so `ipsecctl -f` still finds a reader.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from agent.config import AgentConfig, load_config
from agent.lab.demo import build_demo_fleet
from agent.run.converge import apply_router
from agent.sim import state as simstate
from agent.sim.fleet import write_fleet

TEMPLATE = "converged-demo-fleet"


def _fifos(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if stat.S_ISFIFO(os.lstat(os.path.join(directory, n)).st_mode)]


def template(factory: pytest.TempPathFactory) -> Path:
    """The session's converged fleet (built on first use)."""
    base = factory.getbasetemp() / TEMPLATE
    if not (base / "fleet.json").exists():
        base.mkdir()
        for cfg in build_demo_fleet(base).values():
            apply_router(cfg)
    return base


def clone(factory: pytest.TempPathFactory, dest: Path) -> dict[str, AgentConfig]:
    """A private copy of the converged fleet under dest; each router's config by name."""
    src = template(factory)
    shutil.copytree(src, dest, symlinks=True, ignore=_fifos)
    fleet_file = dest / "fleet.json"
    fleet = json.loads(fleet_file.read_text())
    fleet["routers"] = {name: str(dest / name / "root") for name in fleet["routers"]}
    write_fleet(fleet_file, fleet)
    configs = {}
    for name in fleet["routers"]:
        root = dest / name / "root"
        simstate.write_host_info(root, name, str(fleet_file))
        _remake_fifo(root)
        configs[name] = load_config(dest / name / "peerops.yaml")
    return configs


def _remake_fifo(root: Path) -> None:
    """Make isakmpd's FIFO again and record its new identity in the simulated state."""
    state = simstate.load(root)
    ist = state.get("isakmpd")
    if not ist or not ist.get("fifo"):
        return
    real = root.joinpath(*ist["fifo"].strip("/").split("/"))
    os.mkfifo(real, 0o600)
    stamp = 10**18 + int.from_bytes(os.urandom(7), "big")
    os.utime(real, ns=(stamp, stamp))
    ist["fifo_id"] = [real.stat().st_ino, stamp]
    simstate.save(root, state)
