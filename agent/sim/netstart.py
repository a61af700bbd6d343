"""Simulated `sh /etc/netstart [-n] [interface ...]` (the only `sh` invocation simulated).

Follows etc/netstart v1.229 (2022-11, read from the c0dev0id/src mirror of openbsd/src):
usage(), isin(), stripcom(), parse_hn_line(), ifcreate(), vifscreate(), ifstart(),
ifmstart(), defaultroute() and the main body. What it reproduces:

- `while IFS= read -- _line` (no -r): a backslash escapes the next character and a
  backslash-newline joins lines; a last line without a newline is never seen (read fails).
- `parse_hn_line $_line` splits on IFS (space, tab, newline) with no quote handling, then
  rewrites `inet A B C` to `inet A netmask B broadcast C` (the second word after `inet` is
  always the netmask: the DN42 wiki's `inet 10.20.30.0 10.20.30.1` becomes
  `netmask 10.20.30.1`), `inet6 A N` to `prefixlen N`, `dest X` into the previous command,
  `dhcp` to `inet autoconf`, `!cmd` with `$if` substituted, anything else to `ifconfig IF ...`.
- The commands are `eval`ed by ksh: quotes and backslashes are processed here and the words
  are run through agent.sim.ifconfig.main with the same ctx (with noglob, so no globbing).
- Insecure hostname.if files (any "other" permission bit, or not root:wheel) get
  `WARNING: /etc/hostname.X is insecure, fixing permissions.`, chmod -LR o-rwx and
  chown -LR root:wheel, as ifstart() does, also with -n.
- `-n` prints `{ ifconfig X || ifconfig X create; }` (once from vifscreate for clonable
  names, once from ifstart) and the commands instead of running them.

Deliberate limits of the simulator (a real router would do these):
- `!command` lines and words with unquoted shell metacharacters (`$`, backquote, `;`, `|`,
  `&`, `<`, `>`, `(`, `)`, a leading `~`) are not evaluated: the whole interface is skipped
  with `peerops sim: refusing to evaluate shell construct in /etc/hostname.X line N` on
  stderr and the exit status is 1 (real netstart exits 0). With -n they are only printed.
- route(8) is not simulated: default routes from /etc/mygate and the multicast/127 reject
  routes are printed with -n and otherwise skipped (the simulated router has no routes).
- `need root privileges` cannot happen (the simulator always runs as root); soii.key, DAD
  waits and autoconf waits are no-ops.
"""

from __future__ import annotations

import re
import stat as statmod
from dataclasses import dataclass, field
from typing import Any

from agent.errors import PeeropsError
from agent.sim import ifconfig, libc
from agent.sim.libc import Exit

SCRIPT = "/etc/netstart"
PROG = "netstart"  # ${0##*/} when run as `sh /etc/netstart`
ETC = "/etc"
# ifmstart() driver lists of the full (no argument) run, netstart v1.229.
DELAYED = "aggr trunk svlan vlan carp pppoe tun tap gif etherip gre egre nvgre eoip vxlan pflow wg"
FIRST = "aggr trunk svlan vlan carp pppoe"
LAST = "tun tap gif etherip gre egre nvgre eoip vxlan pflow wg"


@dataclass
class _Cmd:
    """One entry of ifstart()'s _cmds array and the hostname.if line that made it."""

    text: str
    line: int
    bang: bool = False


@dataclass
class _Run:
    """The script's globals for one invocation."""

    ctx: Any
    print_only: bool = False
    v4_autoconf: bool = False
    v6_autoconf: bool = False
    refused: bool = False
    created: list[str] = field(default_factory=list)


