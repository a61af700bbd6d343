"""The agent's configuration file (/etc/peerops.yaml by default; `peerops config sample`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.errors import ConfigError
from agent.git import GitTransport
from agent.repo.fields import NAME_RE

DEFAULT_PATH = "/etc/peerops.yaml"
HOST_KINDS = ("openbsd", "simulated")


@dataclass(frozen=True)
class TrustConfig:
    """Which commits of the state repo may be applied (the GitOps loop checks these)."""

    require_signed: bool = False  # every new commit must carry a signature of an allowed signer
    allowed_signers: Path | None = None  # SSH allowed_signers file (gpg.ssh.allowedSignersFile)
    gpg_home: Path | None = None  # GnuPG home whose keyring holds the allowed keys
    allow_rewind: bool = False  # accept a remote rewound behind the last applied commit


@dataclass(frozen=True)
class KeyPolicy:
    """Rules for peers' public keys in the state repo."""

    min_bits: int = 2048
    require_signatures: bool = False  # a peer key without a valid detached signature stays out
    gpg_home: Path | None = None  # trust root for `gpg -sb -a` signatures
    allowed_signers: Path | None = None  # trust root for `ssh-keygen -Y sign -n peerops`


@dataclass(frozen=True)
class ScheduleConfig:
    interval: float = 300.0  # seconds between cycles
    jitter: float = 0.2  # each interval is interval * (1 ± jitter)
    splay: float = 60.0  # random delay before the first cycle, at most this many seconds
    run_timeout: float = 600.0  # a whole run is abandoned after this long
    stale_after: float = 86400.0  # warn when the remote gave nothing new for this long
    heartbeat: float = 86400.0  # commit an unchanged status report this often


@dataclass(frozen=True)
class SafetyConfig:
    """The removal guard (agent.repo.removals): how many of this router's applied peerings
    one commit may remove before the removals are held for an operator's confirmation; the
    dead-man switch (agent/run/deadman.py): how long a new commit has to be confirmed."""

    # a count (5) or a share of the router's applied peerings ("50%"); None: the default rule
    # (hold when more than 5, or more than half, would go)
    max_removals: int | str | None = None
    allow_removals: int = 0  # the operator confirms this many removals (config override)
    confirm_within: float = 0.0  # dead-man switch: seconds to confirm a change; 0: off


@dataclass(frozen=True)
class PolicyConfig:
    """Rules the repo cannot override: the crypto floor of agent.repo.fields.CRYPTO_FLOORS."""

    min_crypto: str = "default"


@dataclass(frozen=True)
class QuarantineConfig:
    """When a quarantined peering is tried again (agent/run/quarantine.py)."""

    backoff: float = 300.0  # seconds before the first retry; doubled after each failure
    backoff_max: float = 21600.0  # the longest wait between two retries


@dataclass(frozen=True)
class AgentConfig:
    """router: this router's name in the repo; repo: the state repo checkout; remote: the git
    URL it is pulled from (None: use the checkout as it is); root: the host's root ("/" on a
    router, the simulated root otherwise); host: openbsd or simulated; state_dir: where the
    agent keeps its applied record."""

    router: str
    repo: Path
    root: Path
    host: str
    state_dir: Path
    remote: str | None = None
    branch: str = "main"
    status_branch: str = "status"
    command_timeout: float = 30.0
    lock_file: Path | None = None  # default: <state_dir>/peerops.lock
    trust: TrustConfig = field(default_factory=TrustConfig)
    keys: KeyPolicy = field(default_factory=KeyPolicy)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    quarantine: QuarantineConfig = field(default_factory=QuarantineConfig)
    git: GitTransport = field(default_factory=GitTransport)  # deploy key, credentials, timeouts
    source: str = DEFAULT_PATH

    def make_host(self) -> Any:
        if self.host == "simulated":
            from agent.sim.host import SimHost

            return SimHost(self.root)
        from agent.host.openbsd import OpenBSDHost

        return OpenBSDHost()

    @property
    def lock_path(self) -> Path:
        return self.lock_file or self.state_dir / "peerops.lock"


_TOP = {"router", "repo", "root", "host", "state_dir", "remote", "branch", "status_branch", "git",
        "command_timeout", "lock_file", "trust", "keys", "schedule", "safety", "policy",
        "quarantine"}


