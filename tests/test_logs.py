"""Logging: syslog's daemon facility as peerops[pid] for the daemon, stderr otherwise; -v/-q."""

from __future__ import annotations

import io
import logging
import os
import socket
from pathlib import Path

import pytest

from agent import logs
from agent.cli import main


@pytest.fixture
def syslogd(tmp_path: Path):
    """A datagram socket standing in for syslogd's /dev/log."""
    path = str(tmp_path / "log")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    yield path, sock
    sock.close()
    logs.setup()  # leave the logger as an interactive command has it


def test_daemon_logs_to_syslog_daemon_facility_with_pid(syslogd) -> None:
    path, sock = syslogd
    err = io.StringIO()
    log = logs.setup(daemon=True, syslog_socket=path, stream=err)
    log.info("rtr1: converged")
    log.debug("not at the default level")
    log.warning("remote unreachable")
    # <PRI> = facility daemon (3) * 8 + severity: info 6, warning 4 (RFC 3164, syslog(3))
    tag = f"peerops[{os.getpid()}]"
    assert sock.recv(512).rstrip(b"\0") == f"<30>{tag}: rtr1: converged".encode()
    assert sock.recv(512).rstrip(b"\0") == f"<28>{tag}: remote unreachable".encode()
    assert err.getvalue() == ""  # not a terminal: syslog only


def test_daemon_without_syslog_logs_to_stderr_with_a_timestamp(tmp_path: Path) -> None:
    err = io.StringIO()
    logs.setup(daemon=True, syslog_socket=str(tmp_path / "none"), stream=err).info("cycle")
    line = err.getvalue()
    assert f"peerops[{os.getpid()}]: INFO: cycle" in line and line[:4].isdigit()
    logs.setup()


def test_interactive_levels() -> None:
    assert logs.level_for(0, 0, daemon=False) == logging.WARNING
    assert logs.level_for(1, 0, daemon=False) == logging.INFO
    assert logs.level_for(2, 0, daemon=False) == logging.DEBUG
    assert logs.level_for(0, 1, daemon=False) == logging.ERROR
    assert logs.level_for(0, 0, daemon=True) == logging.INFO
    assert logs.level_for(0, 1, daemon=True) == logging.WARNING
    assert logs.level_for(5, 0, daemon=True) == logging.DEBUG


@pytest.mark.parametrize(
    ("flags", "level"), [(["-v"], logging.INFO), (["-vv"], logging.DEBUG), (["-q"], logging.ERROR)]
)
def test_v_and_q_set_the_level_of_any_command(
    flags: list[str], level: int, state_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(state_copy)
    assert main(["validate", *flags]) == 0
    assert logging.getLogger("peerops").level == level
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    main(["key", "fingerprint", *flags, "-"])  # a nested command takes them too
    assert logging.getLogger("peerops").level == level
    logs.setup()
