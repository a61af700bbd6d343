"""`peerops config check`: is this configuration one the agent can run with? (like sshd -t)

Checks, in order, each naming the setting at fault: the file loads; the file's mode (no
write for others; no read for others once it names credentials); the host kind against this
machine; the directories; the trust material and the git credentials are readable (and the
credentials root-only); the state repo checkout holds this router; the remote answers and
has the branch. Every problem is collected, so one run shows them all.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from agent.config import AgentConfig, load_config
from agent.errors import ConfigError


def check(path: str | Path, *, reach_remote: bool = True) -> tuple[AgentConfig | None, list[str]]:
    """(the config or None, every problem found); an empty list means the config is usable."""
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        return None, [str(exc)]
    problems = [
        *_file_mode(Path(path), cfg),
        *_host(cfg),
        *_directories(cfg),
        *_trust_material(cfg),
        *_credentials(cfg),
        *_checkout(cfg),
    ]
    if reach_remote and cfg.remote:
        problems += _remote(cfg)
    return cfg, [f"{cfg.source}: {problem}" for problem in problems]


def _file_mode(path: Path, cfg: AgentConfig) -> list[str]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022:
        return [f"mode {mode:04o}: others may change the agent's configuration: chmod 600 {path}"]
    if mode & 0o004 and (cfg.git.http_credentials or cfg.git.ssh_key):
        return [f"mode {mode:04o}: names credentials, keep it to root: chmod 600 {path}"]
    return []


def _host(cfg: AgentConfig) -> list[str]:
    if cfg.host == "openbsd":
        from agent.host.openbsd import refusal

        why = refusal(os.uname().sysname, os.geteuid())
        return [why] if why else []
    from agent.sim.state import is_provisioned

    if not is_provisioned(cfg.root):
        return [f"root: {cfg.root} is not a simulated router (peerops sim --root DIR --init)"]
    return []


def _directories(cfg: AgentConfig) -> list[str]:
    problems = []
    for name, directory in (("state_dir", cfg.state_dir), ("repo", cfg.repo)):
        if directory.exists() and not directory.is_dir():
            problems.append(f"{name}: {directory} is not a directory")
        elif not directory.exists() and not directory.parent.is_dir():
            problems.append(f"{name}: {directory.parent} does not exist")
    return problems


def _readable(name: str, path: Path | None, *, directory: bool = False) -> list[str]:
    if path is None:
        return []
    if directory and not path.is_dir():
        return [f"{name}: {path}: no such directory"]
    if not directory and not path.is_file():
        return [f"{name}: {path}: no such file"]
    if not os.access(path, os.R_OK):
        return [f"{name}: {path}: not readable"]
    return []


def _trust_material(cfg: AgentConfig) -> list[str]:
    problems = [
        *_readable("trust.allowed_signers", cfg.trust.allowed_signers),
        *_readable("trust.gpg_home", cfg.trust.gpg_home, directory=True),
        *_readable("keys.allowed_signers", cfg.keys.allowed_signers),
        *_readable("keys.gpg_home", cfg.keys.gpg_home, directory=True),
    ]
    if cfg.trust.require_signed and not (cfg.trust.allowed_signers or cfg.trust.gpg_home):
        problems.append("trust.require_signed: needs trust.allowed_signers or trust.gpg_home")
    if cfg.keys.require_signatures and not (cfg.keys.allowed_signers or cfg.keys.gpg_home):
        problems.append("keys.require_signatures: needs keys.allowed_signers or keys.gpg_home")
    return problems


def _credentials(cfg: AgentConfig) -> list[str]:
    from agent.git import GitSetupError, credential_problem, options

    problems = [*_readable("git.known_hosts", cfg.git.known_hosts)]
    for name, path in (("git.ssh_key", cfg.git.ssh_key),
                       ("git.http_credentials", cfg.git.http_credentials)):
        if path is not None and (problem := credential_problem(path)):
            problems.append(f"{name}: {problem}")
    try:
        options(cfg.git)
    except GitSetupError as exc:
        problems.append(str(exc))
    return list(dict.fromkeys(problems))


def _checkout(cfg: AgentConfig) -> list[str]:
    if not (cfg.repo / ".git").exists() and cfg.remote:
        return [f"repo: {cfg.repo}: no checkout yet (peerops init or peerops run clones it)"]
    if not (cfg.repo / "routers" / f"{cfg.router}.yaml").is_file():
        return [f"router: {cfg.router}: no routers/{cfg.router}.yaml in the checkout {cfg.repo}"]
    return []


def _remote(cfg: AgentConfig) -> list[str]:
    from agent.git import GitSetupError, redact, run

    assert cfg.remote is not None  # noqa: S101 - checked by the caller
    try:
        result = run(["ls-remote", "--heads", cfg.remote, f"refs/heads/{cfg.branch}"],
                     timeout=cfg.git.fetch_timeout, transport=cfg.git)
    except GitSetupError as exc:
        return [str(exc)]
    if result.status != 0:
        return [f"remote: {result.error(f'git ls-remote {redact(cfg.remote)}')}"]
    if not result.out.strip():
        return [f"remote: {redact(cfg.remote)} has no branch {cfg.branch} (setting branch)"]
    return []
