"""The simulated process table and the rc.d daemons the simulator knows.

state["daemons"][name] = {"pid": int, "flags": [str, ...]} while a daemon runs. A daemon with
special behaviour (isakmpd) has a module with `start(ctx, flags) -> bool`, `stop(ctx) -> None`;
others are plain process-table entries. `stop` is SIGTERM (etc/rc.d/rc.subr rc_stop:
`pkill -xf ${pexp}`), which runs the daemon's own shutdown; `kill` is SIGKILL, which runs
nothing (what a crash leaves behind stays).
"""

from __future__ import annotations

import importlib
from typing import Any

from agent.sim import state as simstate

# Daemons modelled beyond a process-table entry.
SPECIAL: dict[str, str] = {"isakmpd": "agent.sim.isakmpd"}


def running(state: dict[str, Any], name: str) -> bool:
    return name in state["daemons"]


def start(ctx: Any, name: str, flags: list[str]) -> bool:
    """Start a daemon with flags; return False when it refuses to start (rc.d prints failed)."""
    if running(ctx.state, name):
        return True
    module = SPECIAL.get(name)
    if module is not None:
        return bool(importlib.import_module(module).start(ctx, flags))
    ctx.state["daemons"][name] = {"pid": simstate.allocate_pid(ctx.state), "flags": flags}
    return True


def stop(ctx: Any, name: str) -> None:
    """Stop a daemon (SIGTERM); a daemon with special behaviour cleans up its own state."""
    if not running(ctx.state, name):
        return
    module = SPECIAL.get(name)
    if module is not None:
        importlib.import_module(module).stop(ctx)
    ctx.state["daemons"].pop(name, None)


def kill(ctx: Any, name: str) -> None:
    """SIGKILL: the daemon is gone at once and cleans up nothing (isakmpd leaves its FIFO)."""
    if not running(ctx.state, name):
        return
    module = SPECIAL.get(name)
    if module is not None:
        importlib.import_module(module).crash(ctx)
    ctx.state["daemons"].pop(name, None)
