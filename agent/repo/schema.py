"""JSON Schema validation of state files, with errors placed at the offending line.

The schemas in state/schema/ are the editor-facing contract; jsonschema reads them as they
are. Errors under `oneOf` are reduced to the branch the document was closest to, so a peer
file gets "public_key is required", not "is not valid under any of the given schemas".
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from typing import Any

from agent.keys import PublicKeyError, parse_public_key
from agent.repo import fields
from agent.repo.yamlpos import Located, Problem
from agent.resources import schema_dir


@cache
def _validator(kind: str) -> Any:
    import jsonschema

    schema = json.loads((schema_dir() / f"{kind}.schema.json").read_text())
    base = jsonschema.validators.validator_for(schema)
    schema = _inline_refs(schema, schema.get("$defs", {}))
    # JSON Schema counts 1400.0 (and, in Python, True) as an integer; the router does not:
    # `mtu 1400.0` is not what ifconfig reads back, so every cycle would "fix" it again.
    strict = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: type(value) is int
    ).redefine("number", lambda _checker, value: type(value) in (int, float))
    cls = jsonschema.validators.extend(base, type_checker=strict)
    return cls(schema, format_checker=base.FORMAT_CHECKER)


_ANNOTATIONS = frozenset({"title", "description", "default", "$comment"})


def _inline_refs(node: Any, defs: dict[str, Any], within: frozenset[str] = frozenset()) -> Any:
    """node with each `{"$ref": "#/$defs/x", <annotations>}` replaced by a copy of x: the same
    checks, the same error schemas (x's own keywords win over the annotations beside the
    $ref, as jsonschema reports x's), without a reference lookup per value validated (a
    third of validating a peer file). A $ref beside other assertions, or one back into a
    definition it is inside of (recursion), is left as it is."""
    if isinstance(node, list):
        return [_inline_refs(item, defs, within) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if (
        isinstance(ref, str)
        and ref.startswith("#/$defs/")
        and set(node) - {"$ref"} <= _ANNOTATIONS
        and ref not in within
    ):
        target = defs.get(ref.removeprefix("#/$defs/"))
        if isinstance(target, dict):
            annotations = {k: v for k, v in node.items() if k != "$ref"}
            return _inline_refs({**annotations, **target}, defs, within | {ref})
    return {key: _inline_refs(value, defs, within) for key, value in node.items()}


def validate(doc: Located, kind: str) -> list[Problem]:
    """Return every schema problem of a "router" or "peer" document, sorted by position."""
    problems: dict[tuple[int, int, str, str], Problem] = {}
    for error in _validator(kind).iter_errors(doc.value):
        for leaf in _leaves(error):
            problem = _to_problem(doc, leaf)
            problems[(problem.line, problem.col, problem.field, problem.message)] = problem
    return [problems[k] for k in sorted(problems)]


def _leaves(error: Any) -> Iterator[Any]:
    """Yield the most specific errors: under oneOf/anyOf, those of the closest branch."""
    if not error.context:
        yield error
        return
    branches: dict[Any, list[Any]] = defaultdict(list)
    for sub in error.context:
        branches[sub.schema_path[0] if sub.schema_path else 0].append(sub)
    closest = min(branches.values(), key=len)
    for sub in closest:
        yield from _leaves(sub)


def _to_problem(doc: Located, error: Any) -> Problem:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            return doc.problem((*path, extra[0]), _unknown_field(extra[0], sorted(allowed)))
    if error.validator in ("pattern", "format", "minLength", "maxLength", "not"):
        return doc.problem(path, _friendly(path, error))
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return doc.problem((*path, missing), f"{missing!r} is required")
    return doc.problem(path, error.message)


def _friendly(path: tuple[Any, ...], error: Any) -> str:
    """Say what is wrong in the words of the semantic checks, never echoing key material
    (jsonschema's own messages quote the whole value and show raw regular expressions)."""
    field, value = (path[-1] if path else ""), error.instance
    if (
        error.validator == "not"
        and isinstance(error.schema, dict)
        and error.schema.get("description")
    ):
        return str(error.schema["description"])
    message: str | None = None
    if field == "public_key" and isinstance(value, str):
        try:
            parse_public_key(value)
        except PublicKeyError as exc:
            message = str(exc)
        return message or "not a PEM RSA public key"
    if field == "public_key_file":
        return (
            "must be the bare file name <peer>.pub of a key file next to the peer's YAML "
            "(no directories)"
        )
    if field == "description":
        message = fields.check_description(value)
    elif field in ("endpoint", "router", "peer", "ipv4", "ipv6"):
        message = fields.check_address(value)
    shown = repr(value) if isinstance(value, str | int) and len(str(value)) <= 80 else "the value"
    words = error.schema.get("patternErrorMessage") if isinstance(error.schema, dict) else None
    if message is None and error.validator == "pattern" and words:
        message = f"{shown} {words}"  # the rule in words, from the schema (editors show it too)
    return message or f"{shown} is not of the required form"


def _unknown_field(name: str, allowed: list[str]) -> str:
    """Name the field the writer most likely meant, else list the fields allowed here."""
    import difflib

    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown field {name!r}: did you mean {close[0]!r}?"
    return f"unknown field {name!r} (fields here: {', '.join(allowed)})"
