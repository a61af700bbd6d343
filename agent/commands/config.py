"""peerops config check|sample: check a configuration like `sshd -t`, or print the sample.

- `check [-c FILE] [--offline]`: exit 0 when the agent can run with FILE, 1 with every
  problem on stderr (the file, the setting and what to do). rc.d's `rcctl configtest peerops`
  runs it.
- `sample`: the commented sample configuration shipped in the package (the one the OpenBSD
  package installs as /etc/peerops.yaml and `peerops init` starts from).
"""

from __future__ import annotations

import argparse
import sys

HELP = "check a configuration (like sshd -t) or print the commented sample"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = sub.add_parser(
        "check",
        help="check the configuration, its paths and permissions, the host kind, the "
        "checkout, the trust material and the remote; exit 0 if usable, 1 if not",
    )
    check.add_argument(
        "-c", "--config", default="/etc/peerops.yaml", help="agent configuration file"
    )
    check.add_argument(
        "--offline", action="store_true", help="do not contact the remote (git ls-remote)"
    )
    sub.add_parser("sample", help="print the commented sample configuration")


def run(args: argparse.Namespace) -> int:
    if args.action == "sample":
        sys.stdout.write(sample_text())
        return 0
    from agent.configcheck import check

    _, problems = check(args.config, reach_remote=not args.offline)
    for problem in problems:
        print(f"peerops: {problem}", file=sys.stderr)
    if not problems:
        import logging

        logging.getLogger("peerops").info("%s: configuration OK", args.config)
    return 1 if problems else 0


def sample_text() -> str:
    """The sample configuration, as installed with the package."""
    from agent.resources import sample_config

    return sample_config().read_text()
