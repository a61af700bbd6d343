"""agent.sim.parse_y and agent.sim.ike_conf: ipsec.conf as parse.y reads it, and the isakmpd
commands of ike.c."""

from __future__ import annotations

import pytest

from agent.sim.ike_conf import delete_config, gen_config, ike_print_config
from agent.sim.libc import getopt
from agent.sim.parse_y import (
    AUTHXFS,
    ENCXFS,
    GROUPXFS,
    NotSimulated,
    ParseOptions,
    ParseResult,
    check_file_secrecy,
    cmdline_symset,
    parse_rules,
    parse_xf,
)

CONF = "/etc/ipsec.conf"

# openbsd-captures.md A1: the DN42 wiki's ipsec.conf.
A1_CONF = """\
mymachine = "3.4.5.6"
mypeer    = "1.3.3.7"
ike esp transport proto gre from $mymachine to $mypeer \\
  main auth hmac-sha1 enc aes-128 group modp1536 lifetime 28800 \\
  quick auth hmac-sha1 enc aes-128 group modp1536 lifetime 3600
"""

# openbsd-reference.md 2.7: the team's reference rule.
REF_CONF = """\
# comment
local_ip = "192.0.2.1"
peer_ip  = "198.51.100.7"
ike active esp transport proto gre from $local_ip to $peer_ip peer $peer_ip \\
    main auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 28800 \\
    quick auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 3600 \\
    srcid 192.0.2.1 dstid 198.51.100.7 tag "dn42"
"""


def parse(text: str, files: dict[str, str] | None = None, **opts: object) -> ParseResult:
    """parse_rules on text, with `files` as the includable files; -v prints as ipsecctl."""
    options = ParseOptions(**opts)  # type: ignore[arg-type]
    options.print_rule = lambda rule: ike_print_config(rule, False, "localhost")
    return parse_rules(CONF, text, options, lambda path: (files or {}).get(path))


def test_a1_config_gives_the_isakmpd_names() -> None:
    result = parse(A1_CONF)
    assert not result.failed and result.err == []
    [rule] = result.rules
    assert rule.p2name == "from-3.4.5.6=47-to-1.3.3.7=47"
    assert rule.key == rule.p2name
    assert rule.p1name == "peer-1.3.3.7"  # no `peer`: the destination host is the peer
    assert (rule.satype, rule.tmode, rule.proto, rule.ikemode) == ("esp", "transport", 47, "active")
    assert rule.p1xfs is not None and rule.p2xfs is not None
    assert (rule.p1xfs.auth.name, rule.p1xfs.enc.name, rule.p1xfs.group.name) == (  # type: ignore[union-attr]
        "hmac-sha1",
        "aes-128",
        "modp1536",
    )
    assert (rule.p1life, rule.p2life) == (28800, 3600)
    assert rule.auth == "rsa" and rule.srcid is None and rule.tag is None


def test_reference_rule_sends_ids_and_tag_to_isakmpd() -> None:
    result = parse(REF_CONF)
    [rule] = result.rules
    assert (rule.srcid, rule.srcid_type, rule.dstid_type) == ("192.0.2.1", "IPV4_ADDR", "IPV4_ADDR")
    text = gen_config(rule).text
    p2 = "from-192.0.2.1=47-to-198.51.100.7=47"
    for line in (
        "C set [Phase 1]:198.51.100.7=peer-198.51.100.7 force",
        "C set [peer-198.51.100.7]:ID=id-192.0.2.1 force",
        "C set [id-192.0.2.1]:ID-type=IPV4_ADDR force",
        "C set [id-192.0.2.1]:Address=192.0.2.1 force",
        "C set [peer-198.51.100.7]:Remote-ID=id-198.51.100.7 force",
        f"C set [{p2}]:PF-Tag=dn42 force",
        f"C set [{p2}]:Local-ID=from-192.0.2.1=47 force",
        "C set [from-192.0.2.1=47]:Protocol=47 force",
        f"C add [Phase 2]:Connections={p2}",
    ):
        assert line + "\n" in text
    assert text.endswith(f"C add [Phase 2]:Connections={p2}\n")


