"""The agent's configuration file (/etc/peerops.yaml by default)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.checks import NAME_RE
from agent.errors import ConfigError

DEFAULT_PATH = "/etc/peerops.yaml"
HOST_KINDS = ("openbsd", "simulated")


@dataclass(frozen=True)
class AgentConfig:
    """router: this router's name in the repo; repo: the state repo checkout (a local path for
    now); root: the host's root ("/" on a router, the simulated root otherwise); host: openbsd
    or simulated; state_dir: where the agent keeps its applied record."""

    router: str
    repo: Path
    root: Path
    host: str
    state_dir: Path
    command_timeout: float = 30.0
    source: str = DEFAULT_PATH

    def make_host(self) -> Any:
        if self.host == "simulated":
            from agent.sim.host import SimHost

            return SimHost(self.root)
        from agent.host.openbsd import OpenBSDHost

        return OpenBSDHost()


def load_config(path: str | Path = DEFAULT_PATH) -> AgentConfig:
    """Read and check the config; relative paths are taken relative to the file's directory."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file (write one, see packaging/peerops.yaml.sample)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping of settings")
    unknown = set(raw) - {"router", "repo", "root", "host", "state_dir", "command_timeout"}
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}")
    for key in ("router", "repo"):
        if not raw.get(key):
            raise ConfigError(f"{path}: {key}: required")
    if not NAME_RE.match(str(raw["router"])):
        raise ConfigError(f"{path}: router: {raw['router']!r} is not a router name")
    host = raw.get("host", "openbsd")
    if host not in HOST_KINDS:
        raise ConfigError(f"{path}: host: must be one of {', '.join(HOST_KINDS)}")
    base = path.resolve().parent

    def resolve(value: str) -> Path:
        return (base / value).resolve()

    return AgentConfig(
        router=str(raw["router"]),
        repo=resolve(raw["repo"]),
        root=resolve(raw.get("root", "/")),
        host=host,
        state_dir=resolve(raw.get("state_dir", "/var/db/peerops")),
        command_timeout=float(raw.get("command_timeout", 30)),
        source=str(path),
    )
