"""Helpers for tests that play the maintainers of a state repo: real git, real signatures."""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_ID = ["-c", "user.name=maintainer", "-c", "user.email=m@example.invalid"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_ID, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def maintainer_clone(remote: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "-b", "main", str(remote), str(dest)], check=True)
    return dest


def commit_all(work: Path, message: str, signing_key: Path | None = None) -> str:
    """Commit every change in work (SSH-signed with signing_key if given) and return its sha."""
    git(work, "add", "-A")
    sign = (
        ["-c", "gpg.format=ssh", "-c", f"user.signingkey={signing_key}", "commit", "-S"]
        if signing_key
        else ["commit"]
    )
    git(work, *sign, "-q", "-m", message)
    return git(work, "rev-parse", "HEAD")


def push(work: Path, force: bool = False) -> None:
    git(work, "push", "-q", *(["--force"] if force else []), "origin", "HEAD:main")


def ssh_key(directory: Path, name: str) -> Path:
    """A fresh ed25519 key made by the real ssh-keygen."""
    key = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    return key


def allowed_signers(path: Path, principal: str, key: Path) -> Path:
    path.write_text(f"{principal} {key.with_suffix('.pub').read_text()}")
    return path
