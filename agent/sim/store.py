"""The rows behind a simulated router's state (agent.sim.state): `(section, name) -> JSON text`,
changed in transactions. Two kinds, with the same methods:

- `SqliteStore`: ROOT/.peerops-sim/state.db, SQLite in WAL mode, shared between processes
  (BEGIN IMMEDIATE: one writer at a time, readers never blocked);
- `MemoryStore`: dictionaries, for a router held in this process's memory (a simulation's,
  agent.sim.state.in_memory). No other process or connection sees it, so a transaction is
  an undo log. A 10x100 simulation reads ninety thousand rows and writes fifteen thousand:
  through SQLite in memory that was half a second, with a cache of the rows read beside it.

A store written by an older version is brought up to date when it is opened (`_migrate`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# A rowid table with its key in a separate index: a WITHOUT ROWID table keeps whole rows in
# its b-tree, and SQLite reads a row's whole overflow chain to compare keys with it, so a
# lookup that passes isakmpd's configuration (megabytes for a thousand peers) read all of it.
SCHEMA = """CREATE TABLE IF NOT EXISTS state (
    section TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (section, name))"""

CONF_TABLE = "isakmpd_conf"  # isakmpd's section database, one row per section

Row = tuple[str, str, str]  # (section, name, JSON)


class SqliteStore:
    """A store file, through one connection (of one process and thread)."""

    def __init__(self, path: str) -> None:
        # isolation_level=None: transactions are the explicit BEGIN IMMEDIATE of begin().
        db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        # No fsync, not even when a new store writes its first commit (its WAL and directory:
        # two per store): every commit is in the OS's hands, so a crash of a process loses
        # nothing; a power cut could, as it could the simulated host's files
        # (DiskFiles.write: durable=False). A store models a kernel, not a disk.
        db.execute("PRAGMA synchronous=OFF")
        # A small page cache (256 KiB, not SQLite's 2 MiB): rows are read by key a few at a
        # time and the OS caches the file; at a thousand peers the default held 2-3 MiB more
        # at the first apply's peak, for no CPU measured.
        db.execute("PRAGMA cache_size=-256")
        _migrate(db)
        self._db = db
        self._before = 0  # total_changes when the open transaction began
        self.commits = 0  # commits through this connection that wrote a row

    def row(self, section: str, name: str) -> str | None:
        found = self._db.execute(
            "SELECT value FROM state WHERE section = ? AND name = ?", (section, name)
        ).fetchone()
        return found[0] if found else None

    def section(self, section: str) -> Iterator[tuple[str, str]]:
        """(name, JSON) of every row of section, by name."""
        yield from self._db.execute(
            "SELECT name, value FROM state WHERE section = ? ORDER BY name", (section,)
        )

    def field(self, section: str, key: str) -> dict[str, Any]:
        """{name: row[key]} over section, read inside SQLite (nothing decoded here)."""
        return dict(self._db.execute(
            "SELECT name, json_extract(value, '$.' || ?) FROM state WHERE section = ?",
            (key, section),
        ))  # fmt: skip

    def contains(self, section: str, needle: str) -> bool:
        """Whether the JSON of a row of section contains needle."""
        query = "SELECT 1 FROM state WHERE section = ? AND instr(value, ?) > 0 LIMIT 1"
        return self._db.execute(query, (section, needle)).fetchone() is not None

    def everything(self) -> Iterator[Row]:
        """Every row, by section and name."""
        yield from self._db.execute("SELECT section, name, value FROM state ORDER BY 1, 2")

    def put(self, rows: Iterable[Row]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", rows)

    def delete(self, keys: list[tuple[str, str]]) -> None:
        self._db.executemany("DELETE FROM state WHERE section = ? AND name = ?", keys)

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._before = self._db.total_changes

    def commit(self) -> bool:
        """Commit; whether the transaction wrote a row."""
        self._db.execute("COMMIT")
        wrote = self._db.total_changes != self._before
        self.commits += wrote
        return wrote

    def rollback(self) -> None:
        self._db.execute("ROLLBACK")

    def version(self) -> tuple[int, int]:
        """Changes when anyone commits: this connection (counted here) or another (SQLite's
        data_version counts only the other connections' commits)."""
        return self.commits, self._db.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class MemoryStore:
    """A store in this process's memory: the rows of each section in a dict."""

    def __init__(self, sections: dict[str, dict[str, str]] | None = None) -> None:
        self._sections: dict[str, dict[str, str]] = sections or {}
        self._undo: dict[tuple[str, str], str | None] | None = None  # while in a transaction
        self.commits = 0

    @classmethod
    def from_file(cls, path: str) -> MemoryStore:
        """The rows of the store file path (brought up to date in memory, the file left as
        it is). A missing file is an error (sqlite3.OperationalError), not an empty store."""
        scratch = sqlite3.connect(":memory:", isolation_level=None)
        try:
            with contextlib.closing(
                sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
            ) as source:
                source.backup(scratch)
            _migrate(scratch)
            store = cls()
            for section, name, value in scratch.execute("SELECT section, name, value FROM state"):
                store._sections.setdefault(section, {})[name] = value
            return store
        finally:
            scratch.close()

    def copy(self) -> MemoryStore:
        return MemoryStore({section: dict(rows) for section, rows in self._sections.items()})

    def row(self, section: str, name: str) -> str | None:
        rows = self._sections.get(section)
        return None if rows is None else rows.get(name)

    def section(self, section: str) -> Iterator[tuple[str, str]]:
        yield from sorted((self._sections.get(section) or {}).items())

    def field(self, section: str, key: str) -> dict[str, Any]:
        out = {}
        for name, value in (self._sections.get(section) or {}).items():
            decoded = json.loads(value)
            found = decoded.get(key) if isinstance(decoded, dict) else None
            out[name] = _as_json_extract(found)
        return out

    def contains(self, section: str, needle: str) -> bool:
        return any(needle in value for value in (self._sections.get(section) or {}).values())

    def everything(self) -> Iterator[Row]:
        for section in sorted(self._sections):
            for name, value in sorted(self._sections[section].items()):
                yield section, name, value

    def put(self, rows: Iterable[Row]) -> None:
        for section, name, value in rows:
            _storable(name)
            _storable(value)
            rows_of = self._sections.setdefault(section, {})
            self._remember(section, name, rows_of)
            rows_of[name] = value

    def delete(self, keys: list[tuple[str, str]]) -> None:
        for section, name in keys:
            rows_of = self._sections.get(section)
            if rows_of is not None and name in rows_of:
                self._remember(section, name, rows_of)
                del rows_of[name]

    def _remember(self, section: str, name: str, rows_of: dict[str, str]) -> None:
        """Keep the row's value before the transaction's first change of it."""
        if self._undo is None:
            raise RuntimeError("a store is written outside a transaction")
        if (section, name) not in self._undo:
            self._undo[section, name] = rows_of.get(name)

    @property
    def in_transaction(self) -> bool:
        return self._undo is not None

    def begin(self) -> None:
        if self._undo is not None:
            raise RuntimeError("a transaction is open already")
        self._undo = {}

    def commit(self) -> bool:
        wrote = bool(self._undo)
        self._undo = None
        self.commits += wrote
        return wrote

    def rollback(self) -> None:
        undo, self._undo = self._undo or {}, None
        for (section, name), value in undo.items():
            rows_of = self._sections.setdefault(section, {})
            if value is None:
                rows_of.pop(name, None)
            else:
                rows_of[name] = value

    def version(self) -> int:
        return self.commits

    def close(self) -> None:
        """Drop the rows; any later use of the store raises (as a closed connection does)."""
        self._sections = _CLOSED

    def write_to(self, path: str) -> None:
        """Make the store file at path hold these rows and nothing else (what was there is
        replaced whole, as a store made on disk would be)."""
        with contextlib.closing(sqlite3.connect(":memory:", isolation_level=None)) as rows:
            rows.execute(SCHEMA)
            rows.executemany("INSERT INTO state VALUES (?, ?, ?)", self.everything())
            with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as disk:
                rows.backup(disk)
                disk.execute("PRAGMA journal_mode=WAL")


def _storable(text: str) -> None:
    """Refuse what SQLite refuses to bind as text (a store in memory takes what a store
    file takes): a name that is not a string, text with a lone surrogate (os.fsdecode's)."""
    if not isinstance(text, str):
        raise TypeError(f"a store row's name and value are text, not {type(text).__name__}")
    if not text.isascii():
        text.encode("utf-8")  # UnicodeEncodeError, as sqlite3's binding raises


def _as_json_extract(value: Any) -> Any:
    """value as SQLite's json_extract() returns it: true/false as 1/0, an object or array
    as its (compact) JSON text, anything else as it is."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


class _Closed(dict[str, dict[str, str]]):
    """The rows of a closed MemoryStore: every use raises."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store is closed")

    get = setdefault = __getitem__ = __iter__ = __contains__ = items = values = _refuse


