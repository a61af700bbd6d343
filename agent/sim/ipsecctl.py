"""ipsecctl(8) for the simulated router: `main(ctx, args)` with argv after "ipsecctl".

Source: sbin/ipsecctl/ipsecctl.c v1.88 (2024): `main` (getopt "cD:df:Fi:kmnvs:", then flush,
then rules, then show, then monitor), `usage`, `ipsecctl_lookup_option`, `ipsecctl_rules`,
`ipsecctl_commit`, `ipsecctl_show` / `ipsecctl_print_title` / `ipsecctl_print_flow` /
`ipsecctl_print_sa` / `ipsecctl_print_addr`; sbin/ipsecctl/ike.c `ike_ipsec_establish`;
sbin/ipsecctl/parse.y `pushfile` / `check_file_secrecy` (see agent.sim.parse_y).

Exit status: 0, or 1 on any error (err/errx exit 1 at once; a failed rule load makes 1).
The simulator runs commands as root, so getuid() is 0 in the file secrecy check.

Not simulated (a message on stderr, exit 1): -v together with a show of SAs (pfkdump's
verbose extension dump), and what agent.sim.parse_y refuses. -m (monitor) blocks for ever
(WouldBlock) after the other actions, as the real one never returns.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from agent.sim import ike, isakmpd, libc
from agent.sim.host import WouldBlock
from agent.sim.ike_conf import delete_config, gen_config, ike_print_config
from agent.sim.libc import Exit, getopt
from agent.sim.parse_y import (
    PROTO_BY_NUMBER,
    SERVICE_BY_PORT,
    IkeRule,
    NotSimulated,
    ParseOptions,
    ParseResult,
    check_file_secrecy,
    cmdline_symset,
    parse_rules,
)

USAGE = "usage: ipsecctl [-cdFkmnv] [-D macro=value] [-f file] [-i fifo] [-s modifier]"
SHOW_OPTIONS = ("flow", "sa", "all")
STATE_KEY = "ipsec"  # state["ipsec"] = {"flush_generation": int}: bumped by every -F


@dataclass
class Opts:
    """What getopt collected (ipsecctl.c `opts` bits and arguments)."""

    collapse: bool = False
    delete: bool = False
    flush: bool = False
    showkey: bool = False
    monitor: bool = False
    noaction: bool = False
    verbose: int = 0
    show: str | None = None
    rules: str | None = None
    fifo: str = isakmpd.FIFO
    macros: list[tuple[str, str]] = field(default_factory=list)


def usage(ctx: Any) -> NoReturn:
    """ipsecctl.c `usage`: the usage line on stderr, exit 1."""
    libc.usage(ctx, USAGE)


def lookup_option(cmd: str) -> str | None:
    """ipsecctl.c `ipsecctl_lookup_option`: `cmd` is a prefix of flow, sa or all."""
    if not cmd:
        return None
    return next((opt for opt in SHOW_OPTIONS if opt.startswith(cmd)), None)


def _parse_args(ctx: Any, args: list[str]) -> Opts:
    """The getopt loop of `main`; usage errors exit."""
    if not args:
        usage(ctx)
    parsed, operands, error = getopt("ipsecctl", args, "cD:df:Fi:kmnvs:")
    opts = Opts()
    for ch, arg in parsed:
        _apply_option(ctx, opts, ch, arg)
    if error is not None:
        ctx.eprint(error)
        usage(ctx)
    if operands:
        ctx.eprint(f"ipsecctl: unknown command line argument: {operands[0]} ...")
        usage(ctx)
    return opts


_FLAGS = {
    "c": "collapse",
    "d": "delete",
    "F": "flush",
    "k": "showkey",
    "m": "monitor",
    "n": "noaction",
}
_VALUES = {"f": "rules", "i": "fifo"}


def _apply_option(ctx: Any, opts: Opts, ch: str, arg: str) -> None:
    """One option of the getopt loop, in command-line order."""
    if ch in _FLAGS:
        setattr(opts, _FLAGS[ch], True)
    elif ch in _VALUES:
        setattr(opts, _VALUES[ch], arg)
    elif ch == "v":
        opts.verbose += 1
    elif ch == "D":
        macro = cmdline_symset(arg)
        if macro is None:
            ctx.eprint(f"ipsecctl: could not parse macro definition {arg}")
        else:
            opts.macros.append(macro)
    elif ch == "s":
        opts.show = lookup_option(arg)
        if opts.show is None:
            ctx.eprint(f"ipsecctl: Unknown show modifier '{arg}'")
            usage(ctx)


def main(ctx: Any, args: list[str]) -> int:
    """ipsecctl: flush, load (or delete) rules, show, monitor, in that order."""
    opts = _parse_args(ctx, args)
    error = 0
    flushed = False
    if opts.flush and not opts.noaction:
        flush(ctx.state)
        flushed = True
    if opts.rules is not None and load_rules(ctx, opts):
        error = 1
    if opts.show is not None:
        show(ctx, opts, flushed)
    if opts.monitor:
        raise WouldBlock("ipsecctl -m monitors PF_KEY for ever")
    return error


def flush(state: dict[str, Any]) -> None:
    """pfkey_ipsec_flush: every SA and flow goes; isakmpd keeps its config and negotiates
    again, so the SAs come back with new SPIs (a new flush generation)."""
    ipsec = state.setdefault(STATE_KEY, {"flush_generation": 0})
    ipsec["flush_generation"] = int(ipsec.get("flush_generation", 0)) + 1


# -- -f: load / delete -------------------------------------------------------------------------


def _abs(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _read_config(ctx: Any, path: str) -> tuple[str, str] | None:
    """parse.y `pushfile(name, 1)`: (name, text), or None after printing why not."""
    if path == "-":
        return "stdin", ctx.stdin or ""
    st = ctx.files.stat(_abs(path))
    if st is None:
        ctx.eprint(f"ipsecctl: pushfile: {path}: No such file or directory")
        return None
    mode = st.st_mode
    problem = check_file_secrecy(path, ctx.owner(_abs(path))[0], mode)
    if problem is not None:
        ctx.eprint(problem)
        return None
    # fopen(3) succeeds on a directory; reading it then fails at once, like an empty file.
    text = (ctx.files.read(_abs(path)) or b"").decode("latin-1") if stat.S_ISREG(mode) else ""
    return path, text


def _include(ctx: Any, path: str) -> str | None:
    st = ctx.files.stat(_abs(path))
    if st is None:
        return None
    return (ctx.files.read(_abs(path)) or b"").decode("latin-1") if stat.S_ISREG(st.st_mode) else ""


def hostname(ctx: Any) -> str:
    """gethostname(3): /etc/myname as /etc/rc sets it, else the simulated host's name."""
    data = ctx.files.read("/etc/myname")
    if data is not None:
        name = data.decode(errors="replace").strip().splitlines()
        if name:
            return name[0]
    return str(ctx.host.name)


