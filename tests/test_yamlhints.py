"""The peer's common mistakes come back as a hint at the line to fix, in words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.repo.inventory import load_inventory
from tests.conftest import EXAMPLE_STATE, edit

ALICE = "peers/rtr1/alice.yaml"


def problems(repo: Path) -> list[str]:
    _, found = load_inventory(repo)
    return [str(p) for p in found]


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("old", "new", "marker", "hint"),
    [
        (  # the PEM pasted under `public_key: |` without indentation
            "  -----BEGIN PUBLIC KEY-----\n  MIIB",
            "-----BEGIN PUBLIC KEY-----\nMIIB",
            "-----BEGIN PUBLIC KEY-----",
            "the text under `public_key: |` (line 10) must be indented",
        ),
        (  # an unquoted IPv6 transfer address ending in ::
            "  ipv6: eui64",
            "  ipv6:\n    router: fd42:4242:a::\n    peer: fd42:4242:a::1",
            "router: fd42:4242:a::",
            'quote the IPv6 address: router: "fd42:4242:a::"',
        ),
        ("  ipv6: eui64", "\tipv6: eui64", "ipv6: eui64", "a tab in the indentation"),
        ("asn: 4242421234", "asn:4242421234", "asn:",
         "put a space after the colon: `asn: 4242421234`"),
    ],
    ids=["unindented-block", "unquoted-ipv6", "tab", "no-space-after-colon"],
)  # fmt: skip
def test_syntax_mistake_gets_a_hint_at_the_right_line(
    state_copy: Path, old: str, new: str, marker: str, hint: str
) -> None:
    alice = state_copy / ALICE
    edit(alice, old, new)
    line = line_of(alice, marker)
    found = problems(state_copy)
    assert len(found) == 1, found
    assert found[0].startswith(f"{ALICE}:{line}:"), found
    assert hint in found[0], found


def test_a_misspelled_field_gets_did_you_mean(state_copy: Path) -> None:
    alice = state_copy / ALICE
    edit(alice, "public_key: |", "pubic_key: |")
    edit(alice, "  description: dn42", "  descripton: dn42")
    found = " | ".join(problems(state_copy))
    assert "pubic_key: unknown field 'pubic_key': did you mean 'public_key'?" in found
    assert "gre.descripton: unknown field 'descripton': did you mean 'description'?" in found


def test_an_unknown_field_with_no_close_match_lists_the_fields(state_copy: Path) -> None:
    edit(state_copy / ALICE, "  ipv6: eui64", "  ipv6: eui64\n  colour: blue")
    found = " | ".join(problems(state_copy))
    assert "unknown field 'colour' (fields here: description, interface, ipv4, ipv6, mtu" in found


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("  ipv6: eui64", "  ipv6: eui64\n  interface: gre05",
         "'gre05' must be gre followed by a unit number 0 to 9999 without leading zeros"),
        ("  ipv6: eui64", '  ipv6: {router: "fe80::1", peer: "fd42::1"}',
         "'fd42::1' must be link-local (fe80::/10) like the router's address of the pair"),
        ("  value: alice.example.org", "  value: alice.example.123",
         "must be a host name: labels of letters, digits and hyphens"),
    ],
    ids=["interface", "mixed-pair", "fqdn"],
)  # fmt: skip
def test_pattern_errors_state_the_rule_in_words(
    state_copy: Path, old: str, new: str, words: str
) -> None:
    edit(state_copy / ALICE, old, new)
    found = " | ".join(problems(state_copy))
    assert words in found, found
    assert "^" not in found and "$" not in found  # never a raw regular expression


def _patterns(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = []
    if isinstance(node, dict):
        if "pattern" in node and "/if/" not in path:  # an if-condition never reports
            out.append((path, node))
        for key, sub in node.items():
            out += _patterns(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            out += _patterns(sub, f"{path}[{i}]")
    return out


@pytest.mark.parametrize("kind", ["router", "peer"])
def test_every_pattern_in_the_schemas_has_its_rule_in_words(kind: str) -> None:
    schema = json.loads((EXAMPLE_STATE / "schema" / f"{kind}.schema.json").read_text())
    found = _patterns(schema)
    assert len(found) >= 8
    missing = [path for path, node in found if not node.get("patternErrorMessage")]
    assert missing == []
