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
