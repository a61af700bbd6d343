"""Whole-process measurement: CPU (user + system, children included), wall time and peak RSS.

`os.wait4` returns the rusage of the process together with every descendant it waited for
(git, the simulated commands run in-process), so CPU is the whole tree's and ru_maxrss is the
largest resident set of any process in it (Linux: the maximum, not a sum). Each command is
started by tests/bench/launch.py, a bare interpreter, not by this process: a child's
ru_maxrss starts at the peak of the process it was started from (see launch.py).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LAUNCH = str(Path(__file__).with_name("launch.py"))


@dataclass
class Sample:
    cpu: float
    wall: float
    rss_mib: float
    rc: int


@dataclass
class Series:
    """Samples of one case; the table shows medians and the largest peak RSS."""

    name: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def rss_mib(self) -> float:
        return max(s.rss_mib for s in self.samples)

    @property
    def exit_codes(self) -> set[int]:
        return {s.rc for s in self.samples}


@dataclass
class Case:
    """A command to measure; prepare (untimed) runs before every sample."""

    name: str
    argv: Sequence[str]
    prepare: Callable[[], None] | None = None
    expect_rc: tuple[int, ...] = (0,)


def run_once(case: Case) -> Sample:
    if case.prepare:
        case.prepare()
    read, write = os.pipe()
    with tempfile.TemporaryFile() as err:
        with os.fdopen(read, "rb") as report:
            subprocess.run([sys.executable, LAUNCH, str(write), *case.argv], stderr=err,
                           pass_fds=(write,), check=True)
            os.close(write)
            cpu, wall, maxrss, rc = report.read().split()
        if int(rc) not in case.expect_rc:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            print(f"!! {case.name}: exit {rc.decode()}\n{tail}", file=sys.stderr)
    return Sample(float(cpu), float(wall), int(maxrss) / 1024, int(rc))


# ext4 (without a journal, as this machine's) would rather not hand out an inode freed in
# the last 60 s (300 s while its inode table block is dirty): before it takes one, it reads
# the deletion time of the group's other free inodes (fs/ext4/ialloc.c `find_inode_bit`,
# `recently_deleted`; Ts'o, "ext4: increase wait time needed before reuse of deleted inode
# numbers", linux-ext4, April 2020). Right after a mass deletion every new file pays that
# scan: a simulation of a thousand routers, which makes some 30 000 files, took 7.5 s of
# system time right after another one had deleted its tree and 3.2 s a minute later (perf:
# `recently_deleted` under ext4_create and ext4_mkdir). That belongs to whoever deleted.
SETTLE_SECONDS = 65


def settle() -> None:
    """Let the file system forget the deletions of earlier cases (see SETTLE_SECONDS): write
    the dirty blocks out, then wait out the window of recently freed inodes."""
    import time

    os.sync()
    time.sleep(SETTLE_SECONDS)


def ab_pairs(a: Case, b: Case, repeat: int) -> tuple[Series, Series]:
    """Run a and b alternately repeat times (ABAB...), so load on the machine hits both alike."""
    sa, sb = Series(a.name), Series(b.name)
    for _ in range(repeat):
        sa.samples.append(run_once(a))
        sb.samples.append(run_once(b))
    return sa, sb
