"""Parse `ipsecctl -s` output (`-sa`, `-s all`, `-sf`, `-ss`) into IPsec flows and SAs.

Formats follow OpenBSD's own printers (see /work/shared/docs/openbsd-reference.md §1):
- sbin/ipsecctl/ipsecctl.c v1.87: `ipsecctl_show` (titles, "No flows"/"No entries"),
  `ipsecctl_print_rule` (`@N ` prefix with -vv), `ipsecctl_print_flow`, `ipsecctl_print_sa`,
  `ipsecctl_print_sabundle`, `ipsecctl_print_addr`.
- sbin/ipsecctl/pfkdump.c v1.58: `pfkey_print_sa` (SA main line, then one TAB-indented line
  per PF_KEY extension with -v), `print_ext`, `print_sa`, `print_counter`.

The parser is pure (no I/O). Anything that does not follow those formats raises
`agent.errors.ParseError` naming the line; it never guesses.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from agent.facts.lines import Line as _Line

# ipsecctl.c: static const char *satype[], direction[], flowtype[], tmode[].
SATYPES = ("esp", "ah", "ipcomp", "tcpmd5", "ipip")
DIRECTIONS = ("in", "out")
FLOW_TYPES = ("use", "acquire", "require", "deny", "bypass", "dontacq")
MODES = ("transport", "tunnel")
# ipsecctl_print_sa: "tunnel/transport is only meaningful for esp/ah/ipcomp".
SATYPES_WITHOUT_MODE = ("tcpmd5", "ipip")

# ipsecctl_print_rule: with -vv every rule starts with "@<nr>" (",<nr>" more with -c) and a space.
_RULE_NUMBER = re.compile(r"@\d+(?:,\d+)* ")
# ipsecctl_print_flow ends every flow with " type <flowtype>"; greedy head = the LAST " type ".
_FLOW_TAIL = re.compile(r"(?P<head>.*) type (?P<type>\S+)")
# ipsecctl_print_addr: inet_ntop() text plus "/bits" when not a host mask. Published captures
# replace addresses with placeholders such as A.B.C.D, so letters are allowed; a '.' or ':'
# is required, which still rejects words, "?" (NULL address) and "{" (-c lists).
_ADDRESS = re.compile(r"[0-9A-Za-z:.]*[.:][0-9A-Za-z:.]*(?:/\d{1,3})?")
# getprotobynumber()/getservbyport() names, or the number when there is no name.
_NAME_OR_NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z._+-]*")
# ipsecctl_print_sa prints "spi 0x%08x"; published captures use placeholders such as
# 0xSPISPI (libreswan consoles), so any alphanumerics after "0x" are kept verbatim.
_HEXISH = re.compile(r"0x[0-9A-Za-z]+")
# Transform names from the encxfs/authxfs/compxfs tables (lower case words with dashes).
_XF_NAME = re.compile(r"[0-9a-z][0-9a-z-]*")

# pfkdump.c v1.58 ext_types[] (plus the older remote_auth/local_cred/remote_cred): with -v each
# extension is printed by print_ext() as "\t<name>: ...".
_EXTENSION_NAMES = frozenset(
    (
        "sa", "lifetime_cur", "lifetime_hard", "lifetime_soft", "address_src", "address_dst",
        "address_proxy", "key_auth", "key_encrypt", "identity_src", "identity_dst", "sensitivity",
        "proposal", "supported_auth", "supported_encrypt", "spirange", "src_mask", "dst_mask",
        "protocol", "flow_type", "src_flow", "dst_flow", "sa2", "dst2", "policy",
        "supported_comp", "udpencap", "lifetime_lastuse", "tag", "rdomain", "replay", "mtu",
        "tap", "satype2", "counter", "interface", "remote_auth", "local_cred", "remote_cred",
    )
)
# Other indented words: "authkey"/"enckey" (-k continuation, ipsecctl_print_sa) and "state"
# (second line of print_sa); counter lines start with a number (print_counter).
_CONTINUATION_WORDS = frozenset(("authkey", "enckey", "state"))

# pfkdump.c pfkey_print_sa picks the main-line enc name from the algorithm AND the key length
# (ENCXF_AES for a 16-byte AES-CBC key prints "aes"), whereas ipsec.conf(5) also accepts the
# explicit names; parse.y parse_xf matches by prefix, so "3des" means 3des-cbc, "cast" cast128.
_ENC_ALIASES = {
    "aes": "aes-128",
    "aesctr": "aes-128-ctr",
    "3des": "3des-cbc",
    "cast": "cast128",
}


@dataclass(frozen=True)
class Flow:
    """One SPD entry as `ipsecctl_print_flow` prints it; absent parts are None."""

    satype: str | None
    direction: str | None
    proto: str | None
    src: str | None
    src_port: str | None
    dst: str | None
    dst_port: str | None
    local: str | None
    peer: str | None
    srcid: str | None
    dstid: str | None
    type: str | None

    def to_json(self) -> dict[str, str | None]:
        """Return the flow as a plain dict with exactly the dataclass fields."""
        return asdict(self)


@dataclass(frozen=True)
class SA:
    """One SAD entry as `ipsecctl_print_sa` prints it (spi verbatim, e.g. "0xdeadbeef")."""

    satype: str | None
    mode: str | None
    src: str | None
    dst: str | None
    spi: str | None
    auth: str | None
    enc: str | None
    comp: str | None

    def to_json(self) -> dict[str, str | None]:
        """Return the SA as a plain dict with exactly the dataclass fields."""
        return asdict(self)


@dataclass(frozen=True)
class IpsecFacts:
    """Flows and SAs in the order ipsecctl printed them (SAs come sorted by SPI)."""

    flows: tuple[Flow, ...]
    sas: tuple[SA, ...]

    def to_json(self) -> dict[str, list[dict[str, str | None]]]:
        """Return {"flows": [...], "sas": [...]} with one plain dict per entry."""
        return {"flows": [f.to_json() for f in self.flows], "sas": [s.to_json() for s in self.sas]}

    def flows_with(self, peer: str) -> tuple[Flow, ...]:
        """Return the flows whose `peer` is exactly `peer` (as printed, no /32)."""
        return tuple(f for f in self.flows if f.peer == peer)

    def sas_between(self, a: str, b: str) -> tuple[SA, ...]:
        """Return the SAs from a to b or from b to a (several are normal while rekeying)."""
        return tuple(s for s in self.sas if {s.src, s.dst} == {a, b})

    def count_flows(self, proto: str, peer: str, direction: str) -> int:
        """How many flows of proto with peer go in direction (counted once for all peers)."""
        return self._flow_counts[(proto, peer, direction)]

    def count_sas(self, src: str, dst: str) -> int:
        """How many SAs go from src to dst (counted once for all pairs)."""
        return self._sa_counts[(src, dst)]

    @cached_property
    def _flow_counts(self) -> Counter[tuple[Any, Any, Any]]:
        return Counter((f.proto, f.peer, f.direction) for f in self.flows)

    @cached_property
    def _sa_counts(self) -> Counter[tuple[Any, Any]]:
        return Counter((s.src, s.dst) for s in self.sas)


def normalize_enc(name: str) -> str:
    """Return the ipsec.conf(5) spelling of an enc name as printed by ipsecctl or configured.

    Ensures names that mean the same transform compare equal: "aes" and "aes-128" both give
    "aes-128", "aesctr" gives "aes-128-ctr"; unknown names are returned lower-cased, unchanged.
    """
    key = name.strip().lower()
    return _ENC_ALIASES.get(key, key)


# --------------------------------------------------------------------------------------------
# Line-level parsing


@dataclass
class _State:
    """Where the parser is: which section, and what may legitimately follow."""

    section: str | None = None  # None (header-less -sf/-ss), "FLOWS:" or "SAD:"
    headers: list[str] = field(default_factory=list)
    empty_marked: bool = False  # "No flows"/"No entries" seen in the current section
    records: int = 0  # records seen in the current section
    after_sa: bool = False  # verbose/key lines may follow an SA line
    continuation_due: bool = False  # previous line ended with " \"
    flows: list[Flow] = field(default_factory=list)
    sas: list[SA] = field(default_factory=list)
    # One string object per distinct word: a thousand peerings repeat "esp", "require", the
    # router's address and the cipher names in every flow and SA (half the facts' memory).
    words: dict[str | None, str | None] = field(default_factory=dict)

    def same(self, *values: str | None) -> Iterator[str | None]:
        """values, each replaced by the equal string seen first in this output."""
        return map(self.words.setdefault, values, values)


_Same = Callable[..., Iterator[str | None]]


class _Tokens:
    """Keyword-driven reader over the space-separated words of one line."""

    def __init__(self, words: list[str], line: _Line) -> None:
        self.words = words
        self.pos = 0
        self.line = line

    def next_word(self, what: str) -> str:
        """Return the next word; fail if the line ends first."""
        if self.pos >= len(self.words):
            self.line.fail(f"line ends where {what} was expected")
        word = self.words[self.pos]
        self.pos += 1
        return word

    def value(self, keyword: str, check: Callable[[str], bool]) -> str:
        """Return the word after the required keyword, checked by `check`."""
        word = self.next_word(repr(keyword))
        if word != keyword:
            self.line.fail(f"expected {keyword!r}, found {word!r}")
        return self._checked(keyword, check)

    def optional(self, keyword: str, check: Callable[[str], bool]) -> str | None:
        """Return the word after `keyword` if the next word is `keyword`, else None."""
        if self.pos < len(self.words) and self.words[self.pos] == keyword:
            self.pos += 1
            return self._checked(keyword, check)
        return None

    def end(self) -> None:
        """Fail unless every word was consumed."""
        if self.pos < len(self.words):
            self.line.fail(f"unexpected {self.words[self.pos]!r}")

    def _checked(self, keyword: str, check: Callable[[str], bool]) -> str:
        word = self.next_word(f"a value after {keyword!r}")
        if not check(word):
            self.line.fail(f"bad value {word!r} after {keyword!r}")
        return word


def _is_address(word: str) -> bool:
    return _ADDRESS.fullmatch(word) is not None


def _is_name(word: str) -> bool:
    return _NAME_OR_NUMBER.fullmatch(word) is not None


def _is_hexish(word: str) -> bool:
    return _HEXISH.fullmatch(word) is not None


def _is_key(word: str) -> bool:
    return word == "0x" or _is_hexish(word)


def _is_xf(word: str) -> bool:
    return _XF_NAME.fullmatch(word) is not None


def _split_ids(head: str, line: _Line) -> tuple[str, str | None, str | None]:
    """Split " srcid X dstid Y" off a flow head; IDs may contain spaces (iked ASN1_DN).

    Ensures srcid is the text between " srcid " and " dstid " (or the end) and dstid the text
    after " dstid " (reference §1.9); an empty ID is an error.
    """
    s = head.find(" srcid ")
    d = head.find(" dstid ", s + 1 if s >= 0 else 0)
    srcid = dstid = None
    if d >= 0:
        dstid = head[d + len(" dstid ") :]
        head = head[:d]
    if s >= 0:
        srcid = head[s + len(" srcid ") :]
        head = head[:s]
    for ident in (srcid, dstid):
        if ident is not None and not ident.strip():
            line.fail("empty srcid/dstid")
    return head, srcid, dstid


def _parse_flow(body: str, line: _Line, same: _Same) -> Flow:
    """Parse one `ipsecctl_print_flow` line (without @N prefix) keyword by keyword."""
    m = _FLOW_TAIL.fullmatch(body)
    if m is None:
        line.fail("flow line does not end with 'type <flowtype>'")
    flow_type = m["type"]
    if flow_type not in FLOW_TYPES:
        line.fail(f"unknown flow type {flow_type!r}")
    head, srcid, dstid = _split_ids(m["head"], line)
    t = _Tokens(head.split(), line)
    t.next_word("'flow'")
    satype = t.next_word("the SA type")
    if satype not in SATYPES:
        line.fail(f"unknown SA type {satype!r}")
    direction = t.next_word("the direction")
    if direction not in DIRECTIONS:
        line.fail(f"unknown direction {direction!r}")
    # Fixed order of ipsecctl_print_flow: proto, from, port, to, port, local, peer.
    proto = t.optional("proto", _is_name)
    src = t.value("from", _is_address)
    src_port = t.optional("port", _is_name)
    dst = t.value("to", _is_address)
    dst_port = t.optional("port", _is_name)
    local = t.optional("local", _is_address)
    peer = t.optional("peer", _is_address)
    t.end()
    return Flow(*same(satype, direction, proto, src, src_port, dst, dst_port, local, peer, srcid,
                      dstid, flow_type))


def _parse_sa(body: str, line: _Line, same: _Same) -> SA:
    """Parse one `ipsecctl_print_sa` line (without @N prefix and trailing " \\")."""
    t = _Tokens(body.split(), line)
    satype = t.next_word("the SA type")
    mode = None
    if t.pos < len(t.words) and t.words[t.pos] in MODES:
        mode = t.next_word("the mode")
    if satype in SATYPES_WITHOUT_MODE and mode is not None:
        line.fail(f"{satype} SAs are printed without a mode")
    if satype not in SATYPES_WITHOUT_MODE and mode is None:
        line.fail(f"{satype} SA line without transport/tunnel")
    src = t.value("from", _is_address)
    dst = t.value("to", _is_address)
    spi = t.value("spi", _is_hexish)
    auth = enc = comp = None
    if satype != "tcpmd5":  # ipsecctl_print_sa prints no transforms for tcpmd5
        auth = t.optional("auth", _is_xf)
        enc = t.optional("enc", _is_xf)
        comp = t.optional("comp", _is_xf)
    # -k: tcpmd5 keys stay on the main line (" authkey 0x..."); keys are not kept as facts.
    # ipsecctl_print_key prints nothing after "0x" for a zero-length key (enc null).
    t.optional("authkey", _is_key)
    t.optional("enckey", _is_key)
    t.end()
    return SA(*same(satype, mode, src, dst, spi, auth, enc, comp))


def _is_verbose_line(content: str) -> bool:
    """True if an indented line is -k/-v content pfkdump.c or ipsecctl.c would print."""
    first = content.split(maxsplit=1)[0]
    if first in _CONTINUATION_WORDS or first[0].isdigit():
        return True
    return first.endswith(":") and first[:-1] in _EXTENSION_NAMES


def _on_indented(state: _State, line: _Line) -> None:
    """Skip -k/-v continuation lines; they are only valid after an SA line."""
    if not state.after_sa:
        line.fail("indented line that does not follow an SA line")
    if not _is_verbose_line(line.text.strip()):
        line.fail("indented line is not ipsecctl -k/-v output")
    state.continuation_due = line.text.endswith(" \\")


def _on_header(state: _State, line: _Line) -> None:
    """Enter the FLOWS:/SAD: section; titles come only first, in that order (ipsecctl_show)."""
    title = line.text
    allowed = not state.headers and not state.records and not state.flows and not state.sas
    if title == "SAD:" and state.headers == ["FLOWS:"]:
        allowed = True
    if not allowed:
        line.fail(f"unexpected section title {title!r}")
    state.headers.append(title)
    state.section = title
    state.empty_marked = False
    state.records = 0
    state.after_sa = False


def _on_empty_marker(state: _State, line: _Line) -> None:
    """Accept "No flows" / "No entries" as the only line of their section."""
    expected = "FLOWS:" if line.text == "No flows" else "SAD:"
    if state.section != expected or state.records or state.empty_marked:
        line.fail(f"{line.text!r} outside an empty {expected} section")
    state.empty_marked = True
    state.after_sa = False


def _on_record(state: _State, line: _Line) -> None:
    """Parse a flow, SA or bundle line, classified by its first word."""
    body = line.text
    if (m := _RULE_NUMBER.match(body)) is not None:
        body = body[m.end() :]
    first = body.split(" ", 1)[0]
    if body.startswith("[bundle ") and body.endswith("]") and state.after_sa:
        # ipsecctl_print_sabundle follows its SA line; bundles are not needed here.
        return
    if first == "flow":
        _check_section(state, line, "FLOWS:")
        state.flows.append(_parse_flow(body, line, state.same))
        state.after_sa = False
    elif first in SATYPES:
        _check_section(state, line, "SAD:")
        state.continuation_due = body.endswith(" \\")
        state.sas.append(_parse_sa(body.removesuffix(" \\"), line, state.same))
        state.after_sa = True
    else:
        line.fail("not an ipsecctl flow or SA line")
    state.records += 1


def _check_section(state: _State, line: _Line, wanted: str) -> None:
    """Fail when a flow appears under SAD: (or an SA under FLOWS:) or after "No ..."."""
    if state.section not in (None, wanted):
        line.fail(f"line does not belong in the {state.section} section")
    if state.empty_marked:
        line.fail("entry after 'No flows'/'No entries'")


def _lines(text: str, source: str) -> Iterator[_Line]:
    """Yield non-blank lines (trailing blanks and CR removed) with 1-based numbers."""
    for number, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.rstrip()
        if stripped:
            yield _Line(source, number, stripped)


def parse_ipsecctl(text: str, source: str = "ipsecctl") -> IpsecFacts:
    """Parse `ipsecctl -sa`, `-s all`, `-sf` or `-ss` output (any of -k, -v, -vv).

    Ensures: every flow/SA line becomes exactly one Flow/SA in input order; section titles,
    "No flows"/"No entries", blank lines, `@N ` prefixes, bundles and -k/-v continuation lines
    are accepted where ipsecctl prints them; any other line raises ParseError naming it.
    Empty text (empty -sf/-ss) gives no flows and no SAs.
    """
    state = _State()
    for line in _lines(text, source):
        indented = line.text[0] in " \t"
        if state.continuation_due and not indented:
            line.fail("continuation line expected after a line ending in '\\'")
        state.continuation_due = False
        if indented:
            _on_indented(state, line)
        elif line.text in ("FLOWS:", "SAD:"):
            _on_header(state, line)
        elif line.text in ("No flows", "No entries"):
            _on_empty_marker(state, line)
        elif line.text.startswith("unknown ext: type ") and state.after_sa:
            continue  # pfkdump.c print_ext: unknown extensions are printed without a TAB (-v)
        else:
            _on_record(state, line)
    return IpsecFacts(tuple(state.flows), tuple(state.sas))
