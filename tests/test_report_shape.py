"""One JSON shape of per-peer health in every command, and the report's documented schema
(state/schema/report.schema.json) with its version."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet
from agent.run.cycle import Agent
from agent.status.shape import SCHEMA_VERSION, peer_problems, report_problems, upgrade

EXAMPLE = Path(__file__).resolve().parent.parent / "state"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AgentConfig]:
    configs = build_demo_fleet(tmp_path_factory.mktemp("shape"))
    for cfg in configs.values():
        Agent(cfg).cycle()
    return configs


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    main(list(argv))
    return json.loads(capsys.readouterr().out)


def by_peer(peers: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    for peer in peers:
        assert peer_problems(peer) == [], peer
    assert peers == sorted(peers, key=lambda v: (v["router"], v["peer"]))
    return {(v["router"], v["peer"]): v for v in peers}


def test_every_command_prints_the_same_per_peer_shape(
    fleet: dict[str, AgentConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(fleet["rtr1"].source)
    outputs = {
        "plan": cli(capsys, "plan", "-c", config, "--json")["peers"],
        "apply": cli(capsys, "apply", "-c", config, "--json")["peers"],
        "run": cli(capsys, "run", "-c", config, "--json")["peers"],
        "status": cli(capsys, "status", "-c", config, "--json")["peers"],
        "simulate": cli(capsys, "simulate", "--json", str(EXAMPLE))["peers"],
        "demo": cli(capsys, "demo", "--json")["peers"],
    }
    fleet_json = cli(capsys, "fleet", "-c", config, "--json")
    outputs["fleet"] = next(r for r in fleet_json["routers"] if r["router"] == "rtr1")["peers"]
    shapes = {name: by_peer(peers) for name, peers in outputs.items()}
    rtr1 = {("rtr1", "alice"), ("rtr1", "bob"), ("rtr1", "rtr2")}
    for name, peers in shapes.items():
        assert rtr1 <= set(peers), name
    # The same router seen by each command: the very same objects (the repo's key fingerprint
    # is computed for the report only).
    def seen(name: str) -> dict[Any, Any]:
        return {k: {**v, "key_fingerprint": None} for k, v in shapes[name].items() if k in rtr1}

    for name in ("apply", "run", "status", "fleet"):
        assert seen(name) == seen("plan"), name
    assert shapes["status"][("rtr1", "alice")]["key_fingerprint"].startswith("SHA256:")
    assert shapes["fleet"] == shapes["status"]


def test_reports_carry_their_version_and_follow_the_schema(
    fleet: dict[str, AgentConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    report = cli(capsys, "status", "-c", str(fleet["rtr2"].source), "--json")
    assert report["schema"] == SCHEMA_VERSION and report_problems(report) == []
    assert report["schedule"] == {"interval": 300.0, "heartbeat": 86400.0}


@pytest.mark.parametrize(
    ("bug", "field"),
    [
        (lambda r: r.update(peers={p["peer"]: p for p in r["peers"]}), "peers"),
        (lambda r: r["peers"][0].pop("flows"), "peers.0"),
        (lambda r: r["peers"][0].update(flows_in=1), "peers.0"),
        (lambda r: r["peers"][0].update(state="UP"), "peers.0.state"),
        (lambda r: r.update(schema=1), "schema"),
        (lambda r: r.pop("schedule"), "(top)"),
        (lambda r: r.update(result="fine"), "result"),
        (lambda r: r.update(commit="HEAD"), "commit"),
    ],
)
def test_schema_rejects_a_report_that_drifted(
    fleet: dict[str, AgentConfig], capsys: pytest.CaptureFixture[str], bug: Any, field: str
) -> None:
    report = cli(capsys, "status", "-c", str(fleet["rtr1"].source), "--json")
    bug(report)
    problems = report_problems(report)
    assert problems and problems[0].split(":")[0] == field, problems


def test_a_report_of_the_previous_version_is_upgraded(
    fleet: dict[str, AgentConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    current = cli(capsys, "status", "-c", str(fleet["rtr1"].source), "--json")
    old = copy.deepcopy(current)  # what an agent of schema 1 committed
    old["schema"] = 1
    del old["schedule"]
    old["peers"] = {
        v["peer"]: {k: x for k, x in v.items() if k not in ("router", "peer")}
        for v in current["peers"]
    }
    frozen = copy.deepcopy(old)
    new = upgrade(old)
    assert old == frozen  # the input is left alone
    assert report_problems(new) == [] and new["peers"] == current["peers"]
    assert upgrade({"schema": 99}) == {"schema": 99}  # unknown: left for validation to refuse