def main(ctx: Any, args: list[str]) -> int:
    """`sh /etc/netstart [-n] [interface ...]`; any other sh use is refused (rc 127)."""
    if not args or args[0] != SCRIPT:
        shown = " ".join(["sh", *args])
        ctx.eprint(f"peerops sim: `{shown}`: only `sh {SCRIPT} [-n] [interface ...]`"
                   " is simulated")
        return 127
    run = _Run(ctx)
    try:
        names = _getopts(run, args[1:])
        if names:
            vifscreate(run, names)
            for name in names:
                ifstart(run, name)
            defaultroute(run)
        else:
            _full_run(run)
    except Exit as stop:
        return stop.rc
    return 1 if run.refused else 0


def _getopts(run: _Run, args: list[str]) -> list[str]:
    """`getopts ":n"` (silent: no message of its own): -n sets PRINT_ONLY; any other option
    is usage() (exit 1)."""
    parsed, operands, error = libc.getopt("sh", args, "n")
    if error is not None:
        libc.usage(run.ctx, f"usage: sh {SCRIPT} [-n] [interface ...]")
    run.print_only = bool(parsed)
    return operands


def _full_run(run: _Run) -> None:
    """The no-argument path: lo0, pseudo-interface creation, the ifmstart() groups, routes."""
    if run.print_only:
        run.ctx.print("ifconfig lo0 inet 127.0.0.1/8")
    else:
        _ifconfig(run, ["lo0", "inet", "127.0.0.1/8"])
    vifscreate(run, None)
    ifmstart(run, "", DELAYED)
    ifmstart(run, FIRST, "")
    defaultroute(run)
    if _rc_conf(run).get("multicast") != "YES":
        _route(run, "route -qn delete 224.0.0.0/4")
        _route(run, "route -qn add -net 224.0.0.0/4 -interface 127.0.0.1 -reject")
    _route(run, "route -qn add -net 127 127.0.0.1 -reject")
    ifmstart(run, LAST, "")


def _rc_conf(run: _Run) -> dict[str, str]:
    from agent.sim import rcctl  # netstart sources rc.subr and runs _rc_parse_conf

    return rcctl.rc_conf_values(run.ctx)


def _route(run: _Run, command: str) -> None:
    """route(8) is not simulated: print with -n, otherwise nothing happens."""
    if run.print_only:
        run.ctx.print(command)


# -- files ------------------------------------------------------------------------------------


def _hostname_files(run: _Run, pattern: str, only: list[str] | None = None) -> list[str]:
    """`/etc/hostname.<pattern>` glob results that are regular files, in glob (sorted) order;
    with `only`, just those of these interfaces (what the script keeps of the glob), found
    without listing /etc, so the cost does not grow with the number of other interfaces."""
    try:
        if only is not None:
            names = sorted({f"hostname.{name}" for name in only})
        else:
            names = run.ctx.files.listdir(ETC) or []
    except OSError:
        return []
    out = []
    for fname in names:
        if not fname.startswith("hostname."):
            continue
        ifname = fname[len("hostname."):]
        if re.fullmatch(pattern, ifname) and _is_file(run, f"{ETC}/{fname}"):
            out.append(ifname)
    return out


def _is_file(run: _Run, path: str) -> bool:
    """test -f: a regular file (links followed)."""
    st = run.ctx.files.stat(path)
    return st is not None and statmod.S_ISREG(st.st_mode)


def read_lines(data: bytes) -> list[tuple[int, str]]:
    """`while IFS= read -- _line` without -r: backslash-newline continues the line, a
    backslash escapes (and is removed from) the next character; an unterminated last line
    makes read fail, so it is dropped. Returns (first physical line number, line)."""
    text = data.decode("utf-8", "surrogateescape")
    if "\\" not in text:  # no continuation, no escape: the physical lines, the last one ended
        return list(enumerate(text.split("\n")[:-1], start=1))
    lines: list[tuple[int, str]] = []
    buf: list[str] = []
    lineno = start = 1
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "\n":
                lineno += 1
            else:
                buf.append(nxt)
            i += 2
            continue
        if ch == "\n":
            lines.append((start, "".join(buf)))
            buf = []
            lineno += 1
            start = lineno
        elif ch != "\\":
            buf.append(ch)
        i += 1
    return lines


