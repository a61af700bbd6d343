"""Apply under faults: the record is saved after every step (a run killed half-way leaves a
record that matches the router), and every write is fsynced before it replaces the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent import atomic
from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet
from agent.router.record import load_record
from agent.run.converge import apply_router, plan_router
from agent.sim.host import SimHost
from tests.test_converge import converge

# Every verify after an apply is checked against a whole new look at the router.
pytestmark = pytest.mark.usefixtures("reobserve_checked")

ALICE_KEY = "/etc/isakmpd/pubkeys/fqdn/alice.example.org"


class Killed(BaseException):
    """Stands for SIGKILL: nothing in peerops catches it."""


def test_the_record_is_saved_after_every_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet: dict[str, AgentConfig] = build_demo_fleet(tmp_path / "fleet")
    converge(fleet)
    cfg = fleet["rtr1"]
    iface = {h.peer: h.interface for h in plan_router(cfg).health}["alice"]
    (cfg.repo / "peers/rtr1/alice.yaml").unlink()
    real_run = SimHost.run

    def killed_at_destroy(self: SimHost, argv: list[str], **kw: object) -> object:
        if list(argv) == ["ifconfig", iface, "destroy"]:
            raise Killed
        return real_run(self, argv, **kw)

    monkeypatch.setattr(SimHost, "run", killed_at_destroy)
    with pytest.raises(Killed):
        apply_router(cfg)
    monkeypatch.undo()
    record = load_record(cfg.state_dir)
    assert "alice" not in record.rules  # deleted and reloaded before the kill: saved
    assert ALICE_KEY not in record.pubkeys  # its key file was removed before it: saved
    done = apply_router(cfg)  # the next run plans exactly the rest
    assert [r.step.describe() for r in done.results][:1] == [f"ifconfig {iface} destroy"]
    assert all(r.ok for r in done.results) and plan_router(cfg).plan == []


def test_atomic_write_fsyncs_the_data_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync-file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "ipsec.conf"
    atomic.write_atomic(target, b"x\n", 0o600)
    assert events == ["fsync-file", "rename", "fsync-dir"]
    assert target.read_bytes() == b"x\n" and (target.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["ipsec.conf"]  # no temp file left
