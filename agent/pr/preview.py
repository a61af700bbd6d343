"""`plan --repo DIR --router R [--base REV]`: what router R would do if a change merged.

A simulated fleet converges at the base (every router of the base, so internal links are
up), then router R's checkout moves to the head and R plans: the ordered steps with their
reasons, and for every file it would write, the difference to what the base left there.
Without a base, R starts as a freshly installed router.
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import PeeropsError
from agent.pr import trees
from agent.repo.keyblock import set_key_block
from agent.run.converge import RunOutcome


class PreviewError(PeeropsError):
    """The base cannot be simulated or the router is not in the repo."""


@dataclass
class Preview:
    router: str
    base: str | None
    head: str
    outcome: RunOutcome
    diffs: dict[str, str] = field(default_factory=dict)  # path -> unified diff

    def to_json(self) -> dict[str, Any]:
        return {
            "router": self.router,
            "base": self.base,
            "head": self.head,
            **self.outcome.to_json(),
            "diffs": self.diffs,
        }


def preview(repo: Path, router: str, base: str | None, head: str = "HEAD") -> Preview:
    """Plan router at head after converging a simulated fleet at base (or from scratch)."""
    from agent.lab.demo import build_demo_fleet
    from agent.repo.source import GitSource
    from agent.run.converge import apply_router, plan_router
    from agent.sim.host import SimHost

    head_id = trees.resolve(repo, head)
    base_id = trees.resolve(repo, base) if base else None
    prefix = trees.git(repo, "rev-parse", "--show-prefix").strip()
    with tempfile.TemporaryDirectory(prefix="peerops-plan-") as tmp:
        head_dir = trees.export(repo, head_id, Path(tmp) / "head") / prefix
        start_dir = head_dir
        if base_id:
            start_dir = trees.export(repo, base_id, Path(tmp) / "base") / prefix
        try:
            configs = build_demo_fleet(Path(tmp) / "fleet", source=start_dir)
        except SystemExit as exc:  # the base itself is invalid
            raise PreviewError(f"cannot simulate the start: {exc}") from None
        if router not in configs:
            raise PreviewError(f"no router {router!r} in routers/ at the start")
        if base_id:
            for cfg in configs.values():
                apply_router(cfg)
        cfg = configs[router]
        _push_head(Path(tmp) / "fleet", head_dir, {n: SimHost(c.root) for n, c in configs.items()})
        GitSource(cfg).sync()
        outcome = plan_router(cfg)
        host = SimHost(cfg.root)
        diffs = {}
        for step in outcome.plan:
            file = getattr(step, "file", None)
            if file is not None:
                old = host.read_file(file.path) or b""
                diffs[file.path] = _diff(file.path, old, file.content)
    return Preview(router, base_id, head_id, outcome, diffs)


def _push_head(fleet: Path, head_dir: Path, hosts: dict[str, Any]) -> None:
    """Commit the head tree to the fleet's remote as the next commit of main, router keys
    replaced by the simulated routers' own (as the fleet was built)."""
    from agent.keys import LOCAL_PUB

    work = fleet / "head-work"
    trees.git(fleet, "clone", "-q", "-b", "main", str(fleet / "remote.git"), str(work))
    for entry in work.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(head_dir, work, dirs_exist_ok=True)
    for name, host in hosts.items():
        path = work / "routers" / f"{name}.yaml"
        pem = host.read_file(LOCAL_PUB)
        if path.is_file() and pem:
            path.write_text(set_key_block(path.read_text(), pem.decode()))
    ident = ["-c", "user.name=peerops plan", "-c", "user.email=plan@peerops.invalid"]
    trees.git(work, "add", "-A")
    trees.git(work, *ident, "commit", "-q", "--allow-empty", "-m", "the change under review")
    trees.git(work, "push", "-q", "origin", "HEAD:main")


def _diff(path: str, old: bytes, new: bytes) -> str:
    return "".join(
        difflib.unified_diff(
            old.decode(errors="replace").splitlines(keepends=True),
            new.decode(errors="replace").splitlines(keepends=True),
            f"a{path}",
            f"b{path}",
        )
    )


def markdown(p: Preview) -> str:
    """The plan as a pull-request comment or job summary."""
    o = p.outcome
    start = f"`{p.base[:12]}`" if p.base else "a fresh router"
    out = [f"### peerops plan: {p.router} at `{p.head[:12]}` (from {start})", ""]
    if o.problems:
        out += ["**The repo does not validate:**", ""]
        out += [f"- `{x.file}:{x.line}:{x.col}` {x.field}: {x.message}" for x in o.problems]
        return "\n".join(out) + "\n"
    if not o.plan:
        out.append("Nothing to do: the router is already in this state.")
    for i, step in enumerate(o.plan, 1):
        out.append(f"{i}. `{step.describe()}`: {step.resource}: {step.why}")
    for message in [*o.config_errors, *(f"{k}: {v}" for k, v in o.peer_errors.items())]:
        out.append(f"- **not applied**: {message}")
    for path, diff in p.diffs.items():
        out += ["", f"<details><summary>{path}</summary>", "", "```diff", diff.rstrip("\n"),
                "```", "", "</details>"]  # fmt: skip
    return "\n".join(out) + "\n"


def text(p: Preview) -> str:
    from agent.output import plan_text

    return plan_text(p.outcome) + "".join(p.diffs.values())