def test_gen_config_transform_names_follow_ike_c() -> None:
    [rule] = parse(A1_CONF).rules
    text = gen_config(rule).text
    p1xf = "phase1-transform-peer-1.3.3.7-RSA_SIG-SHA-AES128-MODP_1536"
    p2 = "from-3.4.5.6=47-to-1.3.3.7=47"
    p2xf = f"phase2-transform-{p2}-AES128-SHA-MODP_1536-TRANSPORT"
    assert f"C add [phase1-peer-1.3.3.7]:Transforms={p1xf} force\n" in text
    assert f"C set [{p1xf}]:KEY_LENGTH=128,128:128 force\n" in text
    assert f"C set [{p1xf}-life]:LIFE_DURATION=28800 force\n" in text
    assert f"C set [phase2-protocol-{p2}]:Transforms={p2xf} force\n" in text
    assert f"C set [{p2xf}]:AUTHENTICATION_ALGORITHM=HMAC_SHA force\n" in text
    assert f"C set [{p2xf}]:ENCAPSULATION_MODE=TRANSPORT force\n" in text


def test_defaults_are_tunnel_active_and_modp3072() -> None:
    [rule] = parse("ike from 10.0.0.1 to 10.0.0.2\n").rules
    assert (rule.tmode, rule.ikemode, rule.satype) == ("tunnel", "active", "esp")
    text = gen_config(rule).text
    assert "RSA_SIG-SHA-AES128-MODP_3072 force\n" in text  # phase 1: AES 128:256, SHA, modp3072
    assert "]:Life=LIFE_MAIN_MODE force\n" in text
    assert "-AES128-SHA2_256-MODP_3072-TUNNEL force\n" in text  # phase 2: hmac-sha2-256
    assert "]:Life=LIFE_QUICK_MODE force\n" in text


def test_passive_rule_is_a_passive_connection() -> None:
    [rule] = parse("ike passive esp from 10.0.0.1 to 10.0.0.2\n").rules
    assert gen_config(rule).text.endswith(
        "C add [Phase 2]:Passive-Connections=from-10.0.0.1-to-10.0.0.2\n"
    )
    assert delete_config(rule).text == (
        "t from-10.0.0.1-to-10.0.0.2\n"
        "C rmv [Phase 2]:Passive-Connections=from-10.0.0.1-to-10.0.0.2\n"
        "C rms [from-10.0.0.1-to-10.0.0.2]\n"
        "C rms [phase2-from-10.0.0.1-to-10.0.0.2]\n"
    )


def test_group_order_is_fixed_srcid_after_psk_is_a_syntax_error() -> None:
    text = (
        "ike esp transport proto gre from 192.0.2.1 to 198.51.100.7 \\\n"
        '    psk "s3cret" \\\n'
        "    srcid 192.0.2.1\n"
    )
    result = parse(text)
    assert result.failed and result.rules == []
    assert result.err == ["/etc/ipsec.conf: 3: syntax error"]  # the physical line of `srcid`


def test_errors_count_physical_lines_of_continued_rules() -> None:
    text = (
        "# first line\n"
        "ike esp transport proto gre from 192.0.2.1 to 198.51.100.7 \\\n"
        "    main auth hmac-sha1 enc aes \\\n"
        "    quick auth hmac-sha9 enc aes\n"
    )
    result = parse(text)
    assert result.err == ["/etc/ipsec.conf: 4: hmac-sha9 not a valid transform"]
    assert result.failed


def test_transform_keywords_match_by_prefix() -> None:
    result = parse(
        "ike esp from 10.0.0.1 to 10.0.0.2 main enc 3des auth hmac-sha2 group grp14 "
        'quick enc "cast" auth hmac-sha1\n'
    )
    [rule] = result.rules
    assert rule.p1xfs is not None and rule.p2xfs is not None
    assert rule.p1xfs.enc.name == "3des-cbc"  # type: ignore[union-attr]
    assert rule.p1xfs.auth.name == "hmac-sha2-256"  # type: ignore[union-attr]
    assert rule.p1xfs.group.ident == "MODP_2048"  # type: ignore[union-attr]
    assert rule.p2xfs.enc.name == "cast128"  # type: ignore[union-attr]
    assert parse_xf("aes", ENCXFS).name == "aes"  # type: ignore[union-attr]
    assert parse_xf("aes-512", ENCXFS) is None
    assert parse_xf("n", AUTHXFS).name == "none"  # type: ignore[union-attr]
    assert parse_xf("modp", GROUPXFS).name == "modp768"  # type: ignore[union-attr]


def test_transform_errors() -> None:
    result = parse(
        "ike esp from 10.0.0.1 to 10.0.0.2 quick auth hmac-sha1 auth hmac-md5 enc aes-512\n"
    )
    assert result.err == [
        "/etc/ipsec.conf: 1: auth already set",
        "/etc/ipsec.conf: 1: aes-512 not a valid transform",
    ]
    assert result.failed


