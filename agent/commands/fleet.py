"""peerops fleet [-c FILE] [--json]: every router's last report, from the status branch."""

from __future__ import annotations

import argparse
import json
import sys

import yaml

HELP = "show every router's last report, read from the status branch"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", default="/etc/peerops.yaml", help="agent configuration file")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")


def run(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.output import fleet_table
    from agent.status.publish import StatusPublisher
    from agent.status.shape import upgrade

    cfg = load_config(args.config)
    if cfg.remote is None:
        print("peerops: fleet needs `remote` in the configuration", file=sys.stderr)
        return 1
    publisher = StatusPublisher(
        cfg.remote, cfg.router, cfg.state_dir / "status", branch=cfg.status_branch
    )
    files = publisher.read_branch()
    reports = [
        upgrade(yaml.safe_load(data))
        for path, data in sorted(files.items())
        if path.startswith("reports/") and path.endswith(".yaml")
    ]
    if args.json:
        print(json.dumps({"routers": reports}, indent=2))
    else:
        sys.stdout.write(fleet_table(reports))
    return 0
