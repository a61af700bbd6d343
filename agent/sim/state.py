"""Persistent kernel and daemon state of one simulated router, shared between processes.

The state lives in ROOT/.peerops-sim/state.db, a SQLite database (stdlib, WAL mode) with one
row per object: `(section, name) -> JSON` (agent.sim.store; a simulation's routers keep these
rows in memory). Section "" holds the top-level values (counters, isakmpd's state); each
key of TABLES is a section of its own, one row per interface, owned file, daemon or sysctl.
Every command runs inside `transaction()` (BEGIN IMMEDIATE: one writer at a time across
processes, readers never blocked) and sees a mapping with the same keys as before; it reads
only the rows it touches and writes back only the rows it changed, so a command costs the
same whatever the number of other interfaces or files.
Top-level keys belong to the module that models them (interfaces to ifconfig, ...).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.sim.files import DiskFiles, MemoryFiles, RouterFiles
from agent.sim.store import CONF_TABLE, MemoryStore, SqliteStore, Store

SIM_DIR = ".peerops-sim"
STATE_FILE = "state.db"
HOST_FILE = "host.json"
HOST_PATH = f"/{SIM_DIR}/{HOST_FILE}"  # as the router's files name it

# Top-level mappings stored one row per entry (the rest is one row per top-level key).
# "isakmpd_conf" is isakmpd's section database (agent.sim.isakmpd), one row per section: a
# thousand peers make eleven thousand sections, which as one row were decoded whole by every
# command that looked at one of them.
TABLES = ("interfaces", "owners", "daemons", "sysctl", CONF_TABLE)

# What a freshly installed OpenBSD kernel reports for the sysctls the agent touches
# (sys/netinet/ip_gre.c: gre_allow defaults to 0; esp/ah enable default 1).
DEFAULT_SYSCTL: dict[str, int] = {
    "net.inet.gre.allow": 0,
    "net.inet.gre.wccp": 0,
    "net.inet.esp.enable": 1,
    "net.inet.ah.enable": 1,
    "net.inet.ipcomp.enable": 0,
    "net.inet.ip.forwarding": 0,
    "net.inet6.ip6.forwarding": 0,
}

def new_state() -> dict[str, Any]:
    """Return the kernel state of a router that has just booted with nothing configured."""
    return {
        "version": 1,
        "boot": 1,
        "next_pid": 20000,
        "next_ifindex": 5,  # lo0, em0, enc0, pflog0 take the first indexes on a real box
        "sysctl": dict(DEFAULT_SYSCTL),
        "interfaces": {},
        "daemons": {},
        "owners": {},
        CONF_TABLE: {},
    }


def sim_dir(root: Path) -> Path:
    return root / SIM_DIR


@functools.lru_cache(maxsize=4096)
def _sim_dir(root: str) -> str:
    """ROOT/.peerops-sim as a string, joined once per root (every command asks it twice)."""
    return os.path.join(root, SIM_DIR)


@functools.lru_cache(maxsize=4096)
def _mark(directory: str) -> str:
    return os.path.join(directory, MEMORY_MARK)


def is_provisioned(root: Path) -> bool:
    return _memory_store(_sim_dir(os.fspath(root))) is not None or (
        sim_dir(root) / STATE_FILE
    ).exists()


# One connection per (root, process, thread): sqlite3 connections must not cross a fork or be
# shared by threads, and opening one per command would cost more than the command. The inode
# tells a database that was deleted and made again (a test's fresh router) from the old one.
_CONNECTIONS: dict[tuple[str, int, int], tuple[int, SqliteStore]] = {}


def _connect(root: Path, create: bool = True) -> Store | None:
    """The store of root; None when there is none and create is false."""
    directory = _sim_dir(os.fspath(root))
    memory = _memory_store(directory)
    if memory is not None:
        return memory
    path = os.path.join(directory, STATE_FILE)
    key = (path, _PID, threading.get_ident())
    try:
        inode = os.stat(path).st_ino
    except FileNotFoundError:
        if not create:
            return None
        memory = _new_memory_store(directory) if _MEMORY_UNDER else None
        if memory is not None:
            return memory
        inode = None
    cached = _CONNECTIONS.get(key)
    if cached is not None and cached[0] == inode:
        return cached[1]
    if cached is not None:
        cached[1].close()
    os.makedirs(directory, exist_ok=True)
    store = SqliteStore(path)
    _CONNECTIONS[key] = (os.stat(path).st_ino, store)
    return store


def close(root: Path) -> None:
    """Close this thread's connection to root's store. The last connection to close
    checkpoints the WAL into state.db and removes it: the store is then that one file, and
    the router's directory can be copied (agent.sim.cli.FreshRoot)."""
    path = os.path.join(os.fspath(root), SIM_DIR, STATE_FILE)
    cached = _CONNECTIONS.pop((path, _PID, threading.get_ident()), None)
    if cached is not None:
        cached[1].close()


