"""peerops doctor [PEER] [--json] [-c CONFIG]: why a peering is not up, checked in order."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "check, in order, why a peering is not up: cause and next command (exit 4 on failure)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("peer", nargs="?", help="check only this peer (default: every peer)")
    p.add_argument("-c", "--config", default="/etc/peerops.yaml", help="agent configuration file")
    p.add_argument("--json", action="store_true", help="print the checklist as JSON")
    p.add_argument("--no-ping", action="store_true", help="do not ping across transfer nets")


def run(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.health.doctor import DoctorUsage, doctor_text, run_doctor

    try:
        report = run_doctor(load_config(args.config), args.peer, ping=not args.no_ping)
    except DoctorUsage as exc:
        print(f"peerops doctor: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        sys.stdout.write(doctor_text(report))
    return report.exit_code
