"""A command imports only what it needs: `--help` no yaml or logging, `validate` no git,
`sim` neither jinja2 nor cryptography nor git (each import is paid on every run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_STATE, REPO

HEAVY = ("yaml", "logging", "git", "jinja2", "cryptography", "jsonschema", "schedule")

PROBE = """
import json, sys
from agent.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def imported(*argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    return set(json.loads(done.stderr.strip().splitlines()[-1])) & set(HEAVY)


def test_help_imports_nothing_heavy() -> None:
    assert imported("--help") == set()


def test_validate_needs_no_git() -> None:
    modules = imported("validate", str(EXAMPLE_STATE))
    assert "yaml" in modules  # the probe sees what validate really loaded
    assert not modules & {"git", "jinja2", "schedule"}


@pytest.mark.parametrize("argv", [["sysctl", "net.inet.gre.allow"], ["ifconfig", "-a"]])
def test_sim_needs_no_jinja2_cryptography_or_git(tmp_path: Path, argv: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "agent", "sim", "--root", str(tmp_path), "--init",
                    "uname"], cwd=REPO, check=True, capture_output=True, timeout=60)
    assert not imported("sim", "--root", str(tmp_path), *argv) & {"jinja2", "cryptography",
                                                                     "git", "yaml"}