# -- routers in memory: a simulation's ------------------------------------------------------

# Directories (real paths, with a trailing separator) whose new routers are made in memory.
_MEMORY_UNDER: list[str] = []


@dataclass
class _InMemory:
    """A router held in memory: its files, and its store once it has one."""

    directory: str  # the real path of its ROOT/.peerops-sim
    pid: int  # the process that made it
    files: MemoryFiles
    db: MemoryStore | None = None


# Each router in memory by the (device, inode) of its mark, ROOT/.peerops-sim/MEMORY_MARK: a
# file that lives and dies with the router's directory, so another path to the same root
# finds it, and a root removed and made again (whose directory may get the old directory's
# inode number at once) does not.
MEMORY_MARK = "state.memory"
_MEMORY: dict[tuple[int, int], _InMemory] = {}
_TEMPLATES: dict[str, MemoryStore] = {}  # store files copied into memory (copy_store)


@contextmanager
def in_memory(*directories: Path, keep: bool = False) -> Iterator[None]:
    """Within the block, a router made under one of directories has its files and its store
    in this process's memory instead of under ROOT (agent.sim.files.MemoryFiles, and a store
    without ROOT/.peerops-sim/state.db): the same files, rows, transactions and commits,
    without their system calls (most of the time of a simulation of a thousand routers).
    Only this process, one thread at a time, can use such a router: for a lab that runs
    every command of its routers itself (`peerops simulate`). When the block ends the
    routers are written to disk (keep: they are left to be used later; a router whose
    directory is gone is skipped) or dropped. Blocks over the same directory do not nest."""
    prefixes = [os.path.join(os.path.realpath(d), "") for d in directories]
    for prefix in prefixes:
        if any(prefix.startswith(p) or p.startswith(prefix) for p in _MEMORY_UNDER):
            raise ValueError(f"stores under {prefix} are in memory already")
    _MEMORY_UNDER.extend(prefixes)
    block = next(_BLOCKS)
    _BLOCK_OF.update((prefix, block) for prefix in prefixes)
    try:
        yield
    finally:
        failure = _end_memory(prefixes, keep)
    if failure is not None:  # (an error of the block itself goes on instead)
        raise failure


_BLOCKS = itertools.count(1)  # in_memory() blocks of this process, numbered
_BLOCK_OF: dict[str, int] = {}  # each prefix of _MEMORY_UNDER -> its block's number


def memory_block(path: str) -> int | None:
    """The number of the in_memory() block whose directory holds path (a real path), None
    when none does: for what a simulation derives and drops with it (agent.sim.fleet_index)."""
    return next((block for prefix, block in _BLOCK_OF.items() if path.startswith(prefix)), None)


def _end_memory(prefixes: list[str], keep: bool) -> Exception | None:
    """Write out (keep) or drop every router in memory under prefixes; the first error of a
    write, after all of them were handled."""
    from agent.sim import fleet_index  # what the block's fleets derived in its memory

    for prefix in prefixes:
        _MEMORY_UNDER.remove(prefix)
        fleet_index.forget(_BLOCK_OF.pop(prefix))
    if not _MEMORY_UNDER:
        _TEMPLATES.clear()
    _LOADED.clear()  # looks at stores that are gone or on disk now
    failure: Exception | None = None
    for ident, router in list(_MEMORY.items()):
        if any(router.directory.startswith(prefix) for prefix in prefixes):
            try:
                _drop(ident, write=keep)
            except Exception as exc:  # one router's failure must not leave the others behind
                failure = failure or exc
    return failure


