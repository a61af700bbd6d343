"""The status branch after a month of 20 routers with flapping peers, and what reading it
costs: `python tests/bench/status_growth.py` prints the figures quoted in the README.

Whole `peerops` processes, as a person runs them from a laptop (own HOME and cache): CPU
(user + sys of the child) and wall seconds, median of 3 runs; the branch's size once packed.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.statusgrowth import packed_size, simulate_month


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(cpu, wall) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run(argv, env=env, check=False, capture_output=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def median(argv: list[str], env: dict[str, str], runs: int = 3) -> str:
    samples = [timed(argv, env) for _ in range(runs)]
    cpu = statistics.median(s[0] for s in samples)
    wall = statistics.median(s[1] for s in samples)
    return f"cpu {cpu:.2f} s, wall {wall:.2f} s"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="peerops-growth-") as tmp:
        remote = Path(tmp) / "remote.git"
        start = time.process_time()
        growth = simulate_month(remote)
        print(f"generated: {growth.cycles} cycles, {growth.commits} commits, "
              f"{growth.transitions} peer transitions ({time.process_time() - start:.1f} s cpu)")
        print(f"branch packed: {packed_size(remote) / 1024:.0f} KiB "
              f"({packed_size(remote) / growth.commits:.0f} bytes per commit)")
        env = {**os.environ, "HOME": tmp, "XDG_CACHE_HOME": f"{tmp}/cache"}
        peerops = [sys.executable, "-m", "agent"]
        first = timed([*peerops, "fleet", "--remote", str(remote)], env)
        print(f"fleet, first fetch: cpu {first[0]:.2f} s, wall {first[1]:.2f} s")
        print("fleet, cached:", median([*peerops, "fleet", "--remote", str(remote)], env))
        print("history, whole month:",
              median([*peerops, "history", "--remote", str(remote), "--offline"], env))
        print("history r03/p0, whole month:",
              median([*peerops, "history", "r03/p0", "--remote", str(remote), "--offline"], env))


if __name__ == "__main__":
    main()
