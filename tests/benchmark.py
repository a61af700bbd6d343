"""Speed and memory of peerops, measured (not asserted): `python tests/benchmark.py`.

Prints wall time and peak RSS for the operations a router pays for every cycle: a plan on a
converged router (observe + render + diff), a no-op apply (plan + verify), and a full
`peerops run` cycle with git. The benchmark issue will add targets and the comparison with
salt-call and a lean script; this is the harness they plug into.
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.lab.demo import build_demo_fleet
from agent.run.converge import apply_router, plan_router
from agent.run.cycle import Agent


def measure(name: str, fn: Callable[[], object], repeat: int = 5) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    print(f"{name:40} median {statistics.median(times) * 1000:8.1f} ms   "
          f"min {min(times) * 1000:8.1f} ms   (n={repeat})")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        fleet = build_demo_fleet(Path(tmp))
        print(f"{'build demo fleet':40} {1000 * (time.perf_counter() - start):8.1f} ms")
        for cfg in fleet.values():
            apply_router(cfg)
        rtr1 = fleet["rtr1"]
        measure("plan (converged rtr1, 3 peers)", lambda: plan_router(rtr1))
        measure("apply, nothing to do (rtr1)", lambda: apply_router(rtr1))
        agent = Agent(rtr1)
        measure("run cycle with git, fast path (rtr1)", agent.cycle)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{'peak RSS of this process':40} {peak / 1024:8.1f} MiB")


if __name__ == "__main__":
    main()
