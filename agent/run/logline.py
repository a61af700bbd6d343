"""The log lines of a cycle, as an admin reads them in /var/log/daemon or cron mail.

One line per change (info) and one line per cycle that says what happened: the result, the
commit (new or the same), how many changes, peers up of total, the first failure's reason
and the state of the remote (fetch and status push). Built from the cycle's report, so the
log says what the status branch says.
"""

from __future__ import annotations

from typing import Any


def change_lines(report: dict[str, Any]) -> list[str]:
    """One line per change this cycle made or tried: resource, action, why, outcome."""
    lines = []
    for change in report.get("changes") or []:
        outcome = "done" if change.get("ok") else "FAILED"
        why = f" ({change['why']})" if change.get("why") else ""
        kind = f" [{change['kind']}]" if change.get("kind") else ""
        lines.append(
            f"{report['router']}: change {change.get('resource')}: {change.get('action')}{why}"
            f"{kind}: {outcome}"
        )
    return lines


def cycle_line(
    report: dict[str, Any],
    *,
    new_commit: bool = False,
    committed: bool = False,
    pushed: bool = False,
    pending: int = 0,
    publish_error: str | None = None,
) -> str:
    """The one line that sums up a cycle."""
    commit = str(report.get("commit") or "none")[:12]
    changes = len(report.get("changes") or [])
    peers = report.get("peers") or []
    up = sum(1 for peer in peers if peer.get("state") == "up")
    parts = [
        f"{report['router']}: {report.get('result')}",
        f"commit {commit}{' (new)' if new_commit else ''}",
        f"{changes} change{'' if changes == 1 else 's'}",
        f"peers {up}/{len(peers)} up",
    ]
    failure = first_failure(report)
    if failure:
        parts.append(f"first failure: {failure}")
    parts.append(f"remote: {_remote_state(report, committed and pushed, pending, publish_error)}")
    return ", ".join(parts)


def first_failure(report: dict[str, Any]) -> str | None:
    """The first thing that went wrong: an error, a failed change, then a peer not up."""
    for error in report.get("errors") or []:
        return str(error)
    for change in report.get("changes") or []:
        if not change.get("ok"):
            return f"{change.get('resource')}: {change.get('error') or change.get('action')}"
    for peer in report.get("peers") or []:  # sorted by peer (report.schema.json)
        if peer.get("state") not in ("up", "negotiating", None):  # negotiating: give it time
            reason = peer.get("reason") or "no reason given"
            return f"{peer.get('peer')} {peer.get('state')}: {reason}"
    return None


def _remote_state(report: dict[str, Any], pushed: bool, pending: int, error: str | None) -> str:
    source = report.get("source") or {}
    status = str(source.get("status") or "unknown")
    if status != "ok" and source.get("message"):
        status = str(source["message"])
    if error:
        return f"{status}, report push failed ({pending} queued): {error}"
    if pending:
        return f"{status}, {pending} report commit(s) queued"
    if source.get("status") == "local":
        return status
    return f"{status}, report pushed" if pushed else f"{status}, report unchanged"