def test_aead_cipher_refuses_an_auth_transform() -> None:
    result = parse("ike esp from 10.0.0.1 to 10.0.0.2 quick enc aes-256-gcm auth hmac-sha1\n")
    assert result.err == ["/etc/ipsec.conf: 1: authentication is implicit for aes-256-gcm"]
    assert result.rules == []


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("28800", 28800),
        ("8h", 28800),
        ("60m", 3600),
        ("2H", 7200),
        ('"120"', 120),
    ],
)
def test_lifetime_units(value: str, seconds: int) -> None:
    [rule] = parse(f"ike esp from 10.0.0.1 to 10.0.0.2 quick enc aes lifetime {value}\n").rules
    assert rule.p2life == seconds


def test_invalid_time_unit_is_fatal() -> None:
    result = parse("ike from\nike esp from 10.0.0.1 to 10.0.0.2 quick enc aes lifetime 10x\n")
    # parse.y parse_life: err(1, "invalid time unit"); errno is ENOENT from host_if's ioctl.
    # What was printed before stays (the oracle prints the syntax error of line 1 first).
    assert (result.failed, result.exit) == (True, 1)
    assert result.err == ["/etc/ipsec.conf: 1: syntax error",
                          "ipsecctl: invalid time unit: No such file or directory"]


def test_undefined_macro_also_swallows_the_next_line() -> None:
    result = parse("ike esp from $local to 10.0.0.2\nike esp from 10.0.0.1 to 10.0.0.2\n")
    # findeol() consumes the newline, the ERROR token is a syntax error, and byacc's
    # recovery then discards tokens up to the *next* newline.
    assert result.err == [
        "/etc/ipsec.conf: 1: macro 'local' not defined",
        "/etc/ipsec.conf: 1: syntax error",
    ]
    assert result.rules == [] and result.failed


def test_byacc_reports_no_new_error_within_three_tokens() -> None:
    result = parse("foo bar\nike bogus\nike esp from 10.0.0.1 to 10.0.0.2\n")
    assert result.err == ["/etc/ipsec.conf: 1: syntax error"]
    assert [r.p2name for r in result.rules] == ["from-10.0.0.1-to-10.0.0.2"]
    assert result.failed


def test_last_line_without_newline_is_a_syntax_error() -> None:
    result = parse("\n\nike esp from 10.0.0.1 to 10.0.0.2")
    assert result.err == ["/etc/ipsec.conf: 3: syntax error"]
    assert result.failed


def test_unknown_protocol_and_port_range() -> None:
    assert parse("ike esp proto foo from 10.0.0.1 to 10.0.0.2\n").err == [
        "/etc/ipsec.conf: 1: unknown protocol: foo"
    ]
    assert parse("ike esp proto 256 from 10.0.0.1 to 10.0.0.2\n").err == [
        "/etc/ipsec.conf: 1: protocol outside range"
    ]
    assert parse("ike esp proto gre from 10.0.0.1 port 22 to 10.0.0.2\n").err == [
        "/etc/ipsec.conf: 1: no protocol supplied with source/destination ports"
    ]
    [rule] = parse("ike esp proto udp from 10.0.0.1 port l2tp to 10.0.0.2\n").rules
    assert rule.p2name == "from-10.0.0.1=17:1701-to-10.0.0.2=17"


def test_bad_address_messages() -> None:
    result = parse("ike esp from 300.1.1.1 to 10.0.0.2\n")
    assert result.err == [
        "no IP address found for 300.1.1.1",
        "/etc/ipsec.conf: 1: could not parse host specification",
    ]
    assert parse("ike esp from 10.0.0.1 to 2001:db8::1\n").err == [
        "/etc/ipsec.conf: 1: source/destination address families do not match"
    ]


def test_any_expands_to_both_families_and_default_peer() -> None:
    result = parse("ike esp from any to any\n")
    assert [r.p2name for r in result.rules] == ["from-0.0.0.0/0-to-0.0.0.0/0", "from-::/0-to-::/0"]
    assert {r.p1name for r in result.rules} == {"peer-default"}
    assert [r.nr for r in result.rules] == [0, 1]


