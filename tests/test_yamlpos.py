"""YAML loading keeps positions for error messages and refuses what PyYAML would hide."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.repo import yamlpos


def test_positions_point_at_keys_and_list_items() -> None:
    doc, problems = yamlpos.load(
        "name: a\ngre:\n  ipv4:\n    router: 1.2.3.4\n  x: [1, 2]\n", "p.yaml"
    )
    assert problems == [] and doc is not None
    assert doc.where(("gre", "ipv4", "router")) == (4, 5)
    assert doc.where(("gre", "x", 1)) == (5, 10)
    # a path that does not exist falls back to its nearest ancestor
    assert doc.where(("gre", "ipv4", "peer")) == (3, 3)


def test_duplicate_keys_are_rejected_with_their_place() -> None:
    doc, problems = yamlpos.load("name: a\ngre:\n  mtu: 1400\n  mtu: 1300\n", "p.yaml")
    assert doc is None
    assert [str(p) for p in problems] == ["p.yaml:4:3: gre.mtu: duplicate key 'mtu'"]


def test_python_tags_are_refused_not_constructed() -> None:
    doc, problems = yamlpos.load("name: !!python/object/apply:os.system ['id']\n", "p.yaml")
    assert doc is None
    assert problems[0].line == 1 and "unsupported YAML" in problems[0].message


def test_syntax_error_has_a_line() -> None:
    doc, problems = yamlpos.load("name: a\ngre: {mtu: 1400\n", "p.yaml")
    assert doc is None
    assert problems[0].file == "p.yaml" and problems[0].line == 3
    assert problems[0].message.startswith("YAML syntax:")


def test_merge_keys_are_refused() -> None:
    doc, problems = yamlpos.load("gre:\n  <<: {mtu: 1}\n", "p.yaml")
    assert doc is None and "merge keys" in problems[0].message


def test_aliases_are_refused_before_they_expand() -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(12)
    )
    doc, problems = yamlpos.load(laughs, "p.yaml")
    assert doc is None and "anchors and aliases are not allowed" in problems[0].message


_ROOT = Path(__file__).resolve().parent.parent
_FILES = sorted(
    p for top in ("state", "tests/cases") for p in (_ROOT / top).rglob("*.yaml")
)


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
@pytest.mark.parametrize("path", _FILES, ids=lambda p: str(p.relative_to(_ROOT)))
def test_libyaml_reads_every_file_as_the_pure_python_parser_does(path: Any) -> None:
    """Same value and positions for a good file; for a bad one, load() gives the pure-Python
    parser's problems (its messages are the ones the hints know)."""
    text = path.read_text(errors="replace")
    pure = yamlpos._load(text, "f.yaml", yaml.SafeLoader)
    fast = yamlpos._load(text, "f.yaml", yaml.CSafeLoader)
    if not pure[1]:
        assert not fast[1]
        assert (fast[0].value, fast[0].positions) == (pure[0].value, pure[0].positions)
    assert yamlpos.load(text, "f.yaml") == pure


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
@pytest.mark.parametrize("text", [
    "name: a\n\tasn: 1\n",  # libyaml words a tab differently
    "name:a\nasn: 1\n",
    "endpoint: 2001:db8::1\nx: [\n",
])
def test_a_syntax_error_is_worded_by_the_pure_python_parser(text: str) -> None:
    pure = yamlpos._load(text, "f.yaml", yaml.SafeLoader)
    assert pure[1] and yamlpos._load(text, "f.yaml", yaml.CSafeLoader) != pure
    assert yamlpos.load(text, "f.yaml") == pure
