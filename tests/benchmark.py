"""Speed and memory of peerops, measured as whole processes: `python tests/benchmark.py`.

For N = 10, 100, 1000 it generates a state repo with one managed router and N external peers
(tests/bench/generate.py), builds the simulated fleet (untimed), and measures each operation
as a separate process in A/B pairs with the lean baseline (tests/bench/lean.py): CPU (user +
system of the process and its children), wall time and peak RSS, medians over --repeat pairs.
The import floor (a Python process importing peerops' dependencies) is measured in the same
run, paired with a bare interpreter, so every target is a ratio that holds on any machine.
Then the 10 routers x 100 peers fleet (`peerops simulate`), `peerops demo` and the daemon's
in-process cycle. It prints Markdown tables (copy them into BENCHMARKS.md) and the targets
of issue 13, each met or not. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.bench.generate import key_pool, peer_document, write_repo
from tests.bench.measure import Case, Series, ab_pairs, run_once, settle

PY = sys.executable
FLOOR_IMPORTS = "import git, yaml, jinja2, cryptography, schedule"  # the floor
LEAN = str(Path(__file__).resolve().parent / "bench" / "lean.py")
CYCLE = str(Path(__file__).resolve().parent / "bench" / "cycle.py")
SCHEMA = Path(__file__).resolve().parent.parent / "state" / "schema"


def peerops(*args: str) -> list[str]:
    return [PY, "-m", "agent", *args]


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


class Size:
    """One managed router r00 with n external peers, converged state kept under base."""

    def __init__(self, base: Path, n: int, keys: list[str]) -> None:
        from agent.lab.demo import build_demo_fleet

        self.n, self.base, self.keys = n, base, keys
        repo = base / "source"
        write_repo(repo, 1, n, keys)
        shutil.copytree(SCHEMA, repo / "schema")
        build_demo_fleet(base / "fleet", source=repo)
        self.router = base / "fleet" / "r00"
        self.config = str(self.router / "peerops.yaml")
        self.fresh = base / "fresh-r00"
        shutil.copytree(self.router, self.fresh, symlinks=True)
        self.edits = 0
        self.staged: list[Path] = []

    def stage_fresh(self, count: int) -> None:
        """Copy the fresh router count times, for restore_fresh to take one per sample: the
        router a first apply wrote is set aside (renamed), never deleted, until the end. A
        deletion of its two thousand files right before the next first apply made that one
        pay ext4's scan of recently freed inodes (see measure.SETTLE_SECONDS): 0.3-1 s more
        system time, which is the benchmark's own doing."""
        for _ in range(count):
            copy = self.base / f"fresh-r00.{len(self.staged)}"
            shutil.copytree(self.fresh, copy, symlinks=True)
            self.staged.append(copy)

    def restore_fresh(self) -> None:
        """Put a staged fresh copy in the router's place (stage_fresh first)."""
        self.router.rename(self.base / f"used-r00.{len(self.staged)}")
        self.staged.pop().rename(self.router)

    def change_one_peer(self) -> None:
        """Merge a commit that changes one peer's description (what a small PR does)."""
        editor = self.base / "editor"
        if not editor.exists():
            git("clone", "-q", str(self.base / "fleet" / "remote.git"), str(editor), cwd=self.base)
            git("config", "user.email", "bench@peerops.invalid", cwd=editor)
            git("config", "user.name", "bench", cwd=editor)
        self.edits += 1
        path = editor / "peers" / "r00" / "p0000.yaml"
        path.write_text(peer_document(0, 0, self.keys[0], f"dn42 peer p0000 rev {self.edits}"))
        git("commit", "-qam", f"p0000: description rev {self.edits}", cwd=editor)
        git("push", "-q", "origin", "HEAD:main", cwd=editor)

    def lean(self) -> Case:
        peers = self.router / "repo" / "peers" / "r00"
        return Case(f"lean N={self.n}", [PY, LEAN, str(peers), str(self.router / "root")])


