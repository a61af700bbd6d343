"""The applied record's journal: each step's change is on disk at once, the whole record is
written once at the end, and a run that dies half-way leaves a record matching the router."""

from __future__ import annotations

from pathlib import Path

from agent.router.record import JOURNAL, RECORD, Applied, RecordJournal, load_record, save_record


def _record() -> Applied:
    return Applied(
        rules={"alice": "ike ... alice", "bob": "ike ... bob"},
        isakmpd_pid=20042,
        interfaces={"alice": "gre1", "bob": "gre2"},
        pubkeys=["/etc/isakmpd/pubkeys/fqdn/alice.example.org"],
        peer_keys={"alice": "/etc/isakmpd/pubkeys/fqdn/alice.example.org"},
        commit="c0ffee",
    )


def _steps(record: Applied) -> list:
    """What steps do to a record: a removed rule, a new key file, a reload with a new pid."""
    def drop_bob() -> None:
        record.rules.pop("bob")

    def write_key() -> None:
        record.pubkeys = sorted({*record.pubkeys, "/etc/isakmpd/pubkeys/ipv4/198.51.100.9"})

    def remove_key() -> None:
        record.pubkeys = [p for p in record.pubkeys if "alice" not in p]

    def reload() -> None:
        record.rules = {"alice": "ike ... alice v2", "carol": "ike ... carol"}
        record.isakmpd_pid, record.loaded_at = 20049, 1700000000.5

    return [drop_bob, write_key, remove_key, reload]


def test_a_run_that_dies_after_any_step_leaves_that_steps_record(tmp_path: Path) -> None:
    for stop in range(1, 5):
        state_dir = tmp_path / str(stop)
        save_record(state_dir, _record())
        live = load_record(state_dir)
        journal = RecordJournal(state_dir, live)
        for step in _steps(live)[:stop]:
            step()
            journal.note()
        # killed here: no compact()
        assert load_record(state_dir) == live
        assert (state_dir / JOURNAL).exists()


def test_steps_append_only_what_changed_and_the_record_is_written_once(tmp_path: Path) -> None:
    save_record(tmp_path, _record())
    written = (tmp_path / RECORD).stat().st_mtime_ns, (tmp_path / RECORD).stat().st_ino
    live = load_record(tmp_path)
    journal = RecordJournal(tmp_path, live)
    for step in _steps(live):
        step()
        journal.note()
        assert ((tmp_path / RECORD).stat().st_mtime_ns, (tmp_path / RECORD).stat().st_ino) \
            == written
    lines = (tmp_path / JOURNAL).read_text().splitlines()
    assert len(lines) == 4 and "ike ... alice\"" not in lines[0]  # alice's rule did not move
    journal.compact()
    assert not (tmp_path / JOURNAL).exists()
    assert load_record(tmp_path) == live


def test_nothing_changed_writes_nothing(tmp_path: Path) -> None:
    save_record(tmp_path, _record())
    before = (tmp_path / RECORD).stat().st_ino
    journal = RecordJournal(tmp_path, load_record(tmp_path))
    journal.note()
    journal.compact()
    assert (tmp_path / RECORD).stat().st_ino == before
    assert not (tmp_path / JOURNAL).exists()


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    save_record(tmp_path, _record())
    live = load_record(tmp_path)
    journal = RecordJournal(tmp_path, live)
    live.interfaces["carol"] = "gre3"
    journal.note()
    with open(tmp_path / JOURNAL, "a") as fh:
        fh.write('{"set": {"isakmpd_pid": 1')
    assert load_record(tmp_path) == live


def test_a_crash_between_writing_the_record_and_dropping_the_journal_is_harmless(
    tmp_path: Path,
) -> None:
    save_record(tmp_path, _record())
    live = load_record(tmp_path)
    journal = RecordJournal(tmp_path, live)
    for step in _steps(live):
        step()
        journal.note()
    kept = (tmp_path / JOURNAL).read_bytes()
    journal.compact()
    (tmp_path / JOURNAL).write_bytes(kept)  # as if the unlink never happened
    assert load_record(tmp_path) == live


def test_the_record_file_is_json_with_one_field_per_line(tmp_path: Path) -> None:
    import json
    from dataclasses import asdict

    record = _record()
    record.loaded_at = 1700000000.25
    record.rules["quote\"d\nline"] = "ike ... \\ \t"
    save_record(tmp_path, record)
    text = (tmp_path / RECORD).read_text()
    assert json.loads(text) == asdict(record)
    assert text.splitlines()[1].startswith('"commit": ') and text.endswith("\n}\n")
    assert len(text.splitlines()) == len(asdict(record)) + 2
    assert load_record(tmp_path) == record
