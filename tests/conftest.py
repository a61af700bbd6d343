"""Shared fixtures: a copy of the example state repo to break, and keys made once.

Every status report that a test builds in this process is checked against
state/schema/report.schema.json before it is serialized (see `pytest_configure`), so no test
can make the agent write a report that breaks the documented format without failing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_STATE = REPO / "state"


def pytest_configure(config: pytest.Config) -> None:
    """Wrap the one function every report goes through on its way to a file or the status
    branch (before any test module imports it by name) with the schema check."""
    import os
    import tempfile

    # The user's cache ($XDG_CACHE_HOME/peerops: status caches of `fleet`, the lab's key
    # pool) is never the tests': one of this session's, removed at its end.
    cache = Path(tempfile.mkdtemp(prefix="peerops-test-cache-"))
    os.environ["XDG_CACHE_HOME"] = str(cache)
    os.environ.pop("PEEROPS_LAB_KEYS", None)
    config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))
    import agent.status.report as report_module
    from agent.status.shape import report_problems

    serialize = report_module.serialize

    def checked(report: dict[str, Any]) -> bytes:
        problems = report_problems(report)
        assert not problems, "report breaks report.schema.json:\n" + "\n".join(problems)
        return serialize(report)

    report_module.serialize = checked  # type: ignore[assignment]


@pytest.fixture
def state_copy(tmp_path: Path) -> Path:
    """A writable copy of state/ (the example repo and format contract)."""
    dest = tmp_path / "state"
    shutil.copytree(EXAMPLE_STATE, dest)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact occurrence of old in a file (fails loudly if absent)."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="session")
def converged_rtr1(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo's rtr1 after both routers converged: its desired state, what is observed and
    the applied record (agent.run.converge.Prepared). Shared: copy before changing."""
    from agent.lab.demo import build_demo_fleet
    from agent.run.converge import RunOutcome, apply_router, prepare

    fleet = build_demo_fleet(tmp_path_factory.mktemp("converged") / "fleet")
    for cfg in fleet.values():
        apply_router(cfg)
    prepared = prepare(fleet["rtr1"], RunOutcome("rtr1"))
    assert prepared is not None
    return prepared


@pytest.fixture
def reobserve_checked(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every verify of apply_router also observes the whole router and requires the same
    facts: what reobserve kept from before the apply must still be true. Returns the
    resources of each checked verify."""
    from dataclasses import replace

    from agent.facts import observe as facts
    from agent.run import converge

    checked: list[list[str]] = []
    real = facts.reobserve

    def checking(host: Any, before: Any, resources: Any) -> Any:
        resources = list(resources)
        after = real(host, before, resources)
        whole = facts.observe(host)
        assert replace(after, local_addresses=None) == whole, resources
        checked.append(resources)
        return after

    monkeypatch.setattr(converge, "reobserve", checking)
    return checked


@pytest.fixture(autouse=True, scope="session")
def _git_stays_in_the_temp_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A git that a test runs in a temporary directory which is not (or no longer) a
    repository must fail, never climb up to a checkout above the temporary root (mutation
    runs keep theirs inside a clone): one broken test could rewrite that clone's config."""
    import os

    os.environ["GIT_CEILING_DIRECTORIES"] = str(tmp_path_factory.getbasetemp().parent)
