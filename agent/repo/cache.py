"""Parsed state files by git blob id, parsed keys by digest: what an unchanged commit reuses.

A derived artifact in the agent's state directory (parsed-cache.json), safe to delete: a
missing, corrupt or foreign cache is ignored and rebuilt. A state file is looked up by its
kind, path and git blob id (sha1 of "blob <size>\\0" + its bytes, computed from the bytes
just read, so a changed file is re-read and an unchanged one is not); only files that parsed
and validated without a problem are kept. A key is looked up by the sha256 of its text and
still has to meet min_bits. The file carries the sha256 of its body, checked on load;
entries unused by a load are dropped when it is saved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agent import __version__
from agent.atomic import write_atomic
from agent.keys import MIN_BITS, PublicKey
from agent.repo.yamlpos import Located, Problem

CACHE_FILE = "parsed-cache.json"
FORMAT = 1


def blob_id(data: bytes) -> str:
    """The git blob id of data (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class ParsedCache:
    """Documents and keys from the last load; `save()` writes what this load used."""

    def __init__(self, directory: Path, salt: str = "") -> None:
        self.path = Path(directory) / CACHE_FILE
        # Anything that changes what a parse yields (peerops itself, the schemas) changes salt.
        self.salt = f"{__version__} {salt}"
        self.documents: dict[str, Any] = {}
        self.keys: dict[str, Any] = {}
        self.used: set[str] = set()
        self.changed = False
        self._read()

    def _read(self) -> None:
        try:
            digest, _, body = self.path.read_bytes().partition(b"\n")
            if hashlib.sha256(body).hexdigest().encode() != digest:
                return  # truncated or edited: start afresh
            data = json.loads(body)
        except (OSError, ValueError):
            return
        if data.get("format") == FORMAT and data.get("salt") == self.salt:
            self.documents, self.keys = data["documents"], data["keys"]

    def document(
        self,
        kind: str,
        rel: str,
        text: str,
        parse: Callable[[], tuple[Located | None, list[Problem]]],
    ) -> tuple[Located | None, list[Problem]]:
        """The parsed, schema-checked document of file rel with content text."""
        key = f"{kind} {rel} {blob_id(text.encode())}"
        self.used.add(key)
        entry = self.documents.get(key)
        if entry is not None:
            positions = {tuple(p[0]): (p[1], p[2]) for p in entry["positions"]}
            return Located(entry["file"], entry["value"], positions), []
        doc, problems = parse()
        if doc is not None and not problems and _round_trips(doc.value):
            self.documents[key] = {
                "file": doc.file,
                "value": doc.value,
                "positions": [[list(p), line, col] for p, (line, col) in doc.positions.items()],
            }
            self.changed = True
        return doc, problems

    def key(self, text: str, min_bits: int, parse: Callable[[], PublicKey]) -> PublicKey:
        """The parsed key of text; parse() runs (and raises) unless a key of enough bits
        was parsed from the same text before."""
        key = "key " + hashlib.sha256(text.encode()).hexdigest()
        entry = self.keys.get(key)
        if entry is not None and entry["bits"] >= min_bits:
            self.used.add(key)
            return PublicKey(**entry)
        parsed = parse()
        self.used.add(key)
        self.keys[key] = asdict(parsed)
        self.changed = True
        return parsed

    def save(self) -> None:
        """Write the entries this load used (atomically), if anything changed."""
        documents = {k: v for k, v in self.documents.items() if k in self.used}
        keys = {k: v for k, v in self.keys.items() if k in self.used}
        if not self.changed and len(documents) + len(keys) == len(self.documents) + len(self.keys):
            return
        body = json.dumps(
            {"format": FORMAT, "salt": self.salt, "documents": documents, "keys": keys},
            sort_keys=True,
        ).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, hashlib.sha256(body).hexdigest().encode() + b"\n" + body, 0o600)


def _round_trips(value: Any) -> bool:
    """True when JSON gives value back unchanged (no int keys, tuples, dates, ...)."""
    try:
        return bool(json.loads(json.dumps(value)) == value)
    except (TypeError, ValueError):
        return False


def load_inventory_cached(
    repo: Path, state_dir: Path, *, min_bits: int = MIN_BITS, min_crypto: str = "default"
) -> tuple[Any, list[Problem]]:
    """load_inventory(repo) reusing and then refreshing the cache in state_dir; a cache that
    cannot be written only costs the next load its speed."""
    from agent.repo.inventory import load_inventory
    from agent.resources import schema_dir

    schemas = hashlib.sha256()
    for path in sorted(schema_dir().glob("*.json")):
        schemas.update(path.read_bytes())
    cache = ParsedCache(state_dir, schemas.hexdigest())
    result = load_inventory(repo, min_bits=min_bits, min_crypto=min_crypto, cache=cache)
    with contextlib.suppress(OSError):
        cache.save()
    return result