def measure_size(size: Size, repeat: int, results: dict[tuple[str, int], Series]) -> None:
    cfg = ["-c", size.config]
    cases: list[tuple[str, Case, Callable[[], None] | None]] = [
        ("apply, first (fresh router)",
         Case("first", peerops("apply", *cfg), size.restore_fresh, (2,)), None),
        ("apply, nothing to do", Case("apply", peerops("apply", *cfg)), None),
        ("plan", Case("plan", peerops("plan", *cfg)), None),
        ("run, nothing new", Case("run", peerops("run", *cfg)),
         lambda: run_once(Case("warm-up run", peerops("run", *cfg), expect_rc=(0, 2)))),
        ("run, one peer changed",
         Case("changed", peerops("run", *cfg), size.change_one_peer, (2,)), None),
    ]
    size.stage_fresh(repeat)  # (each first apply's router is a fresh copy made beforehand)
    settle()  # the earlier sizes' cases deleted thousands of files (measure.SETTLE_SECONDS)
    for label, case, before in cases:
        if before:
            before()
        ours, lean = ab_pairs(case, size.lean(), repeat)
        results[(label, size.n)] = ours
        results[("lean script, nothing to do", size.n)] = lean
        print(f"  N={size.n:<5} {label:30} cpu {ours.cpu:7.2f} s  wall {ours.wall:7.2f} s  "
              f"rss {ours.rss_mib:5.0f} MiB  exit {sorted(ours.exit_codes)}   "
              f"(lean {lean.cpu:.2f} s)", flush=True)


def daemon_cycle(size: Size, cycles: int) -> float:
    out = subprocess.run([PY, CYCLE, size.config, str(cycles)], check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def lab_keys(path: Path, count: int) -> None:
    """Point this process and the commands it starts at a lab key pool of count pairs
    (PEEROPS_LAB_KEYS), filled untimed: every simulated router takes a pair, and the pool
    is a cache that a machine's first `peerops simulate` fills (about 50 ms a pair), which
    a measurement of the steady cost must not count (nor depend on the user's cache)."""
    from agent.lab import keypool

    os.environ["PEEROPS_LAB_KEYS"] = str(path)
    keypool.fill(count)


def fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "-"
    return f"{value:.2f} {unit}" if unit == "s" else f"{value:.0f} {unit}"


def table(results: dict[tuple[str, int], Series], sizes: list[int], floor: float) -> str:
    labels = list(dict.fromkeys(label for label, _ in results))
    head = " | ".join(f"N={n}" for n in sizes)
    lines = [
        f"| operation (CPU, median) | {head} | growth {sizes[-2] if len(sizes) > 1 else ''}"
        f"→{sizes[-1]} | ÷ floor at N={sizes[-1]} | wall at N={sizes[-1]} |",
        "|---" * (len(sizes) + 4) + "|",
    ]
    for label in labels:
        row = [results.get((label, n)) for n in sizes]
        cells = " | ".join(fmt(s.cpu if s else None) for s in row)
        last, prev = row[-1], row[-2] if len(row) > 1 else None
        growth = f"{last.cpu / prev.cpu:.1f}x" if last and prev else "-"
        ratio = f"{last.cpu / floor:.1f}x" if last else "-"
        lines.append(f"| {label} | {cells} | {growth} | {ratio} | {fmt(last and last.wall)} |")
    rss = " | ".join(
        fmt(max((s.rss_mib for (lab, n), s in results.items()
                 if n == size and not lab.startswith("lean")), default=None), "MiB")
        for size in sizes
    )
    lines.append(f"| peak RSS (largest process of any case) | {rss} | | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="peer counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="A/B pairs per case")
    parser.add_argument("--fleet", default="10x100", help="ROUTERSxPEERS for simulate; '' skips")
    parser.add_argument("--no-demo", action="store_true", help="skip `peerops demo`")
    default_keys = Path(tempfile.gettempdir()) / "peerops-bench-keys.pem"
    parser.add_argument("--keys", default=str(default_keys),
                        help="key pool file, reused between runs (generating keys is slow)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",") if n]
    routers, peers = (int(x) for x in args.fleet.split("x")) if args.fleet else (0, 0)
    keys = key_pool(Path(args.keys), max([*sizes, routers * peers]) + max(routers, 1))
    lab_keys(Path(args.keys).with_name("peerops-bench-lab-keys.pem"), routers * (peers + 1) + 8)
    # An installed peerops has its bytecode (pip and pkg_add compile at install); a checkout
    # under PYTHONDONTWRITEBYTECODE would compile every module in every measured process.
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "agent"), quiet=1)

    floor, bare = ab_pairs(Case("import floor", [PY, "-c", FLOOR_IMPORTS]),
                           Case("bare python", [PY, "-c", "pass"]), max(args.repeat, 5))
    print(f"import floor: cpu {floor.cpu:.3f} s  wall {floor.wall:.3f} s  "
          f"rss {floor.rss_mib:.0f} MiB   (bare python {bare.cpu:.3f} s)", flush=True)
    results: dict[tuple[str, int], Series] = {}
    extra: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="peerops-bench-") as tmp:
        for n in sizes:
            size = Size(Path(tmp) / f"n{n}", n, keys)
            measure_size(size, args.repeat, results)
            if n == 100 or n == sizes[-1]:
                extra[f"daemon cycle in-process, nothing new, N={n}"] = daemon_cycle(size, 5)
        if routers:
            repo = Path(tmp) / "fleet-repo"
            write_repo(repo, routers, peers, keys)
            shutil.copytree(SCHEMA, repo / "schema")
            settle()  # the cases before deleted thousands of files (see measure.SETTLE_SECONDS)
            # A/B with a bare interpreter, the median of up to three: one sample moved by
            # half a second between runs. (Its tree is in /dev/shm, where a removal does not
            # slow the next sample; with TMPDIR on ext4 the later samples pay for it.)
            sim, _ = ab_pairs(Case("simulate", peerops("simulate", str(repo))),
                              Case("bare", [PY, "-c", "pass"]), min(args.repeat, 3))
            extra[f"simulate {routers}x{peers} fleet (CPU)"] = sim.cpu
            extra[f"simulate {routers}x{peers} fleet (wall)"] = sim.wall
    if not args.no_demo:
        demo, _ = ab_pairs(Case("demo", peerops("demo")), Case("bare", [PY, "-c", "pass"]), 3)
        extra["peerops demo (wall)"] = demo.wall
        extra["peerops demo (CPU)"] = demo.cpu

    print(f"\nImport floor ({FLOOR_IMPORTS.removeprefix('import ')}): "
          f"{floor.cpu:.3f} s CPU, {floor.rss_mib:.0f} MiB; bare python {bare.cpu:.3f} s\n")
    print(table(results, sizes, floor.cpu))
    print()
    for label, value in extra.items():
        print(f"- {label}: {value:.3f} s ({value / floor.cpu:.1f}x the floor)")
    print()
    report_targets(results, sizes, floor.cpu, extra)