def split_ifs(line: str) -> list[str]:
    """Unquoted `$_line` expansion: split on IFS (space, tab, newline), no quote removal."""
    return [w for w in re.split(r"[ \t\n]+", line) if w]


# -- parse_hn_line -----------------------------------------------------------------------------


def parse_hn_line(words: list[str], ifname: str, cmds: list[_Cmd], lineno: int, run: _Run) -> None:
    """netstart parse_hn_line(): turn one hostname.if line into _cmds entries."""
    c = list(words)
    if not c or c[0].startswith("#"):
        return
    head = c[0]
    if head == "inet":
        _hn_inet(c, ifname, cmds, lineno, run)
    elif head == "inet6":
        _hn_inet6(c, ifname, cmds, lineno, run)
    elif head == "dest":
        _hn_dest(c, cmds, lineno)
    elif head == "dhcp":
        cmds.append(_Cmd(f"ifconfig {ifname} inet autoconf", lineno))
        run.v4_autoconf = True
    elif head.startswith("!"):
        text = " ".join(c).replace("$if", ifname)
        cmds.append(_Cmd(text[1:], lineno, bang=True))
    else:
        cmds.append(_Cmd(f"ifconfig {ifname} " + " ".join(c), lineno))


def _hn_inet(c: list[str], ifname: str, cmds: list[_Cmd], lineno: int, run: _Run) -> None:
    """`inet [alias] ADDR [MASK [BCAST|NONE]] ...`: fields become netmask/broadcast."""
    if len(c) <= 1:
        return
    if c[1] == "autoconf":
        cmds.append(_Cmd(f"ifconfig {ifname} " + " ".join(c), lineno))
        run.v4_autoconf = True
        return
    mask, bc = (3, 4) if c[1] == "alias" else (2, 3)
    if len(c) > mask and c[mask]:
        c[mask] = f"netmask {c[mask]}"
    if len(c) > bc and c[bc]:
        c[bc] = "" if c[bc].endswith("NONE") else f"broadcast {c[bc]}"
    cmds.append(_Cmd(f"ifconfig {ifname} " + " ".join(c), lineno))


def _hn_inet6(c: list[str], ifname: str, cmds: list[_Cmd], lineno: int, run: _Run) -> None:
    """`inet6 [alias] ADDR [PREFIXLEN] ...`: the third field becomes `prefixlen N`."""
    if len(c) <= 1:
        return
    if c[1] == "autoconf":
        cmds.append(_Cmd(f"ifconfig {ifname} " + " ".join(c), lineno))
        run.v6_autoconf = True
        return
    prefix = 3 if c[1] == "alias" else 2
    if len(c) > prefix and c[prefix]:
        c[prefix] = f"prefixlen {c[prefix]}"
    cmds.append(_Cmd(f"ifconfig {ifname} " + " ".join(c), lineno))


def _hn_dest(c: list[str], cmds: list[_Cmd], lineno: int) -> None:
    """`dest ADDR`: insert ADDR after the address word of the previous command (word 3, or
    4 after `alias`); the command is re-split on IFS first, as `set -A _c -- ${...}` does."""
    if len(c) != 2 or not cmds:
        return
    prev = cmds[-1]
    words = split_ifs(prev.text)
    name = 4 if len(words) > 3 and words[3] == "alias" else 3
    if name < len(words):
        words[name] = f"{words[name]} {c[1]}"
    else:
        words.append(f" {c[1]}")  # unset array element: "${_c[3]} $_daddr" is " ADDR"
    cmds[-1] = _Cmd(" ".join(words), lineno, bang=prev.bang)


# -- eval --------------------------------------------------------------------------------------

_META = set(";&|<>()`")
# Text eval_words splits at blanks and nothing else: none of # ~ $ quotes backslash _META.
_PLAIN_WORDS = re.compile(r"[A-Za-z0-9_./:,=+%@ \t\n-]*")
_DQ_ESCAPABLE = set('$`"\\')


