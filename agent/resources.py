"""Where packaged data lives: templates/ and the example state/ (also inside a wheel)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _packaged(package: str, checkout_dir: str) -> Path:
    """Return the directory of a data subpackage, or the checkout folder it is mapped from."""
    try:
        path = Path(str(resources.files(package)))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return _CHECKOUT / checkout_dir


def templates_dir() -> Path:
    return _packaged("agent.templates", "templates")


def example_state_dir() -> Path:
    return _packaged("agent.example_state", "state")


def schema_dir() -> Path:
    return example_state_dir() / "schema"
