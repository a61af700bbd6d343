"""The IKE view of a router kept between commands, for as long as nothing it depends on changed.

`ipsecctl -s` is the look every agent run takes, and evaluating every connection again costs
about a fifth of a run that changes nothing at a thousand peers, although nothing changed.
A real kernel keeps its SAs; the simulator computes them (agent.sim.ike), so it keeps the
result instead, in ROOT/.peerops-sim/ike-view.json, with what it was computed from:

- every row of the store it read (isakmpd's connections and the generation of its section
  database, its process entry, `ipsecctl -F`'s count, the private key's owner), as stored
  JSON (the sections themselves are peeked at: isakmpd counts their changes);
- this router's host file and the fleet file (its external peers);
- every file the evaluation looked at (contents, and the private key's mode).

Any difference, or a view that looked at other routers of the fleet (their state and files
would be inputs too) or at a whole section of the store, computes it again. A change that
does not touch these (a gre interface brought up, a hostname file written) keeps it. The file
is a derived artifact: missing, corrupt or foreign, it is ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from agent.sim import state as simstate
from agent.sim.files import RouterFiles
from agent.sim.ike import (
    IkeView,
    KernelFlow,
    KernelSA,
    content_print,
    read_under,
    stat_mode,
)

MEMO_FILE = "ike-view.json"
MEMO_PATH = f"/{simstate.SIM_DIR}/{MEMO_FILE}"  # as the router's files name it
# 3: isakmpd's sections are read by its generation, not listed; 4: three lines (the header,
# the flows, the SAs), so a look decodes no view its inputs make stale and writing one does
# not hold the whole text's pieces at once (json.dumps of a thousand peers' view: 4 MiB).
FORMAT = 4

Compute = Callable[[Path, dict[str, Any]], tuple[IkeView, "dict[str, str] | None"]]


def observe(root: Path, state: dict[str, Any], compute: Compute) -> IkeView:
    """compute(root, state)'s view, or the one kept from an earlier command when the rows,
    the host and fleet files and every file that view read are unchanged."""
    if simstate.rows_read(state) is None:  # a state being provisioned, or already scanned
        return compute(root, state)[0]
    files = simstate.router_files(root)
    context = _context(files)  # before computing: a change meanwhile makes the kept one stale
    kept = _load(files, context)
    if kept is not None and all(
        look(files, state, what) == was for what, was in kept[0]["seen"].items()
    ):
        with contextlib.suppress(ValueError, TypeError, KeyError, IndexError, AttributeError):
            return _view(*kept)
    view, looked_at = compute(root, state)
    rows = simstate.rows_read(state)
    if looked_at is not None and rows is not None:
        seen = {f"row {key}": content_print(_bytes(raw)) for key, raw in rows.items()}
        header = {"format": FORMAT, "context": context, "seen": seen | looked_at,
                  "status": view.status}
        with contextlib.suppress(OSError):  # not kept: the next look computes it again
            files.write(MEMO_PATH, _lines(header, view), 0o600)
    return view


def look(files: RouterFiles, state: dict[str, Any], what: str) -> str:
    """What the evaluation saw, seen again: "row SECTION/NAME" (its stored JSON), "data
    PATH" (a file's contents) or "mode PATH"."""
    kind, _, key = what.partition(" ")
    if kind == "row":
        return content_print(_bytes(simstate.stored_row(state, key)))
    if kind == "data":
        return content_print(read_under(files, key))
    return str(stat_mode(files, key))


def _bytes(raw: str | None) -> bytes | None:
    return None if raw is None else raw.encode()


def _context(files: RouterFiles) -> list[str]:
    """The host file and the fleet file it names, as content prints."""
    raw = files.read(simstate.HOST_PATH)
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


def _load(files: RouterFiles, context: list[str]) -> tuple[dict[str, Any], bytes] | None:
    """The kept file's header and the rest undecoded, or None when there is none usable
    for this context."""
    try:
        first, _, rest = (files.read(MEMO_PATH) or b"").partition(b"\n")
        header = json.loads(first)
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return None
    if header.get("context") != context or not isinstance(header.get("seen"), dict):
        return None
    return header, rest


_FLOW_FIELDS = tuple(f.name for f in fields(KernelFlow))


def _lines(header: dict[str, Any], view: IkeView) -> Iterator[bytes]:
    """The kept file: the header, the flows and the SAs, a JSON text per line."""
    yield json.dumps(header).encode() + b"\n"
    # Not dataclasses.astuple: it deep-copies every field of 4000 objects at a thousand peers.
    yield from _json_list([getattr(f, name) for name in _FLOW_FIELDS] for f in view.flows)
    yield from _json_list(
        [sa.satype, sa.tmode, sa.src, sa.dst, sa.spi, sa.auth, sa.enc, sa.seed.hex(),
         sa.authkey_len, sa.enckey_len]
        for sa in view.sas
    )


def _json_list(rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """json.dumps(list(rows)) and a newline, a row at a time."""
    separator = b"["
    for row in rows:
        yield separator + json.dumps(row).encode()
        separator = b", "
    yield b"[]\n" if separator == b"[" else b"]\n"


def _view(header: dict[str, Any], rest: bytes) -> IkeView:
    flows, sas = rest.splitlines()
    return IkeView(
        [KernelFlow(*f) for f in json.loads(flows)],
        [KernelSA(*sa[:7], bytes.fromhex(sa[7]), sa[8], sa[9]) for sa in json.loads(sas)],
        dict(header["status"]),
    )
