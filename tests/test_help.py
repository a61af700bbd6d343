"""Every command's --help says what it does and lists its options; output piped into a
reader that stops early (`| head`) ends without a traceback."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import build_parser

TOP = Path(__file__).resolve().parent.parent


def _commands() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        found[path] = parser
        for action in subs:
            for name, child in action.choices.items():
                walk(child, (*path, name))

    walk(build_parser(full=True), ())
    return found


@pytest.mark.parametrize("path", sorted(p for p in _commands() if p and p != ("sim",)))
def test_help_describes_the_command_and_every_option(path: tuple[str, ...]) -> None:
    parser = _commands()[path]
    text = parser.format_help()
    assert parser.description and parser.description in " ".join(text.split()), path
    for action in parser._actions:
        if action.option_strings:
            assert action.help, f"{' '.join(path)} {action.option_strings[0]}: no help"
            assert any(o in text for o in action.option_strings)
        if action.option_strings and isinstance(action.default, str) and action.default \
                and action.default != argparse.SUPPRESS:
            flat = " ".join(text.split())
            assert f"default: {action.default}" in flat or "default" in (action.help or "")


def test_config_option_says_its_default() -> None:
    text = _commands()[("plan",)].format_help()
    assert "(default: /etc/peerops.yaml)" in " ".join(text.split())


def test_sim_help_lists_the_simulated_commands_and_init() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agent", "sim", "--help"], capture_output=True, text=True,
        cwd=TOP,
    )
    assert out.returncode == 0
    for word in ("ipsecctl", "ifconfig", "rcctl", "sysctl", "isakmpd", "--init"):
        assert word in out.stdout, word


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["config", "sample"], ["validate", "--json", "state"], ["key", "show", "-h"],
     ["sim", "--help"]],
)
def test_a_reader_that_stops_early_gets_no_traceback(argv: list[str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", *argv], cwd=TOP, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout and proc.stderr
    proc.stdout.close()  # like `| head -0`: gone before the first write
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "Exception" not in err, err
    assert err == ""
