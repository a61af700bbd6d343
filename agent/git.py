"""One hardened way to run git for the agent: repo/source.py pulls with it, status/publish.py
pushes with it, `peerops config check` and `peerops init` reach the remote with it.

- The environment: no prompt, no system or global configuration, no inherited GIT_* variable.
- The transport, from the `git` section of the config, is given to git through its own `-c`
  options only (never through the environment of the whole process): core.sshCommand with
  the deploy key, the known_hosts file and BatchMode, and a credential helper reading a
  root-only file for https. git runs both through the shell, so their paths must match
  SAFE_PATH (letters, digits and `._/+-`): a path with anything else is refused.
- Every message is redacted (`https://user:token@host` loses its user and token) and reports
  git's first meaningful `fatal:`/`error:` line, not its last one (often a lone quote).
- Timeouts are the configured ones (no hidden floor); a slow fetch shows its progress in the
  log (info level, so `-v` or the daemon's log), at most every PROGRESS_EVERY seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import PeeropsError

log = logging.getLogger("peerops")

SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+-]*")
SLOW_AFTER = 5.0  # a fetch running longer than this is slow: its progress is logged
PROGRESS_EVERY = 5.0
_USERINFO = re.compile(r"(?i)\b(https?|ftps?)://[^/\s@]*@")
_MEANINGFUL = re.compile(r"(?:fatal|error): .*")


class GitSetupError(PeeropsError):
    """The git transport cannot be used as configured (a path, a credential file's mode)."""


@dataclass(frozen=True)
class GitTransport:
    """How git reaches the remote (the config's `git` section)."""

    ssh_key: Path | None = None  # the deploy key (ssh -i), e.g. /etc/peerops/deploy_key
    known_hosts: Path | None = None  # the remote's host key (ssh UserKnownHostsFile)
    http_credentials: Path | None = None  # git-credential-store lines; root only (0600)
    fetch_timeout: float = 60.0  # seconds a fetch (or ls-remote, clone) may take
    push_timeout: float = 60.0  # seconds a status push may take
    connect_timeout: float = 15.0  # seconds ssh may take to connect


@dataclass
class GitResult:
    status: int
    out: str
    err: str
    timed_out: bool = False
    lines: list[str] = field(default_factory=list)

    def error(self, what: str) -> str:
        """`what failed: git's first meaningful line` (redacted)."""
        if self.timed_out:
            return f"{what} timed out"
        return f"{what} failed: {first_error(self.err)}"


def redact(text: str) -> str:
    """Ensure no URL credential survives: https://user:token@host -> https://***@host."""
    return _USERINFO.sub(lambda m: f"{m[1]}://***@", text)


def first_error(stderr: str) -> str:
    """git's first `fatal:` or `error:` line, else its last non-trivial line, redacted."""
    lines = [ln.strip() for ln in re.split(r"[\r\n]+", stderr) if ln.strip()]
    for line in lines:
        found = _MEANINGFUL.search(line)
        if found:
            return redact(found[0])[:300]
    meaningful = [ln for ln in lines if re.search(r"[A-Za-z0-9]", ln)]
    return redact(meaningful[-1])[:300] if meaningful else "no message from git"


def environment(**extra: str) -> dict[str, str]:
    """git's environment: no prompts, no user or system config, nothing GIT_* inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    env.update(extra)
    return env


def credential_problem(path: Path) -> str | None:
    """Why a credential file may not be used (missing, not a file, readable by others)."""
    try:
        st = path.stat()
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror}"
    if not path.is_file():
        return f"{path}: not a regular file"
    if st.st_mode & 0o077:
        return f"{path}: mode {st.st_mode & 0o777:04o} lets others read it: chmod 600 {path}"
    if st.st_uid != os.geteuid():
        return f"{path}: owned by uid {st.st_uid}, not by the agent's user (uid {os.geteuid()})"
    return None


def _safe(path: Path, what: str) -> str:
    text = str(path)
    if not SAFE_PATH.fullmatch(text):
        raise GitSetupError(
            f"git.{what}: {text!r}: git runs it through the shell, so it must be an absolute "
            "path of letters, digits and ._/+- only"
        )
    return text


def ssh_command(transport: GitTransport) -> str:
    """The ssh command line git runs for the configured transport (never prompting)."""
    ssh = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(transport.connect_timeout)}"]
    if transport.ssh_key:
        ssh += ["-i", _safe(transport.ssh_key, "ssh_key"), "-o", "IdentitiesOnly=yes"]
    if transport.known_hosts:
        known = _safe(transport.known_hosts, "known_hosts")
        ssh += ["-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes"]
    return " ".join(ssh)


def options(transport: GitTransport) -> list[str]:
    """The `-c` options that make git use the configured transport and never prompt."""
    opts = ["-c", f"core.sshCommand={ssh_command(transport)}", "-c", "credential.helper="]
    if transport.http_credentials:
        path = _safe(transport.http_credentials, "http_credentials")
        problem = credential_problem(transport.http_credentials)
        if problem:
            raise GitSetupError(f"git.http_credentials: {problem}")
        opts += ["-c", f"credential.helper=store --file={path}"]
    return opts


def run(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float,
    transport: GitTransport | None = None,
    env: dict[str, str] | None = None,
) -> GitResult:
    """Run `git ARGS` with the transport's options under timeout (the process group is
    killed when it expires); never raises for git's own failures."""
    argv = ["git", *(options(transport) if transport else []), *args]
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env or environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a timeout kills ssh and the credential helper too
    )
    out_chunks: list[bytes] = []
    lines: list[str] = []
    readers = [
        threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=_read_progress, args=(proc, lines, started, args[0]), daemon=True),
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    # git's stdout closes when it exits: waiting for its reader returns at once then, where
    # Popen.wait(timeout) polls with sleeps of up to 50 ms (most of a quick git's time).
    readers[0].join(timeout)
    try:
        proc.wait(timeout=max(started + timeout - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for reader in readers:
        reader.join(timeout=5)
    out = b"".join(out_chunks).decode(errors="replace")
    return GitResult(proc.returncode, out, "\n".join(lines), timed_out, lines)


def _read_progress(proc: subprocess.Popen[bytes], lines: list[str], started: float,
                   command: str) -> None:
    """Collect stderr line by line (progress ends its lines with \\r) and log the progress of
    a slow command, at most every PROGRESS_EVERY seconds."""
    assert proc.stderr is not None  # noqa: S101 - Popen(stderr=PIPE)
    buffer = b""
    last = 0.0
    while chunk := proc.stderr.read1(4096):  # type: ignore[attr-defined]
        buffer += chunk
        *done, buffer = re.split(rb"[\r\n]", buffer)
        for raw in done:
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            lines.append(line)
            now = time.monotonic()
            if now - started > SLOW_AFTER and now - last > PROGRESS_EVERY:
                last = now
                log.info("git %s still running after %.0f s: %s", command, now - started,
                         redact(line))
            else:
                log.debug("git %s: %s", command, redact(line))
    if buffer.strip():
        lines.append(buffer.decode(errors="replace").strip())