_CLOSED = _Closed()


Store = SqliteStore | MemoryStore


def _migrate(db: sqlite3.Connection) -> None:
    """The table, made anew from a store an older version wrote WITHOUT ROWID; isakmpd's
    sections moved into rows of their own."""
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'state'")
    found = row.fetchone()
    if found is not None and "WITHOUT ROWID" in found[0].upper():
        db.execute("BEGIN IMMEDIATE")
        db.execute("ALTER TABLE state RENAME TO state_old")
        db.execute(SCHEMA)
        db.execute("INSERT INTO state SELECT section, name, value FROM state_old")
        db.execute("DROP TABLE state_old")
        db.execute("COMMIT")
    else:
        db.execute(SCHEMA)
    _split_isakmpd_conf(db)


def _split_isakmpd_conf(db: sqlite3.Connection) -> None:
    """Move isakmpd's section database out of its "isakmpd" row (where an older version
    kept it, {"conf": {section: tags}, ...}) into rows of CONF_TABLE."""
    query = "SELECT value FROM state WHERE section = '' AND name = 'isakmpd'"
    row = db.execute(query + " AND instr(value, '\"conf\":') > 0").fetchone()
    if row is None:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        found = db.execute(query).fetchone()  # again, under the write lock
        ist = json.loads(found[0]) if found else {}
        if "conf" in ist:
            db.executemany(
                "INSERT OR REPLACE INTO state VALUES (?, ?, ?)",
                ((CONF_TABLE, name, json.dumps(tags, sort_keys=True))
                 for name, tags in ist.pop("conf").items()),
            )
            db.execute(
                "UPDATE state SET value = ? WHERE section = '' AND name = 'isakmpd'",
                (json.dumps(ist, sort_keys=True),),
            )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
