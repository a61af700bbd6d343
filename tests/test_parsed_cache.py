"""The parsed-file cache: an unchanged file is not parsed again, a changed one is, and the
cache never changes what a load returns (deleted, corrupt or stale, it is only slower)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.keys import MIN_BITS
from agent.repo import cache as parsed
from agent.repo import inventory as inv
from agent.repo.cache import CACHE_FILE, blob_id, load_inventory_cached
from agent.repo.inventory import load_inventory
from tests.conftest import edit


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the loader really parses (a spy around the real parser)."""
    seen: list[str] = []
    real = inv._parse

    def spy(text: str, rel: str, kind: str, stem: str) -> object:
        seen.append(rel)
        return real(text, rel, kind, stem)

    monkeypatch.setattr(inv, "_parse", spy)
    return seen


def load(repo: Path, cache_dir: Path, min_bits: int = MIN_BITS) -> object:
    inventory, problems = load_inventory_cached(repo, cache_dir, min_bits=min_bits)
    return inventory if inventory is not None else [str(p) for p in problems]


def test_blob_id_is_gits(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"name: alice\n")
    out = subprocess.run(["git", "hash-object", str(tmp_path / "f")], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert blob_id(b"name: alice\n") == out


def test_unchanged_files_are_not_parsed_again_and_the_result_is_the_same(
    state_copy: Path, tmp_path: Path, parses: list[str]
) -> None:
    uncached, _ = load_inventory(state_copy)
    parses.clear()
    first = load(state_copy, tmp_path / "cache")
    assert first == uncached
    assert len(parses) == 6  # 2 routers + 4 peers (the rtr1-rtr2 link is written once)
    parses.clear()
    assert load(state_copy, tmp_path / "cache") == uncached
    assert parses == []
    edit(state_copy / "peers/rtr1/alice.yaml", "dn42 peer alice", "dn42 peer alice, renamed")
    changed = load(state_copy, tmp_path / "cache")
    assert parses == ["peers/rtr1/alice.yaml"]
    assert changed == load_inventory(state_copy)[0]


def test_a_file_with_problems_is_never_cached(state_copy: Path, tmp_path: Path,
                                              parses: list[str]) -> None:
    edit(state_copy / "peers/rtr1/alice.yaml", "asn: 4242421234", "asn: -1")
    first = load(state_copy, tmp_path)
    assert isinstance(first, list) and any("alice.yaml" in e and "asn" in e for e in first)
    parses.clear()
    assert load(state_copy, tmp_path) == first
    assert "peers/rtr1/alice.yaml" in parses


@pytest.mark.parametrize("damage", ["delete", "truncate", "edit"])
def test_a_damaged_cache_is_ignored(state_copy: Path, tmp_path: Path, parses: list[str],
                                    damage: str) -> None:
    good = load(state_copy, tmp_path)
    path = tmp_path / CACHE_FILE
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:-100])
    else:  # a forged entry: the body no longer matches its digest
        path.write_bytes(path.read_bytes().replace(b"dn42 peer alice", b"$(reboot) alice"))
    parses.clear()
    assert load(state_copy, tmp_path) == good
    assert len(parses) == 6


def test_a_cached_key_still_has_to_meet_min_bits(state_copy: Path, tmp_path: Path) -> None:
    assert not isinstance(load(state_copy, tmp_path), list)
    errors = load(state_copy, tmp_path, min_bits=4096)
    assert isinstance(errors, list) and any("public_key" in e for e in errors)


def test_entries_of_files_gone_from_the_repo_are_dropped(state_copy: Path,
                                                          tmp_path: Path) -> None:
    load(state_copy, tmp_path)
    before = parsed.ParsedCache(tmp_path, "")
    (state_copy / "peers/rtr1/alice.yaml").unlink()
    load(state_copy, tmp_path)
    text = (tmp_path / CACHE_FILE).read_text()
    assert "peers/rtr1/alice.yaml" not in text
    assert before.path == tmp_path / CACHE_FILE


