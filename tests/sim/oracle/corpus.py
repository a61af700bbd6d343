"""The generated corpus: variants of an `ike` rule covering what ipsec.conf(5) can say.

Every crypto value of parse.y's tables (and prefixes and unknown names), each identity type,
every lifetime form, macros, comments, continuation lines, includes, and bad input. Host
names are literal addresses only: a name would make both sides ask DNS. For the same reason
there is no classful IPv4 form ("10.1"): glibc's getaddrinfo() takes it as a number
(inet_aton), OpenBSD's (lib/libc/asr/asr_utils.c `_asr_sockaddr_from_str`, inet_pton) does
not and asks DNS, so the oracle's libc would decide that case, not OpenBSD's grammar.
"""

from __future__ import annotations

from tests.sim.oracle.harness import Case

# Each table's names (parse.y `authxfs`, `encxfs`, `groupxfs`), prefixes of them (parse_xf
# matches a prefix), and names that match nothing (BAD: a parse error that stops the load).
AUTH = ("none", "hmac-md5", "hmac-ripemd160", "hmac-sha1", "hmac-sha2-256", "hmac-sha2-384",
        "hmac-sha2-512", "unknown", "hmac-sha2", "hmac", '""')
AUTH_BAD = ("sha1", "HMAC-MD5", "hmac-sha2-256x", "")
AEAD = ("aes-128-gcm", "aes-192-gcm", "aes-256-gcm", "aes-128-gmac", "aes-192-gmac",
        "aes-256-gmac", "chacha20-poly1305", "aes-256-g", "chacha")
ENC = ("none", "3des-cbc", "aes", "aes-128", "aes-192", "aes-256", "aesctr", "aes-128-ctr",
       "aes-192-ctr", "aes-256-ctr", "blowfish", "cast128", "null", "unknown", "3des", "aes-2",
       '""')
ENC_BAD = ("des", "AES", "aes-512", "twofish", "")
GROUPS = ("none", "modp768", "modp1024", "modp1536", "modp2048", "modp3072", "modp4096",
          "modp6144", "modp8192", "ecp256", "ecp384", "ecp521", "ecp224", "bp224", "bp256",
          "bp384", "bp512", "grp1", "grp2", "grp5", "grp14", "grp15", "grp16", "grp17", "grp18",
          "grp19", "grp20", "grp21", "grp26", "grp27", "grp28", "grp29", "grp30", "unknown",
          "modp", "ecp", "bp", "grp", '""')
GROUPS_BAD = ("grp3", "modp512", "ecp255", "MODP2048", "")
IDS = ("srcid 192.0.2.1", "dstid {peer}", "srcid 2001:db8::1 dstid 2001:db8::7",
       "srcid rtr1.example.net dstid peer.example.org", "srcid noc@example.net",
       "dstid noc@example.net", 'srcid "a b"', "dstid {peer} srcid 192.0.2.1",
       "srcid", "srcid 192.0.2.1 dstid", "srcid @host dstid user@", "srcid 10.1 dstid ::")

RULE = {
    "mode": "active", "satype": "esp", "tmode": "transport", "proto": "proto gre",
    "hosts": "from 192.0.2.1 to {peer}", "peer": "peer {peer}",
    "main": "main auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 28800",
    "quick": "quick auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 3600",
    "ids": "srcid 192.0.2.1 dstid {peer}", "auth": "rsa", "tag": "",
}


def rule(n: int = 7, **parts: str) -> str:
    """One `ike` line to peer 198.51.100.n with the given parts replaced (an empty part is
    left out)."""
    merged = RULE | parts
    words = (v.replace("{peer}", f"198.51.100.{n}") for v in merged.values() if v)
    return " ".join(["ike", *words]) + "\n"


def batch(name: str, variants: list[dict[str, str]], parses: bool | None = None) -> Case:
    """One file with a rule per variant, each to its own peer: yacc recovers from an error at
    the end of its line, so every line is judged, and the file stays one run. `parses`: what
    OpenBSD's grammar must say of the whole file (a file meant to load must not fail to parse,
    or `-f` would test nothing)."""
    text = "".join(rule(n, **parts) for n, parts in enumerate(variants, 1))
    return Case(name, text, parses=parses)


