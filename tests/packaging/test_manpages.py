"""The man pages: mandoc -Tlint clean, and in step with the CLI, the config and the schemas.

The pages are compared with the code, not with a list kept here: every command (argparse
tree, `peerops sim`'s usage line), every option, every config setting and every state file
field must have its entry, and every documented command must exist. A test failure names
the page, the entry and what is missing; fix the page in the same commit as the code.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.cli import build_parser
from agent.config import AgentConfig, setting_names

TOP = Path(__file__).resolve().parents[2]
MAN = TOP / "packaging" / "man"
PAGES = ("peerops.8", "peerops.yaml.5", "peerops-state.5")
COMMON = {"-h", "--help", "-v", "--verbose", "-q", "--quiet"}  # documented once, not per command


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict:
    """{command words: parser} for every command that has no subcommands."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return {path: parser}
    found: dict = {}
    for action in subs:
        for name, child in action.choices.items():
            found.update(_leaves(child, (*path, name)))
    return found


def _section(text: str, name: str) -> str:
    match = re.search(rf"^\.Sh {name}\n(.*?)(?=^\.Sh |\Z)", text, re.M | re.S)
    assert match, f"no .Sh {name} section"
    return match[1]


def _entries(text: str, macro: str) -> dict[str, str]:
    """{name: its text} for each `.It <macro> name ...` item (up to the next such item)."""
    parts = re.split(rf"^\.It {macro} ", text, flags=re.M)
    entries: dict[str, str] = {}
    for part in parts[1:]:
        head = part.split("\n", 1)[0].split()
        words = []
        for word in head:
            if not re.fullmatch(r"[a-z][a-z0-9_.-]*", word):
                break  # the next macro (Op, Ar, Fl, ...) ends the name
            words.append(word)
        entries[" ".join(words)] = part
    return entries


def _page(name: str) -> str:
    return (MAN / name).read_text()


def _option_word(option: str) -> str:
    """How mdoc spells an option: -c is `Fl c`, --json is `Fl -json`."""
    return f"Fl {option[1:]}"


@pytest.mark.parametrize("name", PAGES)
def test_page_is_mandoc_lint_clean(name: str) -> None:
    mandoc = shutil.which("mandoc")
    assert mandoc, "mandoc is needed (Debian's package mandoc; .ci/run installs it)"
    # -W warning: style notes such as "referenced manual not found" for isakmpd(8) are
    # about this Debian machine, not the page.
    out = subprocess.run(
        [mandoc, "-Tlint", "-W", "warning", str(MAN / name)], capture_output=True, text=True
    )
    assert out.returncode == 0 and not out.stdout, out.stdout + out.stderr


def test_every_command_and_option_is_in_peerops_8() -> None:
    commands = _section(_page("peerops.8"), "COMMANDS")
    entries = _entries(commands, "Cm")
    problems = []
    for path, parser in _leaves(build_parser(full=True)).items():
        command = " ".join(path)
        entry = entries.get(command)
        if entry is None:
            problems.append(f"peerops.8: no `.It Cm {command}` entry in COMMANDS")
            continue
        if command == "sim":
            from agent.sim.cli import USAGE

            options = set(re.findall(r"--[a-z-]+", USAGE))
        else:
            options = {o for a in parser._actions for o in a.option_strings} - COMMON
        for option in sorted(options):
            if not re.search(rf"\b{re.escape(_option_word(option))}\b", entry):
                problems.append(f"peerops.8: `{command}` entry lacks `{_option_word(option)}`")
        for action in parser._actions:
            if not action.option_strings and action.dest != "help":
                arg = (action.metavar or action.dest).lower()
                if not re.search(rf"Ar {re.escape(arg)}\b", entry):
                    problems.append(f"peerops.8: `{command}` entry lacks `Ar {arg}`")
    assert not problems, "\n".join(problems)


def test_peerops_8_documents_no_command_that_does_not_exist() -> None:
    real = {" ".join(path) for path in _leaves(build_parser(full=True))}
    documented = set(_entries(_section(_page("peerops.8"), "COMMANDS"), "Cm"))
    assert documented - real == set(), "documented but not a command"


def test_common_options_are_documented_once() -> None:
    description = _section(_page("peerops.8"), "DESCRIPTION")
    for option in ("Fl v", "Fl q", "Fl h"):
        assert re.search(rf"^\.It {option}\b", description, re.M), option


def _default_text(value: object) -> str | None:
    """How the page writes a default it must state, or None when the code gives none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return None


def _defaults() -> dict[str, object]:
    """{setting: default} as the dataclasses define them."""
    out: dict[str, object] = {}
    fields = AgentConfig.__dataclass_fields__
    for name in setting_names():
        section, _, key = name.rpartition(".")
        if section:
            cls = fields[section].default_factory  # type: ignore[misc]
            out[name] = cls.__dataclass_fields__[key].default
        elif name in fields:
            out[name] = fields[name].default
    return out


def test_every_setting_is_in_peerops_yaml_5_with_its_default() -> None:
    entries = _entries(_section(_page("peerops.yaml.5"), "SETTINGS"), "Ic")
    problems = []
    defaults = _defaults()
    for name in setting_names():
        entry = entries.get(name)
        if entry is None:
            problems.append(f"peerops.yaml.5: no `.It Ic {name}` entry in SETTINGS")
            continue
        if not re.search(r"\b(Default|Required)\b", entry):
            problems.append(f"peerops.yaml.5: `{name}` does not say its default")
        text = _default_text(defaults.get(name))
        if text is not None and not re.search(rf"Default:? (Li |Pa |Dq )?{re.escape(text)}\b",
                                               entry):
            problems.append(f"peerops.yaml.5: `{name}` default should read `Default: {text}`")
    stray = set(entries) - set(setting_names())
    problems += [f"peerops.yaml.5: `{name}` is not a setting" for name in sorted(stray)]
    assert not problems, "\n".join(problems)


def _schema_fields(node: object, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found.update(value)
            _schema_fields(value, found)
    elif isinstance(node, list):
        for value in node:
            _schema_fields(value, found)
    return found


def test_every_state_field_is_in_peerops_state_5() -> None:
    page = _page("peerops-state.5")
    documented = set(re.findall(r"^\.It Ic ([a-z0-9_]+)", page, re.M))
    for schema in sorted((TOP / "state" / "schema").glob("*.schema.json")):
        fields = _schema_fields(json.loads(schema.read_text()), set())
        missing = sorted(fields - documented)
        assert not missing, f"peerops-state.5 lacks `.It Ic` for {schema.name}: {missing}"