def report_targets(results: dict[tuple[str, int], Series], sizes: list[int], floor: float,
                   extra: dict[str, float]) -> None:
    """Issue 13's targets, each as met or not with the measured ratio."""
    big = max(sizes)

    def cpu(label: str, n: int) -> float | None:
        s = results.get((label, n))
        return s.cpu if s else None

    def check(text: str, value: float | None, limit: float, unit: str = "x") -> None:
        if value is None:
            print(f"- {text}: not measured")
            return
        print(f"- {text}: {value:.2f}{unit} (target ≤ {limit}{unit}) "
              f"{'MET' if value <= limit else 'NOT MET'}")

    apply_noop, run_noop = cpu("apply, nothing to do", big), cpu("run, nothing new", big)
    changed, first = cpu("run, one peer changed", big), cpu("apply, first (fresh router)", big)
    print(f"Targets (N={big}):")
    check("apply, nothing to do ÷ floor", apply_noop and apply_noop / floor, 5)
    check("run, nothing new ÷ floor", run_noop and run_noop / floor, 6)
    check("one peer changed ÷ no-op run", changed and run_noop and changed / run_noop, 1.3)
    check("first apply ÷ floor", first and first / floor, 30)
    if 100 in sizes and big > 100:
        worst = max((s.cpu / results[(lab, 100)].cpu for (lab, n), s in results.items()
                     if n == big and (lab, 100) in results), default=None)
        check(f"worst growth N=100→{big}", worst, 10 * big / 1000)
    rss = max((s.rss_mib for (lab, n), s in results.items()
               if n == big and not lab.startswith("lean")), default=None)
    check(f"peak RSS at N={big}", rss, 60, " MiB")
    cycle = extra.get("daemon cycle in-process, nothing new, N=100")
    check("daemon cycle N=100 ÷ floor", cycle and cycle / floor, 0.5)
    sim = next((v for k, v in extra.items() if k.startswith("simulate") and "CPU" in k), None)
    check("simulate fleet ÷ floor", sim and sim / floor, 60)
    check("peerops demo wall", extra.get("peerops demo (wall)"), 3, " s")


if __name__ == "__main__":
    main()
