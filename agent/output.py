"""Human-readable renderings of plans, apply results and health tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # validate must not import the whole run machinery
    from agent.health.peer import PeerHealth
    from agent.repo.source import SyncResult
    from agent.repo.yamlpos import Problem
    from agent.run.converge import RunOutcome
    from agent.status.fleetview import RouterRow


def problems_text(problems: Sequence[Problem]) -> str:
    lines = [str(p) for p in problems]
    lines.append(f"{len(problems)} error{'s' if len(problems) != 1 else ''}")
    return "\n".join(lines) + "\n"


def plan_text(outcome: RunOutcome) -> str:
    if outcome.problems:
        return problems_text(outcome.problems)
    lines = [
        f"{outcome.router}: "
        + (f"{len(outcome.plan)} step(s) planned" if outcome.plan else "nothing to do")
    ]
    for i, step in enumerate(outcome.plan, 1):
        lines.append(f"  {i:2}. {step.describe()}")
        lines.append(f"      {step.resource}: {step.why}")
    lines += _errors(outcome)
    return "\n".join(lines) + "\n"


def apply_text(outcome: RunOutcome, sync: SyncResult | None = None) -> str:
    """What apply did, ending in the verdict line (with the cycle's sync for `run`)."""
    if outcome.problems:
        return (
            problems_text(outcome.problems) + f"{outcome.router}: repo invalid, nothing changed\n"
        )
    lines = []
    for r in outcome.results:
        mark = "ok  " if r.ok else "FAIL"
        lines.append(f"  {mark} {r.step.describe()}  ({r.step.why})")
        if r.error:
            lines.append(f"       {r.error}")
    for step in outcome.residual:
        lines.append(f"  still differs after apply: {step.resource}: {step.why}")
    lines += _errors(outcome)
    final = outcome.verdict(sync)
    lines.append(
        f"{outcome.router}: {final.result} ({len([r for r in outcome.results if r.ok])} "
        f"change(s), exit {final.exit_code})"
    )
    return "\n".join(lines) + "\n"


def _errors(outcome: RunOutcome) -> list[str]:
    lines = [f"  error: {e}" for e in outcome.errors]
    lines += [f"  peer {peer} left out: {why}" for peer, why in sorted(outcome.peer_errors.items())]
    lines += [f"  observation problem: {e}" for e in outcome.observe_errors]
    return lines


def health_table(rows: Iterable[PeerHealth]) -> str:
    header = ("ROUTER", "PEER", "IFACE", "KEY", "RULE", "FLOWS", "SAS", "GRE", "STATE")
    table = [header]
    for h in rows:
        table.append(
            (
                h.router,
                h.peer,
                h.interface or "-",
                _yn(h.key),
                _yn(h.rule),
                f"{h.flows_in}/{h.flows_out}",
                f"{h.sas_in}/{h.sas_out}",
                "up" if h.gre else "no",
                h.state + (f" ({h.reason})" if h.reason else ""),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1] + "\n"
        for row in table
    )


def _yn(value: bool) -> str:
    return "yes" if value else "no"


def cycle_text(result: Any) -> str:
    """A `peerops run` summary: source, what was applied, health, and where the report went."""
    sync = result.sync
    lines = [
        f"source: {sync.status}"
        + (f" at {str(sync.commit)[:12]}" if sync.commit else "")
        + (
            f" (new, signed by {sync.signer})"
            if sync.new and sync.signer
            else " (new)"
            if sync.new
            else ""
        )
    ]
    if sync.message:
        lines.append(f"  {sync.message}")
    lines += [f"  warning: {w}" for w in sync.warnings]
    text = "\n".join(lines) + "\n" + apply_text(result.outcome, sync)
    if result.outcome.health:
        text += health_table(result.outcome.health)
    text += "".join(f"{line.strip()}\n" for line in revert_lines(result.report.get("revert")))
    if result.committed or result.pending or result.publish_error:
        state = "pushed" if result.pushed else f"queued ({result.pending} pending)"
        text += f"status report: {'committed, ' if result.committed else ''}{state}"
        text += f": {result.publish_error}\n" if result.publish_error else "\n"
    return text


def report_text(report: dict[str, Any]) -> str:
    """A router's report for a person: result, source, peers, errors."""
    lines = [
        f"{report['router']}: {report['result']} at commit {str(report['commit'])[:12]}"
        f" (run {report['run']['started']} - {report['run']['finished']})",
        f"source: {report['source']['status']}"
        + (f": {report['source']['message']}" if report["source"].get("message") else ""),
    ]
    for v in report["peers"]:
        lines.append(
            f"  {v['peer']:12} {v['state']:12} {v['interface'] or '-':7} "
            f"flows {v['flows']['in']}/{v['flows']['out']} "
            f"SAs {v['sas']['in']}/{v['sas']['out']}" + (f"  {v['reason']}" if v["reason"] else "")
        )
    lines += [f"  held: {p}: {why}" for p, why in report.get("quarantined", {}).items()]
    lines += revert_lines(report.get("revert"))
    lines += [f"  error: {e}" for e in report.get("errors", [])]
    lines += [f"  warning: {w}" for w in report.get("warnings", [])]
    return "\n".join(lines) + "\n"


def revert_lines(revert: dict[str, Any] | None) -> list[str]:
    """The dead-man switch in a report, for a person (agent/run/deadman.py)."""
    if not revert:
        return []
    commit, previous = str(revert["commit"])[:12], str(revert["previous"])[:12]
    if revert["state"] == "armed":
        watching = ", ".join(revert["watching"]) or "no peering"
        lines = [
            f"  revert armed: {commit} is reverted to {previous} at {revert['deadline']} "
            f"unless confirmed (watching {watching} and the remote)"
        ]
        if revert.get("reason"):
            lines.append(f"    not confirmed yet: {revert['reason']}")
        return lines
    return [
        f"  revert fired at {revert['at']}: {commit} held, {previous} restored: "
        f"{revert['reason']}"
    ]


def fleet_table(rows: Sequence[RouterRow]) -> str:
    """One line per router: result, commit and how far behind main, peers up, report age."""
    from agent.status.cache import duration

    table = [("ROUTER", "RESULT", "COMMIT", "BEHIND", "PEERS UP", "AGE", "NOTES")]
    for r in rows:
        table.append(
            (
                r.router,
                "SILENT" if r.silent else r.result,
                str(r.commit)[:12] if r.commit else "-",
                "-" if r.behind is None else str(r.behind),
                f"{r.peers_up}/{r.peers_total}",
                "-" if r.age_s is None else duration(r.age_s),
                "; ".join(r.notes) or "-",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in table
    )
