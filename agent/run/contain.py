"""Containment of a failed step: whose failure it is, and what is put back.

- A step of one peering (its key file, its gre interface, its hostname file, its rule
  deletion) fails for that peer alone: the peer is quarantined and its partial changes are
  undone (files restored as they were observed, the interface changed back in place).
- A refused new ipsec.conf is bisected: each peer's rule is checked alone with
  `ipsecctl -n -f`; the peers whose rule OpenBSD refuses are quarantined and the rest load.
  When every rule, or none alone, is refused, the failure is the router's, never a peer's.
- A failed load of /etc/ipsec.conf is rolled back: the file as it was, and the rules deleted
  earlier in the run loaded again, then the restored file is checked.
Any other failure (sysctl, rcctl, isakmpd) is router-wide and reported as such.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.errors import CommandFailed, ParseError
from agent.facts.ifconfig import Interface, parse_ifconfig
from agent.router import gre
from agent.router.apply import Applier, StepResult
from agent.router.desired import IPSEC_CONF, GreSpec, ManagedFile, hostname_path
from agent.router.steps import (
    CheckRules,
    DeleteRule,
    LoadRules,
    ReloadRules,
    RemoveFile,
    Run,
    Step,
    WriteFile,
)
from agent.run.quarantine import Failure

if TYPE_CHECKING:
    from agent.run.converge import Prepared


def blame(failed: StepResult, prepared: Prepared, applier: Applier) -> list[Failure]:
    """The peers a failed step belongs to; empty when the failure is the router's."""
    step = failed.step
    message = _message(failed.error)
    if step.peer:
        return [Failure(step.peer, _what(step), step.describe(), message)]
    if isinstance(step, CheckRules):
        return _refused_rules(prepared, applier)
    return []


def _what(step: Step) -> str:
    if isinstance(step, DeleteRule):
        return "its old rule could not be deleted"
    if isinstance(step, WriteFile | RemoveFile):
        return f"{step.resource.removeprefix('file:')} could not be changed"
    return f"{step.resource} could not be changed"


def _message(error: str | None) -> str:
    return (error or "").strip()


def _refused_rules(prepared: Prepared, applier: Applier) -> list[Failure]:
    """Each peer's rule alone through `ipsecctl -n -f`; the refused ones, unless all are."""
    rules = prepared.desired.rules
    refused = []
    for peer, rule in sorted(rules.items()):
        try:
            applier.with_temp_conf(rule.rstrip("\n") + "\n", ("-n", "-f"))
        except CommandFailed as exc:
            text = "; ".join(line for line in exc.stderr.splitlines() if line.strip())
            refused.append(
                Failure(peer, "OpenBSD refuses its rule", "ipsecctl -n -f <its rule>", text)
            )
    if len(refused) == len(rules):
        return []  # every rule, or the file as a whole: the router's problem
    return refused


def rollback_steps(failed: StepResult, results: list[StepResult], prepared: Prepared,
                   applier: Applier, peers: list[str]) -> list[Step]:
    """What puts back the changes this round made before `failed`: the failing peers' files
    and interfaces, or the rules and ipsec.conf of a failed load."""
    steps: list[Step] = []
    done = [r.step for r in results if r.ok]
    for peer in peers:
        steps += _restore_files([s for s in done if s.peer == peer], prepared, peer)
        steps += _restore_interface(prepared, applier, peer)
    if isinstance(failed.step, LoadRules):
        steps += _restore_rules(done, prepared)
    return steps


def _restore_files(done: list[Step], prepared: Prepared, peer: str | None) -> list[Step]:
    steps: list[Step] = []
    obs = prepared.observed
    before = {path: fact for path, fact in obs.files.items() if fact is not None}
    before.update(obs.pubkey_files)
    before.update({hostname_path(i): fact for i, fact in obs.hostname_files.items()})
    for step in done:
        if not isinstance(step, WriteFile) or step.file is None:
            continue
        path = step.file.path
        old = before.get(path)
        why = f"rollback: {path} as it was before this run"
        if old is None:
            steps.append(RemoveFile(f"file:{path}", why, peer, path=path))
        else:
            steps.append(WriteFile(f"file:{path}", why, peer, file=ManagedFile(
                path, old.content, old.stat.mode, old.stat.uid, old.stat.gid)))
    return steps


def _restore_interface(prepared: Prepared, applier: Applier, peer: str) -> list[Step]:
    """Change the peer's interface back to what was observed before the run."""
    iface = prepared.desired.interfaces.get(peer)
    if iface is None:
        return []
    before = prepared.observed.gre.get(iface)
    now = _live(applier, iface)
    why = f"rollback: {iface} as it was before this run"
    if before is None:
        destroy = ("ifconfig", iface, "destroy")
        return [Run(f"gre:{iface}", why, peer, command=destroy)] if now else []
    if now is None:
        return [Run(f"gre:{iface}", why, peer, command=("sh", "/etc/netstart", iface))]
    spec = spec_of(before, peer)
    return [Run(f"gre:{iface}", why, peer, command=argv)
            for d in gre.differences(spec, now) for argv in d.fixes]


def _live(applier: Applier, iface: str) -> Interface | None:
    result = applier.host.run(("ifconfig", iface))
    if not result.ok:
        return None
    try:
        return next(iter(parse_ifconfig(result.stdout, f"ifconfig {iface}")), None)
    except ParseError:
        return None


def spec_of(live: Interface, peer: str) -> GreSpec:
    """The interface as observed, as a spec to change another interface state back to."""
    first = live.inet[0] if live.inet else None
    return GreSpec(
        interface=live.name,
        peer=peer,
        description=live.description or "",
        mtu=live.mtu or 0,
        tunnel_src=live.tunnel.src if live.tunnel else "",
        tunnel_dst=live.tunnel.dst if live.tunnel else "",
        inet=(first.address, first.dest or "") if first else None,
        inet6=tuple((a.address, a.prefixlen or 0) for a in live.inet6
                    if not a.address.lower().startswith("fe80:")),
        link_local=any(a.address.lower().startswith("fe80:") for a in live.inet6),
    )


def _restore_rules(done: list[Step], prepared: Prepared) -> list[Step]:
    """After a failed `ipsecctl -f`: the old ipsec.conf, the deleted rules loaded again, and
    the restored file checked."""
    writes = [s for s in done
              if isinstance(s, WriteFile) and s.file and s.file.path == IPSEC_CONF]
    steps = _restore_files(writes, prepared, None)
    deleted = tuple((s.peer or "", s.text) for s in done if isinstance(s, DeleteRule))
    if deleted:
        steps.append(ReloadRules("ipsec:rules", "rollback: the rules deleted before the failed "
                                 "load", rules=deleted))
    old = prepared.observed.files.get(IPSEC_CONF)
    if writes and old is not None:
        steps.append(CheckRules(f"file:{IPSEC_CONF}", "rollback: verify the restored file",
                                text=old.content.decode(errors="replace")))
    return steps
