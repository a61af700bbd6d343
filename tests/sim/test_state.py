"""The simulated host's store: per-object rows, transactions, and sharing between processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from agent.sim import state as simstate


def _rows(root: Path) -> dict[tuple[str, str], str]:
    with sqlite3.connect(root / simstate.SIM_DIR / simstate.STATE_FILE) as db:
        return {(s, n): v for s, n, v in db.execute("SELECT section, name, value FROM state")}


def test_a_new_store_is_a_freshly_booted_router(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        assert dict(st["sysctl"]) == simstate.DEFAULT_SYSCTL
        assert st["next_ifindex"] == 5
    assert simstate.load(tmp_path) == simstate.new_state()


def test_in_place_edits_of_an_object_are_saved(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        st["interfaces"]["gre0"] = {"up": False, "inet": []}
    with simstate.transaction(tmp_path) as st:
        st["interfaces"]["gre0"]["inet"].append("172.20.1.1")
        st["interfaces"]["gre0"]["up"] = True
    assert simstate.load(tmp_path)["interfaces"]["gre0"] == {"up": True, "inet": ["172.20.1.1"]}


@pytest.mark.disk_only
def test_a_command_writes_only_the_rows_it_changed(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        for unit in range(50):
            st["interfaces"][f"gre{unit}"] = {"unit": unit}
    before = _rows(tmp_path)
    with simstate.transaction(tmp_path) as st:
        st["interfaces"]["gre7"]["unit"] = 700
        assert st["interfaces"]["gre8"] == {"unit": 8}  # read, unchanged
    after = _rows(tmp_path)
    assert {k for k in after if after[k] != before.get(k)} == {("interfaces", "gre7")}


def test_an_exception_rolls_the_whole_command_back(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        st["owners"]["/etc/ipsec.conf"] = [0, 0]
    with pytest.raises(RuntimeError), simstate.transaction(tmp_path) as st:
        st["owners"]["/etc/ipsec.conf"] = [1000, 1000]
        st["interfaces"]["gre9"] = {"up": True}
        st["next_pid"] = 1
        raise RuntimeError("command failed half way")
    state = simstate.load(tmp_path)
    assert state["owners"]["/etc/ipsec.conf"] == [0, 0]
    assert state["next_pid"] == 20000
    assert "gre9" not in state["interfaces"]


def test_deleted_objects_and_keys_are_gone(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        st["daemons"]["isakmpd"] = {"pid": 1}
        st["isakmpd"] = {"fifo": "/var/run/isakmpd.fifo"}
    with simstate.transaction(tmp_path) as st:
        del st["daemons"]["isakmpd"]
        assert st.pop("isakmpd") == {"fifo": "/var/run/isakmpd.fifo"}
        assert "isakmpd" not in st and "isakmpd" not in st["daemons"]
    state = simstate.load(tmp_path)
    assert "isakmpd" not in state and state["daemons"] == {}


def test_iteration_lists_stored_objects_sorted_then_new_ones_in_order(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        st["interfaces"].update({"gre1": {}, "em0": {}})
    with simstate.transaction(tmp_path) as st:
        st["interfaces"]["vlan9"] = {}
        st["interfaces"]["gre0"] = {}
        del st["interfaces"]["gre1"]
        assert list(st["interfaces"]) == ["em0", "vlan9", "gre0"]
        assert len(st["interfaces"]) == 3


def test_read_object_reads_one_row(tmp_path: Path) -> None:
    assert simstate.read_object(tmp_path, "owners", "/etc/x") is None  # no store: nothing
    assert not simstate.is_provisioned(tmp_path)  # ... and a read made none
    with simstate.transaction(tmp_path) as st:
        st["owners"]["/etc/x"] = [0, 67]
    assert simstate.read_object(tmp_path, "owners", "/etc/x") == [0, 67]


def test_mentions_finds_a_quoted_word_in_the_rows_of_one_section(tmp_path: Path) -> None:
    needle = frozenset({b'"192.0.2.1"'})
    conf = simstate.CONF_TABLE
    assert not simstate.mentions(tmp_path, conf, needle)  # no store
    assert not simstate.is_provisioned(tmp_path)
    with simstate.transaction(tmp_path) as st:
        st[conf]["peer"] = {"address": "192.0.2.10"}
        st["owners"]["/etc/x"] = ["192.0.2.1"]  # another section: not looked at
    assert not simstate.mentions(tmp_path, conf, needle)  # .10 is not .1
    with simstate.transaction(tmp_path) as st:
        st[conf]["local"] = {"address": "192.0.2.1"}
    assert simstate.mentions(tmp_path, conf, needle)
    assert simstate.mentions(tmp_path, conf, needle | {b'"198.51.100.1"'})
    assert not simstate.mentions(tmp_path, conf, frozenset({b'"198.51.100.1"'}))
    assert not simstate.mentions(tmp_path, conf, frozenset())


@pytest.mark.disk_only
def test_close_leaves_the_store_one_file_and_reopens_on_use(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        st["next_pid"] = 4242
    simstate.close(tmp_path)
    assert sorted(p.name for p in (tmp_path / simstate.SIM_DIR).iterdir()) == [
        simstate.STATE_FILE]
    assert simstate.load(tmp_path)["next_pid"] == 4242


def _bump(root: str, times: int) -> None:
    for _ in range(times):
        with simstate.transaction(Path(root)) as st:
            st["next_pid"] = st["next_pid"] + 1
            st["owners"][f"/tmp/{st['next_pid']}"] = [0, 0]


@pytest.mark.disk_only
def test_commands_of_concurrent_processes_never_lose_an_update(tmp_path: Path) -> None:
    simstate.save(tmp_path, simstate.new_state())
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_bump, args=(str(tmp_path), 40)) for _ in range(3)]
    for w in workers:
        w.start()
    _bump(str(tmp_path), 40)
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    state = simstate.load(tmp_path)
    assert state["next_pid"] == 20000 + 160
    assert len(state["owners"]) == 160


@pytest.mark.disk_only
def test_a_store_deleted_and_made_again_is_not_served_from_an_old_connection(
    tmp_path: Path,
) -> None:
    with simstate.transaction(tmp_path) as st:
        st["next_pid"] = 1
    (tmp_path / simstate.SIM_DIR / simstate.STATE_FILE).unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / simstate.SIM_DIR / (simstate.STATE_FILE + suffix)).unlink(missing_ok=True)
    with simstate.transaction(tmp_path) as st:
        assert st["next_pid"] == 20000


def test_numbers_and_truth_see_this_transactions_changes_without_loading_rows(
    tmp_path: Path,
) -> None:
    with simstate.transaction(tmp_path) as st:
        assert not st["interfaces"]
        st["interfaces"].update({"gre0": {"index": 5}, "gre1": {"index": 6}})
    with simstate.transaction(tmp_path) as st:
        table = st["interfaces"]
        assert table
        del table["gre0"]
        table["gre2"] = {"index": 9}
        assert simstate.numbers(table, "index") == {"gre1": 6, "gre2": 9}
        assert table._rows.keys() == {"gre2"}  # gre1 was not loaded
        del table["gre1"], table["gre2"]
        assert not table
    assert simstate.numbers({"em0": {"index": 1}}, "index") == {"em0": 1}


def test_a_store_written_without_rowid_is_moved_to_the_rowid_table(tmp_path: Path) -> None:
    """Older stores kept whole rows in the key's b-tree (every key lookup that passed a big
    row read all of it); opening one moves its objects to the current table."""
    path = tmp_path / simstate.SIM_DIR / simstate.STATE_FILE
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE state (section TEXT NOT NULL, name TEXT NOT NULL, "
                "value TEXT NOT NULL, PRIMARY KEY (section, name)) WITHOUT ROWID")
    old.execute("""INSERT INTO state VALUES ('', 'version', '1'), ('', 'boot', '3'),
                   ('interfaces', 'gre0', '{"index": 5}')""")
    old.commit()
    old.close()
    assert simstate.read_object(tmp_path, "interfaces", "gre0") == {"index": 5}
    assert simstate.load(tmp_path)["boot"] == 3
    sql = sqlite3.connect(path).execute(
        "SELECT group_concat(sql) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    assert "WITHOUT ROWID" not in sql.upper() and "state_old" not in sql


def test_a_snapshot_reuses_a_look_until_anything_changes(tmp_path: Path) -> None:
    looks: list[int] = []
    with simstate.transaction(tmp_path):
        pass  # the store exists: a router that has booted

    def look() -> int:
        looks.append(1)
        return len(looks)

    assert simstate.snapshot_cached("k", look) == 1
    assert simstate.snapshot_cached("k", look) == 2  # outside a snapshot: always afresh
    with simstate.snapshot():
        assert simstate.snapshot_cached("k", look) == 3
        assert simstate.snapshot_cached("k", look) == 3  # nothing changed: reused
        with simstate.transaction(tmp_path) as state:  # a command that reads only
            assert state["boot"] == 1
        assert simstate.snapshot_cached("k", look) == 3
        with simstate.transaction(tmp_path) as state:  # a command that changes a row
            state["boot"] = 2
        assert simstate.snapshot_cached("k", look) == 4
        simstate.changed()  # a file written
        assert simstate.snapshot_cached("k", look) == 5
    assert simstate.snapshot_cached("k", look) == 6


def test_rows_read_lists_exactly_the_rows_a_command_read(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        st["owners"]["/etc/a"] = [0, 0]
        st["isakmpd"] = {"conf": {}}
    with simstate.transaction(tmp_path) as st:
        assert st["owners"].get("/etc/a") == [0, 0]
        assert st["owners"].get("/etc/missing") is None
        read = simstate.rows_read(st)
        assert read is not None
        assert read["owners//etc/a"] == "[0, 0]"
        assert read["owners//etc/missing"] is None
        assert "/isakmpd" not in read  # not read: not an input
        assert simstate.stored_row(st, "/isakmpd") == '{"conf": {}}'
        assert simstate.stored_row(st, "owners//etc/missing") is None
    for scan in (list, len, bool, lambda t: t.numbers("x")):
        with simstate.transaction(tmp_path) as st:
            scan(st["owners"])
            assert simstate.rows_read(st) is None  # a whole section is no list of rows
    assert simstate.rows_read({"owners": {}}) is None  # a state being provisioned


@pytest.mark.disk_only
def test_isakmpd_sections_kept_in_its_row_are_moved_to_rows_on_open(tmp_path: Path) -> None:
    conf = {"phase 1": {"192.0.2.9": "peer-192.0.2.9"}, "peer-192.0.2.9": {"phase": "1"}}
    with simstate.transaction(tmp_path) as st:  # the layout an older version wrote
        st["isakmpd"] = {"conf": conf, "connections": {}, "serial": 0}
    simstate.close(tmp_path)
    with simstate.transaction(tmp_path) as st:
        assert dict(st[simstate.CONF_TABLE]) == conf
        assert st["isakmpd"] == {"connections": {}, "serial": 0}
    simstate.close(tmp_path)
    assert simstate.load(tmp_path)[simstate.CONF_TABLE] == conf  # opened again: unchanged


def test_a_released_table_is_written_and_read_again_as_written(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        st["owners"]["/etc/gone"] = [0, 0]
    with simstate.transaction(tmp_path) as st:
        owners = st["owners"]
        owners["/etc/a"] = [0, 0]
        owners["/etc/b"] = [0, 0]
        del owners["/etc/gone"]
        st.release_over("owners", 3)  # holds three: not over
        assert simstate.rows_read(st) is not None
        st.release_over("owners", 2)
        assert simstate.rows_read(st) is None  # what was read is forgotten: no list
        assert st.wrote("owners") and owners.held() == 0
        assert "/etc/gone" not in owners and owners["/etc/a"] == [0, 0]
        owners["/etc/a"].append(7)  # a row read again is edited in place as before
    assert simstate.load(tmp_path)["owners"] == {"/etc/a": [0, 0, 7], "/etc/b": [0, 0]}
    with pytest.raises(RuntimeError), simstate.transaction(tmp_path) as st:
        st["owners"]["/etc/c"] = [0, 0]
        st.release_over("owners", 0)
        raise RuntimeError  # released rows are inside the transaction: rolled back too
    assert "/etc/c" not in simstate.load(tmp_path)["owners"]


def test_clearing_a_table_deletes_every_row_read_or_not(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        st["owners"].update({f"/etc/{n}": [0, n] for n in range(5)})
    with simstate.transaction(tmp_path) as st:
        assert st["owners"]["/etc/1"] == [0, 1]
        st["owners"] = {"/etc/new": [0, 0]}  # State.__setitem__: clear, then the new rows
        assert dict(st["owners"]) == {"/etc/new": [0, 0]}
    assert simstate.load(tmp_path)["owners"] == {"/etc/new": [0, 0]}
    with simstate.transaction(tmp_path) as st:
        st["owners"].clear()
        assert not st["owners"]
    assert simstate.load(tmp_path)["owners"] == {}


@pytest.mark.disk_only
def test_an_unchanged_store_is_loaded_once_and_any_commit_loads_it_again(tmp_path: Path) -> None:
    simstate.save(tmp_path, simstate.new_state())
    first = simstate.load_unchanged(tmp_path)
    assert simstate.load_unchanged(tmp_path) is first  # nothing committed: the same look
    with simstate.transaction(tmp_path) as st:  # a commit of this process
        st["next_pid"] = 1
    mine = simstate.load_unchanged(tmp_path)
    assert mine is not first and mine["next_pid"] == 1
    with simstate.transaction(tmp_path) as st:  # a command that changes nothing commits nothing
        assert st["next_pid"] == 1
    assert simstate.load_unchanged(tmp_path) is mine
    worker = multiprocessing.get_context("spawn").Process(target=_bump, args=(str(tmp_path), 1))
    worker.start()  # a commit of another process (PRAGMA data_version)
    worker.join(60)
    assert worker.exitcode == 0
    assert simstate.load_unchanged(tmp_path)["next_pid"] == 2


def test_what_is_derived_from_a_look_lives_exactly_as_long_as_the_look(tmp_path: Path) -> None:
    simstate.save(tmp_path, simstate.new_state())
    look = simstate.load_unchanged(tmp_path)
    derived = simstate.derived(tmp_path, look)
    derived["connections"] = {"peer-a": "decoded"}
    assert simstate.derived(tmp_path, simstate.load_unchanged(tmp_path)) is derived  # same look
    assert simstate.derived(tmp_path, simstate.load(tmp_path)) == {}  # an equal state is not it
    with simstate.transaction(tmp_path) as st:
        assert simstate.derived(tmp_path, st) == {}  # a command's own state: never shared
        st["next_pid"] = 7
    again = simstate.load_unchanged(tmp_path)
    assert simstate.derived(tmp_path, again) == {}  # after a commit: derived again
    assert simstate.derived(tmp_path, look) == {}  # the old look is no longer the store's


@pytest.mark.disk_only
def test_stores_in_memory_are_the_same_store_without_a_file(tmp_path: Path) -> None:
    lab, outside = tmp_path / "lab", tmp_path / "outside"
    lab.mkdir()
    (tmp_path / "alias").symlink_to(lab)
    router = lab / "r1"
    with simstate.in_memory(lab):
        with simstate.transaction(router) as st:
            st["interfaces"]["gre0"] = {"up": True}
        with simstate.transaction(outside) as st:
            st["next_pid"] = 7
        assert not (router / simstate.SIM_DIR / simstate.STATE_FILE).exists()
        assert (outside / simstate.SIM_DIR / simstate.STATE_FILE).exists()  # not under lab
        assert simstate.is_provisioned(router)
        # The same directory by another path is the same store, as a file would be.
        assert simstate.load(tmp_path / "alias" / "r1")["interfaces"] == {"gre0": {"up": True}}
        assert simstate.store_id(router) not in (None, simstate.store_id(outside))
        simstate.close(router)  # a store in memory outlives its connection's close
        assert simstate.read_object(router, "interfaces", "gre0") == {"up": True}
    assert not simstate.is_provisioned(router)  # dropped with the block
    assert simstate.load(router) == simstate.new_state()


@pytest.mark.disk_only
def test_stores_in_memory_are_written_to_their_files_when_kept(tmp_path: Path) -> None:
    with simstate.in_memory(tmp_path, keep=True):
        with simstate.transaction(tmp_path / "r1") as st:
            st["owners"]["/etc/ipsec.conf"] = [0, 0]
            st["next_pid"] = 9
        expected = simstate.load(tmp_path / "r1")
    assert _rows(tmp_path / "r1")[("", "next_pid")] == "9"  # read from the file by another reader
    assert simstate.load(tmp_path / "r1") == expected
    with sqlite3.connect(tmp_path / "r1" / simstate.SIM_DIR / simstate.STATE_FILE) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.disk_only
def test_a_root_removed_and_made_again_in_memory_has_a_fresh_store(tmp_path: Path) -> None:
    """Its directory may get the old one's inode number at once (ext4 does): the store goes
    with the directory, as a store file would."""
    import shutil

    with simstate.in_memory(tmp_path):
        for _ in range(3):
            with simstate.transaction(tmp_path / "r1") as st:
                assert st["next_pid"] == 20000  # never the removed router's
                st["next_pid"] = 1
            shutil.rmtree(tmp_path / "r1")
            assert not simstate.is_provisioned(tmp_path / "r1")
            (tmp_path / "r2" / simstate.SIM_DIR).mkdir(parents=True)
            assert not simstate.is_provisioned(tmp_path / "r2")
            shutil.rmtree(tmp_path / "r2")


@pytest.mark.disk_only
def test_kept_stores_are_all_written_out_even_when_one_cannot_be(tmp_path: Path) -> None:
    import shutil

    with pytest.raises(sqlite3.Error), simstate.in_memory(tmp_path, keep=True):
        for name in ("a", "b", "c", "gone"):
            with simstate.transaction(tmp_path / name) as st:
                st["next_pid"] = 5
        (tmp_path / "b" / simstate.SIM_DIR / simstate.STATE_FILE).mkdir()  # cannot be a store
        shutil.rmtree(tmp_path / "gone")  # nothing to write it to: skipped
    for name in ("a", "c"):
        assert _rows(tmp_path / name)[("", "next_pid")] == "5"
        assert not (tmp_path / name / simstate.SIM_DIR / simstate.MEMORY_MARK).exists()
    assert not (tmp_path / "gone").exists()
    with simstate.transaction(tmp_path / "c") as st:  # nothing is left in memory
        st["next_pid"] = 6
    assert _rows(tmp_path / "c")[("", "next_pid")] == "6"


@pytest.mark.disk_only
def test_blocks_in_memory_over_the_same_directory_do_not_nest(tmp_path: Path) -> None:
    with simstate.in_memory(tmp_path / "lab"):
        for inner in (tmp_path / "lab" / "peers", tmp_path, tmp_path / "lab"):
            with pytest.raises(ValueError, match="in memory already"), simstate.in_memory(inner):
                pass
        with simstate.in_memory(tmp_path / "other"):  # beside it: fine
            pass


def test_a_look_inside_a_command_is_not_kept_past_its_rollback(tmp_path: Path) -> None:
    with simstate.transaction(tmp_path) as st:
        st["interfaces"]["gre0"] = {"up": False}
    with pytest.raises(RuntimeError), simstate.transaction(tmp_path) as st:
        st["interfaces"]["gre0"]["up"] = True
        st.release_over("interfaces", 0)  # written into the open transaction
        assert simstate.load_unchanged(tmp_path)["interfaces"]["gre0"] == {"up": True}
        raise RuntimeError("the command fails")
    assert simstate.load_unchanged(tmp_path)["interfaces"]["gre0"] == {"up": False}


@pytest.mark.disk_only
def test_a_template_without_its_store_is_an_error_not_an_empty_store(tmp_path: Path) -> None:
    with simstate.in_memory(tmp_path), pytest.raises(sqlite3.OperationalError):
        simstate.copy_store(tmp_path / "r1", str(tmp_path / "missing" / simstate.STATE_FILE))
