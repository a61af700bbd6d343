"""Simulated uname(1): the system name, node name, release, version and machine.

Source: usr.bin/uname/uname.c v1.11: getopt "amnrsvp"; -a is -mnrsv; with no option only the
system name is printed; the chosen fields are printed in the fixed order sysname, nodename,
release, version, machine, processor, separated by one space, then a newline; an operand or
an unknown option prints "usage: uname [-amnprsv]" and exits 1.

Values: sysname "OpenBSD"; nodename is the host name /etc/netstart sets from /etc/myname at
boot (the simulated root's /etc/myname, else the router's name); release 7.7 because the
simulator follows the 2024-2025 sources of that release (agent/sim/*.py cite them); version
"GENERIC.MP#0": a real kernel prints its build number there, 0 marks the simulated one;
machine "amd64". -p (hw.model, the CPU model) is not simulated: refused, exit 1.
"""

from __future__ import annotations

from typing import Any

from agent.sim.libc import getopt

SYSNAME = "OpenBSD"
RELEASE = "7.7"
VERSION = "GENERIC.MP#0"
MACHINE = "amd64"
USAGE = "usage: uname [-amnprsv]"
ORDER = "snrvm"  # PRINT_SYSNAME, NODENAME, RELEASE, VERSION, MACHINE


def main(ctx: Any, args: list[str]) -> int:
    """uname(1): print the selected fields; returns the exit status."""
    opts, operands, error = getopt("uname", list(args), "amnrsvp")
    if error is not None or operands:
        if error is not None:
            ctx.eprint(error)
        ctx.eprint(USAGE)
        return 1
    chosen = set()
    for ch, _ in opts:
        if ch == "p":
            ctx.eprint("peerops sim: uname: -p (hw.model) is not simulated")
            return 1
        chosen |= set("mnrsv") if ch == "a" else {ch}
    fields = {"s": SYSNAME, "n": nodename(ctx), "r": RELEASE, "v": VERSION, "m": MACHINE}
    ctx.print(" ".join(fields[ch] for ch in ORDER if ch in (chosen or {"s"})))
    return 0


def nodename(ctx: Any) -> str:
    """The kernel host name: what netstart's `hostname $(cat /etc/myname)` left."""
    text = (ctx.read_text("/etc/myname") or "").strip()
    return text or ctx.host.name
