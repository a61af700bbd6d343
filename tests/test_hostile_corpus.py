"""The hostile-input corpus (tests/cases/hostile/*.yaml, issue 8): one case a file.

Each case describes a change to the example state repo (or to rtr1's configuration), the
commands to run on it (`validate` and `simulate` on a copy of state/, a real `peerops run`
on the simulated fleet after the change is committed and pushed), and what must come out:
the exit code of each command, a message fragment (file:line: field, or the guard's words),
the result in rtr1's published status report, and the host state. Every case also checks:
no traceback, nothing written outside rtr1's intended files, the report published, and the
peers that worked before still working. Cases are grouped by class (the file name's prefix);
a class shares one converged fleet, its cases run on it one after the other (each commits
the baseline tree plus its own change), so the corpus stays fast.

Case fields:
  what:      one line: the attack or mistake
  repo:      steps on the state repo: {write|append: PATH, text}, {edit: PATH, old, new},
             {remove: PATH}, {symlink: PATH, to}, {mkfifo: PATH}, {mkdir: PATH}
             ("{outside}" in `to` is a directory outside the repo holding secret.yaml)
  config:    settings merged into rtr1's peerops.yaml for `run`
  commit_message: the pushed commit's message (default: the case name)
  commands:  which of validate, simulate, run (default: all three)
  exit:      {command: code}
  message:   a fragment every command's output must contain; `messages` per command
  report:    the result in reports/<router>.yaml after `run` (default: stalled when run
             exits non-zero and 0-2 otherwise: converged or changed)
  host:      unchanged (default) | changed: every file rtr1's root holds outside the router's
             intended files stays as it was either way
  expect_files / expect_absent: {root path: fragment} rtr1 holds after the run / paths it lacks
  fleet:     own: the case changes the router, so it gets a fleet of its own
  checkout / state: steps on rtr1's checkout (rtr1/repo) or state directory before the run,
             also {corrupt: GLOB} (overwrite matching files with garbage)
  rewind:    true: the pushed commit does not descend from main (a force-push)
  prerun:    true: rtr1 runs once first (so its report is on the status branch)
  args:      {command: [extra arguments]}
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.cli import main
from tests.conftest import EXAMPLE_STATE
from tests.gitkit import git
from tests.simfleet import clone

CASES_DIR = Path(__file__).parent / "cases" / "hostile"
CASES = sorted(CASES_DIR.glob("*.yaml"))
SECRET = "s3cr3t-value-from-outside"  # noqa: S105 - a marker, not a password
# What a run may write on the router (root-relative) and in the fleet (fleet-relative).
INTENDED_ROOT = ("etc/ipsec.conf", "etc/hostname.gre", "etc/isakmpd/pubkeys/", ".peerops-sim/",
                 "etc/rc.conf.local", "etc/sysctl.conf")
INTENDED_FLEET = ("rtr1/state", "rtr1/repo", "remote.git/", "rtr1/peerops.case.yaml")


def load_case(path: Path) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text())
    assert isinstance(case, dict) and case.get("what"), f"{path.name}: needs `what`"
    return case


def test_the_corpus_covers_every_class_several_times() -> None:
    by_class: dict[str, int] = {}
    for path in CASES:
        load_case(path)
        by_class[path.name.split("-")[0]] = by_class.get(path.name.split("-")[0], 0) + 1
    assert len(CASES) >= 80, len(CASES)
    expected = {f"c{n:02}" for n in range(1, 12)}
    assert set(by_class) >= expected, sorted(expected - set(by_class))
    assert all(count >= 3 for count in by_class.values()), by_class


# -- applying a case ---------------------------------------------------------------------------

def apply_steps(repo: Path, steps: list[dict[str, Any]], outside: Path) -> None:
    for step in steps:
        op = next(k for k in ("write", "append", "edit", "remove", "symlink", "mkfifo", "mkdir",
                              "corrupt") if k in step)
        if op == "corrupt":
            for victim in repo.glob(step[op]):
                victim.chmod(0o644)
                victim.write_bytes(b"garbage" * 8)
            continue
        target = repo / step[op]
        if op in ("write", "append"):
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a" if op == "append" else "w", encoding="utf-8", newline="") as f:
                f.write(step["text"])
        elif op == "edit":
            text = target.read_text()
            assert text.count(step["old"]) >= 1, (step, text)
            target.write_text(text.replace(step["old"], step["new"]))
        elif op == "remove":
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        elif op == "symlink":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(step["to"].replace("{outside}", str(outside)))
        elif op == "mkfifo":
            os.mkfifo(target)
        else:
            target.mkdir(parents=True)


def outside_dir(base: Path) -> Path:
    """A directory outside every repo with a YAML file whose value must never leak."""
    out = base / "outside"
    if not out.exists():
        out.mkdir()
        (out / "secret.yaml").write_text(f"name: secret\nasn: 1\nnote: {SECRET}\n")
    return out


def check_output(name: str, command: str, case: dict[str, Any], code: int, text: str) -> None:
    assert "Traceback" not in text, f"{name} {command}:\n{text}"
    assert SECRET not in text, f"{name} {command} leaked content from outside the repo"
    expected = case.get("exit", {}).get(command)
    if expected is not None:
        assert code == expected, f"{name} {command}: exit {code}, expected {expected}:\n{text}"
    fragment = case.get("messages", {}).get(command, case.get("message"))
    if fragment:
        assert fragment in text, f"{name} {command}: {fragment!r} not in:\n{text}"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


# -- validate and simulate on a copy of state/ -------------------------------------------------

@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_validate_and_simulate(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = load_case(path)
    commands = case.get("commands", ["validate", "simulate", "run"])
    if "validate" not in commands and "simulate" not in commands:
        pytest.skip("a case for `run` only")
    repo = tmp_path / "state"
    shutil.copytree(EXAMPLE_STATE, repo)
    apply_steps(repo, case.get("repo", []), outside_dir(tmp_path))
    for command in ("validate", "simulate"):
        if command in commands:
            extra = case.get("args", {}).get(command, [])
            code, text = run_cli(capsys, command, str(repo), *extra)
            check_output(path.stem, command, case, code, text)


# -- a real run on the simulated fleet, one fleet per class ---------------------------------------

class ClassFleet:
    """A converged fleet and a maintainer's clone of its state repo."""

    def __init__(self, factory: pytest.TempPathFactory, klass: str) -> None:
        self.dir = factory.mktemp(f"hostile-{klass}")
        self.configs = clone(factory, self.dir / "fleet")
        self.fleet = self.dir / "fleet"
        self.work = self.dir / "maintainer"
        subprocess.run(["git", "clone", "-q", "-b", "main", str(self.fleet / "remote.git"),
                        str(self.work)], check=True)
        self.base = git(self.work, "rev-parse", "HEAD")
        self.outside = outside_dir(self.dir)

    def commit(self, case: dict[str, Any], name: str) -> str:
        """Commit the baseline tree plus the case's change on top of main (or, with rewind,
        on a new root: a force-push); push it."""
        if case.get("rewind"):
            git(self.work, "checkout", "-q", "--orphan", "rewound")
        git(self.work, "rm", "-rqf", "--ignore-unmatch", ".")
        git(self.work, "checkout", self.base, "--", ".")
        apply_steps(self.work, case.get("repo", []), self.outside)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", case.get("commit_message", name))
        git(self.work, "push", "-q", *(["--force"] if case.get("rewind") else []),
            "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD")

    def config(self, overrides: dict[str, Any]) -> Path:
        source = self.fleet / "rtr1" / "peerops.yaml"
        if not overrides:
            return source
        settings = yaml.safe_load(source.read_text())
        for key, value in overrides.items():
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
        target = self.fleet / "rtr1" / "peerops.case.yaml"
        target.write_text(yaml.safe_dump(settings))
        return target


