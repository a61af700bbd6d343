"""Turn a YAML syntax error into a hint at the line the writer must fix.

PyYAML reports where its scanner gave up, which for the common mistakes is a line after the
real one and a message about tokens. These rules look at the text itself and, when one
matches, name the line to fix and say what to do. They are tried in order; none matching
leaves PyYAML's own message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# `key: |` or `key: >-` (a block scalar header), maybe with a comment.
_BLOCK_HEADER = re.compile(r"\A( *)(?:- +)?([A-Za-z_][\w-]*): *[|>][-+0-9]* *(?:#.*)?\Z")
# `key:value`: a mapping key glued to its value (YAML needs a space after the colon).
_GLUED = re.compile(r"\A *(?:- +)?([A-Za-z_][\w-]*):([^\s:/#][^\s]*)")
# An unquoted value that looks like an IPv6 address (two colons or more, hex digits).
_IPV6ISH = re.compile(
    r"(?<![\"'\w:])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:/\d+)?)(?![\"'\w])"
)
_KEY_IPV6 = re.compile(
    r"\A *(?:- +)?([A-Za-z_][\w-]*): +([0-9A-Fa-f:]*::?[0-9A-Fa-f:./]*)\s*(?:#.*)?\Z"
)


@dataclass(frozen=True)
class Hint:
    line: int  # 1-based
    col: int
    message: str


def hint(text: str, error_line: int) -> Hint | None:
    """The most likely fix for a YAML error PyYAML reported at error_line (1-based)."""
    lines = text.splitlines()
    upto = lines[: max(error_line, 1)]
    for rule in (_tab, _block_not_indented, _glued_colon, _unquoted_ipv6):
        found = rule(upto)
        if found:
            return found
    return None


def _tab(lines: list[str]) -> Hint | None:
    for n, line in enumerate(lines, 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return Hint(n, indent.index("\t") + 1, "a tab in the indentation: YAML indents "
                        "with spaces only (use two spaces per level)")  # fmt: skip
    return None


def _block_not_indented(lines: list[str]) -> Hint | None:
    for n, line in enumerate(lines, 1):
        m = _BLOCK_HEADER.match(line)
        if not m or n >= len(lines):
            continue
        following = lines[n]
        if following.strip() and len(following) - len(following.lstrip(" ")) <= len(m.group(1)):
            return Hint(
                n + 1,
                1,
                f"the text under `{m.group(2)}: |` (line {n}) must be indented: put two "
                f"spaces more than `{m.group(2)}` before every line of it",
            )
    return None


def _glued_colon(lines: list[str]) -> Hint | None:
    in_block = None
    for n, line in enumerate(lines, 1):
        indent = len(line) - len(line.lstrip(" "))
        if in_block is not None and (not line.strip() or indent > in_block):
            continue  # inside a block scalar: the text is data
        in_block = None
        if (m := _BLOCK_HEADER.match(line)) is not None:
            in_block = len(m.group(1))
            continue
        stripped = line.lstrip(" ")
        if stripped.startswith("#"):
            continue
        m = _GLUED.match(line)
        if m and not _looks_ipv6(f"{m.group(1)}:{m.group(2)}"):
            return Hint(
                n,
                line.index(":") + 1,
                f"put a space after the colon: `{m.group(1)}: {m.group(2)}` "
                "(without it YAML reads one word, not a field and its value)",
            )
    return None


def _unquoted_ipv6(lines: list[str]) -> Hint | None:
    for n in range(len(lines), 0, -1):  # the error is at or just after the culprit
        line = lines[n - 1]
        m = _KEY_IPV6.match(line)
        if m and _looks_ipv6(m.group(2)):
            return Hint(n, line.index(m.group(2)) + 1, _ipv6_message(m.group(1), m.group(2)))
        if "{" in line:
            for found in _IPV6ISH.finditer(line):
                if _looks_ipv6(found.group(1)):
                    return Hint(n, found.start(1) + 1,
                                _ipv6_message(None, found.group(1)))  # fmt: skip
    return None


def _looks_ipv6(value: str) -> bool:
    return value.count(":") >= 2 and bool(re.fullmatch(r"[0-9A-Fa-f:./]+", value))


def _ipv6_message(key: str | None, value: str) -> str:
    shown = f'{key}: "{value}"' if key else f'"{value}"'
    return f"quote the IPv6 address: {shown} (a colon in an unquoted value ends it in YAML)"
