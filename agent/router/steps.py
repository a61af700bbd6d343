"""Typed steps: each one change to the router, with its resource, its reason, the command it
runs, and its effect on the applied record.

The plan builds them (a pure function), apply executes them in order through the host seam
(`execute(ctx)`), and nothing re-reads an argv to guess what a step did: a step that changes
what isakmpd holds or which files peerops owns says so in its own `execute`.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from agent.model import PUBKEY_DIR
from agent.router.desired import IPSEC_CONF, ISAKMPD_PID, ManagedFile

if TYPE_CHECKING:
    from agent.router.apply import Applier

LOAD_RULES = ("ipsecctl", "-f", IPSEC_CONF)


@dataclass(frozen=True)
class Step:
    """One change. resource: what it changes ("gre:gre1", "rule:alice", "file:/etc/x");
    why: the difference that makes it necessary, in words; peer: the one peering it belongs
    to (its failure quarantines that peer alone), None for a router-wide step."""

    resource: str
    why: str
    peer: str | None = None
    kind: ClassVar[str] = "step"

    @property
    def argv(self) -> tuple[str, ...]:
        return ()

    def describe(self) -> str:
        """The command as a person would type it (quoted for sh: shown, never run as text)."""
        return shlex.join(self.argv)

    def execute(self, ctx: Applier) -> None:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "resource": self.resource,
            "why": self.why,
            "action": self.describe(),
        }
        if self.argv:
            out["argv"] = list(self.argv)
        if self.peer:
            out["peer"] = self.peer
        return out


@dataclass(frozen=True)
class Run(Step):
    """A command whose effect is the router's own state (sysctl, rcctl set, ifconfig, ...)."""

    command: tuple[str, ...] = ()
    kind: ClassVar[str] = "run"

    @property
    def argv(self) -> tuple[str, ...]:
        return self.command

    def execute(self, ctx: Applier) -> None:
        ctx.run(self.command)


@dataclass(frozen=True)
class WriteFile(Step):
    """Write a file atomically with its mode and owner; a peer key joins the owned keys."""

    file: ManagedFile | None = None
    kind: ClassVar[str] = "write"

    def describe(self) -> str:
        assert self.file is not None  # noqa: S101 - constructed by the plan with a file
        return f"write {self.file.path} ({self.file.mode:04o} root:wheel)"

    def execute(self, ctx: Applier) -> None:
        f = self.file
        assert f is not None  # noqa: S101
        ctx.host.write_file(f.path, f.content, mode=f.mode, uid=f.uid, gid=f.gid)
        owned = ctx.record.pubkeys
        if f.path.startswith(PUBKEY_DIR + "/") and f.path not in owned:
            owned.append(f.path)  # only keys peerops wrote are ever removed
            owned.sort()  # one out of place: linear, not a set per key written


@dataclass(frozen=True)
class RemoveFile(Step):
    path: str = ""
    kind: ClassVar[str] = "remove"

    def describe(self) -> str:
        return f"remove {self.path}"

    def execute(self, ctx: Applier) -> None:
        ctx.host.remove_file(self.path)
        ctx.record.pubkeys = [p for p in ctx.record.pubkeys if p != self.path]


@dataclass(frozen=True)
class CheckRules(Step):
    """`ipsecctl -n -f` on the new ipsec.conf in a temp file: nothing changes if refused."""

    text: str = ""
    kind: ClassVar[str] = "check-ipsec"

    def describe(self) -> str:
        return "ipsecctl -n -f <new ipsec.conf>"

    def execute(self, ctx: Applier) -> None:
        ctx.with_temp_conf(self.text, ("-n", "-f"))


@dataclass(frozen=True)
class DeleteRule(Step):
    """`ipsecctl -d -f` on the rule last loaded for one peer (never -F: other peers keep
    their SAs); the peer's rule leaves the record."""

    text: str = ""
    kind: ClassVar[str] = "delete-rule"

    def describe(self) -> str:
        return f"ipsecctl -d -f <last applied rule of {self.peer}>"

    def execute(self, ctx: Applier) -> None:
        ctx.with_temp_conf(self.text, ("-d", "-f"))
        ctx.record.rules.pop(self.peer or "", None)


@dataclass(frozen=True)
class LoadRules(Step):
    """`ipsecctl -f /etc/ipsec.conf`: the record now holds the desired rules, loaded into the
    isakmpd whose pid file says which process holds them."""

    kind: ClassVar[str] = "load-rules"

    @property
    def argv(self) -> tuple[str, ...]:
        return LOAD_RULES

    def execute(self, ctx: Applier) -> None:
        ctx.run(LOAD_RULES)
        ctx.record.rules = dict(ctx.desired.rules)
        pid = (ctx.host.read_file(ISAKMPD_PID) or b"").strip()
        ctx.record.isakmpd_pid = int(pid) if pid.isdigit() else None
        ctx.record.loaded_at = time.time()


@dataclass(frozen=True)
class StartIsakmpd(Step):
    """`rcctl start|restart isakmpd`: a new isakmpd holds no rules."""

    restart: bool = False
    kind: ClassVar[str] = "start-isakmpd"

    @property
    def argv(self) -> tuple[str, ...]:
        return ("rcctl", "restart" if self.restart else "start", "isakmpd")

    def execute(self, ctx: Applier) -> None:
        ctx.run(self.argv)
        ctx.record.rules, ctx.record.isakmpd_pid = {}, None


@dataclass(frozen=True)
class ReloadRules(Step):
    """`ipsecctl -f` on rules deleted earlier in this run (a rollback): they are back in
    isakmpd and in the record."""

    rules: tuple[tuple[str, str], ...] = ()  # (peer, rule text)
    kind: ClassVar[str] = "reload-rules"

    def describe(self) -> str:
        return f"ipsecctl -f <last applied rules of {', '.join(p for p, _ in self.rules)}>"

    def execute(self, ctx: Applier) -> None:
        ctx.with_temp_conf("\n\n".join(text for _, text in self.rules) + "\n", ("-f",))
        ctx.record.rules.update(dict(self.rules))
