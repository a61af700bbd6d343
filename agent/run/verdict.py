"""The one place that decides a run's result and its exit code.

`plan`, `apply`, `run`, the daemon's log line, the status report and `doctor` all ask here;
nothing else maps findings to a result or an exit code (Flux's summarize: Ready is computed
once, from every condition).

Results, worst first:
- `stalled`: the state repo cannot be used (invalid, or a commit was refused or is held by
  the dead-man switch): nothing new was applied; retrying will not help until a new commit
  arrives.
- `failed`: a step failed, something still differs after apply, or the run itself broke (an
  internal error, the deadline, a stop request).
- `degraded`: the router did what it was told, but a peering is down, was left out, or the
  router could not be fully observed.
- `changed` / `converged`: healthy, with or without changes made by this run.

Exit codes follow Puppet's --detailed-exitcodes: bit 2 = changes applied (for `plan`:
changes pending), bit 4 = failures; 0 = nothing to do and healthy. 1 is reserved for usage
and configuration errors, decided before any run (see cli.py).
"""

from __future__ import annotations

from dataclasses import dataclass

STALLED, FAILED, DEGRADED, CHANGED, CONVERGED = (
    "stalled",
    "failed",
    "degraded",
    "changed",
    "converged",
)
HEALTHY = (CONVERGED, CHANGED)

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_CHANGED = 2
EXIT_FAILED = 4


@dataclass(frozen=True)
class Findings:
    """Everything a verdict depends on, gathered by the run (each a plain fact)."""

    invalid: bool = False  # the repo did not validate: nothing was planned
    config_error: bool = False  # the agent's config does not fit the repo: nothing was planned
    refused: bool = False  # the source refused a new commit (trust, rewind) or holds one
    run_errors: int = 0  # internal errors, the deadline, a stop request
    failed_steps: int = 0
    residual: int = 0  # steps still needed after apply
    changed: int = 0  # steps that succeeded
    degraded: int = 0  # peers down or left out, observation errors
    pending: int = 0  # plan only: steps the plan would run


@dataclass(frozen=True)
class Verdict:
    result: str
    exit_code: int

    @property
    def healthy(self) -> bool:
        return self.result in HEALTHY


def verdict(f: Findings) -> Verdict:
    """Return the result and exit code of a run (apply, run, daemon cycle) or a plan."""
    if f.run_errors or f.failed_steps or f.residual:
        result = FAILED
    elif f.invalid or f.refused or f.config_error:
        result = STALLED
    elif f.degraded:
        result = DEGRADED
    elif f.changed:
        result = CHANGED
    else:
        result = CONVERGED
    code = EXIT_CHANGED if (f.changed or f.pending) else EXIT_OK
    if result not in HEALTHY:
        code |= EXIT_FAILED
    if f.config_error and not f.run_errors:
        code = EXIT_USAGE  # e.g. router: names no router of the repo; nothing was touched
    return Verdict(result, code)


def checklist_exit(failed: bool) -> int:
    """`doctor`: 0 when every check passes, 4 when one fails (it found a failure)."""
    return EXIT_FAILED if failed else EXIT_OK