def test_ipv6_names_are_compressed_and_networks_keep_their_length() -> None:
    [rule] = parse("ike esp transport from 2001:DB8:0::1 to 2001:db8::0:2\n").rules
    assert rule.p2name == "from-2001:db8::1-to-2001:db8::2"
    assert rule.p1name == "peer-2001:db8::2"
    [net] = parse("ike esp from 10.1.0.0/16 to 10.2.0.0/16 peer 192.0.2.9 local 192.0.2.1\n").rules
    assert net.p1name == "peer-192.0.2.9-local-192.0.2.1"
    text = gen_config(net).text
    assert "C set [from-10.1.0.0/16]:ID-type=IPV4_ADDR_SUBNET force\n" in text
    assert "C set [from-10.1.0.0/16]:Netmask=255.255.0.0 force\n" in text


def test_not_simulated_constructs_are_refused_loudly() -> None:
    with pytest.raises(NotSimulated):
        parse("flow esp from 10.0.0.0/24 to 10.0.1.0/24 peer 192.0.2.1\n")
    with pytest.raises(NotSimulated):
        parse("ike esp from gw.example.org to 10.0.0.1\n")
    with pytest.raises(NotSimulated):
        parse("ike esp from egress to 10.0.0.1\n")


def test_macros_cmdline_overrides_file_and_verbose_prints() -> None:
    text = 'peer_ip = "10.0.0.2"\nike esp from 10.0.0.1 to $peer_ip\n'
    result = parse(text, macros=[("peer_ip", "10.9.9.9")], verbose=1)
    [rule] = result.rules
    assert rule.dst.name == "10.9.9.9"
    assert result.out[0] == 'peer_ip = "10.0.0.2"\n'
    assert result.out[1].startswith("C set [Phase 1]:10.9.9.9=peer-10.9.9.9 force\n")
    assert cmdline_symset("a=b=c") == ("a=b", "c") and cmdline_symset("nope") is None


def test_verbose2_numbers_rules_and_warns_unused_macros() -> None:
    result = parse('unused = "x"\nike esp from 10.0.0.1 to 10.0.0.2\n', verbose=2)
    out = "".join(result.out)
    assert out.startswith('unused = "x"\n@0 C set [Phase 1]:10.0.0.2=peer-10.0.0.2 force\n')
    assert result.err == ["warning: macro 'unused' not used"]


def test_include_reads_rules_and_reports_its_own_name() -> None:
    files = {"/etc/ipsec.peers": "ike esp from 10.0.0.1 to 10.0.0.3\nbogus\n"}
    result = parse('include "/etc/ipsec.peers"\nike esp from 10.0.0.1 to 10.0.0.2\n', files)
    assert [r.p2name for r in result.rules] == [
        "from-10.0.0.1-to-10.0.0.3",
        "from-10.0.0.1-to-10.0.0.2",
    ]
    # parse.y's include pushes back a '\n' that is counted in the new file, so lines in an
    # included file are reported one too high (inferred from the code).
    assert result.err == ["/etc/ipsec.peers: 3: syntax error"]
    missing = parse('include "/etc/nope"\n')
    assert missing.err == [
        "ipsecctl: pushfile: /etc/nope: No such file or directory",
        "/etc/ipsec.conf: 1: failed to include file /etc/nope",
    ]


def test_quoted_strings_and_comments() -> None:
    text = (
        'x = "10.0.0.1" # trailing comment\n'
        "ike esp from $x to '10.0.0.2' psk \"two words\" # comment\n"
    )
    [rule] = parse(text).rules
    assert (rule.src.name, rule.dst.name, rule.psk) == ("10.0.0.1", "10.0.0.2", "two words")


def test_illegal_phase1_transforms_fail_in_ike_c_not_in_the_parser() -> None:
    [rule] = parse("ike esp from 10.0.0.1 to 10.0.0.2 main enc aes-128-gcm\n").rules
    gen = gen_config(rule)
    assert not gen.ok
    assert gen.warnings == ["ipsecctl: illegal transform aes-128-gcm"]
    assert gen.text.endswith("C set [phase1-peer-10.0.0.2]:EXCHANGE_TYPE=ID_PROT force\n")
    [ripemd] = parse("ike esp from 10.0.0.1 to 10.0.0.2 main auth hmac-ripemd160\n").rules
    assert gen_config(ripemd).warnings == ["ipsecctl: illegal transform hmac-ripemd160"]
    [nogroup] = parse("ike esp from 10.0.0.1 to 10.0.0.2 main group none\n").rules
    assert gen_config(nogroup).warnings == ["ipsecctl: illegal group none"]


