"""Which routers of a fleet may hold a connection towards an address: a derived index.

A router that looks for the mirror of its connections asks every other router of the fleet
whether its isakmpd state mentions one of its addresses (`state.mentions`: `"ADDR"` inside
the stored JSON), a thousand store lookups per look in a simulation of a thousand peers.
This index answers that for the whole fleet in one query. It lives beside the fleet file
(FLEET.index.db, SQLite; a simulation's, in memory) and is derived: safe to delete, never
trusted beyond what it covers.

- `note(root, values)`: before a router's store commits a change of isakmpd's state, every
  address quoted in its section database (the JSON `values` of every section row: `"ADDR"`,
  ADDR of hex digits, dots and colons) is added for that router, and the router is marked as covered
  with the inode of its store. Nothing is ever removed while the store is the same file, so
  for a covered router the index holds a superset of what its rows mention (a rolled-back
  or later-replaced row leaves only addresses too many, which cost one look).
- `lookup(root, needles)`: the covered routers (root -> inode) and those among them whose
  rows may mention one of needles; None when there is no index or a needle is not an
  address. A router not covered, or whose store is another file now, is looked at as
  before.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from agent.sim import state as simstate

SUFFIX = ".index.db"
_ADDRESS = r"[0-9A-Fa-f:.]+"
# Overlapping: in `"a":"b"` the quote that opens "b" also closes the text ":" before it.
_QUOTED = re.compile(f'(?="({_ADDRESS})")')
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS covered (root TEXT PRIMARY KEY, inode INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS mention (address TEXT NOT NULL, root TEXT NOT NULL,"
    " PRIMARY KEY (address, root))",
)


class _FileIndex:
    """The index in its file, FLEET.index.db, through one connection."""

    def __init__(self, path: str) -> None:
        db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")  # as the stores (state.py): never an fsync
        for statement in _SCHEMA:
            db.execute(statement)
        self._db = db

    def add(self, name: str, inode: int, addresses: set[str]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT inode FROM covered WHERE root = ?", (name,)).fetchone()
            if row is not None and row[0] != inode:  # another store: its old rows say nothing
                db.execute("DELETE FROM mention WHERE root = ?", (name,))
            db.executemany(
                "INSERT OR IGNORE INTO mention VALUES (?, ?)",
                [(address, name) for address in sorted(addresses)],
            )
            db.execute("INSERT OR REPLACE INTO covered VALUES (?, ?)", (name, inode))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def find(self, addresses: list[str]) -> tuple[dict[str, int], set[str]]:
        covered = dict(self._db.execute("SELECT root, inode FROM covered").fetchall())
        marks = ",".join("?" * len(addresses))
        hits = {root for (root,) in self._db.execute(
            f"SELECT DISTINCT root FROM mention WHERE address IN ({marks})", addresses  # noqa: S608
        )}  # fmt: skip
        return covered, hits

    def close(self) -> None:
        self._db.close()


class _MemoryIndex:
    """A simulation's index, in this process's memory (simstate.in_memory): the same two
    tables as dictionaries (SQLite in memory was most of the cost of noting a router)."""

    def __init__(self) -> None:
        self._covered: dict[str, int] = {}  # root -> the inode of its store
        self._mention: dict[str, set[str]] = {}  # address -> the roots that mention it
        self._of_root: dict[str, set[str]] = {}  # root -> the addresses it mentions

    def add(self, name: str, inode: int, addresses: set[str]) -> None:
        if self._covered.get(name, inode) != inode:  # another store: its old rows say nothing
            for address in self._of_root.pop(name, set()):
                self._mention[address].discard(name)
        self._of_root.setdefault(name, set()).update(addresses)
        for address in addresses:
            self._mention.setdefault(address, set()).add(name)
        self._covered[name] = inode

    def find(self, addresses: list[str]) -> tuple[dict[str, int], set[str]]:
        hits: set[str] = set()
        for address in addresses:
            hits |= self._mention.get(address, set())
        return dict(self._covered), hits

    def close(self) -> None:
        self._covered, self._mention, self._of_root = {}, {}, {}


_CONNECTIONS: dict[tuple[str, int, int | None], _FileIndex | _MemoryIndex] = {}


def quoted_addresses(value: str) -> set[str]:
    """Every ADDR such that `"ADDR"` occurs in value (ADDR: hex digits, dots and colons)."""
    return set(_QUOTED.findall(value))


def index_path(root: Path) -> str | None:
    """FLEET.index.db of the fleet root belongs to; None for a router without a fleet."""
    fleet = simstate.read_host_info(root).get("fleet")
    return f"{fleet}{SUFFIX}" if fleet else None


def _key(path: str) -> tuple[str, int, int | None]:
    """The connection's key: the index of a simulation's fleet (simstate.in_memory) is in
    this process's memory, one per simulation (a derived index: dropped with it)."""
    return path, os.getpid(), simstate.memory_block(_real(path))


def _exists(path: str) -> bool:
    key = _key(path)
    return key in _CONNECTIONS if key[2] is not None else os.path.exists(path)


def forget(block: int) -> None:
    """Close the indexes of the fleets of in_memory() block number block (it ended)."""
    for key in [k for k in _CONNECTIONS if k[2] == block]:
        _CONNECTIONS.pop(key).close()


def _connect(path: str) -> _FileIndex | _MemoryIndex:
    key = _key(path)
    index = _CONNECTIONS.get(key)
    if index is None:
        index = _CONNECTIONS[key] = _FileIndex(path) if key[2] is None else _MemoryIndex()
    return index


# A router's root (or the index) as the fleet's readers resolve it (ike.fleet_root), once.
_real = functools.lru_cache(maxsize=4096)(os.path.realpath)


def note(root: Path, values: Iterable[str]) -> None:
    """Record the addresses of root's isakmpd section rows `values` (every row, as its store
    is about to commit them: called inside the store's write transaction)."""
    path = index_path(root)
    inode = simstate.store_id(root)
    if path is None or inode is None:
        return
    name = _real(os.fspath(root))
    addresses: set[str] = set()
    for value in values:
        addresses.update(quoted_addresses(value))
    _connect(path).add(name, inode, addresses)


def lookup(
    root: Path, needles: frozenset[bytes]
) -> tuple[dict[str, int], set[str]] | None:
    """(covered roots -> store inode, the covered roots that may mention a needle) for the
    fleet of root; needles are `"ADDR"` as state.mentions takes them."""
    path = index_path(root)
    addresses = [n.decode()[1:-1] for n in needles]
    if path is None or not needles or not _exists(path):
        return None  # no needles: every router is looked at (ike._load_state)
    if not all(re.fullmatch(f'"{_ADDRESS}"', n.decode()) for n in needles):
        return None
    return _connect(path).find(addresses)


def skip(found: tuple[dict[str, int], set[str]] | None, root: Path | str) -> bool:
    """True when the index says root's current store mentions none of the needles."""
    if found is None:
        return False
    covered, hits = found
    name = str(root)
    return name in covered and name not in hits and simstate.store_id(root) == covered[name]