class _Refuse(PeeropsError):
    """The eval'd text would expand or run something: the simulator refuses it."""


def eval_words(text: str) -> list[str]:
    """Split an eval'd command like ksh does (quotes, backslashes, `#` comments); raise
    _Refuse for anything that would expand or run something (see module docstring)."""
    if _PLAIN_WORDS.fullmatch(text):  # nothing quoted, escaped, expanded or commented
        return text.split()
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t\n":
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
            i += 1
            continue
        if ch == "#" and not in_word:
            break
        if ch in _META or (ch == "~" and not in_word) or _is_expansion(text, i):
            raise _Refuse
        i = _word_char(text, i, cur)
        in_word = True
    if in_word:
        words.append("".join(cur))
    return words


def _is_expansion(text: str, i: int) -> bool:
    """`$` followed by a name, digit, special parameter, `{` or `(` starts an expansion."""
    if text[i] != "$" or i + 1 >= len(text):
        return False
    nxt = text[i + 1]
    return nxt.isalnum() or nxt in "_{(@*#?$!-"


def _word_char(text: str, i: int, cur: list[str]) -> int:
    """Consume one quoted or unquoted piece of a word at i; return the next index."""
    ch = text[i]
    if ch == "\\":
        if i + 1 < len(text):
            cur.append(text[i + 1])
        return i + 2
    if ch == "'":
        end = text.find("'", i + 1)
        if end < 0:
            raise _Refuse  # ksh: syntax error (unterminated quote); nothing runs
        cur.append(text[i + 1:end])
        return end + 1
    if ch == '"':
        return _double_quoted(text, i + 1, cur)
    cur.append(ch)
    return i + 1


def _double_quoted(text: str, i: int, cur: list[str]) -> int:
    """Inside "...": backslash escapes only $ ` " \\; $ and ` would expand (refused)."""
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return i + 1
        if ch == "`" or _is_expansion(text, i):
            raise _Refuse
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in _DQ_ESCAPABLE:
            cur.append(text[i + 1])
            i += 2
            continue
        cur.append(ch)
        i += 1
    raise _Refuse  # unterminated double quote: a syntax error in ksh


# -- ifcreate / vifscreate / ifstart / ifmstart ------------------------------------------------


def _ifconfig(run: _Run, argv: list[str], quiet: bool = False) -> int:
    """Run agent.sim.ifconfig with the same ctx; quiet discards its output (>/dev/null 2>&1)."""
    ctx = run.ctx
    if not quiet:
        return ifconfig.main(ctx, argv)
    saved = ctx.out, ctx.err
    ctx.out, ctx.err = [], []
    try:
        return ifconfig.main(ctx, argv)
    finally:
        ctx.out, ctx.err = saved


def ifcreate(run: _Run, name: str) -> bool:
    """`{ ifconfig X || ifconfig X create; }` (printed with -n); True when it succeeded."""
    if run.print_only:
        run.ctx.print(f"{{ ifconfig {name} || ifconfig {name} create; }}")
        return True
    if _ifconfig(run, [name], quiet=True) == 0:
        return True
    return _ifconfig(run, [name, "create"], quiet=True) == 0


def vifscreate(run: _Run, names: list[str] | None) -> None:
    """Create the pseudo-interfaces (those of `ifconfig -C`) that have a hostname file,
    limited to `names` when given; lo1..N are skipped (the kernel makes them)."""
    # With names, only their drivers' turn can find anything (a name is its driver + unit).
    drivers = None if names is None else {n.rstrip("0123456789") for n in names}
    for vif in sorted(ifconfig.CLONERS):
        if drivers is not None and vif not in drivers:
            continue
        for ifname in _hostname_files(run, re.escape(vif) + r"[0-9]+", names):
            if re.fullmatch(r"lo[1-9].*", ifname):
                continue
            if not ifcreate(run, ifname):
                run.ctx.eprint(f"{PROG}: create for '{ifname}' failed.")