def load_rules(ctx: Any, opts: Opts) -> int:
    """ipsecctl.c `ipsecctl_rules`: parse, then (unless -n) send the rules to isakmpd."""
    opened = _read_config(ctx, opts.rules or "")
    if opened is None:
        ctx.eprint("ipsecctl: Syntax error in config file: ipsec rules not loaded")
        return 1
    name, text = opened
    me = hostname(ctx)
    popts = ParseOptions(
        verbose=opts.verbose,
        show=opts.show is not None,
        macros=opts.macros,
        print_rule=lambda rule: ike_print_config(rule, opts.delete, me),
    )
    try:
        result = _parse_once(name, text, popts, lambda p: _include(ctx, p))
    except NotSimulated as exc:
        ctx.eprint(f"peerops sim: ipsecctl: {exc} are not simulated")
        raise Exit(1) from exc
    ctx.out.extend(result.out)
    for line in result.err:
        ctx.eprint(line)
    if result.exit is not None:
        raise Exit(result.exit)  # err(3) in the parser, after what it printed so far
    if result.failed:
        ctx.eprint("ipsecctl: Syntax error in config file: ipsec rules not loaded")
        return 1
    if opts.noaction:
        return 0
    return commit(ctx, opts, result.rules, name)


# The agent checks a new ipsec.conf (`ipsecctl -n -f <temp>`), then loads it; a thousand rules
# take this Python parser about a second (OpenBSD's yacc parser, milliseconds). A text that
# parsed cleanly (nothing printed: no -v, no warning, no include) is kept for the next command
# of the process: the file's name appears only in messages, and such a parse printed none.
_CLEAN: dict[tuple[str, tuple[tuple[str, str], ...], bool], list[IkeRule]] = {}


def _parse_once(
    name: str, text: str, popts: ParseOptions, opener: Callable[[str], str | None]
) -> ParseResult:
    """parse_rules(), or the rules of an earlier clean parse of the same text."""
    key = (text, tuple(popts.macros), popts.show)
    if popts.verbose == 0 and key in _CLEAN:  # once: the load that follows the check
        return ParseResult(_CLEAN.pop(key), [], [], False)
    included: list[str] = []

    def opening(path: str) -> str | None:
        included.append(path)
        return opener(path)

    result = parse_rules(name, text, popts, opening)
    clean = not (result.out or result.err or result.failed or included)
    if popts.verbose == 0 and clean and result.exit is None:
        _CLEAN.clear()  # only the last one: what the next command asks for
        _CLEAN[key] = list(result.rules)
    return result


def commit(ctx: Any, opts: Opts, rules: list[IkeRule], name: str) -> int:
    """ipsecctl.c `ipsecctl_commit` for ike rules: one FIFO write per rule."""
    failed = False
    for rule in rules:
        open_fifo(ctx, opts.fifo)
        gen = delete_config(rule) if opts.delete else gen_config(rule, hostname(ctx))
        complete = gen.text.split("\n")[:-1]  # a partial last line never reaches isakmpd
        isakmpd.apply_commands(ctx.state, complete)
        for warning in gen.warnings:
            ctx.eprint(warning)
        if not gen.ok:
            action = "delete" if opts.delete else "add"
            ctx.eprint(f"ipsecctl: failed to {action} ike rule {rule.nr}")
            failed = True
    return 1 if failed else 0