def _crypto() -> list[Case]:
    """Every value of every table in each place, in files that parse (so -f loads them and
    ike.c's load-time refusals show), and the names that match nothing in files that do not."""
    return [
        batch("main-auth", [{"main": f"main auth {x} enc aes-256"} for x in AUTH], True),
        batch("quick-auth", [{"quick": f"quick auth {x} enc aes-256"} for x in AUTH], True),
        batch("main-enc", [{"main": f"main auth hmac-sha1 enc {x}"} for x in ENC + AEAD], True),
        batch("quick-enc", [{"quick": f"quick auth hmac-sha1 enc {x}"} for x in ENC], True),
        batch("quick-enc-only", [{"quick": f"quick enc {x} group none"} for x in ENC + AEAD],
              True),
        batch("main-group", [{"main": f"main group {x}"} for x in GROUPS], True),
        batch("quick-group", [{"quick": f"quick group {x}"} for x in GROUPS], True),
        batch("crypto-forms", [
            {"main": "main auth hmac-sha1 enc aes lifetime 600"},
            {"main": "", "quick": ""},
            {"main": "main"},
            {"quick": "quick"},
            {"quick": "quick lifetime 600"},
            {"main": "aggressive auth hmac-sha1 enc aes group modp1024"},
            {"quick": "quick comp deflate"},
        ], True),
        batch("quick-aead-with-auth", [{"quick": f"quick auth hmac-sha1 enc {x}"}
                                       for x in AEAD], False),
        batch("bad-names", [{"main": f"main auth {x}"} for x in AUTH_BAD]
              + [{"quick": f"quick enc {x}"} for x in ENC_BAD]
              + [{"main": f"main group {x}"} for x in GROUPS_BAD], False),
        batch("bad-forms", [
            {"main": "main auth hmac-sha1 auth hmac-md5"},
            {"quick": "quick enc aes enc bogus"},
            {"quick": "quick comp lzs"},
            {"main": "", "quick": "quick enc aes main enc aes"},
            {"main": "main auth"},
        ], False),
    ]


# parse_life() err()s out of ipsecctl on a bad string, so each string form is a file of its
# own; NUMBER tokens never fail and share one.
NUMBER_LIFETIMES = ("3600", "0", "1", "-1", "2147483647", "2147483648", "99999999999", "010")
STRING_LIFETIMES = ("60m", "1h", "2H", "5M", "10s", "1d", "x", '"3600"', '"1h"', '"h"', '""',
                    '" 7m"', "0x10", "1h1", "+5", "")


def _lifetimes() -> list[Case]:
    cases = [
        batch("lifetime-numbers", [{"main": f"main enc aes lifetime {x}", "quick":
                                    f"quick lifetime {x}"} for x in NUMBER_LIFETIMES], True),
    ]
    for i, life in enumerate(STRING_LIFETIMES):
        cases.append(Case(f"quick-lifetime-{i}", rule(quick=f"quick lifetime {life}")))
    cases += [Case(f"main-lifetime-{i}", rule(main=f"main enc aes lifetime {life}"))
              for i, life in enumerate(("60m", "1d", '"x"'))]
    return cases


def _identities() -> list[Case]:
    return [batch("ids", [{"ids": ids} for ids in IDS]), batch("ids-that-load", [
        {"ids": ids} for ids in IDS[:6]], True), batch("ike-auth", [
        {"auth": 'psk "s3cret"'}, {"auth": "psk s3cret"}, {"auth": "psk"}, {"auth": ""},
        {"tag": 'tag "gre"'}, {"tag": "tag x"}, {"tag": "tag"},
    ])]


def _rules() -> list[Case]:
    """Modes, SA types, host forms, peers and the default peer."""
    variants = [{"mode": m} for m in ("passive", "dynamic", "")]
    variants += [{"satype": s} for s in ("ah", "ipcomp", "ipip", "")]
    variants += [{"tmode": t} for t in ("tunnel", "")]
    variants += [{"proto": f"proto {p}"}
                 for p in ("esp", "ah", "tcp", "udp", "47", "0", "255", "256", "nosuch", "GRE")]
    hosts = (
        "from 2001:db8::1 to 2001:db8::7", "from 10.0.0.0/24 to 10.0.1.0/24",
        "from 10.0.0.0/8 to {peer}", "from any to {peer}", "from any to any",
        "to {peer} from 192.0.2.1", "from { 192.0.2.1, 192.0.2.2 } to {peer}",
        "from { 192.0.2.1 2001:db8::1 } to { {peer}, 2001:db8::7 }",
        "from 192.0.2.1 to 2001:db8::7", "from 300.1.1.1 to {peer}",
        "from 192.0.2.1/33 to {peer}", "from 2001:db8::/32 to 2001:db8:1::/48",
        "from 192.0.2.1 port 500 to {peer} port isakmp", "from 192.0.2.1 {peer}",
        "from 192.0.2.1/24 to {peer}/32", "from { } to {peer}",
    )
    variants += [{"hosts": h} for h in hosts]
    variants += [
        {"proto": "proto tcp", "hosts": "from 192.0.2.1 port 179 to {peer} port 65535"},
        {"proto": "proto udp", "hosts": "from 192.0.2.1 port 70000 to {peer}"},
        {"proto": "proto tcp", "hosts": "from 192.0.2.1 port nosuch to {peer}"},
    ]
    variants += [{"peer": p} for p in (
        "peer 198.51.100.250 local 192.0.2.1", "local 192.0.2.1", "local 192.0.2.1 peer {peer}",
        "peer 2001:db8::7", "peer 10.0.0.0/8", "peer",
    )]
    default = {"hosts": "from 10.0.0.0/24 to 10.0.1.0/24", "peer": ""}
    return [
        batch("rules", variants),
        batch("default-peer", [default, {"hosts": "from 10.0.2.0/24 to 10.0.3.0/24",
                                         "peer": "", "ids": "", "auth": 'psk "x"'}]),
        batch("peer-any", [{"peer": "peer any"}, {"peer": "peer any", "ids": ""}]),
        Case("same-rule-twice", rule() + rule()),
        Case("netmask-bad", rule(hosts="from 192.0.2.0/abc to {peer}")),
    ]


