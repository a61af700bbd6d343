"""What a pull request does to a state repo, in a reviewer's terms.

Peerings added, changed (field by field, old -> new) and removed per router; files touched
outside one peering; key findings (a key replaced on an existing peering: takeover; a key that
another peer's peering already uses: refused); and every link simulated at the head.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.keys import fingerprint_of
from agent.model import Inventory, Peering
from agent.pr import trees
from agent.repo import yamlpos
from agent.repo.inventory import load_inventory
from agent.repo.yamlpos import Problem

# A file of one peering: peers/<router>/<name>.yaml, its key file and the key's signatures.
PEERING_FILE_RE = re.compile(
    r"\Apeers/([a-z][a-z0-9-]{0,30})/([a-z][a-z0-9-]{0,30})\.(?:yaml|pub|pub\.asc|pub\.sig)\Z"
)
ROUTER_FILE_RE = re.compile(r"\Arouters/[^/]+\Z")

EXIT_OK, EXIT_INVALID, EXIT_REVIEW = 0, 1, 3


@dataclass(frozen=True)
class Finding:
    """One thing the reviewer must know. level: error (refuse), review (operator's eye) or
    note; file/line/col place it for annotations."""

    level: str
    message: str
    file: str | None = None
    line: int = 1
    col: int = 1

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PeeringChange:
    router: str
    peer: str
    kind: str  # added | changed | removed
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # name -> (old, new)
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "router": self.router,
            "peer": self.peer,
            "kind": self.kind,
            "file": self.file,
            "fields": {k: {"old": o, "new": n} for k, (o, n) in self.fields.items()},
        }


@dataclass
class Review:
    base: str
    head: str
    problems: list[Problem] = field(default_factory=list)  # the head does not validate
    changes: list[PeeringChange] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)  # simulated at the head
    files: list[tuple[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.problems or any(f.level == "error" for f in self.findings):
            return EXIT_INVALID
        if any(f.level == "review" for f in self.findings):
            return EXIT_REVIEW
        return EXIT_OK

    @property
    def verdict(self) -> str:
        return {EXIT_OK: "ok", EXIT_INVALID: "invalid", EXIT_REVIEW: "needs an operator"}[
            self.exit_code
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "exit": self.exit_code,
            "base": self.base,
            "head": self.head,
            "errors": [p.to_json() for p in self.problems],
            "peerings": [c.to_json() for c in self.changes],
            "findings": [f.to_json() for f in self.findings],
            "files": [{"status": s, "path": p} for s, p in self.files],
            "links": self.links,
        }


def review(repo: Path, base: str, head: str = "HEAD", simulate_links: bool = True) -> Review:
    """Review the change base..head of the state repo at repo (a git work tree, or a
    directory inside one that holds routers/ and peers/)."""
    base_id, head_id = trees.resolve(repo, base), trees.resolve(repo, head)
    prefix = trees.git(repo, "rev-parse", "--show-prefix").strip()
    result = Review(base_id, head_id)
    with tempfile.TemporaryDirectory(prefix="peerops-pr-") as tmp:
        base_dir = trees.export(repo, base_id, Path(tmp) / "base") / prefix
        head_dir = trees.export(repo, head_id, Path(tmp) / "head") / prefix
        files = trees.changed_files(repo, base_id, head_id)
        result.files = [(s, p.removeprefix(prefix)) for s, p in files if p.startswith(prefix)]
        new, problems = load_inventory(head_dir)
        if new is None:
            result.problems = problems
            return result
        old, _ = load_inventory(base_dir)
        result.changes = peering_changes(old, new)
        result.findings = _file_findings(result.files) + _key_findings(old, new, head_dir)
        result.findings += _scope_findings(result.changes)
        result.findings += _side_findings(new, result.changes, head_dir)
        message = trees.git(repo, "log", "-1", "--format=%B", head_id)
        result.findings += _removal_guard(old, new, message)
        if simulate_links:
            from agent.lab.simulate import simulate_change

            # The base first, then the head on the same fleet: the outside peers keep the
            # side they were given at the base, as their routers do when this merges.
            before, sim = simulate_change(base_dir, head_dir)
            was_up = {(h.router, h.peer) for h in before.links if h.state == "up"}
            result.links = [h.to_json() for h in sim.links] if not sim.problems else []
            for h in sim.links:
                if h.state != "up":
                    since = (" (up at the base: the peer's side, as `peerops peer config` gave "
                             "it, does not follow this change)"
                             if (h.router, h.peer) in was_up else "")  # fmt: skip
                    result.findings.append(
                        Finding("error", f"link {h.router}-{h.peer} would not come up: "
                                f"{h.reason or h.state}{since}")
                    )
            for router, steps in sim.second_run_steps.items():
                if steps:
                    result.findings.append(
                        Finding("error", f"{router}: a second run still plans {steps} step(s)")
                    )
    return result


# -- peerings ---------------------------------------------------------------------------------

_COMPARED = ("asn", "local_endpoint", "remote_endpoint", "local_id", "remote_id", "public_key",
             "crypto", "interface", "mtu", "ipv4", "ipv6", "description")  # fmt: skip


def _show(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "public_key":
        return fingerprint_of(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}
    return value


def peering_changes(old: Inventory | None, new: Inventory) -> list[PeeringChange]:
    before = _index(old) if old else {}
    after = _index(new)
    out = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is None and b is not None:
            out.append(PeeringChange(*key, "added", file=b.source))
        elif b is None and a is not None:
            out.append(PeeringChange(*key, "removed", file=a.source))
        elif a is not None and b is not None:
            diff = {
                f: (_show(f, getattr(a, f)), _show(f, getattr(b, f)))
                for f in _COMPARED
                if getattr(a, f) != getattr(b, f)
            }
            if diff:
                out.append(PeeringChange(*key, "changed", diff, file=b.source))
    return out


def _index(inv: Inventory) -> dict[tuple[str, str], Peering]:
    return {(p.router, p.peer): p for ps in inv.peerings.values() for p in ps}


# -- files --------------------------------------------------------------------------------------


def _file_findings(files: list[tuple[str, str]]) -> list[Finding]:
    out = []
    peerings = {m.groups() for _, p in files if (m := PEERING_FILE_RE.match(p))}
    for status, path in files:
        if ROUTER_FILE_RE.match(path):
            out.append(Finding("review", f"changes a router file ({status} {path})", path))
        elif not PEERING_FILE_RE.match(path) and not path.startswith(("peers/", "routers/")):
            out.append(Finding("review", f"touches a file outside peers/ and routers/ "
                               f"({status} {path})", path))  # fmt: skip
        elif not PEERING_FILE_RE.match(path):
            out.append(Finding("review", f"touches a file that is no peering's ({status} {path})",
                               path))  # fmt: skip
    if len(peerings) > 1:
        names = ", ".join(f"{r}/{n}" for r, n in sorted(peerings))
        out.append(Finding("review", f"touches more than one peering: {names}"))
    return out


def _scope_findings(changes: list[PeeringChange]) -> list[Finding]:
    removed = [c for c in changes if c.kind == "removed"]
    if len(removed) > 1:
        names = ", ".join(f"{c.router}/{c.peer}" for c in removed)
        return [Finding("review", f"removes {len(removed)} peerings: {names}")]
    return []


def _removal_guard(old: Inventory | None, new: Inventory, message: str) -> list[Finding]:
    """Per router, whether the routers' removal guard (agent.repo.removals, default limits)
    would hold this change's removals until an operator confirms them."""
    from agent.repo.removals import TRAILER, exceeds_limit, trailer_in

    out = []
    for router, before in sorted((old.peerings if old else {}).items()):
        names = {p.peer for p in before}
        removed = sorted(names - {p.peer for p in new.for_router(router)})
        if not removed or not exceeds_limit(len(removed), len(names)):
            continue
        if trailer_in(message) >= len(removed):
            out.append(Finding("note", f"{router}: {len(removed)} removals confirmed by the "
                               f"commit trailer '{TRAILER}'"))  # fmt: skip
            continue
        out.append(Finding(
            "review",
            f"{router}: the removal guard holds these {len(removed)} of {len(names)} removals "
            f"({', '.join(removed)}) until an operator confirms (safety.allow_removals, or a "
            f"trailer '{TRAILER}: {len(removed)}' in the merge commit)",
        ))  # fmt: skip
    return out


def _key_findings(old: Inventory | None, new: Inventory, head_dir: Path) -> list[Finding]:
    """A changed key of an existing peering (possible takeover). A key shared with another
    owner never gets here: validation refuses it (agent/repo/inventory.py)."""
    before = _index(old) if old else {}
    out = []
    for key, p in sorted(_index(new).items()):
        was = before.get(key)
        if not p.internal and was is not None and was.public_key != p.public_key:
            fp = fingerprint_of(p.public_key) or p.public_key
            where = _position(head_dir, p.source, "public_key")
            out.append(Finding(
                "review",
                f"key takeover? the public key of the existing peering {p.router}/{p.peer} "
                f"changes ({fingerprint_of(was.public_key)} -> {fp}): confirm with the peer "
                "out of band",
                p.source, *where,
            ))  # fmt: skip
    return out


def _side_findings(new: Inventory, changes: list[PeeringChange], head_dir: Path) -> list[Finding]:
    """Transfer pairs of added or re-addressed peerings that look written from the peer's
    side (its own address under `router`), judged by the router's declared pools."""
    from agent.repo.pools import looks_swapped

    out = []
    for c in changes:
        if c.kind == "removed" or (c.kind == "changed" and not {"ipv4", "ipv6"} & set(c.fields)):
            continue
        r = new.routers[c.router]
        p = next(q for q in new.for_router(c.router) if q.peer == c.peer)
        pairs = [("ipv4", r.pools4, p.ipv4.router, p.ipv4.peer)] if p.ipv4 else []
        if p.ipv6 and p.ipv6.mode == "ula" and p.ipv6.router and p.ipv6.peer:
            pairs.append(("ipv6", r.pools6, p.ipv6.router, p.ipv6.peer))
        for family, pools, ours, theirs in pairs:
            why = None if p.internal else looks_swapped(pools, ours, theirs)
            if why:
                doc, _ = yamlpos.load((head_dir / p.source).read_text(encoding="utf-8"), p.source)
                line, col = doc.where(("gre", family, "router")) if doc else (1, 1)
                out.append(Finding(
                    "review",
                    f"{c.router}/{c.peer}: gre.{family}: {why}. `router` is the address on "
                    f"{c.router}, `peer` the one on the peer's side: swapped?",
                    p.source, line, col,
                ))  # fmt: skip
    return out


def _position(head_dir: Path, rel: str, key: str) -> tuple[int, int]:
    """Line and column of a top-level field in a head file (or of public_key_file)."""
    path = head_dir / rel
    doc, _ = yamlpos.load(path.read_text(encoding="utf-8"), rel)
    if doc is None:
        return 1, 1
    for k in (key, f"{key}_file"):
        if (k,) in doc.positions:
            return doc.positions[(k,)]
    return 1, 1
