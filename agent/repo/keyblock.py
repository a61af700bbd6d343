"""A public key as a YAML literal block: the form people paste and `openssl pkey -pubin`
reads back unchanged (no quotes, no escaped newlines, no folded lines)."""

from __future__ import annotations

import re

_BLOCK = re.compile(r"^public_key: *[|>][-+]?[^\n]*\n(?:(?:[ \t]+[^\n]*)?\n)*", re.MULTILINE)
_QUOTED = re.compile(r"^public_key: *(?:\"[^\"]*\"|'[^']*'|[^\n|>]+)\n", re.MULTILINE)


def key_block(pem: str, comment: str = "") -> str:
    """`public_key: |` and the PEM lines indented by two spaces, ending in a newline."""
    head = f"public_key: |{f'   # {comment}' if comment else ''}\n"
    return head + "".join(f"  {line}\n" for line in pem.strip().splitlines())


def set_key_block(text: str, pem: str) -> str:
    """text with its top-level public_key replaced by a literal block of pem (appended when
    the document has none); every other line, comments included, is kept."""
    block = key_block(pem)
    for pattern in (_BLOCK, _QUOTED):
        if pattern.search(text):
            return pattern.sub(lambda _m: block, text, count=1)
    return text.rstrip("\n") + "\n" + block
