"""Shared fixtures: a copy of the example state repo to break, and keys made once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_STATE = REPO / "state"


@pytest.fixture
def state_copy(tmp_path: Path) -> Path:
    """A writable copy of state/ (the example repo and format contract)."""
    dest = tmp_path / "state"
    shutil.copytree(EXAMPLE_STATE, dest)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact occurrence of old in a file (fails loudly if absent)."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new))