def on_disk(root: Path) -> None:
    """Write root's files and store to disk if they are in memory, and keep them there from
    now on (a template whose files are copied)."""
    found = _memory_entry(_sim_dir(os.fspath(root)))
    if found is not None:
        _drop(found[0], write=True)


def _drop(ident: tuple[int, int], write: bool) -> None:
    """Take a router out of memory: written to disk first (write, and its directory is still
    there), then its store closed and its mark removed, whether the write worked or not."""
    router = _MEMORY.pop(ident)
    if _FOUND is not None:
        _FOUND.clear()
    try:
        if write and os.path.isdir(router.directory):
            router.files.write_to(os.path.dirname(router.directory))
            if router.db is not None:
                router.db.write_to(os.path.join(router.directory, STATE_FILE))
    finally:
        if router.db is not None:
            router.db.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_mark(router.directory))


def _memory_entry(directory: str) -> tuple[tuple[int, int], _InMemory] | None:
    """(its key, the router) of the router in memory whose .peerops-sim is directory."""
    if not _MEMORY:
        return None
    if _FOUND is not None and directory in _FOUND:
        found = _FOUND[directory]
    else:
        try:
            st = os.stat(_mark(directory))
        except (FileNotFoundError, NotADirectoryError):
            found = None
        else:
            router = _MEMORY.get((st.st_dev, st.st_ino))
            found = None if router is None else ((st.st_dev, st.st_ino), router)
        if _FOUND is not None:
            _FOUND[directory] = found
    if found is not None and found[1].pid != _PID:  # a fork's copy would diverge in silence
        raise RuntimeError(
            f"the router {found[1].directory} is in the memory of process {found[1].pid}")
    return found


# While a command's transaction is open: what each lookup above found, by directory. A
# command removes no router, and its look at a fleet asks about each of a thousand routers
# several times (a stat of the mark each). Cleared when a router is made or dropped here;
# code that removed a router's directory inside a transaction would still find it.
_FOUND: dict[str, tuple[tuple[int, int], _InMemory] | None] | None = None

# This process's id (os.getpid() is a system call, and lookups are many), again in a fork.
_PID = os.getpid()


def _forked() -> None:
    global _PID, _FOUND
    _PID = os.getpid()
    _FOUND = None if _FOUND is None else {}


os.register_at_fork(after_in_child=_forked)


def _memory_store(directory: str) -> MemoryStore | None:
    found = _memory_entry(directory)
    return found[1].db if found is not None else None


def _new_memory_router(directory: str) -> _InMemory | None:
    """The router in memory for directory (ROOT/.peerops-sim), made now (without a store)
    if it is under an in_memory() directory; None when it is not."""
    found = _memory_entry(directory)
    if found is not None:
        return found[1]
    real = os.path.realpath(directory)
    if not any(os.path.join(real, "").startswith(prefix) for prefix in _MEMORY_UNDER):
        return None
    os.makedirs(directory, exist_ok=True)
    mark = _mark(directory)
    with open(mark, "w", encoding="ascii") as fh:
        fh.write(f"this router's files and store are in the memory of process {_PID}\n")
    st = os.stat(mark)
    stale = _MEMORY.pop((st.st_dev, st.st_ino), None)  # a mark of a removed root, reused
    if stale is not None and stale.db is not None:
        stale.db.close()
    router = _MEMORY[(st.st_dev, st.st_ino)] = _InMemory(real, _PID, MemoryFiles())
    if _FOUND is not None:
        _FOUND.clear()
    return router


def _new_memory_store(directory: str, source: str | None = None) -> MemoryStore | None:
    """A new store in memory for directory when it is under an in_memory() directory (a copy
    of the store file source, else empty); None when it is not."""
    router = _new_memory_router(directory)
    if router is None:
        return None
    if router.db is not None:
        router.db.close()
    router.db = MemoryStore() if source is None else _template(source).copy()
    return router.db


def all_on_disk() -> bool:
    """True when no router is (or can be made) in memory in this process."""
    return not _MEMORY and not _MEMORY_UNDER


