"""The status branch stays small: a month of hourly cycles of 20 routers with flapping peers
(tests/statusgrowth.py writes it the way the agent would), read back by fleet and history.
Times are measured by tests/bench/status_growth.py, not asserted here."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.status.cache import StatusCache
from agent.status.fleetview import fleet_rows
from agent.status.history import select, transitions
from tests.statusgrowth import HOUR, START, Growth, packed_size, simulate_month

ROUTERS, PEERS, DAYS = 20, 6, 30


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Growth]:
    remote = tmp_path_factory.mktemp("growth") / "remote.git"
    return remote, simulate_month(remote, routers=ROUTERS, peers=PEERS, days=DAYS)


def test_a_month_of_a_flapping_fleet_stays_small(month: tuple[Path, Growth]) -> None:
    remote, growth = month
    assert growth.cycles == ROUTERS * DAYS * 24 and growth.transitions > 1500
    # Only changes and heartbeats are committed: at most one commit per router-hour with a
    # change, plus a daily heartbeat per router.
    assert growth.commits <= growth.transitions + ROUTERS * (DAYS + 1)
    assert growth.commits < growth.cycles / 4
    size = packed_size(remote)
    assert size < 3 * 1024 * 1024, size  # README: about 1 MiB for this month
    assert size / growth.commits < 1024  # a commit costs well under 1 KiB once packed


def test_fleet_and_history_read_the_month(month: tuple[Path, Growth], tmp_path: Path) -> None:
    remote, growth = month
    cache = StatusCache(str(remote), root=tmp_path)
    snapshot = cache.refresh()
    reports = cache.reports(snapshot.tip)
    assert max(len(data) for data in reports.values()) < 4096  # a report stays a few KiB
    end = START + DAYS * 24 * HOUR
    rows = fleet_rows(reports, now=end)
    assert len(rows) == ROUTERS and not any(r.silent for r in rows)
    assert all(r.result in ("converged", "degraded") for r in rows)
    assert sum(r.silent for r in fleet_rows(reports, now=end + 3 * 86400)) == ROUTERS
    events = transitions(cache.changes(snapshot.tip))
    assert len(events) == growth.transitions + ROUTERS * PEERS  # plus each peer appearing
    last_day = end - 86400
    recent = select(transitions(cache.changes(snapshot.tip, since=last_day)), None, None,
                    last_day)
    assert recent == select(events, None, None, last_day)
    assert recent and all(e.from_state is not None for e in recent)
