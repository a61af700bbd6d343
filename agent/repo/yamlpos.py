"""YAML loading that keeps where every value came from, and rejects duplicate keys.

PyYAML's safe loader silently keeps the last of two equal keys, and it forgets positions.
Here we compose the node tree ourselves, build plain Python values (safe types only), and
record the 1-based (line, column) of every value under its path, e.g. ("gre", "ipv4", "router").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from agent.errors import PeeropsError

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One error in a state file: where it is, which field, and what is wrong."""

    file: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.field}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class Located:
    """A loaded document: its plain value and the position of every value in it."""

    file: str
    value: Any
    positions: Mapping[Path, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def reloaded(cls, file: str, value: Any, text: str) -> Located:
        """The document of text whose value is known already (agent/repo/cache.py): its
        positions are read from text again only when first asked, to report a problem."""
        return cls(file, value, _PositionsOf(text, file))

    def where(self, path: Path) -> tuple[int, int]:
        """Return the position of path, or of its nearest ancestor that has one."""
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def problem(self, path: Path, message: str) -> Problem:
        line, col = self.where(path)
        return Problem(self.file, line, col, field_name(path), message)


class _PositionsOf(Mapping[Path, tuple[int, int]]):
    """The positions of text's values, parsed when first looked up (then text is dropped)."""

    def __init__(self, text: str, file: str) -> None:
        self._text: str | None = text
        self._file = file
        self._found: dict[Path, tuple[int, int]] = {}

    def _all(self) -> dict[Path, tuple[int, int]]:
        if self._text is not None:
            doc, _ = load(self._text, self._file)
            self._found = dict(doc.positions) if doc is not None else {}
            self._text = None
        return self._found

    def __getitem__(self, path: Path) -> tuple[int, int]:
        return self._all()[path]

    def __iter__(self) -> Iterator[Path]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def field_name(path: Path) -> str:
    """Render a path as the dotted field name users see: gre.ipv4.router, crypto.main.enc."""
    if not path:
        return "(document)"
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _DocumentError(PeeropsError):
    def __init__(self, line: int, col: int, message: str, path: Path = ()) -> None:
        super().__init__(message)
        self.line, self.col, self.message, self.path = line, col, message, path


def load(text: str, file: str) -> tuple[Located | None, list[Problem]]:
    """Parse one YAML document; return it with positions, or None and the problems found.

    libyaml's parser (about ten times faster) reads the file when PyYAML has it; a file it
    finds any problem in is read again by the pure-Python parser, whose messages and marks
    are the ones users and the hints (agent/repo/yamlhints.py) know."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        doc, problems = _load(text, file, fast)
        if not problems:
            return doc, problems
    return _load(text, file, yaml.SafeLoader)


def _load(text: str, file: str, loader: Any) -> tuple[Located | None, list[Problem]]:
    try:
        _refuse_deep_nesting(text, loader)
        node = yaml.compose(text, Loader=loader)
    except _DocumentError as exc:
        return None, [Problem(file, exc.line, exc.col, "(document)", exc.message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        from agent.repo.yamlhints import hint

        if found := hint(text, line):
            message = f"YAML syntax: {found.message} (the parser stopped at line {line}: " \
                f"{exc.problem})"
            return None, [Problem(file, found.line, found.col, "(document)", message)]
        return None, [Problem(file, line, col, "(document)", f"YAML syntax: {exc.problem}")]
    except yaml.YAMLError as exc:
        return None, [Problem(file, 1, 1, "(document)", f"YAML syntax: {exc}")]
    positions: dict[Path, tuple[int, int]] = {}
    doc = Located(file, None, positions)
    if node is None:
        return doc, []
    try:
        _refuse_aliases(node)
        doc.value = _build(node, (), positions)
    except _DocumentError as exc:
        return None, [Problem(file, exc.line, exc.col, field_name(exc.path), exc.message)]
    return doc, []


MAX_DEPTH = 16  # the deepest state field is crypto.quick.enc (depth 3); keys are far shallower


def _refuse_deep_nesting(text: str, loader: Any = yaml.SafeLoader) -> None:
    """Refuse nesting deeper than MAX_DEPTH before composing: PyYAML's composer recurses once
    per level, so ten thousand `[` would end in a RecursionError (a traceback, not a problem).
    The event parser itself is iterative."""
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise _DocumentError(
                    mark.line + 1,
                    mark.column + 1,
                    f"nested deeper than {MAX_DEPTH} levels: not a state file",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _refuse_aliases(root: yaml.Node) -> None:
    """Refuse a node reached twice: an alias. Aliases can expand a small file exponentially
    ("billion laughs") and state files have no use for them."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            mark = node.start_mark
            raise _DocumentError(
                mark.line + 1,
                mark.column + 1,
                "YAML anchors and aliases are not allowed in state files",
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _build(node: yaml.Node, path: Path, positions: dict[Path, tuple[int, int]]) -> Any:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
        raise _DocumentError(*positions[path], f"unsupported YAML tag {node.tag}", path)
    if isinstance(node, yaml.MappingNode):
        return _build_mapping(node, path, positions)
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), positions) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode):
        # Resolve the scalar with the safe constructor only (no Python object tags).
        try:
            return yaml.constructor.SafeConstructor().construct_object(node)
        except yaml.constructor.ConstructorError as exc:
            raise _DocumentError(
                node.start_mark.line + 1,
                node.start_mark.column + 1,
                f"unsupported YAML value: {exc.problem}",
            ) from None
    raise _DocumentError(
        node.start_mark.line + 1, node.start_mark.column + 1, "unsupported YAML node"
    )


def _build_mapping(
    node: yaml.MappingNode, path: Path, positions: dict[Path, tuple[int, int]]
) -> Any:
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise _DocumentError(line, col, "mapping keys must be plain strings")
        key = str(key_node.value)
        if key in out:
            raise _DocumentError(line, col, f"duplicate key {key!r}", (*path, key))
        if key == "<<":
            raise _DocumentError(line, col, "YAML merge keys are not allowed in state files")
        out[key] = _build(value_node, (*path, key), positions)
        positions[(*path, key)] = (line, col)  # point at the key: that is what users look for
    return out