@pytest.fixture
def resolves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The external peer files the loader really resolves (a spy around the real resolver)."""
    seen: list[str] = []
    real = inv._Loader._resolve_external

    def spy(self: inv._Loader, router: object, doc: inv.Located) -> object:
        seen.append(doc.file)
        return real(self, router, doc)  # type: ignore[arg-type]

    monkeypatch.setattr(inv._Loader, "_resolve_external", spy)
    return seen


def test_a_resolved_peering_is_reused_until_a_file_it_comes_from_changes(
    state_copy: Path, tmp_path: Path, resolves: list[str]
) -> None:
    load(state_copy, tmp_path)
    assert sorted(resolves) == ["peers/rtr1/alice.yaml", "peers/rtr1/bob.yaml",
                                "peers/rtr2/carol.yaml"]
    uncached = load_inventory(state_copy)[0]
    resolves.clear()
    assert load(state_copy, tmp_path) == uncached
    assert resolves == []
    # The peer's own file: only that peering is resolved again.
    edit(state_copy / "peers/rtr1/bob.yaml", "description: dn42 peer bob",
         "description: dn42 peer bob, renamed")
    uncached = load_inventory(state_copy)[0]
    resolves.clear()
    assert load(state_copy, tmp_path) == uncached
    assert resolves == ["peers/rtr1/bob.yaml"]
    # The router's file feeds every peering of that router (its MTU, crypto, identity).
    edit(state_copy / "routers/rtr1.yaml", "  mtu: 1400", "  mtu: 1380")
    uncached = load_inventory(state_copy)[0]
    resolves.clear()
    result = load(state_copy, tmp_path)
    assert sorted(resolves) == ["peers/rtr1/alice.yaml", "peers/rtr1/bob.yaml"]
    assert result == uncached
    externals = [p for p in result.for_router("rtr1") if not p.internal]  # type: ignore[attr-defined]
    assert {p.mtu for p in externals} == {1380}


def test_a_changed_key_file_is_read_again(state_copy: Path, tmp_path: Path) -> None:
    import yaml

    peers = state_copy / "peers/rtr1"
    alice = yaml.safe_load((peers / "alice.yaml").read_text())
    bob_key = yaml.safe_load((peers / "bob.yaml").read_text())["public_key"]
    (peers / "alice.pub").write_text(alice.pop("public_key"))
    alice["public_key_file"] = "alice.pub"
    (peers / "alice.yaml").write_text(yaml.safe_dump(alice))
    first = load(state_copy, tmp_path)
    assert first == load_inventory(state_copy)[0]
    (peers / "alice.pub").write_text(bob_key)  # the same peer file, another key beside it
    second = load(state_copy, tmp_path)
    uncached = load_inventory(state_copy)
    assert second == (uncached[0] if uncached[0] is not None else [str(p) for p in uncached[1]])
    assert second != first


def test_a_stricter_crypto_floor_resolves_again(state_copy: Path, tmp_path: Path) -> None:
    edit(state_copy / "peers/rtr1/bob.yaml", "enc: aes-128,", "enc: blowfish,")
    for floor in ("legacy", "default", "legacy"):
        cached, cached_problems = load_inventory_cached(state_copy, tmp_path, min_crypto=floor)
        fresh, fresh_problems = load_inventory(state_copy, min_crypto=floor)
        assert (cached, [str(p) for p in cached_problems]) == (
            fresh, [str(p) for p in fresh_problems])
        assert (cached is None) == (floor == "default")


def test_a_problem_in_a_cached_file_names_its_line(state_copy: Path, tmp_path: Path,
                                                    parses: list[str]) -> None:
    """A cached document keeps no positions; a problem found in it later (a duplicate that a
    new file brings) still names the line and column an uncached load names."""
    load(state_copy, tmp_path)
    carol = (state_copy / "peers/rtr2/carol.yaml").read_text()
    bob = (state_copy / "peers/rtr1/bob.yaml").read_text()
    endpoint = next(line for line in bob.splitlines() if line.startswith("endpoint:"))
    (state_copy / "peers/rtr1/dave.yaml").write_text(
        carol.replace("name: carol", "name: dave").replace(
            next(line for line in carol.splitlines() if line.startswith("endpoint:")), endpoint))
    parses.clear()
    cached = load(state_copy, tmp_path)
    assert "peers/rtr1/bob.yaml" not in parses  # bob's document came from the cache
    fresh = [str(p) for p in load_inventory(state_copy)[1]]
    assert cached == fresh
    line = 1 + bob.splitlines().index(endpoint)
    assert any(e.startswith(f"peers/rtr1/bob.yaml:{line}:1: endpoint:") for e in fresh), fresh


def test_a_peer_file_edited_beside_its_unchanged_key_parses_no_key(
    state_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loads that reuse a peering do not look its key up; the key is kept all the same, so a
    later edit of the file (not of the key) resolves the peering without parsing the key."""
    keys_parsed: list[str] = []
    real = inv.parse_public_key
    monkeypatch.setattr(inv, "parse_public_key",
                        lambda text, **kw: keys_parsed.append(text) or real(text, **kw))
    load(state_copy, tmp_path)
    assert keys_parsed  # the cold load parses every key
    expected = load_inventory(state_copy)[0]
    for _ in range(2):  # warm loads: nothing parsed, and the keys stay in the cache
        keys_parsed.clear()
        assert load(state_copy, tmp_path) == expected
        assert keys_parsed == []
    edit(state_copy / "peers/rtr1/bob.yaml", "description: dn42 peer bob",
         "description: dn42 peer bob, renamed")
    expected = load_inventory(state_copy)[0]
    keys_parsed.clear()
    assert load(state_copy, tmp_path) == expected
    assert keys_parsed == []
