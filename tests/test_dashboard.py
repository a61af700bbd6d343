"""The dashboard as people see it: `peerops fleet --format markdown` writes README.md and
fleet.svg; the Markdown is rendered to HTML and photographed by headless Chromium, and the
SVG must be well-formed XML that holds every router and every peering in its state's colour."""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import markdown
import pytest
import yaml

from agent.cli import build_parser
from agent.lab.demo import build_demo_fleet
from agent.run.cycle import Agent
from agent.status.cache import Snapshot
from agent.status.dashboard import COLOURS, fleet_markdown, fleet_svg
from agent.status.fleetview import fleet_rows
from tests.gitkit import git
from tests.reportkit import dump, report

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("dash")
    configs = build_demo_fleet(base)
    for _ in range(2):
        for cfg in configs.values():
            Agent(cfg).cycle()
    return base / "remote.git"


def peerops(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache")}
    home.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=home, env=env,
                          capture_output=True, text=True, check=False, timeout=120)


def render_html(page: Path) -> Path:
    """The page as GitHub-flavoured Markdown renders it (tables on), beside the SVG."""
    body = markdown.markdown(page.read_text(), extensions=["tables"])
    html = page.with_suffix(".html")
    html.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><style>body{font-family:sans-serif;"
        "max-width:1000px;margin:24px}table{border-collapse:collapse}td,th{border:1px solid "
        "#d0d7de;padding:4px 8px}img{max-width:100%}</style></head><body>"
        f"{body}</body></html>"
    )
    return html