def _syntax() -> list[Case]:
    """Macros, comments, continuation lines, includes, file modes and bad input."""
    r = rule()
    cont = ("ike active esp transport proto gre from 192.0.2.1 to 198.51.100.7 \\\n"
            "\tpeer 198.51.100.7 \\\n\tmain auth hmac-sha1 enc aes group modp2048 \\\n"
            "\tquick enc aes-256-gcm group none srcid 192.0.2.1 rsa\n")
    line_errors = "".join((
        rule(1, ids='srcid "a#b"'), rule(2, ids='srcid "ab\\\ncd"'), "frobnicate\n",
        rule(3, peer="peer $nobody"), "ike\n", rule(4, tag="tag $"), "ike from\n", rule(5),
        "ike from\nike to\nike esp\n", rule(6), "ike \xe9sp\n", rule(8),
        "ike esp from 1 to 2\n", rule(9).rstrip("\n") + " junk\n", rule(10),
        '"a b" = "1"\n', 'x "1"\n', rule(11), '"" = "2"\n', "= \n", rule(12),
    ))
    return [
        Case("line-errors", line_errors),
        Case("empty", ""),
        Case("blank-lines", "\n\n  \n\t\n"),
        Case("comment-only", "# nothing here\n"),
        Case("comments", "# head\n" + r.rstrip("\n") + " # trailing\n# tail"),
        Case("no-final-newline", r.rstrip("\n")),
        Case("continuation", cont),
        Case("continuation-comment", "# a comment \\\n" + r),
        Case("continuation-space", r.replace(" main", " \\ \n main")),
        Case("continuation-eof", r.rstrip("\n") + " \\"),
        Case("crlf", r.replace("\n", "\r\n")),
        Case("macros", 'me = "192.0.2.1"\nthem = "198.51.100.7"\n'
                       "ike esp transport proto gre from $me to $them peer $them\n"),
        Case("macro-words", 'crypto = "enc aes group modp2048"\n'
                            + rule(main="main $crypto")),
        Case("macro-keyword-name", 'local = "192.0.2.1"\n' + r),
        Case("macro-unused", 'x = "1"\ny = "2"\n' + rule(tag="tag $y"),
             modes=("-n", "-nv", "-nvv", "-f")),
        Case("macro-redefined", 'x = "1"\nx = "2"\n' + rule(tag="tag $x")),
        Case("macro-cmdline", "ike esp from $me to $them\n",
             macros=("me=192.0.2.1", "them=198.51.100.7")),
        Case("macro-cmdline-wins", 'me = "10.9.9.9"\nike esp from $me to 198.51.100.7\n',
             macros=("me=192.0.2.1",)),
        Case("macro-cmdline-bad", r, macros=("novalue", "a=b=c")),
        Case("include", 'include "inc.conf"\n', includes={"inc.conf": r}),
        Case("include-missing", 'include "nosuch.conf"\n' + r),
        Case("include-bare", "include inc.conf\n", includes={"inc.conf": r}),
        Case("include-error", 'include "inc.conf"\n' + r,
             includes={"inc.conf": "ike bogus\n"}),
        Case("mode-0644", r, mode=0o644),
        Case("mode-0640", r, mode=0o640),
        Case("mode-0620", r, mode=0o620),
        Case("ike-alone", "ike\n"),
        Case("unterminated-quote", 'x = "abc\n' + r),
        Case("quote-eof", 'x = "abc'),
        Case("nul-byte", "ike \x00\n" + r),
        Case("long-word", 'x = "' + "a" * 9000 + '"\n' + r),
        Case("long-number", "ike esp lifetime 99999999999999999999\n"),
        # Unquoted words at and around the lexer's buffer (BUFSIZE 8096), and a word that a
        # backslash-newline joins: the simulated lexer takes plain runs at once.
        *(Case(f"long-bare-word-{n}", "ike esp tag " + "a" * n + "\n" + r)
          for n in (8094, 8095, 8096)),
        Case("bare-word-continued", rule(tag="tag ab\\\ncd")),
        Case("bare-word-escaped", rule(tag="tag ab\\qcd")),
        Case("bare-word-long-tag", rule(tag="tag " + "t" * 8094)),
        Case("fatal-after-output", "ike from\n" + rule(1) + rule(2, quick="quick lifetime 1d")
             + rule(3)),
        Case("netmask-fatal-after-output", rule(1) + "ike from\n"
             + rule(2, hosts="from 192.0.2.0/abc to {peer}")),
    ]


def generated() -> dict[str, list[Case]]:
    """The whole generated corpus by group (names are unique)."""
    groups = {"crypto": _crypto(), "lifetimes": _lifetimes(), "identities": _identities(),
              "rules": _rules(), "syntax": _syntax()}
    names = [c.name for cases in groups.values() for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    return groups
