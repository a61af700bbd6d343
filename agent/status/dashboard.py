"""The fleet dashboard: README.md and fleet.svg, fit to be committed on the status branch.

The state repo's CI (a single writer, so no push races) runs `peerops fleet --format markdown`
and commits the two files; people open the branch and see the fleet. The SVG draws routers as
nodes, links between managed routers as edges, and each router's external peers grouped on its
outer side, every peering coloured by its state. Everything shown comes from reports any router
could have written: text is escaped for Markdown and XML, never interpreted. The output is
deterministic, so an unchanged fleet commits nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from agent.atomic import write_atomic
from agent.status.cache import Snapshot
from agent.status.fleetview import RouterRow

COLOURS = {"up": "#2da44e", "negotiating": "#d4a72c", "down": "#cf222e", None: "#8c959f"}
_RANK = {"down": 0, None: 1, "negotiating": 2, "up": 3}  # an edge shows its worse side
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>&~])")


def write_dashboard(directory: Path, snapshot: Snapshot, rows: Sequence[RouterRow]) -> list[Path]:
    """Write README.md and fleet.svg into directory (atomically); return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    readme, svg = directory / "README.md", directory / "fleet.svg"
    write_atomic(svg, fleet_svg(rows).encode(), mode=0o644)
    write_atomic(readme, fleet_markdown(snapshot, rows, svg.name).encode(), mode=0o644)
    return [readme, svg]


def md(text: object) -> str:
    """text as inert Markdown inside a table cell: no links, HTML, emphasis or cell breaks."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def fleet_markdown(snapshot: Snapshot, rows: Sequence[RouterRow], svg_name: str) -> str:
    """The page: a summary line, the picture, one table of routers, one of peerings. The
    status branch's own tip is not shown: committing the page moves it."""
    bad = [r for r in rows if not r.ok]
    head = (
        f"**{len(rows) - len(bad)} of {len(rows)} routers healthy and reporting.**"
        if rows else "**No router has reported yet.**"
    )
    lines = [
        "# Fleet status",
        "",
        head,
        "",
        f"The routers' reports on `{snapshot.branch}`; the state repo's main is at "
        f"`{(snapshot.main or 'unknown')[:12]}`. Written by `peerops fleet --format markdown`.",
        "",
        f"![The fleet: routers, their peerings coloured by state]({svg_name})",
        "",
        "## Routers",
        "",
        "| Router | Result | Commit | Behind main | Peers up | Last report (UTC) | Notes |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        result = "**SILENT**" if r.silent else (md(r.result) if r.ok else f"**{md(r.result)}**")
        lines.append(
            f"| {md(r.router)} | {result} | {('`' + r.commit[:12] + '`') if r.commit else '-'} "
            f"| {'-' if r.behind is None else r.behind} | {r.peers_up}/{r.peers_total} "
            f"| {_finished(r)} "
            f"| {'; '.join(md(n) for n in r.notes) or '-'} |"
        )
    lines += ["", "## Peerings", "", "| Router | Peer | State | Interface | Reason |",
              "| --- | --- | --- | --- | --- |"]
    for r in rows:
        for p in r.peers:
            lines.append(
                f"| {md(r.router)} | {md(p['peer'])} | {md(p['state'])} "
                f"| {md(p['interface'] or '-')} | {md(p['reason'] or '-')} |"
            )
    lines += ["", f"<sub>Legend: up {_dot('up')}, negotiating {_dot('negotiating')}, "
              f"down {_dot('down')}. Silent: no report for longer than interval x 2 + "
              "heartbeat.</sub>", ""]
    return "\n".join(lines)


def _finished(r: RouterRow) -> str:
    """When the router's reporting run finished (a time, not an age: an unchanged fleet
    gives the same page)."""
    finished = (r.report or {}).get("run", {}).get("finished")
    return str(finished).replace("T", " ").rstrip("Z") if finished else "-"


def _dot(state: str) -> str:
    return {"up": "(green)", "negotiating": "(amber)", "down": "(red)"}[state]


# ---- the picture -------------------------------------------------------------------------------


def fleet_svg(rows: Sequence[RouterRow]) -> str:
    """Routers on a circle, router-to-router links as chords, each router's external peers on
    an outer ring in the router's own sector (so groups never cross); the picture is cropped
    to what is drawn."""
    names = [r.router for r in rows]
    routers = set(names)
    externals = {r.router: [p for p in r.peers if p["peer"] not in routers] for r in rows}
    widest = max([len(v) for v in externals.values()] + [1])
    radius = 0.0 if len(rows) < 2 else max(150.0, 55.0 * len(rows) / math.pi)
    pos = {name: _polar(radius, _angle(i, len(names))) for i, name in enumerate(names)}
    if len(rows) < 2:  # one router: its peers all around it
        step, outer = 2 * math.pi / widest, 120.0 + 4.0 * widest
    else:  # a sector per router; neighbouring peers at least 24 px apart on the ring
        step = min(0.45, 2 * math.pi / len(rows) / widest)
        outer = max(radius + 110.0, 24.0 / step)
    body = _internal_edges(rows, routers, pos)
    points = list(pos.values()) or [(0.0, 0.0)]
    for i, r in enumerate(rows):
        peers = externals[r.router]
        angles = [_angle(i, len(names)) + (k - (len(peers) - 1) / 2) * step
                  for k in range(len(peers))]
        group, drawn = _external_group(r, peers, pos[r.router], angles, outer)
        body += group
        points += drawn
    body += [_router_node(r, pos[r.router]) for r in rows]
    margin, legend = 90.0, 50.0  # room for labels; the legend's band on top
    xs, ys = [x for x, _ in points], [y for _, y in points]
    width = max(520.0, max(xs) - min(xs) + 2 * margin)
    height = max(ys) - min(ys) + 2 * margin - 30 + legend
    dx = width / 2 - (max(xs) + min(xs)) / 2
    dy = legend + margin - 30 - min(ys)
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
        "<title>peerops fleet</title>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        *_legend(),
        f'<g transform="translate({dx:.1f},{dy:.1f})">',
        *body,
        "</g>",
        "</svg>",
    ]) + "\n"


