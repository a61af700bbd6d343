"""A review as text, Markdown (PR comment, job summary), GitHub annotations, or JSON."""

from __future__ import annotations

import json
from typing import Any

from agent.pr.review import Review

_ICON = {"error": "refused", "review": "needs an operator", "note": "note"}


def _value(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) + "}"
    return "-" if v is None else str(v)


def _change_lines(r: Review) -> list[str]:
    out = []
    for c in r.changes:
        out.append(f"{c.kind} {c.router}/{c.peer}" + (f" ({c.file})" if c.file else ""))
        out += [f"    {k}: {_value(o)} -> {_value(n)}" for k, (o, n) in c.fields.items()]
    return out


def text(r: Review) -> str:
    lines = [f"check-pr {r.base[:12]}..{r.head[:12]}: {r.verdict}"]
    lines += [f"  {p}" for p in r.problems]
    changes = [f"  {line}" for line in _change_lines(r)]
    lines += changes or ([] if r.problems else ["  no peering changes"])
    lines += [f"  {_ICON[f.level]}: {f.message}" for f in r.findings]
    if r.links:
        up = sum(1 for h in r.links if h["state"] == "up")
        lines.append(f"  links at the head: {up}/{len(r.links)} up")
    return "\n".join(lines) + "\n"


def markdown(r: Review) -> str:
    out = [f"### peerops check-pr: {r.verdict}", "", f"`{r.base[:12]}..{r.head[:12]}`", ""]
    if r.problems:
        out += ["**The head does not validate:**", ""]
        out += [f"- `{p.file}:{p.line}:{p.col}` {p.field}: {p.message}" for p in r.problems]
        out.append("")
    if r.changes:
        out += ["| Peering | Change | Fields (old → new) |", "|---|---|---|"]
        for c in r.changes:
            fields = "<br>".join(
                f"`{k}`: {_md(_value(o))} → {_md(_value(n))}" for k, (o, n) in c.fields.items()
            )
            out.append(f"| {c.router}/{c.peer} | {c.kind} | {fields or '-'} |")
        out.append("")
    for f in r.findings:
        out.append(f"- **{_ICON[f.level]}**: {_md(f.message)}")
    if r.links:
        up = sum(1 for h in r.links if h["state"] == "up")
        out += ["", f"Links at the head (simulated): {up}/{len(r.links)} up"]
    return "\n".join(out) + "\n"


def _md(s: str) -> str:
    return s.replace("|", "\\|")


def github(r: Review) -> str:
    """GitHub Actions workflow commands: one ::error/::warning per problem and finding."""
    out = []
    for p in r.problems:
        out.append(f"::error file={_prop(p.file)},line={p.line},col={p.col}::"
                   f"{_data(p.field + ': ' + p.message)}")  # fmt: skip
    for f in r.findings:
        kind = "error" if f.level == "error" else "warning"
        where = f" file={_prop(f.file)},line={f.line},col={f.col}" if f.file else ""
        out.append(f"::{kind}{where}::{_data(f.message)}")
    return "\n".join([*out, text(r).rstrip("\n")]) + "\n"


def _data(s: str) -> str:
    # Workflow-command escaping (actions/toolkit command.ts escapeData).
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(s: str) -> str:
    return _data(s).replace(":", "%3A").replace(",", "%2C")


def as_json(r: Review) -> str:
    return json.dumps(r.to_json(), indent=2) + "\n"


FORMATS = {"text": text, "markdown": markdown, "github": github, "json": as_json}