def test_quick_group_none_means_no_pfs() -> None:
    [rule] = parse(
        "ike esp transport from 10.0.0.1 to 10.0.0.2 quick enc aes-256 group none\n"
    ).rules
    text = gen_config(rule).text
    xf = "phase2-transform-from-10.0.0.1-to-10.0.0.2-AES256-SHA2_256-NONE-TRANSPORT"
    assert f"]:Transforms={xf} force\n" in text
    assert f"C set [{xf}]:GROUP_DESCRIPTION" not in text


def test_file_secrecy_check_current_rule() -> None:
    assert check_file_secrecy(CONF, 0, 0o100600) is None
    assert check_file_secrecy(CONF, 0, 0o100640) is None
    assert check_file_secrecy(CONF, 0, 0o100660) == (
        "ipsecctl: /etc/ipsec.conf: group writable or world read/writable"
    )
    assert check_file_secrecy(CONF, 0, 0o100604) is not None
    assert check_file_secrecy(CONF, 1000, 0o100600) == (
        "ipsecctl: /etc/ipsec.conf: owner not root or current user"
    )


def test_getopt_like_openbsd() -> None:
    assert getopt("ipsecctl", ["-nvf", "x", "-sa"], "cD:df:Fi:kmnvs:") == (
        [("n", ""), ("v", ""), ("f", "x"), ("s", "a")],
        [],
        None,
    )
    assert getopt("ipsecctl", ["-f"], "f:")[2] == "ipsecctl: option requires an argument -- f"
    assert getopt("ipsecctl", ["-q"], "f:")[2] == "ipsecctl: unknown option -- q"
    assert getopt("ipsecctl", ["-n", "extra", "-v"], "nv") == ([("n", "")], ["extra", "-v"], None)


def test_a_nul_byte_ends_the_input() -> None:
    """yylex returns the NUL character as token 0, yacc's end of input: the rule after it is
    never read (OpenBSD's grammar, tests/sim/oracle, does the same)."""
    result = parse("ike \0\n" + A1_CONF, verbose=1)
    assert result.failed and result.rules == [] and result.out == []
    assert result.err == ["/etc/ipsec.conf: 1: syntax error"]


def _tokens(text: str) -> list[tuple[str, object, int]]:
    """Every token of text (kind, value, the line yylex set) up to $end."""
    from agent.sim.parse_y import Lexer, _Diag, _File

    diag = _Diag()
    lexer = Lexer(_File(CONF, text), diag, lambda path: None)
    out = []
    while True:
        tok = lexer.yylex()
        out.append((tok.kind, tok.value, diag.lineno))
        if tok.kind == "$end":
            return out


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # Blanks and tabs are skipped; a word ends at a blank, a newline and EOF.
        (" \t ike\tesp \n", [("IKE", None, 1), ("ESP", None, 1), ("\n", None, 1),
                             ("$end", None, 2)]),
        # ... and at `{` and a non-ASCII character; a quote inside a word is part of it; `#`
        # after a word begins a comment.
        ('a{b"c d"é x', [("STRING", "a", 1), ("{", None, 1), ("STRING", 'b"c', 1),
                          ("STRING", 'd"', 1), ("é", None, 1), ("STRING", "x", 1),
                          ("$end", None, 1)]),
        ("w#c\nv", [("STRING", "w", 1), ("\n", None, 1), ("STRING", "v", 2), ("$end", None, 2)]),
        # A backslash inside a word is dropped before anything but a newline; before a
        # newline it joins the next line to the word (and counts the line).
        ("ab\\cd ef\\\ngh \\\n  ij\n", [("STRING", "abcd", 1), ("STRING", "efgh", 1),
                                          ("STRING", "ij", 3), ("\n", None, 3),
                                          ("$end", None, 4)]),
        # A number, then a word that starts like one, then a comment and a last word at EOF.
        ("3600 192.0.2.1 #x y\nend", [("NUMBER", 3600, 1), ("STRING", "192.0.2.1", 1),
                                       ("\n", None, 1), ("STRING", "end", 2),
                                       ("$end", None, 2)]),
    ],
)
def test_the_lexer_takes_words_and_blanks_as_parse_y_does(
    text: str, tokens: list[tuple[str, object, int]]
) -> None:
    """Words, blanks, quotes, comments and continued lines as parse.y's yylex takes them
    (its fast path for a run of plain characters included), with the line each token is
    reported on."""
    assert _tokens(text) == tokens
