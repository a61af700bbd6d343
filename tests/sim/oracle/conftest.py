"""The oracle: OpenBSD's own ipsecctl grammar (parse.y + ike.c) built on Linux, once per session.

Built from ../shared/tools/ipsecctl-linux (relative to the repository root) into a temporary
directory with its build.sh (byacc + cc). When it cannot be built the differential tests are
skipped locally, but FAIL under CI=true: CI installs byacc, so a skip there would hide a loss.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sim.oracle.harness import Oracle, SimRouter

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO.parent / "shared" / "tools" / "ipsecctl-linux"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"ipsecctl oracle unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"ipsecctl oracle unavailable: {reason}")


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Oracle:
    """OpenBSD's ipsecctl grammar, built once into a temporary copy of the tool."""
    if not (SOURCE / "build.sh").is_file():
        _unavailable(f"{SOURCE} not found")
    for tool in ("byacc", "cc"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} not installed")
    build = tmp_path_factory.mktemp("oracle") / "ipsecctl-linux"
    shutil.copytree(SOURCE, build, ignore=shutil.ignore_patterns("ipsecctl", "ipsecctl-linux"))
    done = subprocess.run(["sh", "build.sh"], cwd=build, capture_output=True, text=True,
                          check=False, timeout=120)
    if done.returncode != 0:
        _unavailable(f"build.sh exited {done.returncode}: {done.stderr[-2000:]}")
    (build / "ipsecctl").symlink_to("ipsecctl-linux")  # messages then say "ipsecctl:"
    return Oracle(build, tmp_path_factory.mktemp("oracle-work"))


@pytest.fixture(scope="session")
def sim_router(tmp_path_factory: pytest.TempPathFactory) -> SimRouter:
    """One simulated router with isakmpd -K running, named like this machine (ike dynamic)."""
    return SimRouter.create(tmp_path_factory.mktemp("sim") / "root")
