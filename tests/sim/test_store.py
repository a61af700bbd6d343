"""agent.sim.store: a store in memory behaves as the same store in a SQLite file.

A random sequence of transactions (writes, deletes, commits, rollbacks) runs on a
SqliteStore and a MemoryStore, and after each step every way of reading them agrees; the
memory store written to a file and read back is the same rows.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from agent.sim.store import MemoryStore, SqliteStore, Store

# Both kinds are made here by each test itself: once is enough.
pytestmark = pytest.mark.disk_only

SECTIONS = ("", "interfaces", "isakmpd_conf")
NAMES = ("gre0", "gre1", "version", "Phase 1", "peer-192.0.2.1")


def reads(store: Store) -> Any:
    """Everything a caller can read of store, comparable across the two kinds."""
    return (
        list(store.everything()),
        {s: list(store.section(s)) for s in (*SECTIONS, "absent")},
        {(s, n): store.row(s, n) for s in SECTIONS for n in NAMES},
        {s: sorted((n, repr(v)) for n, v in store.field(s, "index").items())  # 1 is not True
         for s in SECTIONS},
        {(s, needle): store.contains(s, needle)
         for s in SECTIONS for needle in ('"192.0.2.1"', "index", "none")},
    )  # fmt: skip


def value(rng: random.Random) -> str:
    choice = rng.randrange(6)
    if choice == 0:
        return json.dumps({"index": rng.randrange(9), "address": "192.0.2.1"})
    if choice == 4:  # field() of a boolean, a list, an object: as json_extract returns them
        return json.dumps({"index": rng.choice([True, False, ["gre", 1], {"a": None}])})
    if choice == 5:
        return json.dumps({"index": None, "name": "caf\u00e9 \u2603"})
    if choice == 1:
        return json.dumps({"up": rng.random() < 0.5})  # no "index": field() gives None
    if choice == 2:
        return json.dumps(rng.randrange(100))  # not an object
    return json.dumps("text with index in it")


@pytest.mark.parametrize("seed", range(30))
def test_random_transactions_read_the_same_in_both_kinds(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    disk, memory = SqliteStore(str(tmp_path / "state.db")), MemoryStore()
    stores: tuple[Store, Store] = (disk, memory)
    try:
        for step in range(40):
            for store in stores:
                store.begin()
            assert disk.in_transaction and memory.in_transaction
            for _ in range(rng.randrange(1, 5)):
                keys = [(rng.choice(SECTIONS), rng.choice(NAMES))
                        for _ in range(rng.randrange(1, 3))]  # fmt: skip
                if rng.random() < 0.3:
                    for store in stores:
                        store.delete(keys)
                else:
                    rows = [(s, n, value(rng)) for s, n in keys]
                    for store in stores:
                        store.put(iter(rows))  # an iterator, as Table.flush passes
                assert reads(disk) == reads(memory), f"seed {seed} step {step}, inside"
            if rng.random() < 0.3:
                for store in stores:
                    store.rollback()
            else:
                wrote = [store.commit() for store in stores]
                assert wrote[0] == wrote[1]
            assert not disk.in_transaction and not memory.in_transaction
            assert reads(disk) == reads(memory), f"seed {seed} step {step}"
        copy = tmp_path / "copy.db"
        memory.write_to(str(copy))
        assert reads(SqliteStore(str(copy))) == reads(disk)
        assert reads(MemoryStore.from_file(str(copy))) == reads(disk)
    finally:
        disk.close()


def test_a_rollback_restores_rows_written_deleted_and_written_again() -> None:
    store = MemoryStore()
    store.begin()
    store.put([("", "a", "1"), ("", "b", "2")])
    assert store.commit()
    version = store.version()
    store.begin()
    store.put([("", "a", "10")])
    store.delete([("", "b")])
    store.put([("", "b", "20"), ("", "c", "3")])
    store.rollback()
    assert list(store.everything()) == [("", "a", "1"), ("", "b", "2")]
    assert store.version() == version  # nothing was committed
    store.begin()
    assert not store.commit()  # wrote nothing
    assert store.version() == version


def test_a_copy_is_independent_of_its_template() -> None:
    template = MemoryStore()
    template.begin()
    template.put([("interfaces", "gre0", "{}")])
    template.commit()
    copy = template.copy()
    copy.begin()
    copy.put([("interfaces", "gre0", '{"up": true}'), ("interfaces", "gre1", "{}")])
    copy.commit()
    assert list(template.everything()) == [("interfaces", "gre0", "{}")]


def test_memory_store_writes_only_inside_a_transaction() -> None:
    store = MemoryStore()
    with pytest.raises(RuntimeError):
        store.put([("", "a", "1")])
    store.begin()
    with pytest.raises(RuntimeError):
        store.begin()


def test_write_to_replaces_what_the_file_held(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    old = SqliteStore(str(path))
    old.begin()
    old.put([("interfaces", "gre0", "{}"), ("", "next_pid", "7")])
    old.commit()
    old.close()
    store = MemoryStore()
    store.begin()
    store.put([("interfaces", "gre1", "{}")])
    store.commit()
    store.write_to(str(path))
    reread = SqliteStore(str(path))
    try:
        assert list(reread.everything()) == [("interfaces", "gre1", "{}")]
    finally:
        reread.close()


def test_memory_store_refuses_what_sqlite_refuses(tmp_path: Path) -> None:
    """A command that writes an unencodable name fails (and rolls back) in memory as it
    does on disk: it must not commit and then break writing the store out."""
    disk, memory = SqliteStore(str(tmp_path / "state.db")), MemoryStore()
    try:
        for store in (disk, memory):
            store.begin()
            with pytest.raises(UnicodeEncodeError):
                store.put([("owners", "/etc/x\udcff", "[0, 0]")])  # os.fsdecode's surrogate
            store.rollback()
        assert list(disk.everything()) == list(memory.everything()) == []
        memory.begin()
        with pytest.raises(TypeError):  # (SQLite would store 7 as the text "7")
            memory.put([("interfaces", 7, "{}")])  # type: ignore[list-item]
    finally:
        disk.close()


def test_a_closed_memory_store_cannot_be_used() -> None:
    store = MemoryStore()
    store.close()
    for use in (lambda: store.row("", "version"), lambda: list(store.everything()),
                lambda: list(store.section("owners"))):
        with pytest.raises(RuntimeError, match="closed"):
            use()
