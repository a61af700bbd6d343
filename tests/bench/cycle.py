"""In-process daemon cycles: `python cycle.py CONFIG K` runs one warm-up cycle, then K
cycles of the same Agent (what `peerops daemon` does between sleeps) and prints the median
CPU seconds of one cycle, its child processes (git) included."""

from __future__ import annotations

import resource
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent.config import load_config
from agent.run.cycle import Agent


def cpu() -> float:
    """CPU seconds of this process and its waited-for children, to the microsecond
    (os.times counts clock ticks: 10 ms steps, as large as the cycle's differences)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(config: str, count: int) -> None:
    agent = Agent(load_config(config))
    agent.cycle()
    times = []
    for _ in range(count):
        start = cpu()
        agent.cycle()
        times.append(cpu() - start)
    print(f"{statistics.median(times):.6f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
