"""Mutation testing of the modules that decide what happens to a router (TESTING.md).

    pip install -e '.[mutation]'
    python tests/mutation.py                    # every module of [tool.peerops.mutation]
    python tests/mutation.py agent/atomic.py    # one module (or several)
    python tests/mutation.py --minutes 20 agent/router/plan.py   # stop after 20 minutes

Not part of the normal test run or of .ci/run. Each module runs with mutmut 3 in its own work
directory, .mutation/<module>/ (a copy of the tree; mutmut keeps its results there, so a
second run only tries what changed), with ONE worker and only the test files listed for the
module in pyproject.toml: mutmut then runs, for each mutant, those of them that call the
mutated function. A mutant is killed when a test fails (or hangs: a timeout); it survives
when they all pass, and "no tests" means none of the listed tests calls its function.

Inspect a survivor:  cd .mutation/agent-router-plan && mutmut show <name>
Needs Python 3.11 or later (tomllib).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
TREE = ("agent", "tests", "state", "templates", "packaging", "docs", "README.md", ".ci")
KILLED = {1: "killed", 3: "killed", -24: "timeout", 24: "timeout", 36: "timeout",
          152: "timeout", 255: "timeout"}
STATUS = {0: "survived", 5: "no tests", 33: "no tests", None: "not checked"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to run (default: all)")
    parser.add_argument("--minutes", type=float, default=0,
                        help="stop each module after this long (0: no limit)")
    parser.add_argument("--report-only", action="store_true",
                        help="print the scores of earlier runs without running anything")
    args = parser.parse_args(argv)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entries = pyproject["tool"]["peerops"]["mutation"]
    chosen = [e for e in entries if not args.modules or e["module"] in args.modules]
    if args.modules and len(chosen) != len(set(args.modules)):
        known = ", ".join(e["module"] for e in entries)
        parser.error(f"unknown module; configured: {known}")
    scores_file = WORK / "scores.json"
    scores = json.loads(scores_file.read_text()) if scores_file.exists() else {}
    for entry in chosen:
        work = WORK / entry["module"].removesuffix(".py").replace("/", "-")
        if not args.report_only:
            _prepare(work, entry, pyproject["tool"]["mutmut"])
            _run(work, entry, args.minutes * 60)
        scores[entry["module"]] = _score(work, entry)
        _print(entry["module"], scores[entry["module"]])
        WORK.mkdir(exist_ok=True)
        scores_file.write_text(json.dumps(scores, indent=1, sort_keys=True) + "\n")
    return 0


def _prepare(work: Path, entry: dict[str, Any], base: dict[str, Any]) -> None:
    """Copy the tree into work (files whose size and mtime are unchanged are left alone, so
    mutmut re-mutates only what changed) and write its mutmut configuration."""
    for name in TREE:
        source = ROOT / name
        if source.is_dir():
            for path in source.rglob("*"):
                if "__pycache__" in path.parts or not path.is_file():
                    continue
                _copy(path, work / path.relative_to(ROOT))
        elif source.is_file():
            _copy(source, work / name)
    config = {
        **base,
        "only_mutate": [entry["module"]],
        "pytest_add_cli_args_test_selection": entry["tests"],
        "use_git_change_detection": False,
    }
    lines = ["[tool.mutmut]"] + [f"{k} = {json.dumps(v)}" for k, v in config.items()]
    pytest_options = re.search(
        r"^\[tool\.pytest\.ini_options\]\n(?:(?!\[).*\n?)*",
        (ROOT / "pyproject.toml").read_text(),
        re.M,
    )
    assert pytest_options, "pyproject.toml has no [tool.pytest.ini_options]"
    (work / "pyproject.toml").write_text("\n".join(lines) + "\n\n" + pytest_options.group(0))


def _copy(source: Path, dest: Path) -> None:
    if dest.exists():
        a, b = source.stat(), dest.stat()
        if (a.st_size, a.st_mtime_ns) == (b.st_size, b.st_mtime_ns):
            return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, dest)


def _run(work: Path, entry: dict[str, Any], limit: float) -> None:
    """mutmut run with one worker; on the time limit it is interrupted like ^C (it keeps
    every result it has). A second pass runs what the first could not name: mutmut makes
    the mutants of a changed function only when it runs, so they were not in the meta yet."""
    temp = work / "pytest-tmp"  # pytest's numbered dirs, apart from other pytest runs
    temp.mkdir(exist_ok=True)
    env = {**os.environ, "PYTEST_DEBUG_TEMPROOT": str(temp)}
    meta = work / "mutants" / (entry["module"] + ".meta")
    deadline = time.monotonic() + limit if limit else None
    tried: set[str] = set()
    for _ in range(2):
        names = entry.get("mutants", [])
        if meta.exists():
            # mutmut keeps a result until the function changes (not when tests are added)
            # and re-runs every mutant named on its command line: name the untried and the
            # survivors (of this call's earlier pass: not again)
            codes, killed = _results(work, meta)
            wanted = names or ["*"]
            names = [k for k, v in codes.items()
                     if (v is None or v in STATUS) and k not in killed and k not in tried
                     and any(fnmatch.fnmatch(k, n) for n in wanted)]
            if not names:
                return
        left = deadline - time.monotonic() if deadline else None
        if left is not None and left <= 0:
            return
        first_run = not meta.exists()  # every mutant (of entry's patterns) is tried
        if not _mutmut(work, entry, names, env, left) or first_run:
            return
        tried.update(names)


def _mutmut(work: Path, entry: dict[str, Any], names: list[str], env: dict[str, str],
            limit: float | None) -> bool:
    """One `mutmut run`; False when the time limit stopped it."""
    argv = [sys.executable, "-m", "mutmut", "run", "--max-children", "1", *names]
    print(f"== {entry['module']}: mutmut run ({len(names) or 'all'} names) in {work}", flush=True)
    with subprocess.Popen(argv, cwd=work, env=env, start_new_session=True) as proc:
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            print(f"== {entry['module']}: time limit, stopping", flush=True)
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            return False
    time.sleep(0.1)
    return True


def _results(work: Path, meta: Path) -> tuple[dict[str, int | None], set[str]]:
    """mutmut's exit code per mutant, and the mutants killed by some run of this module
    while their function was as it is now. mutmut forgets every result when the list of
    test files changes; a kill stays a kill as long as tests are only added, so the kills
    are kept in work/killed.json with the hash of the function they mutated."""
    data = json.loads(meta.read_text())
    codes, hashes = data["exit_code_by_key"], data["hash_by_function_name"]

    def function_hash(key: str) -> str | None:
        return hashes.get(key.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0])

    ledger_file = work / "killed.json"
    ledger = json.loads(ledger_file.read_text()) if ledger_file.exists() else {}
    ledger.update({k: function_hash(k) for k, v in codes.items() if v in KILLED})
    ledger_file.write_text(json.dumps(ledger, indent=0, sort_keys=True) + "\n")
    return codes, {k for k, h in ledger.items() if h is not None and function_hash(k) == h}


def _score(work: Path, entry: dict[str, Any]) -> dict[str, Any]:
    meta = work / "mutants" / (entry["module"] + ".meta")
    if not meta.exists():
        return {"total": 0, "statuses": {}, "survivors": []}
    codes, killed = _results(work, meta)
    wanted = entry.get("mutants") or ["*"]
    codes = {k: v for k, v in codes.items() if any(fnmatch.fnmatch(k, w) for w in wanted)}
    codes = {k: 1 if v is None and k in killed else v for k, v in codes.items()}
    status = {k: KILLED.get(v) or STATUS.get(v, f"exit {v}") for k, v in codes.items()}
    counts = Counter(status.values())
    checked = len(codes) - counts["not checked"]
    caught = counts["killed"] + counts["timeout"]
    return {
        "total": len(codes),
        "checked": checked,
        "caught": caught,
        "score": round(100 * caught / checked, 1) if checked else None,
        "statuses": dict(counts),
        "survivors": sorted(k for k, s in status.items() if s in ("survived", "no tests")),
    }


def _print(module: str, score: dict[str, Any]) -> None:
    if not score["total"]:
        print(f"{module}: not run yet")
        return
    print(f"{module}: {score['caught']}/{score['checked']} caught ({score['score']} %), "
          f"{score['total'] - score['checked']} of {score['total']} not checked; "
          f"{dict(score['statuses'])}")
    for name in score["survivors"]:
        print(f"  survived: {name}")


if __name__ == "__main__":
    sys.exit(main())
