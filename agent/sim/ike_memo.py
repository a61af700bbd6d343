"""The IKE view of a router kept between commands, for as long as nothing it depends on changed.

`ipsecctl -s` is the look every agent run takes, and evaluating every connection again costs
about a fifth of a run that changes nothing at a thousand peers, although nothing changed.
A real kernel keeps its SAs; the simulator computes them (agent.sim.ike), so it keeps the
result instead, in ROOT/.peerops-sim/ike-view.json, with what it was computed from:

- the store's generation (a new token at every commit that changed a row: isakmpd's
  configuration and connections, daemons, owners, `ipsecctl -F`);
- this router's host file and the fleet file (its external peers);
- every file the evaluation looked at (contents, and the private key's mode).

Any difference, or a view that looked at other routers of the fleet (their state and files
would be inputs too), computes it again. The file is a derived artifact: missing, corrupt
or foreign, it is ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import astuple
from pathlib import Path
from typing import Any

from agent.atomic import write_atomic
from agent.sim import state as simstate
from agent.sim.ike import (
    IkeView,
    KernelFlow,
    KernelSA,
    content_print,
    read_under,
    real_path,
    stat_mode,
)

MEMO_FILE = "ike-view.json"
FORMAT = 1

Compute = Callable[[Path, dict[str, Any]], tuple[IkeView, "dict[str, str] | None"]]


def observe(root: Path, state: dict[str, Any], compute: Compute) -> IkeView:
    """compute(root, state)'s view, or the one kept from an earlier command when the store's
    generation, the host and fleet files and every file that view saw are unchanged."""
    token = simstate.generation(state)
    if token is None:  # a state being provisioned: nothing to tell changes by
        return compute(root, state)[0]
    path = simstate.sim_dir(root) / MEMO_FILE
    context = _context(root)  # before computing: a change meanwhile makes the kept one stale
    kept = _load(path)
    if kept is not None and kept["generation"] == token and kept["context"] == context and all(
        look(root, what) == was for what, was in kept["seen"].items()
    ):
        return _view(kept["view"])
    view, seen = compute(root, state)
    if seen is not None:
        body = {"format": FORMAT, "generation": token, "context": context, "seen": seen,
                "view": _to_json(view)}
        with contextlib.suppress(OSError):  # not kept: the next look computes it again
            write_atomic(path, json.dumps(body).encode(), 0o600, durable=False)
    return view


def look(root: Path, what: str) -> str:
    """What the evaluation saw, seen again: "data PATH" (contents) or "mode PATH"."""
    kind, _, path = what.partition(" ")
    if kind == "data":
        return content_print(read_under(os.fspath(root), path))
    return str(stat_mode(real_path(os.fspath(root), path)))


def _context(root: Path) -> list[str]:
    """The host file and the fleet file it names, as content prints."""
    host = simstate.sim_dir(root) / simstate.HOST_FILE
    raw = _read(host)
    prints = [content_print(raw)]
    with contextlib.suppress(ValueError, AttributeError):
        fleet = json.loads(raw or b"{}").get("fleet")
        if fleet:
            prints.append(content_print(_read(Path(fleet))))
    return prints


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _load(path: Path) -> dict[str, Any] | None:
    try:
        kept = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("format") != FORMAT:
        return None
    return kept


def _to_json(view: IkeView) -> dict[str, Any]:
    return {
        "flows": [astuple(f) for f in view.flows],
        "sas": [[*astuple(sa)[:7], sa.seed.hex(), sa.authkey_len, sa.enckey_len]
                for sa in view.sas],
        "status": view.status,
    }


def _view(data: dict[str, Any]) -> IkeView:
    return IkeView(
        [KernelFlow(*f) for f in data["flows"]],
        [KernelSA(*sa[:7], bytes.fromhex(sa[7]), sa[8], sa[9]) for sa in data["sas"]],
        dict(data["status"]),
    )