def open_fifo(ctx: Any, fifo: str) -> None:
    """ike.c `ike_ipsec_establish`: open(fifo, O_WRONLY), fstat, S_ISFIFO.

    A FIFO nobody reads (isakmpd killed or crashed: a clean stop removes it) blocks the open
    for ever.
    """
    st = ctx.files.stat(_abs(fifo))
    if st is None:
        ctx.eprint(f"ipsecctl: ike_ipsec_establish: open({fifo}): No such file or directory")
        raise Exit(1) from None
    if stat.S_ISDIR(st.st_mode):
        ctx.eprint(f"ipsecctl: ike_ipsec_establish: open({fifo}): Is a directory")
        raise Exit(1)
    if not stat.S_ISFIFO(st.st_mode):
        ctx.eprint(f"ipsecctl: ike_ipsec_establish: {fifo} not a fifo")
        raise Exit(1)
    if not isakmpd.fifo_has_reader(ctx.state, fifo, st):
        raise WouldBlock(f"open({fifo}, O_WRONLY) blocks: no isakmpd reads it")


# -- -s: show ------------------------------------------------------------------------------------


def show(ctx: Any, opts: Opts, flushed: bool) -> None:
    """ipsecctl.c `ipsecctl_show`: flows in kernel order, SAs sorted by SPI."""
    flows_wanted = opts.show in ("flow", "all")
    sas_wanted = opts.show in ("sa", "all")
    show_all = opts.show == "all"
    if opts.verbose and sas_wanted:
        ctx.eprint(
            "peerops sim: ipsecctl: -v with an SA dump (pfkdump extensions) is not simulated"
        )
        raise Exit(1)
    # Right after `-F` in the same run the kernel is empty (isakmpd has not renegotiated yet).
    if flushed:
        view = ike.IkeView([], [], {})
    else:  # a plain look (nothing loaded before it) may reuse the view an earlier one kept
        view = ike.observe(ctx.host.root, ctx.state, kept=opts.rules is None)
    titles = 0
    if flows_wanted:
        titles = _title(ctx, "FLOWS:", titles) if show_all else titles
        for nr, flow in enumerate(view.flows):
            prefix = f"@{nr} " if opts.verbose > 1 else ""
            ctx.print(prefix + render_flow(flow, opts.collapse))
        if not view.flows and show_all:
            ctx.print("No flows")
    if sas_wanted:
        titles = _title(ctx, "SAD:", titles) if show_all else titles
        for sa in sorted(view.sas, key=lambda s: s.spi):
            ctx.print(render_sa(sa, opts.showkey))
        if not view.sas and show_all:
            ctx.print("No entries")


def _title(ctx: Any, title: str, count: int) -> int:
    """ipsecctl.c `ipsecctl_print_title`: an empty line before every title but the first."""
    if count:
        ctx.print()
    ctx.print(title)
    return count + 1


def _port(port: int, proto: int) -> str:
    """ipsecctl_print_port: getservbyport(port, tcp or udp), else the number."""
    return SERVICE_BY_PORT.get((port, "tcp" if proto == 6 else "udp"), str(port))


def render_flow(flow: ike.KernelFlow, collapse: bool = False) -> str:
    """ipsecctl.c `ipsecctl_print_flow` (isakmpd flows have a peer but no local)."""
    text = f"flow {flow.satype} {flow.direction}"
    if flow.proto:
        text += f" proto {PROTO_BY_NUMBER.get(flow.proto, str(flow.proto))}"
    text += " from " + (f"{{ {flow.src} }}" if collapse else flow.src)
    if flow.sport:
        text += f" port {_port(flow.sport, flow.proto)}"
    text += " to " + (f"{{ {flow.dst} }}" if collapse else flow.dst)
    if flow.dport:
        text += f" port {_port(flow.dport, flow.proto)}"
    text += f" peer {flow.peer} srcid {flow.srcid} dstid {flow.dstid} type {flow.ftype}"
    return text


def render_sa(sa: ike.KernelSA, showkey: bool = False) -> str:
    """ipsecctl.c `ipsecctl_print_sa` as pfkdump.c `pfkey_print_sa` fills it in."""
    text = f"{sa.satype} {sa.tmode} from {sa.src} to {sa.dst} spi 0x{sa.spi:08x}"
    if sa.auth:
        text += f" auth {sa.auth}"
    if sa.enc:
        text += f" enc {sa.enc}"
    if showkey and sa.authkey:  # AEAD SAs have an auth key too (sadb_sa_auth is GMAC)
        text += f" \\\n\tauthkey 0x{sa.authkey.hex()}"
    if showkey and sa.enc is not None:  # enc null has a zero-length key: "enckey 0x"
        text += f" \\\n\tenckey 0x{sa.enckey.hex()}"
    return text
