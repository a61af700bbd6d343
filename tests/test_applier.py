"""The Applier's own promises, on a converged simulated rtr1: each command gets the command
timeout (never beyond the run's deadline), a failure says how the command ended, a candidate
ipsec.conf is checked from a private hidden file that is gone afterwards, and a run out of time
stops before the next step, naming it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from agent.errors import CommandFailed
from agent.router.apply import Applier, StepResult
from agent.router.steps import Run
from agent.run.deadline import Deadline
from agent.sim.host import SimHost


class WatchedHost(SimHost):
    """The simulated host, noting each command's timeout and, while ipsecctl runs, the
    stat of every file argument it was given (the real commands still run)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.timeouts: list[tuple[tuple[str, ...], float]] = []
        self.files_seen: list[tuple[str, Any]] = []

    def run(self, argv: Any, **kw: Any) -> Any:
        self.timeouts.append((tuple(argv), kw.get("timeout", -1.0)))
        for arg in argv[1:]:
            if arg.startswith("/"):
                self.files_seen.append((arg, self.stat(arg)))
        return super().run(argv, **kw)


@pytest.fixture
def applier(converged_rtr1: Any, tmp_path: Path) -> Applier:
    host = WatchedHost(converged_rtr1.host.root)
    return Applier(host, converged_rtr1.desired, copy.deepcopy(converged_rtr1.record),
                   tmp_path / "state", command_timeout=7.0)


def test_each_command_gets_the_command_timeout(applier: Applier) -> None:
    applier.run(("sysctl", "net.inet.gre.allow"))
    applier.with_temp_conf(applier.desired.ipsec_conf.content.decode(), ("-n", "-f"))
    assert [t for _, t in applier.host.timeouts] == [7.0, 7.0]  # type: ignore[attr-defined]


def test_the_deadline_shortens_the_command_timeout(applier: Applier) -> None:
    applier.deadline = Deadline(2.5, clock=lambda: 100.0)  # 2.5 s left, for ever
    applier.run(("sysctl", "net.inet.gre.allow"))
    applier.with_temp_conf(applier.desired.ipsec_conf.content.decode(), ("-n", "-f"))
    assert [t for _, t in applier.host.timeouts] == [2.5, 2.5]  # type: ignore[attr-defined]


def test_a_failed_command_says_its_exit_status_and_message(applier: Applier) -> None:
    with pytest.raises(CommandFailed) as failed:
        applier.run(("ifconfig", "gre4242"))
    assert failed.value.rc == 1 and not failed.value.timed_out
    assert str(failed.value) == "ifconfig gre4242 exited 1: gre4242: no such interface"


def test_a_command_that_never_returns_is_reported_as_timed_out(applier: Applier) -> None:
    with pytest.raises(CommandFailed) as failed:
        applier.run(("ipsecctl", "-m"))  # monitors PF_KEY for ever
    assert failed.value.timed_out
    assert str(failed.value).startswith("ipsecctl -m timed out")


def test_a_candidate_ipsec_conf_is_checked_from_a_private_hidden_file(applier: Applier) -> None:
    host: WatchedHost = applier.host  # type: ignore[assignment]
    before = host.list_dir("/etc")
    applier.with_temp_conf(applier.desired.ipsec_conf.content.decode(), ("-n", "-f"))
    ((path, st),) = host.files_seen
    directory, name = path.rsplit("/", 1)
    assert directory == "/etc" and name.startswith(".ipsec.conf.peerops.")
    assert st is not None and st.mode == 0o600  # the rules name peers: root only
    assert host.list_dir("/etc") == before  # removed again


def test_a_refused_candidate_is_named_as_such_not_by_its_temporary_path(
    applier: Applier,
) -> None:
    host: WatchedHost = applier.host  # type: ignore[assignment]
    before = host.list_dir("/etc")
    with pytest.raises(CommandFailed) as failed:
        applier.with_temp_conf("ike esp from 192.0.2.1 to\n", ("-n", "-f"))
    message = str(failed.value)
    assert message.startswith("ipsecctl -n -f <new ipsec.conf> exited 1: ")
    assert failed.value.stderr == (  # ipsecctl's own words, the file named as the admin knows it
        "<new ipsec.conf>: 1: syntax error\n"
        "ipsecctl: Syntax error in config file: ipsec rules not loaded\n"
    )
    assert failed.value.rc == 1 and not failed.value.timed_out
    assert host.list_dir("/etc") == before  # removed after a refusal too


def test_a_candidate_check_that_never_returns_is_reported_as_timed_out(
    applier: Applier,
) -> None:
    with pytest.raises(CommandFailed) as failed:
        applier.with_temp_conf("", ("-m", "-f"))  # monitors after loading
    assert failed.value.timed_out and " timed out" in str(failed.value)


def test_out_of_time_the_run_stops_before_the_next_step_and_names_it(
    applier: Applier,
) -> None:
    steps = [Run("sysctl:net.inet.gre.allow", "why", command=("sysctl", "net.inet.gre.allow")),
             Run("gre:gre9", "why", command=("ifconfig", "gre9"))]
    applier.deadline = Deadline(0, clock=lambda: 5.0)
    (result,) = applier.apply(steps)
    assert not result.ok
    assert result.error == "run timed out after 0 s, before sysctl net.inet.gre.allow"
    assert applier.host.timeouts == []  # type: ignore[attr-defined]


def test_a_step_result_in_the_report(applier: Applier) -> None:
    step = Run("gre:gre4242", "gre4242 does not exist", "alice",
               command=("ifconfig", "gre4242"))
    (result,) = applier.apply([step])
    assert result == StepResult(step, False, result.error)
    assert result.to_json() == {
        **step.to_json(),
        "ok": False,
        "error": "ifconfig gre4242 exited 1: gre4242: no such interface",
    }
    assert StepResult(step, True).to_json() == {**step.to_json(), "ok": True, "error": None}
