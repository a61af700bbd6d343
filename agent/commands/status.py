"""peerops status [-c FILE] [--json]: this router's last report."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "show this router's last status report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", default="/etc/peerops.yaml", help="agent configuration file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.output import report_text
    from agent.status.report import read_last_report

    cfg = load_config(args.config)
    report = read_last_report(cfg.state_dir)
    if report is None:
        print(
            f"peerops: no report yet in {cfg.state_dir} (run `peerops run` first)", file=sys.stderr
        )
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        sys.stdout.write(report_text(report))
    return 0
