"""`simulate --base REV`: simulate the base and the head of a change and compare the links.

One simulated fleet converges at the base, then at the head, the outside peers keeping the
side `peer config` gave them at the base (agent.lab.simulate). A link is added or removed
when only one side has it, changed when the peering's resolved fields differ (the same
field-by-field comparison as `check-pr`), and broken when it was up at the base and is not
at the head.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.lab.simulate import Simulation, simulate_change
from agent.pr import trees
from agent.pr.review import peering_changes
from agent.repo.inventory import load_inventory


@dataclass
class Comparison:
    base: str
    head: str
    head_sim: Simulation
    added: list[str] = field(default_factory=list)  # "router/peer"
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # link -> changed fields
    broken: dict[str, str] = field(default_factory=dict)  # link -> why (state or reason)

    @property
    def ok(self) -> bool:
        return self.head_sim.ok and not self.broken

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "base": self.base,
            "head": self.head,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "broken": self.broken,
            "head_simulation": self.head_sim.to_json(),
        }


def compare(repo: Path, base: str, head: str = "HEAD") -> Comparison:
    """Simulate base and head of the git work tree repo and compare their links."""
    base_id, head_id = trees.resolve(repo, base), trees.resolve(repo, head)
    prefix = trees.git(repo, "rev-parse", "--show-prefix").strip()
    with tempfile.TemporaryDirectory(prefix="peerops-compare-") as tmp:
        base_dir = trees.export(repo, base_id, Path(tmp) / "base") / prefix
        head_dir = trees.export(repo, head_id, Path(tmp) / "head") / prefix
        before, after = simulate_change(base_dir, head_dir)
        old, _ = load_inventory(base_dir)
        new, _ = load_inventory(head_dir)
    changes = {}
    if old is not None and new is not None:
        changes = {
            f"{c.router}/{c.peer}": sorted(c.fields)
            for c in peering_changes(old, new)
            if c.kind == "changed"
        }
    return classify(base_id, head_id, before, after, changes)


def classify(
    base: str, head: str, before: Simulation, after: Simulation, changes: dict[str, list[str]]
) -> Comparison:
    """Sort the links of two simulations into added, removed, changed and broken (not up at
    the head although up at the base, or new and not up)."""
    result = Comparison(base, head, after)
    if after.problems:
        return result
    states = {f"{h.router}/{h.peer}": h for h in before.links}
    now = {f"{h.router}/{h.peer}": h for h in after.links}
    result.added = sorted(now.keys() - states.keys())
    result.removed = sorted(states.keys() - now.keys())
    result.changed = {link: fields for link, fields in changes.items() if link in now}
    for link, h in sorted(now.items()):
        was = states.get(link)
        if h.state != "up" and (was is None or was.state == "up"):
            result.broken[link] = h.reason or h.state
    return result


def text(c: Comparison) -> str:
    lines = [f"simulate {c.base[:12]}..{c.head[:12]}"]
    lines += [f"  added    {link}" for link in c.added]
    lines += [f"  removed  {link}" for link in c.removed]
    lines += [f"  changed  {link} ({', '.join(fields)})" for link, fields in c.changed.items()]
    lines += [f"  BROKEN   {link}: {why}" for link, why in c.broken.items()]
    if any(link in c.changed for link in c.broken):
        lines.append("  (outside peers keep the side `peerops peer config` gave them at the base: "
                     "a change their side must follow breaks the link until they apply the "
                     "new one)")
    lines.append("every link comes up" if c.ok else "NOT every link comes up")
    return "\n".join(lines) + "\n"
