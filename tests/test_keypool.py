"""The lab's key pool: simulated routers get distinct keys, made once and kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.keys import parse_public_key
from agent.lab import keypool


@pytest.fixture
def pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache" / "lab-keys.pem"
    monkeypatch.setenv("PEEROPS_LAB_KEYS", str(path))
    monkeypatch.setattr(keypool, "_pairs", None)  # a new process
    monkeypatch.setattr(keypool, "_handed_out", 0)
    return path


def new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keypool, "_pairs", None)
    monkeypatch.setattr(keypool, "_handed_out", 0)


def test_pairs_are_distinct_matching_and_kept_for_the_next_process(
    pool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = [keypool.lab_key_pair() for _ in range(3)]
    assert len({public for _, public in first}) == 3
    for private, public in first:
        assert private.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
        assert parse_public_key(public.decode()).bits == 2048
    assert pool.stat().st_mode & 0o777 == 0o600
    new_process(monkeypatch)
    made: list[int] = []
    monkeypatch.setattr("agent.keys.generate_key_pair", lambda: made.append(1) or first[0])
    again = [keypool.lab_key_pair() for _ in range(3)]
    assert again == first and made == []  # read back, none made


def test_a_damaged_pool_entry_is_skipped(pool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = [keypool.lab_key_pair() for _ in range(2)]
    text = pool.read_bytes()
    pool.write_bytes(text.replace(pairs[0][0][40:80], b"!!not base64!!", 1))
    new_process(monkeypatch)
    assert keypool.lab_key_pair() == pairs[1]


def test_an_unwritable_pool_only_costs_speed(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("PEEROPS_LAB_KEYS", str(blocker / "lab-keys.pem"))
    new_process(monkeypatch)
    a, b = keypool.lab_key_pair(), keypool.lab_key_pair()
    assert a != b


def test_fill_makes_the_pool_hold_a_simulations_pairs_and_hands_none_out(
    pool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = keypool.lab_key_pair()
    keypool.fill(3)
    assert pool.read_bytes().count(b"BEGIN RSA PRIVATE KEY") == 3
    second = keypool.lab_key_pair()  # the pairs made by fill, in order
    assert second != first
    new_process(monkeypatch)
    assert [keypool.lab_key_pair() for _ in range(3)][:2] == [first, second]
    new_process(monkeypatch)
    keypool.fill(3)  # the pool holds them already: nothing made, none handed out
    assert pool.read_bytes().count(b"BEGIN RSA PRIVATE KEY") == 3
    assert keypool.lab_key_pair() == first
