"""Signed commits under GnuPG, with the real gpg and git: the configured keyring decides (a key
imported without ownertrust is enough; root's own keyring is never consulted), the signer is
named in full, and a rewind that trust.allow_rewind accepts still needs a signed tip."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from agent.config import AgentConfig, TrustConfig
from agent.lab.demo import build_demo_fleet
from agent.repo.source import GitSource, _signature_problem
from tests.gitkit import GIT_ID, git, maintainer_clone, push
from tests.keytools import material

SIGNER = "signer <signer@example.org>"


@pytest.fixture
def keys() -> tuple[Path, Path, str]:
    """(the signer's own GnuPG home, a keyring holding only her public key, her fingerprint):
    made once per session by tests/keytools.py (short paths: gpg-agent's socket)."""
    m = material()
    return m.gpg_signer, m.gpg_trust, m.gpg_signer_fpr


def _signed_commit(work: Path, own: Path, fpr: str, message: str) -> str:
    git(work, "add", "-A")
    subprocess.run(
        ["git", *GIT_ID, "-c", "gpg.format=openpgp", "-c", f"user.signingkey={fpr}",
         "commit", "-q", "-S", "-m", message],
        cwd=work, check=True, capture_output=True, env={**os.environ, "GNUPGHOME": str(own)},
    )
    return git(work, "rev-parse", "HEAD")


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, AgentConfig]:
    return build_demo_fleet(tmp_path / "fleet")


def test_a_commit_signed_by_a_key_of_the_keyring_is_applied_and_its_signer_named(
    fleet: dict[str, AgentConfig], keys: tuple[Path, Path, str], tmp_path: Path
) -> None:
    own, ring, fpr = keys
    cfg = dataclasses.replace(fleet["rtr1"], trust=TrustConfig(require_signed=True,
                                                               gpg_home=ring))
    assert cfg.remote
    work = maintainer_clone(Path(cfg.remote), tmp_path / "work")
    (work / "peers/rtr1/bob.yaml").unlink()
    sha = _signed_commit(work, own, fpr, "remove bob")
    push(work)
    result = GitSource(cfg).sync()
    assert (result.status, result.commit, result.signer) == ("ok", sha, SIGNER)


def test_without_a_keyring_roots_own_gnupg_is_not_consulted(
    fleet: dict[str, AgentConfig], keys: tuple[Path, Path, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own, ring, fpr = keys
    monkeypatch.setenv("GNUPGHOME", str(ring))  # the key is in the agent's own environment
    cfg = dataclasses.replace(fleet["rtr1"], trust=TrustConfig(require_signed=True))
    assert cfg.remote
    before = git(cfg.repo, "rev-parse", "HEAD")
    work = maintainer_clone(Path(cfg.remote), tmp_path / "work")
    (work / "peers/rtr1/bob.yaml").unlink()
    sha = _signed_commit(work, own, fpr, "remove bob")
    push(work)
    result = GitSource(cfg).sync()
    assert result.status == "refused"
    assert result.message == (
        f"commit {sha[:12]} is signed by a key that is not an allowed signer (cannot be "
        "checked): nothing applied"
    )
    assert git(cfg.repo, "rev-parse", "HEAD") == before


def test_an_accepted_rewind_still_needs_a_signed_tip(
    fleet: dict[str, AgentConfig], keys: tuple[Path, Path, str], tmp_path: Path
) -> None:
    own, ring, fpr = keys
    cfg = dataclasses.replace(fleet["rtr1"], trust=TrustConfig(
        require_signed=True, gpg_home=ring, allow_rewind=True))
    assert cfg.remote
    unsigned = git(cfg.repo, "rev-parse", "HEAD")  # the demo's first commit is not signed
    work = maintainer_clone(Path(cfg.remote), tmp_path / "work")
    (work / "peers/rtr1/bob.yaml").unlink()
    signed = _signed_commit(work, own, fpr, "remove bob")
    push(work)
    assert GitSource(cfg).sync().commit == signed
    git(work, "reset", "-q", "--hard", unsigned)
    push(work, force=True)  # back to the unsigned ancestor: rewinding is allowed, not trusting
    result = GitSource(cfg).sync()
    assert result.status == "refused"
    assert result.message == f"commit {unsigned[:12]} is not signed: nothing applied"
    # the router stays on the verified commit, and the report says whose it is
    assert (result.commit, result.signer) == (signed, SIGNER)
    assert git(cfg.repo, "rev-parse", "HEAD") == signed


# git's %G? letter (git-log(1) "Pretty formats") and the key (%GF) -> the verdict. Only G, and
# U with a GnuPG fingerprint (a key of the configured keyring, no ownertrust), pass.
SIGNATURES = [
    ("G", "SHA256:abc", None),
    ("G", "", None),
    ("U", "0123456789ABCDEF0123456789ABCDEF01234567", None),
    ("U", "SHA256:abc", "is signed by a key that is not an allowed signer"),
    ("U", "", "is signed by a key that is not an allowed signer"),
    ("u", "0123456789ABCDEF0123456789ABCDEF01234567", "has an unusable signature (u)"),
    ("N", "", "is not signed"),
    ("B", "SHA256:abc", "has a bad signature"),
    ("E", "", "is signed by a key that is not an allowed signer (cannot be checked)"),
    ("X", "SHA256:abc", "has an expired signature"),
    ("Y", "SHA256:abc", "is signed by an expired key"),
    ("R", "SHA256:abc", "is signed by a revoked key"),
    ("Z", "SHA256:abc", "has an unusable signature (Z)"),  # a letter git may add one day
    ("", "", "has an unusable signature ()"),
    ("b", "", "has an unusable signature (b)"),
]


@pytest.mark.parametrize(("letter", "key", "problem"), SIGNATURES)
def test_signature_verdicts(letter: str, key: str, problem: str | None) -> None:
    assert _signature_problem(letter, key) == problem


def test_a_rewound_remote_is_refused_in_words_that_name_both_commits(
    fleet: dict[str, AgentConfig], tmp_path: Path
) -> None:
    cfg = fleet["rtr1"]
    assert cfg.remote
    first = git(cfg.repo, "rev-parse", "HEAD")
    work = maintainer_clone(Path(cfg.remote), tmp_path / "work")
    (work / "peers/rtr1/bob.yaml").unlink()
    git(work, "commit", "-qam", "remove bob")
    push(work)
    second = GitSource(cfg).sync().commit
    assert second and second != first
    git(work, "reset", "-q", "--hard", first)
    push(work, force=True)
    result = GitSource(cfg).sync()
    assert (result.status, result.commit) == ("refused", second)
    assert result.message == (
        f"{cfg.branch} at {first[:12]} does not descend from the last verified commit "
        f"{second[:12]}: the remote was rewound or force-pushed (set trust.allow_rewind to "
        "accept it)"
    )