def load_config(path: str | Path = DEFAULT_PATH) -> AgentConfig:
    """Read and check the config; relative paths are taken relative to the file's directory."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file (write one with `peerops init`, or start from "
            "`peerops config sample`)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping of settings")
    _no_unknown(path, "", raw, _TOP)
    for key in ("router", "repo"):
        if not raw.get(key):
            raise ConfigError(f"{path}: {key}: required")
    if not isinstance(raw["router"], str) or not NAME_RE.fullmatch(raw["router"]):
        raise ConfigError(f"{path}: router: {raw['router']!r} is not a router name")
    # No default host: "openbsd" drives the machine it runs on, so it must be asked for.
    host = raw.get("host")
    if host not in HOST_KINDS:
        raise ConfigError(
            f"{path}: host: required, one of {', '.join(HOST_KINDS)} "
            "(openbsd changes this machine; simulated drives a simulated router under root)"
        )
    if host == "openbsd" and raw.get("root", "/") != "/":
        raise ConfigError(
            f"{path}: root: {raw['root']!r} with host: openbsd; a real router's root is / "
            "(root is only for host: simulated)"
        )
    base = path.resolve().parent

    def resolve(value: Any) -> Path:
        return (base / str(value)).resolve()

    def maybe(value: Any) -> Path | None:
        return resolve(value) if value else None

    return AgentConfig(
        router=str(raw["router"]),
        repo=resolve(raw["repo"]),
        root=resolve(raw.get("root", "/")),
        host=host,
        state_dir=resolve(raw.get("state_dir", "/var/db/peerops")),
        remote=_remote(raw.get("remote"), base),
        branch=str(raw.get("branch", "main")),
        status_branch=str(raw.get("status_branch", "status")),
        command_timeout=_number(path, "command_timeout", raw.get("command_timeout", 30)),
        lock_file=maybe(raw.get("lock_file")),
        trust=TrustConfig(**_section(path, raw, "trust", TrustConfig, maybe)),
        keys=KeyPolicy(**_section(path, raw, "keys", KeyPolicy, maybe)),
        schedule=ScheduleConfig(**_section(path, raw, "schedule", ScheduleConfig, maybe)),
        safety=_safety(path, raw.get("safety"), bool(raw.get("remote"))),
        policy=_policy(path, raw.get("policy")),
        quarantine=QuarantineConfig(
            **_section(path, raw, "quarantine", QuarantineConfig, maybe)
        ),
        git=GitTransport(**_section(path, raw, "git", GitTransport, maybe)),
        source=str(path),
    )


def _remote(value: Any, base: Path) -> str | None:
    """A URL stays as it is; a local path is taken relative to the config file."""
    if not value:
        return None
    text = str(value)
    if "://" in text or ("@" in text and ":" in text):
        return text
    return str((base / text).resolve())


def _section(path: Path, raw: dict[str, Any], name: str, cls: Any, maybe: Any) -> dict[str, Any]:
    """Check one nested section against its dataclass; paths resolved, numbers checked."""
    section = raw.get(name) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: {name}: must be a mapping")
    fields = cls.__dataclass_fields__
    _no_unknown(path, f"{name}.", section, set(fields))
    out: dict[str, Any] = {}
    for key, value in section.items():
        default = fields[key].default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: {name}.{key}: must be true or false")
            out[key] = value
        elif isinstance(default, int | float):
            out[key] = type(default)(_number(path, f"{name}.{key}", value))
        else:
            out[key] = maybe(value)
    return out


def _safety(path: Path, section: Any, has_remote: bool) -> SafetyConfig:
    """safety.max_removals: a count (5) or a share ("50%"); safety.allow_removals: a count;
    safety.confirm_within: seconds, and only with a remote."""
    section = section or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: safety: must be a mapping")
    _no_unknown(path, "safety.", section, {"max_removals", "allow_removals", "confirm_within"})
    limit = section.get("max_removals")
    if not (limit is None or (isinstance(limit, str) and _PERCENT.fullmatch(limit))):
        limit = _count(path, "safety.max_removals", limit)
    allow = _count(path, "safety.allow_removals", section.get("allow_removals", 0))
    within = _number(path, "safety.confirm_within", section.get("confirm_within", 0))
    if within and not has_remote:
        # The switch restores the previous commit into the checkout it pulls, and a change
        # that cuts the router off from its remote is half of what it guards against.
        raise ConfigError(f"{path}: safety.confirm_within: needs a remote to pull from")
    return SafetyConfig(max_removals=limit, allow_removals=allow, confirm_within=within)


_PERCENT = re.compile(r"(100|[1-9]?[0-9])%")


def _count(path: Path, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        hint = " or a percentage such as '50%'" if key.endswith("max_removals") else ""
        raise ConfigError(f"{path}: {key}: must be a whole number >= 0{hint}")
    return value


def _policy(path: Path, section: Any) -> PolicyConfig:
    from agent.repo.fields import CRYPTO_FLOORS

    section = section or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: policy: must be a mapping")
    _no_unknown(path, "policy.", section, {"min_crypto"})
    floor = section.get("min_crypto", "default")
    if floor not in CRYPTO_FLOORS:
        raise ConfigError(f"{path}: policy.min_crypto: must be one of {', '.join(CRYPTO_FLOORS)}")
    return PolicyConfig(min_crypto=floor)


def _number(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{path}: {key}: must be a non-negative number")
    return float(value)


def _no_unknown(path: Path, prefix: str, raw: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(prefix + u for u in unknown)}")


def setting_names() -> list[str]:
    """Every setting the config file accepts, a section's as `section.key` (peerops.yaml(5)
    documents each; tests/packaging/test_manpages.py compares the two)."""
    names: list[str] = []
    fields = AgentConfig.__dataclass_fields__
    for name in sorted(_TOP):
        factory = fields[name].default_factory if name in fields else None
        section = getattr(factory, "__dataclass_fields__", None)
        if section is None:
            names.append(name)
        else:
            names.extend(f"{name}.{key}" for key in section)
    return names