def _polar(r: float, angle: float) -> tuple[float, float]:
    return r * math.cos(angle), r * math.sin(angle)


def _angle(i: int, n: int) -> float:
    return math.pi + 2 * math.pi * i / max(n, 1)  # the first router on the left


def _internal_edges(rows: Sequence[RouterRow], routers: set[str],
                    pos: dict[str, tuple[float, float]]) -> list[str]:
    states: dict[tuple[str, str], list[str | None]] = {}
    for r in rows:
        for p in r.peers:
            if p["peer"] in routers:
                key = (min(r.router, p["peer"]), max(r.router, p["peer"]))
                states.setdefault(key, []).append(p["state"])
    out = []
    for (a, b), seen in sorted(states.items()):
        worst = min(seen, key=lambda s: _RANK.get(s, 1))
        state = worst if len(seen) == 2 else None if worst == "up" else worst
        (x1, y1), (x2, y2) = pos[a], pos[b]
        out.append(
            f'<g class="peering" data-router="{_x(a)}" data-peer="{_x(b)}" '
            f'data-state="{_x(state or "unknown")}"><title>{_x(a)} — {_x(b)}: '
            f'{_x(" / ".join(str(s) for s in seen))}</title>'
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{COLOURS.get(state, COLOURS[None])}" stroke-width="4"/></g>'
        )
    return out


def _external_group(
    row: RouterRow, peers: list[dict[str, Any]], at: tuple[float, float],
    angles: list[float], outer: float,
) -> tuple[list[str], list[tuple[float, float]]]:
    """The router's external peers on the outer ring at the given angles, labelled along
    their ray; (SVG elements, the points drawn)."""
    if not peers:
        return [], []
    drawn = []
    x0, y0 = at
    out = [f'<g class="external" data-router="{_x(row.router)}">']
    for p, a in zip(peers, angles, strict=True):
        x, y = _polar(outer, a)
        drawn.append(_polar(outer + 60, a))  # room for the label
        colour = COLOURS.get(p["state"], COLOURS[None])
        left = math.cos(a) < 0  # text reads left to right: flip the labels on the left half
        degrees = math.degrees(a) + (180 if left else 0)
        lx, ly = _polar(outer + 13, a)
        reason = f" ({p['reason']})" if p.get("reason") else ""
        out.append(
            f'<g class="peering" data-router="{_x(row.router)}" data-peer="{_x(p["peer"])}" '
            f'data-state="{_x(p["state"])}"><title>{_x(row.router)} — {_x(p["peer"])}: '
            f'{_x(p["state"])}{_x(reason)}</title>'
            f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-width="3" stroke-dasharray="{"6 4" if p["state"] != "up" else "none"}"/>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="{colour}"/>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" dy="4" text-anchor="{"end" if left else "start"}" '
            f'transform="rotate({degrees:.1f} {lx:.1f} {ly:.1f})">{_x(p["peer"])}</text></g>'
        )
    out.append("</g>")
    return out, drawn


def _router_node(r: RouterRow, at: tuple[float, float]) -> str:
    x, y = at
    fill = "#ffffff" if r.ok else "#fff8c5" if r.silent else "#ffebe9"
    stroke = "#8c959f" if r.silent else "#24292f" if r.ok else "#cf222e"
    dash = ' stroke-dasharray="5 4"' if r.silent else ""
    status = "SILENT" if r.silent else r.result
    return (
        f'<g class="router" data-router="{_x(r.router)}"><title>{_x(r.router)}: {_x(status)}, '
        f"{r.peers_up}/{r.peers_total} peers up</title>"
        f'<rect x="{x - 48:.1f}" y="{y - 24:.1f}" width="96" height="48" rx="8" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="2"{dash}/>'
        f'<text x="{x:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-weight="bold" '
        f'font-size="14">{_x(r.router)}</text>'
        f'<text x="{x:.1f}" y="{y + 13:.1f}" text-anchor="middle">{_x(status)} '
        f"{r.peers_up}/{r.peers_total}</text></g>"
    )


def _legend() -> list[str]:
    out = ['<g class="legend">']
    for k, (label, state) in enumerate((("up", "up"), ("negotiating", "negotiating"),
                                         ("down", "down"), ("unknown", None))):
        x = 20 + 120 * k
        out.append(
            f'<line x1="{x}" y1="24" x2="{x + 28}" y2="24" stroke="{COLOURS[state]}" '
            f'stroke-width="4"/><text x="{x + 34}" y="28">{label}</text>'
        )
    out.append("</g>")
    return out


def _x(text: object) -> str:
    """XML-escaped text, also for attribute values."""
    return escape(str(text), {'"': "&quot;"})

