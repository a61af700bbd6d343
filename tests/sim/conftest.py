"""Fixtures for the simulated ipsecctl/isakmpd: RSA keys made once, and small fleets."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.fleetkit import FleetBuilder, KeyPair, make_keys


@pytest.fixture(scope="session")
def rsa_keys() -> list[KeyPair]:
    """Four RSA 2048 keys, made once per session."""
    return make_keys(4)


@pytest.fixture
def fleet(tmp_path: Path, rsa_keys: list[KeyPair]) -> FleetBuilder:
    """An empty fleet under tmp_path; add routers with fleet.router() or fleet.pair()."""
    return FleetBuilder(tmp_path, rsa_keys)
