"""The timeline built from a sequence of reports (the git side is in test_fleet_remote.py)."""

from __future__ import annotations

from agent.status.cache import ReportChange
from agent.status.history import select, transitions
from agent.status.shape import report_problems
from tests.reportkit import dump, report

A, B = "a" * 40, "b" * 40


def change(doc: dict | None, t: float, router: str = "rtr1", initial: bool = False) -> ReportChange:
    return ReportChange("c" * 40, t, router, dump(doc) if doc else None, initial)


def moves(events: list) -> list[tuple]:
    return [(e.router, e.peer, e.from_state, e.to_state, e.commit) for e in events]


def test_reportkit_makes_valid_reports() -> None:
    assert report_problems(report("rtr1", {"alice": "up", "bob": "down"})) == []


def test_each_state_change_once_with_the_commit_applied_then() -> None:
    events = transitions([
        change(report("rtr1", {"alice": "up", "bob": "up"}, commit=A, finished=100), 100),
        change(report("rtr1", {"alice": "up", "bob": "up"}, commit=A, finished=200), 200),
        change(report("rtr1", {"alice": "down", "bob": "up"}, commit=B, finished=300,
                      reasons={"alice": "sas: no SA for alice"}), 300),
        change(report("rtr1", {"alice": "up", "bob": "up"}, commit=B, finished=400), 400),
    ])
    assert moves(events) == [
        ("rtr1", "alice", None, "up", A), ("rtr1", "bob", None, "up", A),
        ("rtr1", "alice", "up", "down", B), ("rtr1", "alice", "down", "up", B),
    ]
    assert events[2].reason == "sas: no SA for alice" and events[3].reason is None
    assert events[2].time == "1970-01-01T00:05:00Z"
    assert moves(select(events, "rtr1", "bob", None)) == [("rtr1", "bob", None, "up", A)]
    assert len(select(events, None, None, 300)) == 2


def test_removed_peers_and_reports_that_know_nothing() -> None:
    events = transitions([
        change(report("rtr1", {"alice": "up", "bob": "up"}, commit=A), 100),
        # The repo was invalid: no health at all. That says nothing about the peers.
        change(report("rtr1", {}, commit=A, result="stalled"), 200),
        change(None, 250),  # the report was deleted
        change(report("rtr1", {"alice": "up"}, commit=B), 300),
    ])
    assert moves(events)[2:] == [("rtr1", "bob", "up", None, B)]
    assert events[2].reason == "no longer in the state repo"


def test_initial_reports_set_the_scene_without_events() -> None:
    events = transitions([
        change(report("rtr1", {"alice": "down"}, commit=A), 0, initial=True),
        change(report("rtr1", {"alice": "up"}, commit=B), 500),
    ])
    assert moves(events) == [("rtr1", "alice", "down", "up", B)]
