"""agent.repo.schema validates with its $defs references inlined: every document must get
exactly the errors (path, keyword, message, schema) the schema as written gives."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.repo import schema
from agent.repo.yamlpos import Located
from agent.resources import schema_dir

STATE = Path(__file__).resolve().parent.parent / "state"


def _as_written(kind: str) -> Any:
    """The validator of the schema file with its references, built as schema.py builds it."""
    raw = json.loads((schema_dir() / f"{kind}.schema.json").read_text())
    inlined = schema._validator(kind)
    return type(inlined)(raw, format_checker=inlined.format_checker)


def _errors(validator: Any, doc: Any) -> list[tuple[Any, ...]]:
    """Every error and sub-error: path, keyword, message, and what schema.py reads of its
    schema (the properties allowed, a `not`'s description, a pattern's words)."""
    def flat(error: Any) -> list[tuple[Any, ...]]:
        sch = error.schema if isinstance(error.schema, dict) else {}
        own = (tuple(error.absolute_path), error.validator, error.message,
               sorted(sch.get("properties", {})) if error.validator == "additionalProperties"
               else None,
               sch.get("description") if error.validator == "not" else None,
               sch.get("patternErrorMessage"))
        return [own, *(e for sub in error.context for e in flat(sub))]
    return sorted((e for error in validator.iter_errors(doc) for e in flat(error)), key=repr)


def _variants(doc: dict[str, Any]) -> list[Any]:
    """The document, and one bad value at a time in each of its fields."""
    out: list[Any] = [doc]
    for path, _ in _leaves(doc):
        for bad in ("", "x" * 300, -1, 1.5, None, "fe80::1", "::ffff:1.2.3.4", ["a"], {"a": 1}):
            changed = copy.deepcopy(doc)
            node = changed
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = bad
            out.append(changed)
    out.append({**doc, "unknown": 1})
    return out


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*path, k))]
    return [(path, node)]


@pytest.mark.parametrize(
    "kind, pattern", [("peer", "peers/*/*.yaml"), ("router", "routers/*.yaml")]
)
def test_inlined_references_give_the_errors_of_the_schema_as_written(
    kind: str, pattern: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    inlined, written = schema._validator(kind), _as_written(kind)
    files = sorted(STATE.glob(pattern))
    assert files
    checked = 0
    for path in files:
        for doc in _variants(yaml.safe_load(path.read_text())):
            assert _errors(inlined, doc) == _errors(written, doc), (path, doc)
            checked += 1
            located = Located(path.name, doc)
            problems = schema.validate(located, kind)
            monkeypatch.setattr(schema, "_validator", lambda _kind: written)
            assert schema.validate(located, kind) == problems
            monkeypatch.undo()
    assert checked > 100


def test_a_reference_beside_an_assertion_or_into_itself_stays_a_reference() -> None:
    defs = {
        "name": {"type": "string", "pattern": "^[a-z]+$", "description": "a name"},
        "tree": {"type": "object", "properties": {"child": {"$ref": "#/$defs/tree"}}},
    }
    node = {
        "a": {"$ref": "#/$defs/name", "description": "beside", "title": "Name"},
        "b": {"$ref": "#/$defs/name", "maxLength": 3},
        "c": {"$ref": "#/$defs/tree"},
    }
    out = schema._inline_refs(node, defs)
    # the definition's own words win (jsonschema reports its schema), the rest is added
    assert out["a"] == {
        "description": "a name", "title": "Name", "type": "string", "pattern": "^[a-z]+$"
    }
    assert out["b"] == node["b"]
    assert out["c"]["properties"]["child"] == {"$ref": "#/$defs/tree"}
