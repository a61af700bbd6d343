"""peerops init --remote URL --router NAME [--root DIR] [--generate-key]: first set-up.

In order, stopping at the first step that fails (exit 1, with what to do):
1. write the configuration (/etc/peerops.yaml, or DIR/etc/peerops.yaml for a simulated root)
   from the shipped sample, mode 0600; an existing file is kept unless --force (the untouched
   sample the package installs there is replaced);
2. clone the state repo through the same verified pull as every cycle (trust settings apply);
3. check that routers/NAME.yaml is in it;
4. check isakmpd's key pair (with --generate-key, make one when there is none);
5. publish our public key on the status branch (keys/NAME.pub) and print it for
   routers/NAME.yaml;
6. show the plan without applying it, then the next steps (rcctl enable/start peerops).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.config import AgentConfig

HELP = "set up this router: write the config, clone the state repo, check keys, show the plan"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--remote", required=True, metavar="URL",
                   help="the state repo's git URL (ssh, https or a path)")
    p.add_argument("--router", required=True, metavar="NAME",
                   help="this router's name: routers/NAME.yaml in the state repo")
    p.add_argument("--root", metavar="DIR",
                   help="a simulated router's root (host: simulated); default: this machine")
    p.add_argument("--branch", default="main", help="the branch to apply")
    p.add_argument("--generate-key", action="store_true",
                   help="make isakmpd's key pair when there is none (as /etc/rc does)")
    p.add_argument("--force", action="store_true", help="replace an existing configuration")
    p.add_argument("-c", "--config", help="where to write the configuration "
                   "(default: /etc/peerops.yaml under the root)")


class _Stop(Exception):
    """A step failed: the message says what to do; nothing after it ran."""


def run(args: argparse.Namespace) -> int:
    try:
        return _init(args)
    except _Stop as exc:
        print(f"peerops init: {exc}", file=sys.stderr)
        return 1


def _init(args: argparse.Namespace) -> int:
    from agent.config import NAME_RE, load_config

    if not NAME_RE.fullmatch(args.router):
        raise _Stop(f"--router {args.router!r} is not a router name ([a-z][a-z0-9-]*)")
    root = Path(args.root).resolve() if args.root else Path("/")
    config = Path(args.config) if args.config else root / "etc" / "peerops.yaml"
    _write_config(config, args, root)
    cfg = load_config(config)
    print(f"{config}: written (mode 0600)")
    _clone(cfg)
    _key_pair(cfg, args.generate_key)
    _publish_key(cfg)
    return _plan(cfg, config, default=not args.config and not args.root)


def configuration_text(sample: str, *, router: str, remote: str, branch: str, root: Path) -> str:
    """The sample with this router's settings put in place, its comments kept."""
    simulated = root != Path("/")
    values = {
        "router": router,
        "remote": _yaml_scalar(remote),
        "branch": _yaml_scalar(branch),
        "host": "simulated" if simulated else "openbsd",
        "root": str(root),
        "repo": str(root / "var/db/peerops/repo"),
        "state_dir": str(root / "var/db/peerops/state"),
    }
    for key, value in values.items():
        sample, count = re.subn(rf"(?m)^{key}:[^\n#]*", f"{key}: {value}", sample, count=1)
        if count != 1:
            raise _Stop(f"the sample configuration has no top-level `{key}:` line")
    return sample


def _yaml_scalar(text: str) -> str:
    import json

    return json.dumps(text)  # a JSON string is a YAML scalar: no URL character can break it


def _write_config(config: Path, args: argparse.Namespace, root: Path) -> None:
    from agent.atomic import write_atomic
    from agent.resources import sample_config

    sample = sample_config().read_text()
    # The package installs the sample as /etc/peerops.yaml (@sample): that one is not a
    # configuration yet, and init replaces it; any other existing file is kept.
    if config.exists() and not args.force and config.read_bytes() != sample.encode():
        raise _Stop(f"{config} exists; keep it, or rerun with --force to replace it")
    text = configuration_text(
        sample, router=args.router, remote=args.remote, branch=args.branch, root=root,
    )
    config.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(config, text.encode(), mode=0o600)


