"""Rendered per-peer texts (ipsec.conf rule, hostname.greN) kept from the last run.

Rendering a thousand peerings through Jinja2 was a sixth of a run that changed nothing.
A text is looked up by a digest of everything it is rendered from: the peering (its repr:
every field of a frozen value, nested ones included), the interface, and which template;
the file's salt is peerops' version and the source of the templates and of the modules that
render, so an edited template renders everything again. A derived file in the state
directory (render-cache.json), checked against its own sha256, safe to delete; entries not
used by a run are dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from agent import __version__
from agent.atomic import write_atomic
from agent.model import Peering
from agent.resources import templates_dir

CACHE_FILE = "render-cache.json"
TEMPLATES = ("ipsec-rule.j2", "hostname.gre.j2")
RENDERING_MODULES = ("render.py", "desired.py")  # render_rule, description_for, constants


class RenderCache:
    """Texts of the last run by digest; `save()` keeps those this run used."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / CACHE_FILE
        self.salt = _salt()
        self.texts: dict[str, str] = {}
        self.used: dict[str, str] = {}
        with contextlib.suppress(OSError, ValueError, AttributeError):
            digest, _, body = self.path.read_bytes().partition(b"\n")
            if hashlib.sha256(body).hexdigest().encode() == digest:
                data = json.loads(body)
                if data.get("salt") == self.salt and isinstance(data.get("texts"), dict):
                    self.texts = data["texts"]

    def text(self, kind: str, p: Peering, interface: str, render: Callable[[], str]) -> str:
        """The text `render()` gives for this peering, interface and template kind."""
        key = hashlib.sha256(f"{kind}\0{interface}\0{p!r}".encode()).hexdigest()
        found = self.texts.get(key)
        if not isinstance(found, str):
            found = render()
        self.used[key] = found
        return found

    def save(self) -> None:
        """Write the texts this run used, when they differ from what the file holds."""
        if self.used == self.texts:
            return
        body = json.dumps({"salt": self.salt, "texts": self.used}, sort_keys=True).encode()
        with contextlib.suppress(OSError):  # not kept: the next run renders again
            write_atomic(self.path, hashlib.sha256(body).hexdigest().encode() + b"\n" + body)


def _salt() -> str:
    source = hashlib.sha256(__version__.encode())
    for name in TEMPLATES:
        source.update((templates_dir() / name).read_bytes())
    package = Path(__file__).resolve().parent
    for module in RENDERING_MODULES:  # a development tree edits these without a version bump
        with contextlib.suppress(OSError):  # an install without sources: the version decides
            source.update((package / module).read_bytes())
    return source.hexdigest()