def router_files(root: Path | str, create: bool = False) -> RouterFiles:
    """The files of the router at root: in memory when it is held there (or, with create,
    when it is new under an in_memory() directory: no store on disk), else on disk."""
    directory = _sim_dir(os.fspath(root))
    found = _memory_entry(directory)
    if found is not None:
        return found[1].files
    if create and _MEMORY_UNDER and not os.path.exists(os.path.join(directory, STATE_FILE)):
        router = _new_memory_router(directory)
        if router is not None:
            return router.files
    return DiskFiles(os.fspath(root))


def store_id(root: Path | str) -> int | None:
    """What tells root's store from one made after it at the same place: the inode of its
    file, or (for a store in memory) minus that of its mark; None when it has none."""
    directory = _sim_dir(os.fspath(root))
    found = _memory_entry(directory)
    if found is not None and found[1].db is not None:
        return -found[0][1]
    try:
        return os.stat(os.path.join(directory, STATE_FILE)).st_ino
    except FileNotFoundError:
        return None


def _template(source: str) -> MemoryStore:
    """The store file source, read into memory once (a lab copies it a thousand times)."""
    store = _TEMPLATES.get(source)
    if store is None:
        store = _TEMPLATES[source] = MemoryStore.from_file(source)
    return store


def copy_store(root: Path, source: str) -> bool:
    """Make root's new store in memory as a copy of the store file source, when root is
    under an in_memory() directory; False (nothing done) when it is not."""
    if not _MEMORY_UNDER:  # no simulation running here: no path to resolve
        return False
    return _new_memory_store(_sim_dir(os.fspath(root)), source) is not None


