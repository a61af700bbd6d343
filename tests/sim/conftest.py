"""Fixtures for the simulated ipsecctl/isakmpd: RSA keys made once, and small fleets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.sim import state as simstate
from sim.fleetkit import FleetBuilder, KeyPair, make_keys


@pytest.fixture(scope="session")
def rsa_keys() -> list[KeyPair]:
    """Four RSA 2048 keys, made once per session."""
    return make_keys(4)


@pytest.fixture
def fleet(tmp_path: Path, rsa_keys: list[KeyPair]) -> FleetBuilder:
    """An empty fleet under tmp_path; add routers with fleet.router() or fleet.pair()."""
    return FleetBuilder(tmp_path, rsa_keys)


@pytest.fixture(autouse=True, params=["disk", "memory"])
def router_files(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test of the simulator runs twice: with routers' files on disk, and with
    routers made under tmp_path held in memory (agent.sim.files.MemoryFiles, as `peerops
    simulate` holds them). A test that looks at the real files marks itself `disk_only`."""
    if request.param == "memory":
        if request.node.get_closest_marker("disk_only"):
            pytest.skip("looks at the routers' real files")
        with simstate.in_memory(tmp_path):
            yield "memory"
    else:
        yield "disk"
