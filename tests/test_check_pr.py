"""`peerops check-pr`: a pull request in a reviewer's terms, on real git repos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import edit
from tests.gitkit import commit_all, git


def peerops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], capture_output=True, text=True, check=False,
        timeout=300,
    )  # fmt: skip


def fresh_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.fixture
def repo(state_copy: Path) -> Path:
    git(state_copy, "init", "-q", "-b", "main")
    commit_all(state_copy, "base")
    git(state_copy, "checkout", "-q", "-b", "pr")
    return state_copy


def check(repo: Path, *extra: str) -> tuple[int, dict]:
    out = peerops("check-pr", "--base", "main", "--format", "json", "--no-simulate", *extra,
                  str(repo))  # fmt: skip
    assert out.returncode in (0, 1, 3), out.stderr
    return out.returncode, json.loads(out.stdout)


def new_peer(repo: Path, name: str, endpoint: str, key_text: str) -> None:
    key = repo.parent / f"{name}.key"
    key.write_text(key_text)
    out = peerops("peer", "new", "--repo", str(repo), "--router", "rtr1", "--name", name,
                  "--asn", "4242421999", "--endpoint", endpoint, "--key", str(key))  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_new_peering_from_peer_new_is_fine_and_every_link_comes_up(repo: Path) -> None:
    new_peer(repo, "erin", "198.51.100.50", fresh_key())
    commit_all(repo, "peer erin")
    out = peerops("check-pr", "--base", "main", "--format", "json", str(repo))
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert [(c["kind"], c["router"], c["peer"]) for c in result["peerings"]] == [
        ("added", "rtr1", "erin")
    ]
    assert result["findings"] == []
    assert {(h["peer"], h["state"]) for h in result["links"]} >= {("erin", "up"), ("alice", "up")}


def test_replacing_an_existing_peers_key_is_a_takeover_exit_3(repo: Path) -> None:
    alice = repo / "peers/rtr1/alice.yaml"
    text = alice.read_text()
    start, end = text.index("public_key: |\n"), text.index("gre:\n")
    block = "".join(f"  {line}\n" for line in fresh_key().splitlines())
    alice.write_text(text[:start] + "public_key: |\n" + block + text[end:])
    commit_all(repo, "alice's 'new' key")
    code, result = check(repo)
    assert code == 3
    [change] = result["peerings"]
    assert change["kind"] == "changed" and list(change["fields"]) == ["public_key"]
    assert change["fields"]["public_key"]["old"].startswith("SHA256:")
    line = text[:start].count("\n") + 1
    github = peerops("check-pr", "--base", "main", "--format", "github", "--no-simulate",
                     str(repo))  # fmt: skip
    assert github.returncode == 3
    assert f"::warning file=peers/rtr1/alice.yaml,line={line},col=1::key takeover?" in (
        github.stdout
    )


def test_a_key_shared_with_another_peer_is_refused(repo: Path) -> None:
    import yaml

    bob_key = yaml.safe_load((repo / "peers/rtr1/bob.yaml").read_text())["public_key"]
    (repo.parent / "bob.key").write_text(bob_key)
    refused = peerops("peer", "new", "--repo", str(repo), "--router", "rtr1", "--name", "mallory",
                      "--asn", "4242421999", "--endpoint", "198.51.100.66",
                      "--key", str(repo.parent / "bob.key"))  # fmt: skip
    assert refused.returncode == 1 and "also the key of rtr1/bob" in refused.stdout
    assert not (repo / "peers/rtr1/mallory.yaml").exists()
    own = fresh_key()  # written by hand instead: a valid file, then bob's key pasted in
    new_peer(repo, "mallory", "198.51.100.66", own)
    mallory = repo / "peers/rtr1/mallory.yaml"
    mallory.write_text(mallory.read_text().replace(
        "".join(f"  {line}\n" for line in own.splitlines()),
        "".join(f"  {line}\n" for line in bob_key.splitlines())))  # fmt: skip
    commit_all(repo, "mallory, with bob's key")
    code, result = check(repo)
    assert code == 1
    assert {(e["file"], e["field"]) for e in result["errors"]} == {
        ("peers/rtr1/mallory.yaml", "public_key"), ("peers/rtr1/bob.yaml", "public_key")
    }  # fmt: skip
    assert any("also the key of rtr1/bob (AS4242425678)" in e["message"]
               for e in result["errors"]), result["errors"]  # fmt: skip


def test_field_by_field_changes_and_router_files_need_an_operator(repo: Path) -> None:
    edit(repo / "peers/rtr1/alice.yaml", "description: dn42 peer alice", "description: alice v2")
    commit_all(repo, "alice: description")
    code, result = check(repo)
    assert code == 0
    assert result["peerings"][0]["fields"] == {
        "description": {"old": "dn42 peer alice", "new": "alice v2"}
    }
    edit(repo / "routers/rtr1.yaml", "  mtu: 1400", "  mtu: 1380")
    commit_all(repo, "rtr1: mtu")
    code, result = check(repo)
    assert code == 3
    assert any("changes a router file (M routers/rtr1.yaml)" in f["message"]
               for f in result["findings"])  # fmt: skip
    # every peering of rtr1 that inherits the MTU changes, field by field
    changed = {c["peer"]: c["fields"].get("mtu") for c in result["peerings"]}
    assert changed["alice"] == {"old": 1400, "new": 1380}


def test_two_peerings_or_files_elsewhere_need_an_operator(repo: Path) -> None:
    edit(repo / "peers/rtr1/alice.yaml", "description: dn42 peer alice", "description: a2")
    edit(repo / "peers/rtr2/carol.yaml", "description: dn42 peer carol", "description: c2")
    (repo / "notes.txt").write_text("hello\n")
    commit_all(repo, "two peerings and a note")
    code, result = check(repo)
    assert code == 3
    messages = " | ".join(f["message"] for f in result["findings"])
    assert "touches more than one peering: rtr1/alice, rtr2/carol" in messages
    assert "outside peers/ and routers/ (A notes.txt)" in messages


def test_an_invalid_head_exits_1_with_annotations(repo: Path) -> None:
    edit(repo / "peers/rtr1/alice.yaml", "asn: 4242421234", "asn: lots")
    commit_all(repo, "broken")
    out = peerops("check-pr", "--base", "main", "--format", "github", str(repo))
    assert out.returncode == 1
    assert "::error file=peers/rtr1/alice.yaml,line=" in out.stdout and "asn" in out.stdout
    md = peerops("check-pr", "--base", "main", "--format", "markdown", str(repo))
    assert md.returncode == 1 and "**The head does not validate:**" in md.stdout


def test_removing_two_peerings_needs_an_operator_and_a_bad_revision_is_refused(
    repo: Path,
) -> None:
    (repo / "peers/rtr1/alice.yaml").unlink()
    (repo / "peers/rtr1/bob.yaml").unlink()
    commit_all(repo, "drop two")
    code, result = check(repo)
    assert code == 3
    assert any("removes 2 peerings: rtr1/alice, rtr1/bob" in f["message"]
               for f in result["findings"])  # fmt: skip
    assert any(f["message"].startswith("rtr1: the removal guard holds these 2 of 3 removals")
               for f in result["findings"])  # fmt: skip
    git(repo, "commit", "-q", "--amend", "-m", "drop two\n\npeerops-allow-removals: 2")
    code, result = check(repo)
    assert code == 3  # still two peerings at once, but the guard is satisfied
    assert not any("removal guard holds" in f["message"] for f in result["findings"])
    assert any("2 removals confirmed" in f["message"] for f in result["findings"])
    bad = peerops("check-pr", "--base=--output=/tmp/x", str(repo))
    assert bad.returncode == 1 and "not a revision" in bad.stderr


def test_a_state_repo_in_a_subdirectory_of_the_git_repo(tmp_path: Path) -> None:
    import shutil

    from tests.conftest import EXAMPLE_STATE

    top = tmp_path / "project"
    shutil.copytree(EXAMPLE_STATE, top / "state", ignore=shutil.ignore_patterns("*.py"))
    (top / "README.md").write_text("the project\n")
    git(top, "init", "-q", "-b", "main")
    commit_all(top, "base")
    git(top, "checkout", "-q", "-b", "pr")
    edit(top / "state/peers/rtr1/alice.yaml", "description: dn42 peer alice", "description: a2")
    commit_all(top, "alice")
    code, result = check(top / "state")
    assert code == 0, result
    assert [(c["kind"], c["peer"]) for c in result["peerings"]] == [("changed", "alice")]
    assert result["files"] == [{"status": "M", "path": "peers/rtr1/alice.yaml"}]


def test_an_existing_peer_that_swaps_its_addresses_breaks_its_link(repo: Path) -> None:
    """alice writes her address under `router` and ours under `peer`: valid, but her router
    keeps the side `peer config` gave her, so the link would not come up."""
    alice = repo / "peers/rtr1/alice.yaml"
    edit(alice, "router: 172.20.1.1   # on rtr1", "router: 172.20.1.2")
    edit(alice, "peer: 172.20.1.2     # on alice", "peer: 172.20.1.1")
    commit_all(repo, "alice: my address first")
    out = peerops("check-pr", "--base", "main", "--format", "json", str(repo))
    assert out.returncode == 1, out.stdout + out.stderr
    [error] = [f for f in json.loads(out.stdout)["findings"] if f["level"] == "error"]
    assert error["message"].startswith("link rtr1-alice would not come up: ping")
    assert "up at the base" in error["message"]


def test_a_new_peer_writing_its_own_address_under_router_needs_a_look(repo: Path) -> None:
    """A new peering whose pair is the router's pool pair the wrong way round (the peer's
    address under `router`) is flagged at that line, exit 3; the pair as `peer new` wrote it
    is not (test_a_new_peering_from_peer_new_is_fine_and_every_link_comes_up)."""
    new_peer(repo, "erin", "198.51.100.50", fresh_key())
    erin = repo / "peers/rtr1/erin.yaml"
    edit(erin, 'router: "172.20.1.4"', 'router: "172.20.1.5"')
    edit(erin, 'peer: "172.20.1.5"', 'peer: "172.20.1.4"')
    commit_all(repo, "peer erin, my address first")
    code, result = check(repo)
    assert code == 3
    [finding] = [f for f in result["findings"] if "swapped?" in f["message"]]
    line = erin.read_text().splitlines().index('    router: "172.20.1.5"   # on rtr1') + 1
    assert (finding["level"], finding["file"], finding["line"]) == (
        "review", "peers/rtr1/erin.yaml", line
    )  # fmt: skip
    assert "the even address is the router's" in finding["message"]


def test_pool_side_rule_boundaries() -> None:
    from agent.repo.pools import looks_swapped

    pools = ("172.20.1.0/26",)
    assert looks_swapped(pools, "172.20.1.4", "172.20.1.5") is None  # as peer new proposes
    assert looks_swapped(pools, "172.20.1.5", "172.20.1.4") is not None
    assert looks_swapped(pools, "172.20.1.5", "172.20.1.6") is None  # not one pool pair
    assert looks_swapped(pools, "172.22.0.1", "172.20.1.5") is not None  # ours outside
    assert looks_swapped(pools, "172.20.1.4", "172.22.0.1") is None  # theirs outside: fine
    assert looks_swapped((), "172.20.1.5", "172.20.1.4") is None  # no pools: no judgement
    assert looks_swapped(("fd42:4242:1::/64",), "fd42:4242:1::1", "fd42:4242:1::") is not None


def test_links_a_pull_request_adds_are_refused_and_never_followed(repo: Path) -> None:
    """A hostile PR adds an absolute link, one out through "..", and one inside: each is a
    finding on its file (the loader reads regular files only), never an internal error, and
    the review's copy of the tree holds no link that points out of it."""
    import os

    from agent.pr.trees import export, resolve
    from agent.repo.archive import OUTSIDE

    peers = repo / "peers/rtr1"
    os.symlink("/etc/passwd", peers / "evil.yaml")
    os.symlink("../../../../../../etc", peers / "up.yaml")
    os.symlink("alice.yaml", peers / "twin.yaml")
    commit_all(repo, "links")
    rc, result = check(repo)
    assert rc == 1
    shown = "\n".join(json.dumps(e) for e in result["errors"])
    for name in ("evil", "up", "twin"):
        assert f"peers/rtr1/{name}.yaml" in shown and "symbolic link" in shown
    tree = export(repo, resolve(repo, "HEAD"), repo.parent / "tree")
    links = {p.name: os.readlink(p) for p in (tree / "peers/rtr1").iterdir() if p.is_symlink()}
    assert links == {"evil.yaml": OUTSIDE, "up.yaml": OUTSIDE, "twin.yaml": "alice.yaml"}
    assert (tree / "peers/rtr1/alice.yaml").read_text() == (peers / "alice.yaml").read_text()
    assert oct((tree / "peers/rtr1/alice.yaml").stat().st_mode & 0o777) == oct(0o644)