def _fix_permissions(run: _Run, path: str) -> None:
    """ifstart(): `ls -nL` must end in `---` (mode) `0 0` (owner), else warn and fix."""
    st = run.ctx.files.stat(path)
    assert st is not None  # noqa: S101 - ifstart checked it is a file
    mode = st.st_mode
    uid, gid = run.ctx.owner(path)
    if f"{statmod.filemode(mode)}{uid}{gid}".endswith("---00"):
        return
    run.ctx.eprint(f"WARNING: {path} is insecure, fixing permissions.")
    run.ctx.files.chmod(path, statmod.S_IMODE(mode) & ~0o007)
    run.ctx.chown(path, 0, 0)


def ifstart(run: _Run, name: str) -> None:
    """ifstart(): validate the name, check the file, fix its permissions, make sure the
    interface exists, parse every line, then print or evaluate the commands."""
    if not re.fullmatch(r"[A-Za-z]+[0-9]+", name):
        return
    path = f"{ETC}/hostname.{name}"
    if not _is_file(run, path):
        run.ctx.eprint(f"{PROG}: {path}: No such file or directory.")
        return
    _fix_permissions(run, path)
    if not ifcreate(run, name):
        return
    cmds: list[_Cmd] = []
    for lineno, line in read_lines(run.ctx.files.read(path) or b""):
        parse_hn_line(split_ifs(line), name, cmds, lineno, run)
    if run.print_only:
        for cmd in cmds:
            run.ctx.print(cmd.text)
        return
    _eval_all(run, path, cmds)


def _eval_all(run: _Run, path: str, cmds: list[_Cmd]) -> None:
    """Evaluate the commands in order, after checking that none needs a real shell."""
    argvs: list[list[str]] = []
    for cmd in cmds:
        try:
            if cmd.bang:
                raise _Refuse
            argvs.append(eval_words(cmd.text))
        except _Refuse:
            run.ctx.eprint("peerops sim: refusing to evaluate shell construct"
                           f" in {path} line {cmd.line}")
            run.refused = True
            return
    for argv in argvs:
        if not argv:
            continue
        if argv[0] != "ifconfig":
            run.ctx.eprint(f"peerops sim: {argv[0]}: command not simulated")
            run.refused = True
            continue
        _ifconfig(run, argv[1:])


def ifmstart(run: _Run, wanted: str, skipped: str) -> None:
    """ifmstart(): start the hostname.if interfaces of the wanted drivers (all when empty),
    except the skipped drivers, in glob order per wanted driver."""
    skip = skipped.split()
    for sif in wanted.split() or ["ALL"]:
        for ifname in _hostname_files(run, r"[A-Za-z]+[0-9]+"):
            driver = re.sub(r"[0-9].*$", "", ifname)
            if driver in skip:
                continue
            if sif in ("ALL", driver):
                ifstart(run, ifname)


def _stripcom(run: _Run, path: str) -> list[str]:
    """stripcom(): lines whose text before `#` is not empty, whitespace-trimmed by `read`
    (the comment itself stays on the line, as the script prints the whole line)."""
    if not _is_file(run, path):
        return []
    out = []
    for _, line in read_lines(run.ctx.files.read(path) or b""):
        line = line.strip(" \t\n")
        if line.split("#", 1)[0]:
            out.append(line)
    return out


def defaultroute(run: _Run) -> None:
    """defaultroute(): one IPv4 and one IPv6 default route from /etc/mygate (printed with
    -n; route(8) is not simulated, so nothing else happens)."""
    v4set = v6set = False
    for gw in _stripcom(run, f"{ETC}/mygate"):
        if gw.startswith("!"):
            command = gw[1:]
        elif ":" not in gw:
            if v4set or run.v4_autoconf:
                continue
            command, v4set = f"route -qn add -host default {gw}", True
        else:
            if v6set or run.v6_autoconf:
                continue
            command, v6set = f"route -qn add -host -inet6 default {gw}", True
        _route(run, command)
