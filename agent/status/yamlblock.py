"""Block-style YAML of plain data, keys sorted: the text `yaml.dump(data, sort_keys=True,
default_flow_style=False)` writes, without PyYAML building a node per value.

A status report at a thousand peers has some 35 000 values; PyYAML's representer (pure
Python even with libyaml's emitter) took about a tenth of a run that changed nothing. Here a
string that is plainly a word (letters, digits, `_./+=@:-`) and that PyYAML reads back as that
string is written as is; every other scalar is written by PyYAML itself (once per distinct
value), on one line: a string with a line break in double quotes with escapes, since a
quoted scalar continued on the next line would need that line indented under its key.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_RESOLVER = yaml.resolver.Resolver()
_WORD = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./+=@:-]*")
_STR = "tag:yaml.org,2002:str"
_ONE_LINE = 2**31 - 1  # no folding of long scalars


def dump(data: dict[str, Any]) -> str:
    """The YAML document of data (a mapping of str keys to str, int, float, bool, None,
    lists and mappings of the same)."""
    return "\n".join(_block(data, 0)) + "\n" if data else "{}\n"


def _block(value: dict[str, Any] | list[Any], indent: int) -> list[str]:
    """The lines of a non-empty mapping or sequence whose entries start at column indent."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key in sorted(value):
            item = value[key]
            head = f"{pad}{_scalar(key)}:"
            if isinstance(item, dict) and item:
                lines.append(head)
                lines += _block(item, indent + 2)
            elif isinstance(item, list) and item:
                lines.append(head)
                lines += _block(item, indent)  # PyYAML does not indent a sequence in a mapping
            else:
                lines.append(f"{head} {_scalar(item)}")
        return lines
    for item in value:
        if isinstance(item, (dict, list)) and item:
            inner = _block(item, indent + 2)
            inner[0] = f"{pad}- {inner[0][indent + 2:]}"
            lines += inner
        else:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


def _scalar(value: Any) -> str:
    if type(value) is str:  # most values: first
        return _string(value)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):  # empty ones: the flow forms
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, str):
        return _string(value)
    return _by_pyyaml(value)


@functools.lru_cache(maxsize=8192)
def _string(text: str) -> str:
    if _WORD.fullmatch(text) and not text.endswith(":") and (
        _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR
    ):
        return text
    return _by_pyyaml(text)


def _by_pyyaml(value: Any) -> str:
    """How PyYAML writes this scalar, on one line."""
    text = yaml.dump(value, Dumper=_DUMPER, width=_ONE_LINE).removesuffix("\n")
    text = text.removesuffix("\n...")  # the end marker of a document that is a plain scalar
    if "\n" in text:
        text = yaml.dump(value, Dumper=_DUMPER, width=_ONE_LINE, default_style='"').rstrip("\n")
    return text