class Table(MutableMapping[str, Any]):
    """One section of the store as a mapping: rows are read when first touched and written
    back at the end of the transaction only if their JSON changed (in-place edits count)."""

    def __init__(self, db: Store, section: str) -> None:
        self._db, self._section = db, section
        self._rows: dict[str, Any] = {}  # rows touched in this transaction (absent: deleted)
        self._stored: dict[str, str | None] = {}  # their JSON in the store (None: no row)
        self._complete = False
        self._probed = False  # bool() asked whether any row exists
        self._released = False  # rows were forgotten (release) in this transaction
        self.written: set[str] = set()  # rows flush() wrote (since the last release)
        self.wrote_released = False  # flush() wrote rows that release() forgot

    def _fetch(self, name: str) -> bool:
        if name not in self._stored:
            raw = None if self._complete else self._db.row(self._section, name)
            self._stored[name] = raw
            if raw is not None:
                self._rows[name] = json.loads(raw)
        return name in self._rows

    def _fetch_all(self) -> None:
        if self._complete:
            return
        for name, value in self._db.section(self._section):
            if name not in self._stored:
                self._stored[name] = value
                self._rows[name] = json.loads(value)
        self._complete = True

    def __getitem__(self, name: str) -> Any:
        if not self._fetch(name):
            raise KeyError(name)
        return self._rows[name]

    # get and setdefault without the KeyError round trips of MutableMapping's (isakmpd's
    # section database is edited a few tags at a time, tens of thousands in one command).
    def get(self, name: str, default: Any = None) -> Any:
        return self._rows[name] if self._fetch(name) else default

    def setdefault(self, name: str, default: Any = None) -> Any:
        if not self._fetch(name):
            self._rows[name] = default
        return self._rows[name]

    def clear(self) -> None:
        """Delete every row (MutableMapping's clear pops them one by one, iterating the whole
        table again for each: ten seconds for isakmpd's eleven thousand sections)."""
        self._fetch_all()
        self._rows.clear()

    def __setitem__(self, name: str, value: Any) -> None:
        self._fetch(name)
        self._rows[name] = value

    def __delitem__(self, name: str) -> None:
        if not self._fetch(name):
            raise KeyError(name)
        del self._rows[name]

    def __iter__(self) -> Iterator[str]:
        # As the JSON document did: stored entries in sorted order, then new ones as added.
        self._fetch_all()
        stored = sorted(n for n in self._rows if self._stored.get(n) is not None)
        return iter([*stored, *(n for n in self._rows if self._stored.get(n) is None)])

    def __len__(self) -> int:
        self._fetch_all()
        return len(self._rows)

    def __bool__(self) -> bool:  # without decoding every row, as len() would
        self._probed = True
        if self._rows:
            return True
        return any(name not in self._stored for name, _ in self._db.section(self._section))

    def numbers(self, key: str) -> dict[str, Any]:
        """{name: entry[key]} of a number (or string) field over every entry, read by the
        store: the entries are not loaded, so they cost nothing at commit either."""
        self._probed = True
        out = {name: value for name, value in self._db.field(self._section, key).items()
               if name not in self._stored}
        out.update({name: row.get(key) for name, row in self._rows.items()})
        return out

    def peek(self, name: str) -> Any:
        """The row's value (None: no row) without keeping it: what this transaction made of
        it if it touched it, else the store's row decoded anew. A peek is not a read
        (rows_read does not list it): for a caller that knows its inputs otherwise."""
        if name in self._stored:
            return self._rows.get(name)
        raw = self._db.row(self._section, name)
        return None if raw is None else json.loads(raw)

    def __repr__(self) -> str:
        return f"Table({self._section!r}, {dict(self)!r})"

    def rows_read(self) -> dict[str, str | None] | None:
        """The stored JSON of each row read in this transaction; None after a whole-section
        read (iteration, len, numbers) or an emptiness test."""
        if self._complete or self._probed or self._released:
            return None
        return {f"{self._section}/{name}": raw for name, raw in self._stored.items()}

    def release(self) -> None:
        """Write the changed rows now and forget every row held (inside the open
        transaction), for a command that edits more rows than it should hold at once: a row
        touched again is read again (as written). rows_read() lists nothing after it."""
        self.flush()
        self.wrote_released = self.wrote_released or bool(self.written)
        self.written.clear()
        self._rows.clear()
        self._stored.clear()
        self._complete = False
        self._released = True

    def held(self) -> int:
        """How many rows the transaction holds."""
        return len(self._stored)

    def flush(self) -> None:
        """Write the changed rows (inside the open transaction)."""
        if not self._stored:  # no row touched (most commands touch two or three tables)
            return
        deleted = [(self._section, name) for name, old in self._stored.items()
                   if name not in self._rows and old is not None]
        if deleted:
            self._db.delete(deleted)
        changed = self._changed_rows()  # one row's JSON at a time: a table may hold thousands
        first = next(changed, None)
        if first is not None:  # (most touched tables were only read)
            self._db.put(itertools.chain([first], changed))

    def _changed_rows(self) -> Iterator[tuple[str, str, str]]:
        for name, value in self._rows.items():
            new = json.dumps(value, sort_keys=True)
            if new != self._stored.get(name):
                self.written.add(name)
                yield self._section, name, new


