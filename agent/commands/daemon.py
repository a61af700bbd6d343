"""peerops daemon [-c FILE]: cycle on a schedule; SIGHUP runs a cycle now, SIGTERM stops."""

from __future__ import annotations

import argparse

HELP = "run cycles every schedule.interval seconds (jittered); SIGHUP: now; SIGTERM: stop"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", default="/etc/peerops.yaml", help="agent configuration file")


def run(args: argparse.Namespace) -> int:
    import logging

    from agent.config import load_config
    from agent.run.cycle import Agent
    from agent.run.daemon import Daemon
    from agent.run.lock import LockHeld, RunLock

    log = logging.getLogger("peerops")  # set up by cli.py: syslog (agent/logs.py)
    cfg = load_config(args.config)
    daemon: Daemon

    def one_cycle() -> None:
        try:
            with RunLock(cfg.lock_path):
                agent.cycle()  # logs its own lines (agent/run/logline.py)
        except LockHeld as exc:
            log.warning("%s", exc)

    agent = Agent(cfg, should_stop=lambda: daemon.stopping)
    daemon = Daemon(one_cycle, cfg.schedule, due=agent.next_check)
    daemon.install_signals()
    log.info(
        "started: every %s-%s s, first cycle within %g s", *daemon.bounds(), cfg.schedule.splay
    )
    daemon.run()
    log.info("stopped after %d cycle(s)", daemon.cycles)
    return 0
