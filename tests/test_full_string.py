"""Patterns match whole strings (issue 8, class 3): `^…$` accepts a trailing newline in Python
and in the JSON Schema patterns jsonschema runs with re.search. Three checks: no anchored
Python pattern in the agent, no schema pattern that a line break can end, and every string
field of every state file refused (or harmlessly normalised) with a trailing control
character."""

from __future__ import annotations

import ast
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.repo.inventory import load_inventory
from tests.conftest import EXAMPLE_STATE, REPO

SUFFIXES = {"lf": "\n", "cr": "\r", "tab": "\t", "u2028": "\u2028", "nul": "\0"}
_RE_CALLS = {"compile", "match", "search", "fullmatch", "sub", "split", "findall", "finditer"}


def _patterns(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _RE_CALLS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.args
        ):
            first = node.args[0]
            parts = first.values if isinstance(first, ast.JoinedStr) else [first]
            text = "".join(
                p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)
            )
            yield node.lineno, text


def test_no_python_pattern_in_the_agent_uses_a_dollar_anchor() -> None:
    # agent/sim/ is excluded: it models OpenBSD's own matching of lines already split.
    offenders = []
    for path in sorted((REPO / "agent").rglob("*.py")):
        if "sim" in path.relative_to(REPO / "agent").parts[:1]:
            continue
        for line, pattern in _patterns(ast.parse(path.read_text())):
            if re.search(r"(?<!\\)\$", pattern):
                offenders.append(f"{path.relative_to(REPO)}:{line}: {pattern!r}")
    assert not offenders, "use re.fullmatch or \\Z:\n" + "\n".join(offenders)


def _schema_patterns() -> list[tuple[str, str]]:
    out = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    out.append((where, value))
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    for schema in sorted((REPO / "state" / "schema").glob("*.json")):
        walk(json.loads(schema.read_text()), schema.name)
    return out


@pytest.mark.parametrize(("where", "pattern"), _schema_patterns())
def test_no_schema_pattern_can_end_in_a_line_break(where: str, pattern: str) -> None:
    if not pattern.endswith("$"):
        return  # a prefix check (e.g. "^fe80:"), combined with a format check
    assert pattern.endswith("(?!\\n)$"), where
    # A value the pattern accepts, found by dropping the anchors' neighbours is not
    # generic; the example repo supplies real ones.
    for value in _example_strings():
        if re.search(pattern, value):
            assert re.search(pattern, value + "\n") is None or value.endswith("\n"), where


def _example_strings() -> list[str]:
    out = []
    for path in sorted(EXAMPLE_STATE.rglob("*.yaml")):
        out += [value for _, value in _string_leaves(yaml.safe_load(path.read_text()), ())]
    return out


def _string_leaves(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _string_leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _string_leaves(value, (*path, i))
    elif isinstance(node, str):
        yield path, node


def _fields() -> list[tuple[str, tuple[Any, ...]]]:
    out = []
    for path in sorted(EXAMPLE_STATE.rglob("*.yaml")):
        rel = path.relative_to(EXAMPLE_STATE).as_posix()
        out += [(rel, leaf) for leaf, _ in _string_leaves(yaml.safe_load(path.read_text()), ())]
    return out


FIELDS = _fields()


def _set(doc: Any, path: tuple[Any, ...], value: str) -> None:
    for part in path[:-1]:
        doc = doc[part]
    doc[path[-1]] = value


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inventory, problems = load_inventory(EXAMPLE_STATE)
    assert inventory is not None, problems
    return {p.router + "/" + p.peer: p for ps in inventory.peerings.values() for p in ps}


def test_every_string_field_of_the_example_is_exercised() -> None:
    files = {rel for rel, _ in FIELDS}
    assert {"routers/rtr1.yaml", "peers/rtr1/alice.yaml", "peers/rtr1/bob.yaml"} <= files
    assert len(FIELDS) >= 30, len(FIELDS)


@pytest.mark.parametrize("suffix", list(SUFFIXES), ids=list(SUFFIXES))
def test_every_string_field_refuses_a_trailing_control_character(
    suffix: str, tmp_path: Path, baseline: dict[str, Any]
) -> None:
    char = SUFFIXES[suffix]
    repo = tmp_path / "state"
    shutil.copytree(EXAMPLE_STATE, repo)
    accepted = []
    for rel, leaf in FIELDS:
        original = (EXAMPLE_STATE / rel).read_text()
        doc = yaml.safe_load(original)
        value = doc
        for part in leaf:
            value = value[part]
        _set(doc, leaf, value + char)
        (repo / rel).write_text(yaml.safe_dump(doc, allow_unicode=False))
        inventory, problems = load_inventory(repo)
        (repo / rel).write_text(original)
        dotted = ".".join(str(p) for p in leaf)
        if inventory is None:
            assert any(p.file == rel for p in problems), (rel, dotted, problems)
            continue
        # Accepted only where whitespace is meaningless and normalised away: the key is
        # parsed and installed as PEM, so the router gets exactly the same bytes.
        if leaf[-1] == "public_key" and char in "\n\r\t":
            after = {p.router + "/" + p.peer: p for ps in inventory.peerings.values() for p in ps}
            assert after == baseline, (rel, dotted)
            continue
        accepted.append(f"{rel}: {dotted}")
    assert not accepted, f"accepted with a trailing {suffix}:\n" + "\n".join(accepted)