def _clone(cfg: AgentConfig) -> None:
    from agent.git import redact
    from agent.repo.source import GitSource

    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    sync = GitSource(cfg).sync()
    if sync.status != "ok":
        raise _Stop(f"cannot clone {redact(str(cfg.remote))}: {sync.message}")
    print(f"{cfg.repo}: cloned, commit {str(sync.commit)[:12]}")
    router = cfg.repo / "routers" / f"{cfg.router}.yaml"
    if not router.is_file():
        raise _Stop(
            f"the state repo has no routers/{cfg.router}.yaml: add this router there "
            "(name, asn, endpoints, public_key) and rerun"
        )


def _key_pair(cfg: AgentConfig, generate: bool) -> None:
    from agent.keys import LOCAL_PUB, PublicKeyError, install_key_pair, local_key_report

    host = cfg.make_host()
    report = local_key_report(host, min_bits=cfg.keys.min_bits)
    if report["fingerprint"] is None and generate:
        try:
            key = install_key_pair(host)
        except PublicKeyError as exc:
            raise _Stop(str(exc)) from None
        print(f"{LOCAL_PUB}: new key pair, {key.fingerprint}")
        return
    if not report["ok"]:
        fixes = "; ".join(f"{p['path']}: {p['problem']} ({p['fix']})" for p in report["problems"])
        hint = " (or rerun with --generate-key)" if report["fingerprint"] is None else ""
        raise _Stop(f"isakmpd's key pair is not usable: {fixes}{hint}")
    print(f"{LOCAL_PUB}: {report['fingerprint']}")


def _publish_key(cfg: AgentConfig) -> None:
    from agent.keys import published_key
    from agent.status.publish import StatusPublisher

    found = published_key(cfg.make_host())
    assert found is not None  # noqa: S101 - _key_pair checked it
    assert cfg.remote is not None  # noqa: S101 - init always sets one
    pem, fingerprint = found
    publisher = StatusPublisher(
        cfg.remote, cfg.router, cfg.state_dir / "status",
        branch=cfg.status_branch, git_timeout=cfg.command_timeout,
        transport=cfg.git,
    )
    result = publisher.publish(
        {f"keys/{cfg.router}.pub": pem.encode()}, f"{cfg.router}: public key {fingerprint}"
    )
    where = "published" if result.pushed else f"queued ({result.error})"
    print(f"keys/{cfg.router}.pub on {cfg.status_branch}: {where}")
    if _repo_key_fingerprint(cfg) == fingerprint:
        print(f"routers/{cfg.router}.yaml public_key: the same key")
    else:
        print(f"routers/{cfg.router}.yaml public_key differs: put this key there (a pull "
              f"request), so peers and the other routers install it:\n{pem}", end="")


def _repo_key_fingerprint(cfg: AgentConfig) -> str | None:
    """The fingerprint of routers/NAME.yaml's public_key in the checkout, or None."""
    import yaml

    from agent.keys import fingerprint_of

    try:
        data = yaml.safe_load((cfg.repo / "routers" / f"{cfg.router}.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    key = data.get("public_key") if isinstance(data, dict) else None
    return fingerprint_of(key) if isinstance(key, str) else None


def _plan(cfg: AgentConfig, config: Path, *, default: bool) -> int:
    from agent.output import plan_text
    from agent.run.converge import plan_router

    outcome = plan_router(cfg)
    print("\nThe first run will do this (nothing was applied):")
    sys.stdout.write(plan_text(outcome))
    flags = "" if default else f"rcctl set peerops flags -c {config}\n  "
    print(
        "\nNext steps:\n"
        f"  peerops config check -c {config}\n"
        f"  {flags}rcctl enable peerops\n"
        "  rcctl start peerops\n"
        "Logs: /var/log/daemon (syslog, peerops[pid]); debugging: peerops doctor [PEER]"
    )
    return 0 if outcome.exit_code in (0, 2) else 1
