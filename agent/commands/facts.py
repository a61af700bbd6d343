"""peerops facts: observed IPsec and gre facts, from the host or from captured command output.

    peerops facts [--json] [--ipsecctl FILE] [--ifconfig FILE] [-c CONFIG]
    peerops facts --capture DIR [-c CONFIG]

With --ipsecctl and/or --ifconfig (`-` reads stdin) only the given captures are parsed and
only their part of the JSON is printed ("ipsec", "interfaces"); without them the configured
host is observed (`ipsecctl -sa`, `ifconfig gre`). Interfaces are the gre(4) ones of the
listing. Output that does not follow the documented formats is an error naming the line
(exit 1), never a wrong fact. --capture saves the raw outputs for a bug report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent.errors import PeeropsError

HELP = "show observed IPsec/gre facts (--json), parse captured output, or --capture DIR"


class _Failed(PeeropsError):
    """A message for stderr; the command exits 1."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", default="/etc/peerops.yaml", help="agent configuration file")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.add_argument("--ipsecctl", metavar="FILE", help="parse `ipsecctl -s` output (- stdin)")
    p.add_argument("--ifconfig", metavar="FILE", help="parse `ifconfig` output (- reads stdin)")
    p.add_argument("--capture", metavar="DIR", help="save raw command outputs for a bug report")


def run(args: argparse.Namespace) -> int:
    try:
        if args.capture:
            return _capture(args)
        facts = _from_files(args) if (args.ipsecctl or args.ifconfig) else _from_host(args)
    except _Failed as exc:
        print(f"peerops facts: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        sys.stdout.write(facts_text(facts))
    return 0


def _read(name: str) -> str:
    """The text of FILE, or of stdin for `-`; undecodable bytes become U+FFFD, which the
    parsers then reject by line."""
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise _Failed(f"cannot read {_shown(name)}: {exc.strerror or exc}") from None
    return data.decode("utf-8", errors="replace")


def _from_files(args: argparse.Namespace) -> dict[str, Any]:
    """Parse the captures given; only their parts of the JSON contract are present."""
    from agent.errors import ParseError
    from agent.facts.ifconfig import gre_interfaces, parse_ifconfig
    from agent.facts.ipsec import parse_ipsecctl

    if args.ipsecctl == args.ifconfig == "-":
        raise _Failed("only one of --ipsecctl and --ifconfig can read stdin")
    facts: dict[str, Any] = {}
    try:
        if args.ipsecctl:
            text = _read(args.ipsecctl)
            facts["ipsec"] = parse_ipsecctl(text, _shown(args.ipsecctl)).to_json()
        if args.ifconfig:
            text = _read(args.ifconfig)
            ifaces = gre_interfaces(parse_ifconfig(text, _shown(args.ifconfig)))
            facts["interfaces"] = [i.to_json() for i in ifaces]
    except ParseError as exc:
        raise _Failed(f"parse error: {exc}") from None
    return facts


def _shown(name: str) -> str:
    return "<stdin>" if name == "-" else name


def _from_host(args: argparse.Namespace) -> dict[str, Any]:
    """Observe the configured host with the same commands and parsers as the agent."""
    from agent.config import load_config
    from agent.errors import ParseError
    from agent.facts.ifconfig import gre_interfaces, parse_ifconfig
    from agent.facts.ipsec import parse_ipsecctl
    from agent.facts.observe import IFCONFIG_GRE, IPSECCTL_SA

    host = load_config(args.config).make_host()
    sa = host.run(IPSECCTL_SA)
    if not sa.ok:
        raise _Failed(f"{' '.join(IPSECCTL_SA)} failed: {sa.stderr.strip() or sa.rc}")
    gre = host.run(IFCONFIG_GRE)
    try:
        ipsec = parse_ipsecctl(sa.stdout, " ".join(IPSECCTL_SA))
        # `ifconfig gre` exits 1 with "gre: no such interface" when the group is empty
        ifaces = parse_ifconfig(gre.stdout, " ".join(IFCONFIG_GRE)) if gre.rc == 0 else []
    except ParseError as exc:
        raise _Failed(f"parse error: {exc}") from None
    return {"ipsec": ipsec.to_json(), "interfaces": [i.to_json() for i in gre_interfaces(ifaces)]}


def _capture(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.facts.capture import CaptureError, capture

    if args.ipsecctl or args.ifconfig or args.json:
        raise _Failed("--capture takes no --ipsecctl, --ifconfig or --json")
    host = load_config(args.config).make_host()
    try:
        done = capture(host, Path(args.capture))
    except CaptureError as exc:
        raise _Failed(str(exc)) from None
    failed = [c for c in done if c.rc != 0]
    print(f"captured {len(done)} command outputs in {args.capture}"
          + (f" ({len(failed)} exited non-zero, see manifest.json)" if failed else ""))
    return 0


def facts_text(facts: dict[str, Any]) -> str:
    """A short listing of the facts for a person."""
    lines = []
    if "ipsec" in facts:
        flows, sas = facts["ipsec"]["flows"], facts["ipsec"]["sas"]
        lines.append(f"ipsec: {len(flows)} flow(s), {len(sas)} SA(s)")
        for f in flows:
            proto = f" proto {f['proto']}" if f["proto"] else ""
            lines.append(f"  flow {f['satype']} {f['direction']}{proto} {f['src']} -> {f['dst']}"
                         f" peer {f['peer']} type {f['type']}")
        for s in sas:
            lines.append(f"  sa {s['satype']} {s['mode'] or ''} {s['src']} -> {s['dst']} "
                         f"spi {s['spi']} enc {s['enc']} auth {s['auth']}")
    if "interfaces" in facts:
        lines.append(f"gre interfaces: {len(facts['interfaces'])}")
        for i in facts["interfaces"]:
            t = i["tunnel"]
            tunnel = f" tunnel {t['src']} --> {t['dst']}" if t else ""
            addrs = [f"{a['address']} --> {a['dest']}" for a in i["inet"]]
            addrs += [f"{a['address']}/{a['prefixlen']}" for a in i["inet6"]]
            state = "up" if i["up"] else "down"
            lines.append(f"  {i['name']} {state} mtu {i['mtu']}{tunnel}; {', '.join(addrs)}")
    return "\n".join(lines) + "\n"