def screenshot(html: Path, png: Path, size: str = "1100,1500") -> Path:
    """Photograph html with headless Chromium (Debian's package) in a new empty profile."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is needed (Debian's package chromium; .ci/run installs it)"
    profile = png.parent / "chromium-profile"
    profile.mkdir()
    out = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
         f"--screenshot={png}", html.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert out.returncode == 0 and png.exists(), out.stderr[-2000:]
    return png


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def svg_peerings(svg: Path) -> tuple[set[str], dict[tuple[str, str], tuple[str, str]]]:
    root = ET.parse(svg).getroot()  # noqa: S314 - our own output; raises if not well-formed
    routers = {g.get("data-router") for g in root.iter(f"{SVG}g") if g.get("class") == "router"}
    peerings = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "peering":
            line = g.find(f"{SVG}line")
            assert line is not None
            peerings[(g.get("data-router"), g.get("data-peer"))] = (
                g.get("data-state"), line.get("stroke"))
    return routers, peerings


def test_markdown_and_svg_show_every_router_and_peering(remote: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    written = peerops(tmp_path / "home", "fleet", "--remote", str(remote), "--format",
                      "markdown", "--output", str(out))
    assert written.returncode == 0, written.stderr
    assert written.stdout.split() == [str(out / "README.md"), str(out / "fleet.svg")]
    fleet = json.loads(peerops(tmp_path / "home", "fleet", "--remote", str(remote),
                               "--json").stdout)
    routers, peerings = svg_peerings(out / "fleet.svg")
    assert routers == {r["router"] for r in fleet["routers"]} == {"rtr1", "rtr2"}
    for r in fleet["routers"]:
        for p in r["peers"]:
            key = (r["router"], p["peer"])
            if p["peer"] in routers:  # one edge per link between two managed routers
                key = (min(key), max(key))
            assert key in peerings, key
            assert peerings[key] == (p["state"], COLOURS[p["state"]]), key
    page = (out / "README.md").read_text()
    assert "![The fleet: routers, their peerings coloured by state](fleet.svg)" in page
    html = render_html(out / "README.md")
    body = html.read_text()
    assert body.count("<table>") == 2 and body.count("<td>rtr1</td>") >= 1
    png = screenshot(html, tmp_path / "dashboard.png")
    assert png_size(png) == (1100, 1500)
    assert png.stat().st_size > 30_000  # a page with a picture and tables, not a blank one
    again = tmp_path / "again"
    peerops(tmp_path / "home", "fleet", "--remote", str(remote), "--offline", "--format",
            "markdown", "--output", str(again))
    for name in ("README.md", "fleet.svg"):  # an unchanged fleet: nothing new to commit
        assert (again / name).read_bytes() == (out / name).read_bytes()


def rows_of(reports: dict[str, dict[str, Any]]) -> list[Any]:
    return fleet_rows({name: dump(doc) for name, doc in reports.items()}, now=time.time())


def test_hostile_report_text_stays_text(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script> | [x](javascript:alert(1)) & `code` **bold**"
    rows = rows_of({
        "rtr1": report("rtr1", {"alice": "down", "rtr2": "up"}, reasons={"alice": evil}),
        "rtr2": report("rtr2", {"rtr1": "negotiating"}, finished=time.time() - 10 * 86400),
    })
    snapshot = Snapshot("git://example.invalid/x", "status", "a" * 40, "b" * 40, 0.0, False, None)
    page = fleet_markdown(snapshot, rows, "fleet.svg")
    html = markdown.markdown(page, extensions=["tables"])
    assert "<script" not in html and "href=" not in html and "<code>code" not in html
    assert "<strong>bold" not in html
    peer_rows = [ln for ln in page.splitlines() if ln.startswith("| rtr1 | alice")]
    assert len(peer_rows) == 1 and peer_rows[0].count(" | ") == 4  # the cell did not split
    svg = tmp_path / "fleet.svg"
    svg.write_text(fleet_svg(rows))
    routers, peerings = svg_peerings(svg)
    assert routers == {"rtr1", "rtr2"}
    assert peerings[("rtr1", "alice")] == ("down", COLOURS["down"])
    assert peerings[("rtr1", "rtr2")][0] == "negotiating"  # the worse side of the link
    assert "SILENT" in page and "**SILENT**" in page
    assert "<script>" not in svg.read_text()


WORKFLOW = Path(__file__).resolve().parent.parent / "packaging" / "ci" / "status-dashboard.yml"


def workflow_steps() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    return {step.get("name", ""): step for step in doc["jobs"]["dashboard"]["steps"]}


def test_the_workflow_calls_fleet_with_options_that_exist() -> None:
    script = workflow_steps()["Write the dashboard"]["run"]
    command = " ".join(
        line.strip().rstrip("\\") for line in script.splitlines() if "peerops fleet" in line
        or line.strip().startswith("--")
    )
    argv = shlex.split(command.replace('"https://github.com/${GITHUB_REPOSITORY}.git"', "URL")
                       .replace('"$STATUS_BRANCH"', "status"))
    args = build_parser("fleet").parse_args(argv[1:])
    assert (args.command, args.remote, args.branch, args.format, args.output) == (
        "fleet", "URL", "status", "markdown", "status")


def test_the_workflow_commits_the_page_beside_the_reports(remote: Path, tmp_path: Path) -> None:
    """The workflow's commit step, run by bash against a real remote: the page lands on the
    status branch next to the routers' reports, and an unchanged fleet commits nothing."""
    origin = tmp_path / "origin.git"
    shutil.copytree(remote, origin)
    checkout = tmp_path / "status"
    git(tmp_path, "clone", "-q", "-b", "status", str(origin), str(checkout))
    script = workflow_steps()["Commit and push"]["run"]
    env = {**os.environ, "STATUS_BRANCH": "status"}
    for _ in range(2):
        made = peerops(tmp_path / "home", "fleet", "--remote", str(origin), "--format",
                       "markdown", "--output", str(checkout))
        assert made.returncode == 0, made.stderr
        out = subprocess.run(["bash", "-e", "-c", script], cwd=checkout, env=env,
                             capture_output=True, text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr
    assert "the fleet did not change" in out.stdout
    files = git(origin, "ls-tree", "--name-only", "-r", "status").split()
    assert {"README.md", "fleet.svg", "reports/rtr1.yaml", "reports/rtr2.yaml"} <= set(files)
    log = git(origin, "log", "--format=%s", "status").splitlines()
    assert log[0] == "dashboard: 2 of 2 routers healthy and reporting."
    assert sum(s.startswith("dashboard:") for s in log) == 1


def test_twenty_routers_keep_their_peers_apart(tmp_path: Path) -> None:
    """Each router's external peers stay in its own sector of the picture, and no two peer
    nodes overlap, with 20 routers of 6 external peers each."""
    rows = rows_of({
        f"r{i:02d}": report(f"r{i:02d}", {f"p{j}": "up" for j in range(6)}) for i in range(20)
    })
    svg = tmp_path / "fleet.svg"
    svg.write_text(fleet_svg(rows))
    root = ET.parse(svg).getroot()  # noqa: S314 - our own output
    nodes = []  # (angle around the fleet's centre, router, x, y)
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "external":
            for circle in group.iter(f"{SVG}circle"):
                x, y = float(circle.get("cx")), float(circle.get("cy"))
                nodes.append((math.atan2(y, x) % (2 * math.pi), group.get("data-router"), x, y))
    assert len(nodes) == 120
    order = [router for _, router, _, _ in sorted(nodes)]
    runs = [r for k, r in enumerate(order) if k == 0 or order[k - 1] != r]
    assert len(runs) <= 21  # one contiguous run per router (the first may wrap around)
    closest = min(math.dist(a[2:], b[2:]) for a in nodes for b in nodes if a is not b)
    assert closest >= 16  # circles of radius 8 do not overlap
