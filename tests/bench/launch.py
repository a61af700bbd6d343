"""Run one measured command from a small process of its own and report its rusage.

Linux gives a child the high-water RSS of the memory it was started from: a process that
vfork()s (Python's subprocess does) and execs passes its own peak on to the child's
ru_maxrss. The benchmark builds fleets of a thousand peers in its own process, so every
command it started directly reported at least the benchmark's peak. Started from here (a
bare interpreter), a command's ru_maxrss is its own.

Usage: launch.py FD ARGV...; writes "cpu wall maxrss_kib exit_code" to file descriptor FD.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def main() -> None:
    fd, argv = int(sys.argv[1]), sys.argv[2:]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    rc = os.waitstatus_to_exitcode(status)
    os.write(fd, f"{usage.ru_utime + usage.ru_stime} {wall} {usage.ru_maxrss} {rc}".encode())


if __name__ == "__main__":
    main()
