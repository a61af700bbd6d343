"""Parsed state files by git blob id, parsed keys by digest, resolved peerings by the blob
ids they were resolved from: what an unchanged commit reuses.

A derived artifact in the agent's state directory (parsed-cache.json), safe to delete: a
missing, corrupt or foreign cache is ignored and rebuilt. A state file is looked up by its
kind, path and git blob id (sha1 of "blob <size>\\0" + its bytes, computed from the bytes
just read, so a changed file is re-read and an unchanged one is not); only files that parsed
and validated without a problem are kept. A key is looked up by the sha256 of its text and
still has to meet min_bits. A peer file's resolved peering (every per-file check passed) is
looked up by the blob ids of the peer file, its router's file and its key file, with the key
and crypto floors: one changed file re-resolves only what it feeds. Checks across peerings
(duplicates) always run. The file carries the sha256 of its body, checked on load; entries
unused by a load are dropped when it is saved; the salt covers peerops' version, the schemas
and the source of the modules that decide what a parse or resolution yields.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any

from agent import __version__
from agent.atomic import write_atomic
from agent.keys import MIN_BITS, PublicKey
from agent.model import Crypto, Identity, Ipv4Pair, Ipv6Config, Peering, Phase
from agent.repo.yamlpos import Located, Problem

CACHE_FILE = "parsed-cache.json"
FORMAT = 3  # 3: documents without positions, peerings as rows in field order
# Modules whose code decides what a cached entry holds: an edit to one (a development tree
# without a version bump) must not reuse entries made by the old code.
RESOLVING_MODULES = (
    "repo/inventory.py", "repo/fields.py", "repo/yamlpos.py", "repo/schema.py", "model.py",
    "keys.py", "esp.py",
)


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
        self.peerings: dict[str, Any] = {}
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
            self.peerings = data["peerings"]

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
            # Positions only serve a problem's line and column: read again from text if asked.
            return Located.reloaded(entry["file"], entry["value"], text), []
        doc, problems = parse()
        if doc is not None and not problems and _round_trips(doc.value):
            self.documents[key] = {"file": doc.file, "value": doc.value}
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

    def peering(self, key: str, resolve: Callable[[], Peering | None]) -> Peering | None:
        """The peering resolved from the inputs named by key; resolve() runs on a miss and
        returns None when the inputs had a problem (nothing is kept then)."""
        key = "peering " + key
        self.used.add(key)
        entry = self.peerings.get(key)
        if entry is not None:
            return peering_from_row(entry)
        peering = resolve()
        if peering is not None:
            self.peerings[key] = peering_row(peering)
            self.changed = True
        return peering

    def save(self) -> None:
        """Write the entries this load used (atomically), if anything changed."""
        documents = {k: v for k, v in self.documents.items() if k in self.used}
        peerings = {k: v for k, v in self.peerings.items() if k in self.used}
        # A reused peering did not look its key up, but a change to its file (a new
        # description) resolves it again: its key stays, so that is no key parse (and no
        # key library loaded into the run).
        pems = {row[_PUBLIC_KEY] for row in peerings.values()}
        keys = {k: v for k, v in self.keys.items() if k in self.used or v.get("pem") in pems}
        kept = len(documents) + len(keys) + len(peerings)
        if not self.changed and kept == len(self.documents) + len(self.keys) + len(self.peerings):
            return
        # The body is written as one JSON object, encoded a member at a time: for a thousand
        # peers the whole text, its bytes and the digest line joined to them were three
        # copies of 2 MB at the peak of a first run.
        members = {"documents": documents, "format": FORMAT, "keys": keys,
                   "peerings": peerings, "salt": self.salt}
        chunks = []
        for i, (name, value) in enumerate(members.items()):
            chunks.append(b"%s%s: " % (b"{" if i == 0 else b", ", json.dumps(name).encode()))
            chunks.append(json.dumps(value, sort_keys=True).encode())
        chunks.append(b"}")
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, [digest.hexdigest().encode() + b"\n", *chunks], 0o600)


_PEERING_FIELDS = tuple(f.name for f in fields(Peering))
_PUBLIC_KEY = _PEERING_FIELDS.index("public_key")


def peering_row(p: Peering) -> list[Any]:
    """p as JSON: its values in field order, a nested record as the list of its values (a
    thousand peerings: half the text of field names repeated in every entry)."""
    return [_values(getattr(p, name)) for name in _PEERING_FIELDS]


def _values(value: Any) -> Any:
    if is_dataclass(value):
        return [_values(getattr(value, f.name)) for f in fields(value)]
    return value


def peering_from_row(row: list[Any]) -> Peering:
    """The Peering that peering_row() turned into row (model.py is in the salt: a changed
    Peering never meets a row of the old one)."""
    v = dict(zip(_PEERING_FIELDS, row, strict=True))
    main, quick = v["crypto"]
    return Peering(**{
        **v,
        "local_id": Identity(*v["local_id"]),
        "remote_id": Identity(*v["remote_id"]),
        "crypto": Crypto(Phase(*main), Phase(*quick)),
        "ipv4": Ipv4Pair(*v["ipv4"]) if v["ipv4"] else None,
        "ipv6": Ipv6Config(*v["ipv6"]) if v["ipv6"] else None,
    })


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
    package = Path(__file__).resolve().parent.parent
    for module in RESOLVING_MODULES:
        with contextlib.suppress(OSError):  # an install without sources: the version decides
            schemas.update((package / module).read_bytes())
    cache = ParsedCache(state_dir, schemas.hexdigest())
    result = load_inventory(repo, min_bits=min_bits, min_crypto=min_crypto, cache=cache)
    with contextlib.suppress(OSError):
        cache.save()
    return result
