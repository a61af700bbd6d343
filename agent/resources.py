"""Where packaged data lives: templates/, the example state/ and packaging/ (the sample
configuration and the man pages), also inside a wheel.

In a wheel, pyproject.toml maps templates/ to agent/templates, state/ to agent/example_state
and packaging/ to agent/share; in a checkout they are the top-level folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def _data_dir(installed: str, checkout: str) -> Path:
    path = _PACKAGE / installed
    return path if path.is_dir() else _CHECKOUT / checkout


def templates_dir() -> Path:
    return _data_dir("templates", "templates")


def example_state_dir() -> Path:
    return _data_dir("example_state", "state")


def schema_dir() -> Path:
    return example_state_dir() / "schema"


def share_dir() -> Path:
    return _data_dir("share", "packaging")


def sample_config() -> Path:
    return share_dir() / "peerops.yaml.sample"
