"""Simulated sysctl(8) for the kernel variables a GRE/IPsec router touches.

Source: sbin/sysctl/sysctl.c v1.268 (2025): main() (getopt "Aaf:nqw", the -f line
handling), parse() (name=value split, "%s: value is %s: %s", "%s: %d -> %d", -n and -q,
"use netstat to view %s information", "name %s in %s is unknown"), sysctl_inet()/
sysctl_inet6() ("third"/"fourth" levels, "%s: no variables defined for this protocol"),
findname() ("%s level name %s in %s is invalid"), usage(). Name tables: sys/sysctl.h
CTL_NAMES, sys/socket.h CTL_NET_NAMES, netinet/ip_gre.h GRECTL_NAMES, netinet/ip_esp.h
ESPCTL_NAMES (ah and ipcomp alike). Kernel bounds: sys/net/if_gre.c gre_vars (0..1),
netinet/ipsec_input.c espctl_vars/ahctl_vars/ipcompctl_vars, netinet/ip_input.c ipctl_vars
and netinet6/ip6_input.c ipv6ctl_vars (forwarding 0..2); out of bounds is EINVAL.

sysctl(8) exits 0 even when a name is invalid (parse() only warns); only usage and -f
errors exit 1. Values live in state["sysctl"] (agent/sim/state.py DEFAULT_SYSCTL, plus
DEFAULTS below for names that file does not list).

Simplification: only the names below are modelled. A name that exists on OpenBSD but is not
modelled (any kern.*, hw.*, net.inet.tcp.*, -a, ...) is refused with
`peerops sim: sysctl: NAME is not simulated` and exit status 1 instead of guessing a value.
Unknown names are reported as sysctl does only at levels whose name list is complete here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from agent.sim import libc
from agent.sim.libc import Exit, strtonum

PROG = "sysctl"
EINVAL = "Invalid argument"
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

# sys/sysctl.h CTL_NAMES (index 0 is unused; "gap" entries have no second level).
TOP = ("kern", "vm", "gap", "net", "debug", "hw", "machdep", "ddb", "vfs")
# sys/socket.h CTL_NET_NAMES.
NET = ("unix", "inet", "implink", "pup", "chaos", "xerox_ns", "iso", "ecma", "datakit", "ccitt",
       "ibm_sna", "decnet", "dec_dli", "lat", "hylink", "appletalk", "route", "link", "xtp",
       "coip", "cnt", "rtip", "ipx", "inet6", "pip", "isdn", "natm", "encap", "sip", "key",
       "bpf", "bluetooth", "mpls", "pflow", "pipex")
# parse(): the net.* families sysctl knows how to walk; the others "use netstat".
NET_WALKED = ("inet", "inet6", "unix", "link", "bpf", "mpls", "pipex")
# Fourth-level tables known completely: unknown names there are "invalid" as on OpenBSD.
COMPLETE = {
    ("inet", "gre"): {"allow": "int", "wccp": "int"},
    ("inet", "esp"): {"enable": "int", "udpencap": "int", "udpencap_port": "int",
                      "stats": "struct"},
    ("inet", "ah"): {"enable": "int", "stats": "struct"},
    ("inet", "ipcomp"): {"enable": "int", "stats": "struct"},
}
# Fourth-level tables known only in part: other names are refused as not simulated.
PARTIAL = {("inet", "ip"): {"forwarding": "int"}, ("inet6", "ip6"): {"forwarding": "int"}}
BOUNDS = {
    "net.inet.gre.allow": (0, 1), "net.inet.gre.wccp": (0, 1),
    "net.inet.esp.enable": (0, 1), "net.inet.esp.udpencap": (0, 1),
    "net.inet.esp.udpencap_port": (0, 65535), "net.inet.ah.enable": (0, 1),
    "net.inet.ipcomp.enable": (0, 1), "net.inet.ip.forwarding": (0, 2),
    "net.inet6.ip6.forwarding": (0, 2),
}
# Defaults not in state.DEFAULT_SYSCTL: ipsec_input.c udpencap_enable = 1, port 4500.
DEFAULTS = {"net.inet.esp.udpencap": 1, "net.inet.esp.udpencap_port": 4500}


@dataclass
class _Opts:
    nflag: bool = False
    qflag: bool = False
    conffile: str | None = None
    listall: bool = False
    refused: bool = False


def _usage(ctx: Any) -> NoReturn:
    libc.usage(ctx, f"usage: {PROG} [-Aanq] [-f file] [name[=value] ...]")


def _getopt(ctx: Any, args: list[str]) -> tuple[_Opts, list[str]]:
    """main()'s getopt(3) loop with "Aaf:nqw"."""
    parsed, operands, error = libc.getopt(PROG, args, "Aaf:nqw")
    if error is not None:
        ctx.eprint(error)
        _usage(ctx)
    opts = _Opts()
    for ch, arg in parsed:
        if ch == "f":
            opts.conffile = arg
        opts.listall |= ch in "Aa"
        opts.nflag |= ch == "n"
        opts.qflag |= ch == "q"
    return opts, operands


