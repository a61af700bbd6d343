"""agent.status.yamlblock writes the report as PyYAML would, and every string a hostile repo
can put into a report (a peer name, an error message quoting a file) reads back unchanged."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from agent.status import yamlblock

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Strings that are YAML syntax, other types when plain, or characters YAML treats specially.
HOSTILE = [
    "", " lead", "trail ", "a: b", "a:", "::", "3:30", "- x", "-", "--- x", "...", "#c", "a #c",
    "'", '"', "yes", "No", "on", "null", "~", "0x1F", "0o17", "1_000", "1e5", ".inf", "-.5",
    "0.1.0", "2026-11-30", "2026-11-30T21:00:00Z", "@at", "`t", "%p", "!b", "&a", "*s", "|p",
    ">g", "[", "{", "}", ",", "?", "a\tb", "\x00", "\x7f", "😀", "é", "x\ny", "x\u2028y",
    "x\r\ny", "\x85", "\ufeff", "a" * 90 + " " + "b" * 90, "=", "SHA256:abc+/=", "peers/x.yaml",
]


def reference(data: Any) -> str:
    return yaml.dump(data, Dumper=DUMPER, sort_keys=True, default_flow_style=False,
                     width=2**31 - 1)


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(t) for t in HOSTILE])
def test_a_string_reads_back_as_itself_wherever_it_stands(text: str) -> None:
    doc = {
        "value": text,
        text or "empty": [text, {"nested": text, "list": [text, [text]]}],
        "peers": [{"peer": text, "ok": True, "n": 0}, {"reason": text}],
    }
    assert yaml.safe_load(yamlblock.dump(doc)) == doc


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(t) for t in HOSTILE])
def test_a_one_line_string_is_written_as_pyyaml_writes_it(text: str) -> None:
    if any(c in text for c in "\n\r\x85\u2028\u2029"):
        pytest.skip("PyYAML continues it on the next line; yamlblock escapes the break")
    assert yamlblock.dump({"v": text}) == reference({"v": text})


def test_a_report_shaped_document_is_byte_for_byte_what_pyyaml_writes() -> None:
    peer = {
        "check": None, "flows": {"in": 1, "out": 1}, "gre": True, "interface": "gre0",
        "key_fingerprint": "SHA256:bhr6HmNL8oykjWyDZEWfGUcfPMu0PA7hESkN+GEc5n0",
        "peer": "p0000", "ping": None, "reason": "phase 1: no proposal chosen", "state": "up",
    }
    report = {
        "changes": [], "errors": ["peers/r1/x.yaml:3:1: name: 'X' does not match"],
        "peers": [peer, {**peer, "peer": "p0001", "flows": {"in": 0, "out": 0}, "gre": False}],
        "quarantined": {}, "result": "converged", "revert": None, "schema": 2,
        "run": {"started": "2026-11-30T21:00:00Z", "finished": "2026-11-30T21:00:01Z"},
        "schedule": {"interval": 300, "heartbeat": 86400.0}, "matrix": [[1, 2], [], [{"a": 1}]],
        "empty": {"list": [], "map": {}, "float": 1e20, "neg": -3, "no": False},
    }
    assert yamlblock.dump(report) == reference(report)
    assert yaml.safe_load(yamlblock.dump(report)) == report


def test_a_line_break_is_escaped_on_the_line_of_its_key() -> None:
    text = yamlblock.dump({"a": {"why": "one\ntwo"}, "b": 1})
    assert text == 'a:\n  why: "one\\ntwo"\nb: 1\n'


def test_a_value_used_twice_is_written_twice_not_as_an_alias() -> None:
    shared = {"in": 1, "out": 1}
    text = yamlblock.dump({"a": shared, "b": shared})
    assert "&" not in text and "*" not in text
    assert yaml.safe_load(text) == {"a": shared, "b": shared}