class State(MutableMapping[str, Any]):
    """The state a command sees: the keys of new_state() and whatever modules add."""

    def __init__(self, db: Store) -> None:
        self.db = db
        self._top = Table(db, "")
        self._tables: dict[str, Table] = {}  # each made when first used (most commands touch
        # two or three: a transaction that made all five cost a third more)

    def _table(self, name: str) -> Table:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = Table(self.db, name)
        return table

    def __getitem__(self, key: str) -> Any:
        return self._table(key) if key in TABLES else self._top[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in TABLES:
            self._top[key] = value
            return
        table = self._table(key)
        if value is not table:
            entries = dict(value)
            table.clear()
            table.update(entries)

    def __delitem__(self, key: str) -> None:
        if key in TABLES:
            raise KeyError(f"{key} is part of every state")
        del self._top[key]

    def __iter__(self) -> Iterator[str]:
        return iter([*TABLES, *self._top])

    def __len__(self) -> int:
        return len(TABLES) + len(self._top)

    def booted(self) -> bool:
        """Whether the store was ever written (else the router has just booted); not a read
        of a row (rows_read does not list it)."""
        return self.db.row("", "version") is not None

    def flush(self) -> None:
        for table in (self._top, *self._tables.values()):
            table.flush()

    def wrote(self, table: str, name: str | None = None) -> bool:
        """Whether flush() wrote row name of table ("": a top-level key), or any of its rows
        (of a released table: only whether any)."""
        written = self._tables.get(table) if table else self._top
        if written is None:  # never used in this transaction
            return False
        if name is None:
            return bool(written.written) or written.wrote_released
        return name in written.written

    def release_over(self, table: str, limit: int) -> None:
        """Table.release() of table once it holds more than limit rows."""
        if self._table(table).held() > limit:
            self._table(table).release()

    def stored_values(self, table: str) -> Iterator[str]:
        """The JSON of every row of table in the store (flushed rows included), one by one."""
        for _, value in self.db.section(table):
            yield value

    def rows_read(self) -> dict[str, str | None] | None:
        rows: dict[str, str | None] = {}
        for table in (self._top, *self._tables.values()):
            read = table.rows_read()
            if read is None:
                return None
            rows.update(read)
        return rows


@contextmanager
def transaction(root: Path) -> Iterator[State]:
    """Yield the state under the store's write lock; commit when the block ends without
    error, roll back (change nothing) when it raises."""
    global _FOUND
    outermost = _FOUND is None
    if outermost:
        _FOUND = {}
    try:
        db = _connect(root)
        assert db is not None  # noqa: S101 - create=True always connects
        db.begin()
        try:
            state = State(db)
            if not state.booted():
                state.update(new_state())
            yield state
            state.flush()
            if state.wrote("", "isakmpd") or state.wrote(CONF_TABLE):
                from agent.sim import fleet_index  # who mentions which address in a fleet

                fleet_index.note(root, state.stored_values(CONF_TABLE))
        except BaseException:
            db.rollback()
            raise
        wrote = db.commit()
    finally:
        if outermost:
            _FOUND = None
    if wrote:
        changed()


def rows_read(state: MutableMapping[str, Any]) -> dict[str, str | None] | None:
    """{"section/name": its JSON as stored (None: no row)} of every row the open transaction
    `state` has read so far; None when it read a whole section (or is a plain mapping, a
    state being provisioned): then what it depends on is not a list of rows."""
    if not isinstance(state, State):
        return None
    return state.rows_read()


def release_over(state: MutableMapping[str, Any], table: str, limit: int) -> None:
    """State.release_over() for a store's state; a plain mapping (a state being
    provisioned) holds everything anyway."""
    if isinstance(state, State):
        state.release_over(table, limit)


def stored_row(state: MutableMapping[str, Any], key: str) -> str | None:
    """The JSON of row "section/name" (a key of rows_read) in the store of state now."""
    assert isinstance(state, State)  # noqa: S101 - only called with keys rows_read gave
    section, _, name = key.partition("/")
    return state.db.row(section, name)


# -- snapshots: reuse of looks at the fleet while nothing changes ------------------------------

_CHANGES = 0  # commits that changed a store, and files written, in this process
_SNAPSHOT: dict[Any, Any] | None = None


def changed() -> None:
    """Something of a simulated router changed (a row committed, a file written): looks
    taken before it are not reused."""
    global _CHANGES
    _CHANGES += 1


@contextmanager
def snapshot() -> Iterator[None]:
    """Within the block, a look at a router (its state, its flows and SAs, the fleet file)
    that nothing changed since is reused (`snapshot_cached`). For a phase in which this
    process alone touches the fleet, through its commands (`peerops simulate` pinging every
    link: a hundred pings from one router would otherwise negotiate its whole IKE a hundred
    times); anything a command changes ends the reuse."""
    global _SNAPSHOT
    outer, _SNAPSHOT = _SNAPSHOT, {}
    try:
        yield
    finally:
        _SNAPSHOT = outer


def snapshot_cached(key: Any, compute: Any) -> Any:
    """compute(), or inside snapshot() its result for key since the last change."""
    if _SNAPSHOT is None:
        return compute()
    if _SNAPSHOT.get("changes") != _CHANGES:
        _SNAPSHOT.clear()
        _SNAPSHOT["changes"] = _CHANGES
    if key not in _SNAPSHOT:
        _SNAPSHOT[key] = compute()
    return _SNAPSHOT[key]


def load(root: Path) -> dict[str, Any]:
    """The whole state as plain data, read without the write lock (for tests and for looks
    at another router of the fleet); a router without a store is a freshly booted one."""
    db = _connect(root, create=False)
    if db is None:
        return new_state()
    state: dict[str, Any] = {name: {} for name in TABLES}
    for section, name, value in db.everything():
        (state[section] if section else state)[name] = json.loads(value)
    return state


# root -> (connection, version, the state as loaded, what readers derived from it: derived())
_LOADED: dict[str, tuple[Store, Any, dict[str, Any], dict[str, Any]]] = {}
_LOADED_MAX = 4096  # stores remembered (a simulation looks at a thousand peer routers)


def load_unchanged(root: Path) -> dict[str, Any]:
    """load(root), or the very state it returned before while the store has not changed
    since: the same file (connection), no commit through this process's connection and
    none through any other (SQLite's PRAGMA data_version). Shared: treat it as read-only.
    For looks at other routers of a fleet, which repeat while most of them stay as they are
    (a simulation's every router looks at its hundred peers' routers four times)."""
    db = _connect(root, create=False)
    if db is None:
        return new_state()
    if db.in_transaction:  # this process's open command: rows that may yet be rolled back
        return load(root)
    key = os.fspath(root)
    version = db.version()
    kept = _LOADED.get(key)
    if kept is not None and kept[0] is db and kept[1] == version:
        return kept[2]
    state = load(root)
    if kept is None and len(_LOADED) >= _LOADED_MAX:
        del _LOADED[next(iter(_LOADED))]  # the oldest
    _LOADED[key] = (db, version, state, {})
    return state


def derived(root: Path, state: dict[str, Any]) -> dict[str, Any]:
    """A mapping for what a reader computes from `state` alone (e.g. the connections decoded
    from its isakmpd sections), kept with it for as long as load_unchanged(root) returns this
    very object; for any other state (a command's own, a plain load) a new, empty one."""
    kept = _LOADED.get(os.fspath(root))
    return kept[3] if kept is not None and kept[2] is state else {}


def read_object(root: Path, section: str, name: str) -> Any:
    """One object of the store (e.g. ("owners", "/etc/ipsec.conf")), None if absent."""
    db = _connect(root, create=False)
    if db is None:
        return None
    raw = db.row(section, name)
    return None if raw is None else json.loads(raw)


def mentions(root: Path, section: str, needles: frozenset[bytes]) -> bool:
    """Whether the stored JSON of a row of section contains any of needles (searched by the
    store: a router's whole fleet is looked at this way, nothing is decoded)."""
    db = _connect(root, create=False)
    if db is None or not needles:
        return False
    return any(db.contains(section, needle.decode()) for needle in sorted(needles))


def save(root: Path, state: dict[str, Any]) -> None:
    """Replace the whole state (provisioning and tests) in one transaction."""
    with transaction(root) as current:
        for key in list(current):
            if key not in TABLES:
                del current[key]
        for key, value in state.items():
            current[key] = value
        for key in TABLES:
            if key not in state:
                current[key] = {}


def allocate_pid(state: MutableMapping[str, Any]) -> int:
    pid = int(state["next_pid"])
    state["next_pid"] = pid + 7  # real pids are not consecutive
    return pid


def read_host_info(root: Path) -> dict[str, Any]:
    """Return ROOT/.peerops-sim/host.json: {"name": ..., "fleet": path or None}."""
    data = router_files(root).read(HOST_PATH)
    if data is None:
        return {"name": Path(root).name, "fleet": None}
    return json.loads(data)


def write_host_info(root: Path, name: str, fleet: str | None) -> None:
    router_files(root, create=True).write(HOST_PATH, host_info_text(name, fleet), 0o644)


def host_info_text(name: str, fleet: str | None) -> bytes:
    """The contents of host.json for a router called name in fleet (a path, or None)."""
    return json.dumps({"name": name, "fleet": fleet}, indent=1).encode()


def numbers(table: Any, key: str) -> dict[str, Any]:
    """`Table.numbers(key)`, and the same of a plain dict (a state being provisioned)."""
    if isinstance(table, Table):
        return table.numbers(key)
    return {name: entry.get(key) for name, entry in table.items()}
