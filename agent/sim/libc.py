"""The C library the simulated programs share: getopt, number and address parsers, err(3).

Sources (openbsd/src): lib/libc/stdlib/getopt_long.c (getopt(3) without permutation, as
OpenBSD's getopt() calls it: stops at the first operand or `--`; messages "unknown option --
c" and "option requires an argument -- c"), lib/libc/stdlib/strtonum.c (errstr "invalid",
"too small", "too large"), lib/libc/stdlib/strtol.c (base 0: 0x hex, leading-0 octal),
lib/libc/net/inet_addr.c (inet_aton: 1-4 parts in C number syntax), lib/libc/net/
inet_net_pton.c (AF_INET "a.b.c.d/bits"), lib/libc/gen/err.c (err, errx, warn, warnx:
"prog: message[: strerror]" on stderr; err/errx then exit).

Exit is the one way a simulated program leaves main() early with a status, as exit(3) does.
It is control flow, not an error of the simulator or of peerops, so it does not derive from
agent.errors.PeeropsError: nothing outside SimHost.run ever sees it.
"""

from __future__ import annotations

import re
from typing import NoReturn, Protocol


class Exit(Exception):
    """exit(rc) from anywhere in a simulated program (after its message was printed)."""

    def __init__(self, rc: int) -> None:
        super().__init__(rc)
        self.rc = rc


class Stderr(Protocol):
    """Where a program's diagnostics go (agent.sim.host.Ctx has it)."""

    def eprint(self, line: str) -> None: ...


# -- err(3) -------------------------------------------------------------------------------------


def warnx(out: Stderr, prog: str, message: str) -> None:
    """warnx(3): `prog: message`."""
    out.eprint(f"{prog}: {message}")


def warn(out: Stderr, prog: str, message: str, strerror: str) -> None:
    """warn(3): `prog: message: strerror(errno)`."""
    out.eprint(f"{prog}: {message}: {strerror}")


def errx(out: Stderr, prog: str, rc: int, message: str) -> NoReturn:
    """errx(3): warnx, then exit(rc)."""
    warnx(out, prog, message)
    raise Exit(rc)


def err(out: Stderr, prog: str, rc: int, message: str, strerror: str) -> NoReturn:
    """err(3): warn, then exit(rc)."""
    warn(out, prog, message, strerror)
    raise Exit(rc)


def usage(out: Stderr, text: str, rc: int = 1) -> NoReturn:
    """A program's usage(): its usage text on stderr, then exit(rc)."""
    out.eprint(text)
    raise Exit(rc)


# -- getopt(3) ----------------------------------------------------------------------------------


def getopt(
    prog: str, args: list[str], spec: str
) -> tuple[list[tuple[str, str]], list[str], str | None]:
    """getopt(3) over args: (options as (letter, argument or ""), operands, the message
    getopt would print or None). Parsing stops at the first error, as the programs exit."""
    opts: list[tuple[str, str]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return opts, args[i + 1:], None
        if not arg.startswith("-") or arg == "-":
            break
        j = 1
        while j < len(arg):
            ch = arg[j]
            pos = spec.find(ch)
            if ch == ":" or pos < 0:
                return opts, [], f"{prog}: unknown option -- {ch}"
            if pos + 1 < len(spec) and spec[pos + 1] == ":":
                if j + 1 < len(arg):
                    opts.append((ch, arg[j + 1:]))
                elif i + 1 < len(args):
                    i += 1
                    opts.append((ch, args[i]))
                else:
                    return opts, [], f"{prog}: option requires an argument -- {ch}"
                break
            opts.append((ch, ""))
            j += 1
        i += 1
    return opts, args[i:], None


# -- numbers ------------------------------------------------------------------------------------

_SPACE = " \t\n\r\f\v"  # isspace() in the C locale


def strtonum(text: str, low: int, high: int) -> tuple[int, str | None]:
    """strtonum(3): (value, None) or (0, "invalid" | "too small" | "too large")."""
    if not re.fullmatch(r"[ \t\n\r\f\v]*[+-]?\d+", text):
        return 0, "invalid"
    value = int(text.strip(_SPACE))
    if value < low:
        return 0, "too small"
    if value > high:
        return 0, "too large"
    return value, None


def strtol(text: str) -> int | None:
    """strtol(text, &end, 0) that must consume all of text (`*end == '\\0'`); else None."""
    match = re.fullmatch(r"[ \t\n\r\f\v]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", text)
    if not match:
        return None
    digits = match.group(2)
    if digits[:2].lower() == "0x":
        value = int(digits, 16)
    elif digits.startswith("0") and len(digits) > 1:
        value = int(digits, 8)
    else:
        value = int(digits)
    return -value if match.group(1) == "-" else value


# -- IPv4 text forms ----------------------------------------------------------------------------


_C_NUMBER = re.compile(r"0[xX](?P<hex>[0-9a-fA-F]*)|(?P<octal>0[0-7]*)|(?P<decimal>[1-9][0-9]*)")


def _c_number(part: str) -> int | None:
    """One inet_aton() part: 0x hex, leading-0 octal, else decimal."""
    match = _C_NUMBER.fullmatch(part)
    if match is None:
        return None
    if match["decimal"] is not None:
        return int(part)
    if match["octal"] is not None:
        return int(part, 8)
    return int(match["hex"] or "0", 16)


def inet_aton(text: str) -> int | None:
    """inet_aton(3): 1-4 parts (a, a.b, a.b.c, a.b.c.d) in C number syntax, trailing
    whitespace allowed (so `0xffffffff` is a valid netmask); the address as an integer."""
    text = text.rstrip(_SPACE)
    parts = text.split(".")
    if not text or len(parts) > 4:
        return None
    values = [_c_number(p) for p in parts]
    if any(v is None for v in values):
        return None
    nums = [int(v) for v in values if v is not None]
    limits = {1: [0xFFFFFFFF], 2: [0xFF, 0xFFFFFF], 3: [0xFF, 0xFF, 0xFFFF],
              4: [0xFF] * 4}[len(nums)]
    if any(v > lim for v, lim in zip(nums, limits, strict=True)):
        return None
    value = 0
    for v, lim in zip(nums, limits, strict=True):
        value = (value * (lim + 1)) + v
    return value


def inet_net_pton4(text: str) -> tuple[int, int] | None:
    """inet_net_pton(AF_INET, "a.b.c.d/bits"): 1-4 decimal octets (missing ones 0) and
    0-32 bits; (address as an integer, bits). Simplified: libc's hex form `0x...` is not
    accepted."""
    match = re.fullmatch(r"(\d{1,3}(?:\.\d{1,3}){0,3})/(\d{1,2})", text)
    if not match:
        return None
    octets = [int(o) for o in match.group(1).split(".")]
    bits = int(match.group(2))
    if any(o > 255 for o in octets) or bits > 32:
        return None
    octets += [0] * (4 - len(octets))
    return int.from_bytes(bytes(octets), "big"), bits
