"""Where a command's CPU goes: `python tests/bench/cpuprofile.py apply -c CONFIG [--top 25]`.

cProfile with a CPU-time clock (process_time), so waiting on a loaded machine or on the disk
does not count; prints the peerops functions with the most cumulative CPU, and the total.
cProfile slows pure-Python code more than C code, so read the shares, not the seconds.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(argv: list[str]) -> None:
    top = 25
    if "--top" in argv:
        at = argv.index("--top")
        top = int(argv[at + 1])
        del argv[at:at + 2]
    profiler = cProfile.Profile(time.process_time)
    start = time.process_time()
    profiler.enable()
    try:
        from agent.cli import main as peerops

        rc = peerops(argv)
    finally:
        profiler.disable()
    total = time.process_time() - start
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"agent/|sqlite3|yaml|jinja2|json", top)
    print(out.getvalue())
    print(f"exit {rc}; CPU under the profiler {total:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
