"""agent.sim.libc: the C library behaviour every simulated program shares."""

from __future__ import annotations

import pytest

from agent.sim import libc


class _Err:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def eprint(self, line: str) -> None:
        self.lines.append(line)


def test_strtonum_messages_and_bounds() -> None:
    assert libc.strtonum(" 42", 0, 100) == (42, None)
    assert libc.strtonum("-1", 0, 100) == (0, "too small")
    assert libc.strtonum("101", 0, 100) == (0, "too large")
    assert libc.strtonum("4x", 0, 100) == (0, "invalid")
    assert libc.strtonum("", 0, 100) == (0, "invalid")


def test_strtol_base_zero_must_consume_everything() -> None:
    assert [libc.strtol(t) for t in ("24", "0x18", "030", "-8", "0")] == [24, 24, 24, -8, 0]
    assert [libc.strtol(t) for t in ("", "24x", "08", "0x")] == [None] * 4


def test_ipv4_text_forms() -> None:
    assert libc.inet_aton("10.1") == 0x0A000001
    assert libc.inet_aton("256.1.1.1") is None
    assert libc.inet_net_pton4("10.1/16") == (0x0A010000, 16)
    assert libc.inet_net_pton4("10.1.2.3/33") is None
    assert libc.inet_net_pton4("10.1.2.3") is None


def test_err_family_prints_then_exits() -> None:
    out = _Err()
    libc.warnx(out, "prog", "careful")
    libc.warn(out, "prog", "open(x)", "No such file or directory")
    with pytest.raises(libc.Exit) as stop:
        libc.errx(out, "prog", 2, "bad")
    assert stop.value.rc == 2
    with pytest.raises(libc.Exit):
        libc.usage(out, "usage: prog [-n]")
    assert out.lines == ["prog: careful", "prog: open(x): No such file or directory",
                         "prog: bad", "usage: prog [-n]"]


def test_getopt_stops_at_the_first_operand_and_at_errors() -> None:
    assert libc.getopt("p", ["-nD", "x=1", "-v", "--", "-f"], "D:nv") == (
        [("n", ""), ("D", "x=1"), ("v", "")], ["-f"], None)
    assert libc.getopt("p", ["-n", "-", "-v"], "nv") == ([("n", "")], ["-", "-v"], None)
    assert libc.getopt("p", ["-nx"], "n")[2] == "p: unknown option -- x"
