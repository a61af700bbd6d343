"""The git transport: deploy key and known_hosts through core.sshCommand, https credentials
from a root-only file, redaction, git's first meaningful error, and the configured timeouts."""

from __future__ import annotations

import base64
import dataclasses
import http.server
import logging
import os
import re
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from agent.cli import main
from agent.config import AgentConfig
from agent.git import GitSetupError, GitTransport, first_error, options, redact
from agent.lab.demo import build_demo_fleet
from agent.repo.source import GitSource
from agent.status.report import read_last_report


@pytest.fixture
def cfg(tmp_path: Path) -> AgentConfig:
    return build_demo_fleet(tmp_path / "fleet")["rtr1"]


def _with(cfg: AgentConfig, remote: str, **transport: object) -> AgentConfig:
    return dataclasses.replace(
        cfg, remote=remote, git=dataclasses.replace(cfg.git, **transport)  # type: ignore[arg-type]
    )


def test_redact_removes_url_credentials_only() -> None:
    assert redact("fatal: unable to access 'https://bot:s3cr3t@git.example.net/p.git/'") == (
        "fatal: unable to access 'https://***@git.example.net/p.git/'"
    )
    assert redact("git@git.example.net:dn42/p.git") == "git@git.example.net:dn42/p.git"


def test_first_error_is_the_first_fatal_or_error_line_not_a_lone_quote() -> None:
    stderr = (
        "Cloning into 'x'...\n"
        "fatal: unable to access 'https://u:tok@h/r.git/': Could not resolve host: h\n"
        "error: something after\n'\n"
    )
    assert first_error(stderr) == (
        "fatal: unable to access 'https://***@h/r.git/': Could not resolve host: h"
    )
    assert first_error("remote: hello\n'\n") == "remote: hello"


def test_a_token_in_the_remote_never_reaches_output_log_or_report(
    cfg: AgentConfig, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:  # a loopback port nobody listens on: refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    remote = f"https://bot:tok3n-s3cret@127.0.0.1:{port}/peerings.git"
    config = Path(cfg.source)
    config.write_text(re.sub(r"(?m)^remote: .*$", f"remote: {remote}", config.read_text()))
    assert main(["run", "-c", str(config), "-v"]) != 0
    out = capsys.readouterr()
    report = read_last_report(cfg.state_dir)
    for text in (out.out, out.err, caplog.text, repr(report)):
        assert "tok3n-s3cret" not in text
    assert report and report["source"]["status"] == "unreachable"
    assert "fatal: unable to access" in report["source"]["message"]
    assert f"127.0.0.1 port {port}" in report["source"]["message"]


@pytest.fixture
def hanging_remote() -> Iterator[str]:
    """An http remote that accepts the connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}/peerings.git"
    server.close()


def test_fetch_timeout_is_the_configured_one_without_a_floor(
    cfg: AgentConfig, hanging_remote: str
) -> None:
    started = time.monotonic()
    result = GitSource(_with(cfg, hanging_remote, fetch_timeout=1.0)).sync()
    elapsed = time.monotonic() - started
    assert result.status == "unreachable"
    assert "git fetch (1 s limit) timed out" in (result.message or "")
    assert elapsed < 30  # the old hidden floor made this at least 60 s


def test_deploy_key_and_known_hosts_go_through_git_s_ssh_command(
    cfg: AgentConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git runs core.sshCommand through the shell; the `ssh` it finds records its argv and
    # environment, then fails like an unreachable host.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "ssh-argv"
    fake = bin_dir / "ssh"
    fake.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\nenv > {record}.env\n'
        'echo "ssh: connect to host git.example.net port 22: Connection refused" >&2\nexit 255\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    key, known = tmp_path / "deploy_key", tmp_path / "known_hosts"
    key.write_text("not used by the fake\n")
    known.write_text("")
    result = GitSource(
        _with(cfg, "git@git.example.net:dn42/peerings.git", ssh_key=key, known_hosts=known)
    ).sync()
    argv = record.read_text().split("\n")
    assert ["-i", str(key)] == argv[argv.index("-i") : argv.index("-i") + 2]
    assert f"UserKnownHostsFile={known}" in argv and "StrictHostKeyChecking=yes" in argv
    assert "BatchMode=yes" in argv and "IdentitiesOnly=yes" in argv
    assert "git@git.example.net" in argv
    # the whole process's environment carries no ssh command: only this git invocation has it
    assert "GIT_SSH_COMMAND" not in os.environ
    assert result.status == "unreachable"
    assert "fatal: Could not read from remote repository." in (result.message or "") or (
        "Connection refused" in (result.message or "")
    )


def test_a_path_git_would_hand_to_the_shell_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GitSetupError, match=r"git\.ssh_key"):
        options(GitTransport(ssh_key=Path("/etc/peerops/key; touch /tmp/x")))
    with pytest.raises(GitSetupError, match=r"git\.known_hosts"):
        options(GitTransport(known_hosts=Path("/etc/peerops/$(id)")))


class _AuthServer(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="peerings"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def auth_server() -> Iterator[tuple[str, list[str | None]]]:
    _AuthServer.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AuthServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _AuthServer.seen
    server.shutdown()
    server.server_close()


def test_http_credentials_come_from_a_root_only_file(
    cfg: AgentConfig, tmp_path: Path, auth_server: tuple[str, list[str | None]]
) -> None:
    base, seen = auth_server
    creds = tmp_path / "git-credentials"
    creds.write_text(f"{base.replace('http://', 'http://bot:tok3n@')}\n")
    creds.chmod(0o640)
    loose = GitSource(_with(cfg, f"{base}/peerings.git", http_credentials=creds)).sync()
    assert loose.status == "unreachable" and "chmod 600" in (loose.message or "")
    assert seen == []  # nothing was sent with a file others can read
    creds.chmod(0o600)
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    result = GitSource(_with(cfg, f"{base}/peerings.git", http_credentials=creds)).sync()
    assert result.status == "unreachable"
    expected = "Basic " + base64.b64encode(b"bot:tok3n").decode()
    assert expected in seen
    assert "tok3n" not in (result.message or "")


def test_a_slow_fetch_shows_its_progress_at_info(
    cfg: AgentConfig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import agent.git

    monkeypatch.setattr(agent.git, "SLOW_AFTER", 0.0)  # every fetch counts as slow here
    monkeypatch.setattr(agent.git, "PROGRESS_EVERY", 0.0)
    assert cfg.remote
    (cfg.repo / ".git" / "refs" / "peerops").mkdir(parents=True, exist_ok=True)
    with caplog.at_level(logging.INFO, logger="peerops"):
        result = agent.git.run(
            ["fetch", "--progress", "--no-tags", cfg.remote, "+refs/heads/main:refs/peerops/p"],
            cwd=cfg.repo,
            timeout=30,
        )
    assert result.status == 0, result.err
    assert any(r.getMessage().startswith("git fetch still running after ") for r in caplog.records)