def main(ctx: Any, args: list[str]) -> int:
    """sysctl(8): read or set the named variables; returns the exit status."""
    try:
        opts, args = _getopt(ctx, list(args))
        if (not args and opts.conffile is None) or opts.listall:
            _refuse(ctx, opts, "listing every variable (-a/-A or no name)")
            return 1
        if opts.conffile is not None:
            _conffile(ctx, opts, opts.conffile)
        for arg in args:
            parse(ctx, opts, arg)
    except Exit as stop:
        return stop.rc
    return 1 if opts.refused else 0


def _conffile(ctx: Any, opts: _Opts, conffile: str) -> None:
    """-f, as main() does it: `lp` skips leading blanks, then the line is cut (in place) at
    its first blank, tab, newline or `#`, and it is parsed unless lp[0] is then NUL. So
    comment and blank lines are skipped, but an indented name is parsed as ""."""
    text = ctx.read_text(conffile)
    if text is None:
        ctx.eprint(f"{PROG}: fopen: No such file or directory")
        raise Exit(1) from None
    for line in text.splitlines(keepends=True):
        lp = len(line) - len(line.lstrip(" \t"))
        cut = next((i for i, ch in enumerate(line) if ch in " \t\n#"), len(line))
        if lp != cut and lp < len(line):
            parse(ctx, opts, line[:cut])


def _refuse(ctx: Any, opts: _Opts, what: str) -> None:
    ctx.eprint(f"peerops sim: {PROG}: {what} is not simulated")
    opts.refused = True


def _warnx(ctx: Any, msg: str) -> None:
    ctx.eprint(f"{PROG}: {msg}")


def resolve(name: str) -> tuple[str, str]:
    """Walk the MIB name like parse()/findname(): ("leaf", key), ("warn", message) or
    ("refuse", what)."""
    parts = name.split(".")
    if parts[0] not in TOP:
        return "warn", f"top level name {parts[0]} in {name} is invalid"
    if parts[0] == "gap":
        return "warn", "gap: class is not implemented"
    if len(parts) == 1 or parts[0] != "net":
        return "refuse", name
    if parts[1] not in NET:
        return "warn", f"second level name {parts[1]} in {name} is invalid"
    if parts[1] not in NET_WALKED:
        return "warn", f"use netstat to view {name} information"
    if len(parts) < 4 or (parts[1], parts[2]) not in {**COMPLETE, **PARTIAL}:
        return "refuse", name
    table = {**COMPLETE, **PARTIAL}[(parts[1], parts[2])]
    if parts[3] not in table:
        if (parts[1], parts[2]) in PARTIAL:
            return "refuse", name
        return "warn", f"fourth level name {parts[3]} in {name} is invalid"
    if table[parts[3]] == "struct":
        return "warn", f"use netstat to view {name} information"
    if len(parts) > 4:
        return "warn", f"name {'.'.join(parts[4:])} in {name} is unknown"
    return "leaf", ".".join(parts[:4])


def parse(ctx: Any, opts: _Opts, arg: str) -> None:
    """parse(): print `name=value`, or set it and print `name: old -> new`."""
    name, eq, newval = arg.partition("=")
    newval = newval.lstrip(" \t\n\r\f\v")
    values = ctx.state.setdefault("sysctl", {})
    kind, what = ("leaf", name) if name in values else resolve(name)
    if kind == "warn":
        _warnx(ctx, what)
        return
    if kind == "refuse" or (what not in values and what not in DEFAULTS):
        _refuse(ctx, opts, name)
        return
    old = int(values.get(what, DEFAULTS.get(what, 0)))
    if not (eq and newval):
        ctx.print(f"{old}" if opts.nflag else f"{name}={old}")
        return
    new, error = strtonum(newval, INT_MIN, INT_MAX)
    if error:
        _warnx(ctx, f"{name}: value is {error}: {newval}")
        return
    low, high = BOUNDS.get(what, (INT_MIN, INT_MAX))
    if not low <= new <= high:
        _warnx(ctx, f"{name}: {EINVAL}")  # sysctl_bounded_arr() -> EINVAL -> warn("%s")
        return
    values[what] = new
    if not opts.qflag:
        ctx.print(f"{new}" if opts.nflag else f"{name}: {old} -> {new}")
