"""Human-readable renderings of plans, apply results and health tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # validate must not import the whole run machinery
    from agent.converge import RunOutcome
    from agent.health import PeerHealth
    from agent.yamlpos import Problem


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


def apply_text(outcome: RunOutcome) -> str:
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
    lines.append(
        f"{outcome.router}: {outcome.result} ({len([r for r in outcome.results if r.ok])} "
        f"change(s), exit {outcome.exit_code})"
    )
    return "\n".join(lines) + "\n"


def _errors(outcome: RunOutcome) -> list[str]:
    lines = [f"  peer {peer} left out: {why}" for peer, why in sorted(outcome.peer_errors.items())]
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
