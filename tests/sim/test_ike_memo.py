"""agent.sim.ike_memo: `ipsecctl -s` reuses a kept IKE view only while nothing it came from
changed. Each case changes one input the way drift or a test does, and checks the kept
answer against one computed from scratch."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.sim import ike_memo
from agent.sim import state as simstate
from agent.sim.files import FileInfo, MemoryFiles
from sim.fleetkit import LOCAL_KEY, LOCAL_PUB, FleetBuilder, Router, gre_rule
from sim.test_ike import A, B, external_entry, sa_lines, show

ALICE = "/etc/isakmpd/pubkeys/fqdn/alice.example.org"
CONF = simstate.CONF_TABLE
ROW = "SELECT value FROM state WHERE section = '' AND name = 'isakmpd'"


def memo(router: Router) -> FileInfo | None:
    """stat(2) of the router's kept view (None: none kept)."""
    return router.host.files().stat(ike_memo.MEMO_PATH)


def fresh_show(router: Router) -> str:
    """`ipsecctl -sa` with nothing kept: the view computed from scratch."""
    router.host.files().remove(ike_memo.MEMO_PATH)
    return show(router)


@pytest.fixture
def alone(fleet: FleetBuilder) -> Router:
    """A router whose one peer is external (no other router is an input), SAs up."""
    a = fleet.router("rtr-a", A)
    a.write(ALICE, fleet.keys[2].public, mode=0o644)
    assert a.load(gre_rule(A, B, extra="dstid alice.example.org")).rc == 0
    external_entry(fleet, a)
    assert len(sa_lines(show(a))) == 2
    return a


def test_an_unchanged_router_is_answered_from_the_kept_view(alone: Router) -> None:
    first = show(alone)
    made = memo(alone)
    assert made is not None and show(alone) == first
    again = memo(alone)
    assert again is not None
    assert (again.st_ino, again.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)  # not rewritten
    assert fresh_show(alone) == first


def flip_a_byte_keeping_size_and_time(router: Router, path: str) -> None:
    """A key file corrupted in place: same size, same inode, mtime put back (in memory,
    where nothing is written in place: a file of the same size)."""
    files = router.host.files()
    if isinstance(files, MemoryFiles):
        data = bytearray(files.read(path) or b"")
        data[100] ^= 0x01
        files.write(path, bytes(data), 0o644)
        return
    real = Path(files.real(path))
    before = real.stat()
    data = bytearray(real.read_bytes())
    data[100] ^= 0x01
    with open(real, "r+b") as fh:
        fh.write(data)
    os.utime(real, ns=(before.st_atime_ns, before.st_mtime_ns))


CHANGES: dict[str, Callable[[FleetBuilder, Router], None]] = {
    "peer key corrupted in place": lambda fleet, a: flip_a_byte_keeping_size_and_time(a, ALICE),
    "peer key removed": lambda fleet, a: a.host.remove_file(ALICE),
    "private key too open": lambda fleet, a: a.host.files().chmod(LOCAL_KEY, 0o644),
    "private key owner": lambda fleet, a: a.host.chown(LOCAL_KEY, 1000, 0),
    "local.pub replaced": lambda fleet, a: a.write(LOCAL_PUB, fleet.keys[3].public, mode=0o644),
    "external peer down": lambda fleet, a: external_entry(fleet, a, state="down"),
    "isakmpd stopped": lambda fleet, a: a.stop_isakmpd(),
    "flows flushed": lambda fleet, a: a.run("ipsecctl", "-F"),
    "rule deleted": lambda fleet, a: a.run("ipsecctl", "-d", "-f", "/etc/ipsec.conf"),
    # The same connection, its sections rewritten (`force`): only isakmpd's generation tells.
    "rule's phase 2 changed": lambda fleet, a: a.load(gre_rule(
        A, B, extra="dstid alice.example.org",
        quick="quick auth hmac-sha2-256 enc aes-128 group modp2048 lifetime 3600",
    )),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_any_change_of_an_input_is_seen(
    change: str, fleet: FleetBuilder, alone: Router
) -> None:
    before = show(alone)
    CHANGES[change](fleet, alone)
    after = show(alone)
    assert after == fresh_show(alone)
    assert after != before


def test_a_change_outside_ike_keeps_the_view(alone: Router) -> None:
    """A gre interface brought up, or a file IKE never reads: not an input."""
    first = show(alone)
    made = memo(alone)
    assert alone.run("ifconfig", "gre0", "create").rc == 0
    alone.write("/etc/hostname.gre0", "up\n", mode=0o640)
    assert show(alone) == first
    assert made is not None and memo(alone) == made


def test_a_corrupt_kept_view_is_ignored_and_rewritten(alone: Router) -> None:
    good = show(alone)
    for junk in (b"", b"{not json", b'{"format": 1, "generation": 3}', b"[1, 2]",
                 b'{"format": 2, "seen": {}, "view": {"flows": 1}}'):
        alone.host.files().write(ike_memo.MEMO_PATH, junk, 0o600)
        assert show(alone) == good
    assert alone.host.read_file(ike_memo.MEMO_PATH) not in (None, b"[1, 2]")


def test_a_view_that_looked_at_other_routers_is_not_kept(fleet: FleetBuilder) -> None:
    a, b = fleet.pair(A, B)
    assert len(sa_lines(show(a))) == 2
    assert memo(a) is None  # b's state and files are inputs: nothing kept
    b.stop_isakmpd()
    assert sa_lines(show(a)) == ["No entries"]


@pytest.mark.disk_only
def test_a_store_that_kept_isakmpd_sections_in_its_row_shows_the_same(alone: Router) -> None:
    """A store written before the section database had rows of its own (all of it inside
    the "isakmpd" row) is moved on open, and the router shows what it showed."""
    before = fresh_show(alone)
    root = alone.host.root
    db = sqlite3.connect(simstate.sim_dir(root) / simstate.STATE_FILE)
    with db:
        rows = db.execute("SELECT name, value FROM state WHERE section = ?", (CONF,))
        conf = {name: json.loads(value) for name, value in rows}
        ist = json.loads(db.execute(ROW).fetchone()[0])
        del ist["generation"]  # the older version had none
        ist["conf"] = conf
        db.execute("DELETE FROM state WHERE section = ?", (CONF,))
        db.execute("UPDATE state SET value = ? WHERE section = '' AND name = 'isakmpd'",
                   (json.dumps(ist, sort_keys=True),))
    db.close()
    simstate.close(root)  # the next command opens the store again
    assert fresh_show(alone) == before
    state = simstate.load(root)
    assert state[CONF] == conf and len(conf) > 10 and "conf" not in state["isakmpd"]
