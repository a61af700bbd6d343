"""Execute a plan through the host, one step at a time, stopping at the first failure.

The applied record is saved after every step that changes what it describes, so a run that
dies half-way leaves a record that matches the router and the next run plans the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import CommandFailed, PeeropsError
from agent.host import CommandResult, Host
from agent.model import PUBKEY_DIR
from agent.router.desired import IPSEC_CONF, ISAKMPD_PID, Desired
from agent.router.plan import Step
from agent.router.record import IPSEC_COPY, Applied, save_record, write_atomic
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
    host: Host
    desired: Desired
    record: Applied
    state_dir: Path
    command_timeout: float = 30.0
    deadline: Deadline | None = None

    def apply(self, steps: list[Step]) -> list[StepResult]:
        """Run steps in order; return a result per step attempted (the last one may have failed)."""
        results = []
        for step in steps:
            try:
                if self.deadline:
                    self.deadline.check(step.describe())  # stop between steps, never inside
                self._execute(step)
            except PeeropsError as exc:
                results.append(StepResult(step, False, str(exc)))
                break
            results.append(StepResult(step, True))
            save_record(self.state_dir, self.record)
        self.record.interfaces = dict(self.desired.interfaces)
        self.record.peer_keys = dict(self.desired.peer_keys)
        save_record(self.state_dir, self.record)
        return results

    def _execute(self, step: Step) -> None:
        if step.kind == "write" and step.file:
            f = step.file
            self.host.write_file(f.path, f.content, mode=f.mode, uid=f.uid, gid=f.gid)
            if f.path.startswith(PUBKEY_DIR + "/"):  # remember it: only keys we wrote are removed
                self.record.pubkeys = sorted({*self.record.pubkeys, f.path})
        elif step.kind == "remove" and step.path:
            self.host.remove_file(step.path)
            self.record.pubkeys = [p for p in self.record.pubkeys if p != step.path]
        elif step.kind == "check-ipsec" and step.text is not None:
            self._with_temp_conf(step.text, ("-n", "-f"))
        elif step.kind == "delete-rule" and step.text is not None:
            self._with_temp_conf(step.text, ("-d", "-f"))
            self.record.rules.pop(step.resource.removeprefix("rule:"), None)
        elif step.kind == "run":
            self._run(step.argv)
            self._after_run(step.argv)
        else:
            raise ValueError(f"malformed step {step}")

    def _run(self, argv: tuple[str, ...]) -> CommandResult:
        result = self.host.run(argv, timeout=self._timeout())
        if not result.ok:
            raise CommandFailed(argv, result.rc, result.stderr or result.stdout, result.timed_out)
        return result

    def _timeout(self) -> float:
        if self.deadline is None:
            return self.command_timeout
        return self.deadline.timeout_for(self.command_timeout)

    def _with_temp_conf(self, text: str, flags: tuple[str, ...]) -> None:
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

    def _after_run(self, argv: tuple[str, ...]) -> None:
        """Keep the record true: what isakmpd holds changes with restarts and loads."""
        if argv[:1] == ("rcctl",) and argv[-1:] == ("isakmpd",) and argv[1] in ("start", "restart"):
            self.record.rules, self.record.isakmpd_pid = {}, None
        elif argv == ("ipsecctl", "-f", IPSEC_CONF):
            self.record.rules = dict(self.desired.rules)
            pid = (self.host.read_file(ISAKMPD_PID) or b"").strip()
            self.record.isakmpd_pid = int(pid) if pid.isdigit() else None
            self.record.loaded_at = time.time()
            write_atomic(self.state_dir / IPSEC_COPY, self.desired.ipsec_conf.content)