_FLEETS: dict[str, ClassFleet] = {}


def snapshot(fleet: Path) -> dict[str, str]:
    """Every path in the fleet except what a run of rtr1 may write, with a hash of it."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(fleet):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(fleet).as_posix()
            root_rel = rel.removeprefix("rtr1/root/")
            if rel.startswith(INTENDED_FLEET) or "/root/.peerops-sim" in rel or (
                rel.startswith("fleet.json.index.db")  # the simulated network's (sim/fleet_index)
            ) or (
                rel.startswith("rtr1/root/") and root_rel.startswith(INTENDED_ROOT)
            ):
                continue  # .peerops-sim is the simulated kernels and network, not files
            if full.is_symlink() or not full.is_file():
                out[rel] = "link" if full.is_symlink() else "dir-or-special"
            else:
                out[rel] = hashlib.sha256(full.read_bytes()).hexdigest()
    return out


def router_files(fleet: Path) -> dict[str, str]:
    """rtr1's intended files (the ones a run may change) with a hash each."""
    root = fleet / "rtr1" / "root"
    out = {}
    for prefix in INTENDED_ROOT:
        if prefix.startswith(".peerops-sim"):
            continue
        for full in root.glob(prefix.rstrip("/") + "*"):
            for f in [full] if full.is_file() else full.rglob("*"):
                if f.is_file():
                    out[f.relative_to(root).as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def status_report(fleet: Path, router: str) -> dict[str, Any]:
    text = subprocess.run(
        ["git", "--git-dir", str(fleet / "remote.git"), "show", f"status:reports/{router}.yaml"],
        capture_output=True, text=True, check=True,
    ).stdout
    return yaml.safe_load(text)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_run_on_the_fleet(
    path: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    case = load_case(path)
    if "run" not in case.get("commands", ["validate", "simulate", "run"]):
        pytest.skip("a case for validate and simulate only (git cannot commit it)")
    klass = path.stem if case.get("fleet") == "own" else path.name.split("-")[0]
    if klass not in _FLEETS:
        _FLEETS[klass] = ClassFleet(tmp_path_factory, klass)
    fleet = _FLEETS[klass]
    if case.get("prerun"):
        assert run_cli(capsys, "run", "-c", str(fleet.config({})))[0] == 0
    before, files_before = snapshot(fleet.fleet), router_files(fleet.fleet)
    commit = fleet.commit(case, path.stem)
    apply_steps(fleet.fleet / "rtr1" / "repo", case.get("checkout", []), fleet.outside)
    apply_steps(fleet.fleet / "rtr1" / "state", case.get("state", []), fleet.outside)
    config = fleet.config(case.get("config", {}))
    code, text = run_cli(capsys, "run", "-c", str(config), *case.get("args", {}).get("run", []))
    check_output(path.stem, "run", case, code, text)
    assert snapshot(fleet.fleet) == before, f"{path.stem}: a run wrote outside rtr1's files"
    if case.get("host", "unchanged") == "unchanged":
        assert router_files(fleet.fleet) == files_before, f"{path.stem}: rtr1 was changed"
    root = fleet.fleet / "rtr1" / "root"
    for rel, fragment in case.get("expect_files", {}).items():
        assert fragment in (root / rel).read_text(), (path.stem, rel)
    for rel in case.get("expect_absent", []):
        assert not (root / rel).exists(), (path.stem, rel)
    router = yaml.safe_load(config.read_text())["router"]
    if "published" in case and not case["published"]:
        return
    report = status_report(fleet.fleet, router)
    expected = case.get("report", "stalled" if code not in (0, 2) else None)
    if expected:
        assert report["result"] == expected, (path.stem, report)
    if case.get("report_commit", "new") == "new":
        assert report["commit"] in (commit, None), report
    for fragment in case.get("report_warnings", []):
        assert any(fragment in w for w in report.get("warnings", [])), (path.stem, report)
