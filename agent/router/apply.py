"""Execute a plan through the host, one step at a time, stopping at the first failure.

The applied record is journaled after every step that changes what it describes, so a run
that dies half-way leaves a record that matches the router and the next run plans the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import CommandFailed, PeeropsError
from agent.host import CommandResult, Host
from agent.router.desired import Desired
from agent.router.record import Applied, RecordJournal
from agent.router.steps import Step
from agent.run.deadline import Deadline


@dataclass(frozen=True)
class StepResult:
    step: Step
    ok: bool
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.step.to_json(), "ok": self.ok, "error": self.error}


@dataclass
class Applier:
    """The context steps execute in: the host, the desired state, and the record they keep."""

    host: Host
    desired: Desired
    record: Applied
    state_dir: Path
    command_timeout: float = 30.0
    deadline: Deadline | None = None

    def apply(self, steps: list[Step]) -> list[StepResult]:
        """Run steps in order; return a result per step attempted (the last one may have failed)."""
        results, journal = [], RecordJournal(self.state_dir, self.record)
        for step in steps:
            try:
                if self.deadline:
                    self.deadline.check(step.describe())  # stop between steps, never inside
                step.execute(self)
            except PeeropsError as exc:
                results.append(StepResult(step, False, str(exc)))
                break
            results.append(StepResult(step, True))
            journal.note()
        self.record.interfaces = dict(self.desired.interfaces)
        self.record.peer_keys = dict(self.desired.peer_keys)
        journal.compact()
        return results

    def run(self, argv: tuple[str, ...]) -> CommandResult:
        """Run argv; raise CommandFailed (with the command's own message) unless it exits 0."""
        result = self.host.run(argv, timeout=self._timeout())
        if not result.ok:
            raise CommandFailed(argv, result.rc, result.stderr or result.stdout, result.timed_out)
        return result

    def _timeout(self) -> float:
        if self.deadline is None:
            return self.command_timeout
        return self.deadline.timeout_for(self.command_timeout)

    def with_temp_conf(self, text: str, flags: tuple[str, ...]) -> None:
        """Run ipsecctl with flags on text in a 0600 temp file next to /etc/ipsec.conf."""
        tmp = self.host.write_temp("/etc", ".ipsec.conf.peerops.", text.encode(), mode=0o600)
        try:
            result = self.host.run(("ipsecctl", *flags, tmp), timeout=self._timeout())
        finally:
            self.host.remove_file(tmp)
        if not result.ok:
            stderr = result.stderr.replace(tmp, "<new ipsec.conf>")
            raise CommandFailed(
                ("ipsecctl", *flags, "<new ipsec.conf>"), result.rc, stderr, result.timed_out
            )
