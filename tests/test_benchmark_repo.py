"""The benchmark's generated state repos stay valid as the format evolves (the benchmark
itself runs outside the suite: `python tests/benchmark.py`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.repo.inventory import load_inventory
from tests.bench.generate import key_pool, write_repo
from tests.conftest import EXAMPLE_STATE


def test_generated_repo_is_valid_with_distinct_peers(tmp_path: Path) -> None:
    keys = key_pool(tmp_path / "keys.pem", 8)
    assert key_pool(tmp_path / "keys.pem", 8) == keys  # the pool is reused, not remade
    write_repo(tmp_path / "repo", 2, 3, keys)
    shutil.copytree(EXAMPLE_STATE / "schema", tmp_path / "repo" / "schema")
    inventory, problems = load_inventory(tmp_path / "repo")
    assert problems == [] and inventory is not None
    peerings = [p for r in ("r00", "r01") for p in inventory.for_router(r)]
    assert len(peerings) == 6
    assert len({p.public_key for p in peerings}) == 6
    assert len({p.remote_endpoint for p in peerings}) == 6


def test_a_measured_command_reports_its_own_peak_not_the_benchmarks() -> None:
    """A child started straight from a large process inherits that process's peak RSS in its
    ru_maxrss (Linux, vfork + exec): the benchmark's own fleets showed as every command's peak.
    Through the launcher, a small command is small and a large one is large."""
    import sys

    from tests.bench.measure import Case, run_once

    ballast = bytearray(120 * 2**20)  # this process: far above any bare interpreter
    ballast[:: 4096] = b"\1" * len(ballast[:: 4096])
    small = run_once(Case("bare", [sys.executable, "-c", "pass"]))
    large = run_once(Case("large", [sys.executable, "-c", "b = bytearray(80 * 2**20)\n"
                                    "b[::4096] = b'1' * len(b[::4096])"]))
    assert small.rc == 0 and small.rss_mib < 40, small
    assert 80 < large.rss_mib < 120, large
    failed = run_once(Case("exit 3", [sys.executable, "-c", "raise SystemExit(3)"],
                           expect_rc=(3,)))
    assert failed.rc == 3 and failed.cpu > 0
    del ballast
