"""In-process daemon cycles: `python cycle.py CONFIG K` runs one warm-up cycle, then K
cycles of the same Agent (what `peerops daemon` does between sleeps) and prints the median
CPU seconds of one cycle, its child processes (git) included."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent.config import load_config
from agent.run.cycle import Agent


def cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


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
