"""Where the agent's log lines go and how many there are: decided here, once per process.

- `peerops daemon` logs to syslogd(8) with the daemon facility, tagged `peerops[pid]`, as
  OpenBSD daemons do (its lines land in /var/log/daemon); when stderr is a terminal the lines
  are also shown there. Without a syslog socket (a container, a test) they go to stderr with
  a timestamp, since nothing else would add one.
- Every other command logs to stderr, plain: its output proper is on stdout.
- Levels: interactive commands show warnings, `-v` each change (info), `-vv` git's progress
  and every command run (debug); the daemon starts at info, one line per cycle and one per
  change. `-q` drops a level.
"""

from __future__ import annotations

import logging
import logging.handlers
import socket
import stat
import sys
from pathlib import Path

LOGGER = "peerops"
SYSLOG_SOCKET = "/dev/log"  # syslogd(8)'s local socket on OpenBSD (and most systems)
_LEVELS = (logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG)


def level_for(verbose: int, quiet: int, *, daemon: bool) -> int:
    """The log level for -v/-q counts: warnings (interactive) or info (daemon) by default."""
    index = (2 if daemon else 1) + verbose - quiet
    return _LEVELS[max(0, min(index, len(_LEVELS) - 1))]


def setup(
    verbose: int = 0,
    quiet: int = 0,
    *,
    daemon: bool = False,
    syslog_socket: str = SYSLOG_SOCKET,
    stream: object = None,
) -> logging.Logger:
    """Ensure the `peerops` logger has exactly the handlers this kind of process needs."""
    log = logging.getLogger(LOGGER)
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    log.setLevel(level_for(verbose, quiet, daemon=daemon))
    log.propagate = False
    err = stream if stream is not None else sys.stderr
    if not daemon:
        log.addHandler(_stream_handler(err, "peerops: %(message)s"))
        return log
    syslog = _syslog_handler(syslog_socket)
    if syslog is not None:
        log.addHandler(syslog)
    if syslog is None or _is_tty(err):
        fmt = "peerops[%(process)d]: %(message)s" if syslog else (
            "%(asctime)s peerops[%(process)d]: %(levelname)s: %(message)s"
        )
        log.addHandler(_stream_handler(err, fmt))
    return log


def _stream_handler(stream: object, fmt: str) -> logging.Handler:
    handler = logging.StreamHandler(stream)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter(fmt, "%Y-%m-%dT%H:%M:%S%z"))
    return handler


def _syslog_handler(path: str) -> logging.Handler | None:
    """A handler for syslogd's socket, or None when there is none to talk to."""
    try:
        if not stat.S_ISSOCK(Path(path).stat().st_mode):
            return None
        handler = logging.handlers.SysLogHandler(
            address=path,
            facility=logging.handlers.SysLogHandler.LOG_DAEMON,
            socktype=socket.SOCK_DGRAM,
        )
    except OSError:
        return None
    # syslog(3) form: the tag and pid, then the message; syslogd adds time and host.
    handler.setFormatter(logging.Formatter("peerops[%(process)d]: %(message)s"))
    return handler


def _is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
