"""Load a state repo: every file parsed, checked against the schema and semantically, and
turned into each router's resolved peerings. All problems are collected, none is fatal early.

Layout: routers/<router>.yaml and peers/<router>/<peer>.yaml (state/README.md).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.esp import DEFAULT_MTU, tunnel_mtu_limit
from agent.keys import MIN_BITS, PublicKey, PublicKeyError, parse_public_key
from agent.model import (
    DEFAULT_CRYPTO,
    Crypto,
    Identity,
    Inventory,
    Ipv4Pair,
    Ipv6Config,
    Peering,
    Phase,
    Router,
)
from agent.repo import fields, files, schema, yamlpos
from agent.repo.cache import ParsedCache, blob_id
from agent.repo.yamlpos import Located, Problem

# A peer's key file and its detached signatures in peers/<router>/ (state/README.md, "Key files
# and signatures"): <name>.pub, <name>.pub.asc (gpg -sb -a), <name>.pub.sig (ssh-keygen -Y sign).
KEY_FILE_RE = re.compile(r"([a-z][a-z0-9-]{0,30})\.pub(?:\.asc|\.sig)?")
KEY_FILE_MAX = 16384  # bytes; the largest key any accepted form needs is far smaller


MAX_FILE_BYTES = 64 * 1024  # a peer file with an inline key is about 1 KiB


def load_inventory(
    repo: Path,
    *,
    min_bits: int = MIN_BITS,
    min_crypto: str = "default",
    cache: ParsedCache | None = None,
) -> tuple[Inventory | None, list[Problem]]:
    """Return the inventory of repo, or None with every problem found (path:line:col each);
    every key must have at least min_bits (the agent's keys.min_bits) and every proposal
    must reach the crypto floor min_crypto (the agent's policy.min_crypto). With a cache,
    files and keys parsed by an earlier load are reused (agent/repo/cache.py)."""
    loader = _Loader(Path(repo), min_bits=min_bits, min_crypto=min_crypto, cache=cache)
    loader.run()
    problems = sorted(set(loader.problems), key=lambda p: (p.file, p.line, p.col, p.field))
    if problems:
        return None, problems
    peerings = {
        name: tuple(sorted(ps, key=lambda p: p.peer)) for name, ps in loader.peerings.items()
    }
    return Inventory(dict(sorted(loader.routers.items())), peerings), []


@dataclass
class _Loader:
    repo: Path
    problems: list[Problem] = field(default_factory=list)
    routers: dict[str, Router] = field(default_factory=dict)
    peerings: dict[str, list[Peering]] = field(default_factory=dict)
    origin: dict[tuple[str, str], Located] = field(default_factory=dict)  # (router, peer) -> file
    min_bits: int = MIN_BITS
    min_crypto: str = "default"
    key_files: list[str] = field(default_factory=list)  # peers/<r>/<name>.pub[.asc|.sig]
    key_file_users: dict[str, bool] = field(default_factory=dict)  # peer file -> names a .pub
    cache: ParsedCache | None = None
    blobs: dict[str, str] = field(default_factory=dict)  # shown path -> git blob id of its text

    def run(self) -> None:
        router_docs, peer_docs = self._discover()
        for doc in router_docs:
            self._add_router(doc)
        for router_dir, doc in peer_docs:
            self._add_peer(router_dir, doc)
        for name in self.routers:
            self._cross_check(name)
        self._check_shared_keys({d.value.get("name"): d for d in router_docs})
        self._check_key_files()

    # -- discovery --------------------------------------------------------------------------
    def _discover(self) -> tuple[list[Located], list[tuple[str, Located]]]:
        """Walk routers/ and peers/<router>/ without following any link (agent.repo.files)."""
        if files.kind_of(self.repo, "routers") != "dir":
            self.problems.append(
                Problem(
                    "routers/",
                    1,
                    1,
                    "(repo)",
                    f"no routers/ directory in {self.repo}: not a state repo",
                )
            )
            return [], []
        routers = [
            d for e in files.list_dir(self.repo, "routers") if (d := self._load("routers", e))
        ]
        peers: list[tuple[str, Located]] = []
        top = files.kind_of(self.repo, "peers")
        if top not in (None, "dir"):
            self._misplaced("peers", "must be a directory (a symbolic link is not followed)")
        for entry in files.list_dir(self.repo, "peers") if top == "dir" else []:
            rel = f"peers/{entry.name}"
            if entry.kind != "dir":
                if not entry.name.startswith(".") and entry.name != "README.md":
                    self._misplaced(rel, _not_regular(entry) or "peer files live in "
                                    "peers/<router>/<peer>.yaml")
                continue
            for f in files.list_dir(self.repo, rel):
                if KEY_FILE_RE.fullmatch(f.name):
                    if f.kind != "file":
                        self._misplaced(f"{rel}/{f.name}", _not_regular(f) or "not a file")
                    else:
                        self.key_files.append(f"{rel}/{f.name}")
                elif f.name.endswith((".asc", ".sig")):
                    self._misplaced(f"{rel}/{f.name}", _SIGNATURE_HINT)
                elif d := self._load(rel, f):
                    peers.append((entry.name, d))
        return routers, peers

    def _misplaced(self, rel: str, why: str) -> None:
        self.problems.append(Problem(files.shown_rel(rel), 1, 1, "(file)", why))

    def _load(self, directory: str, entry: files.Entry) -> Located | None:
        """Read, parse and schema-check one file; None when it is not usable further."""
        if entry.name.startswith(".") or entry.name == "README.md":
            return None
        rel = f"{directory}/{entry.name}"
        if entry.kind != "file" or not entry.name.endswith(".yaml"):
            self._misplaced(rel, _not_regular(entry) or "expected a .yaml file here")
            return None
        stem = entry.name.removesuffix(".yaml")
        try:
            raw = files.read_regular(self.repo, rel, MAX_FILE_BYTES)
        except files.RepoFileError as exc:
            self.problems.append(Problem(files.shown_rel(rel), 1, 1, "(file)", str(exc)))
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.problems.append(Problem(rel, 1, 1, "(file)", f"not UTF-8 text: {exc.reason}"))
            return None
        if not fields.NAME_RE.fullmatch(stem):
            self._misplaced(rel, "file names are <name>.yaml with a lower-case name "
                            "(a letter, then letters, digits or hyphens)")
            return None
        kind = "router" if directory == "routers" else "peer"

        def parse() -> tuple[Located | None, list[Problem]]:
            return _parse(text, files.shown_rel(rel), kind, stem)

        doc, problems = self.cache.document(kind, rel, text, parse) if self.cache else parse()
        self.problems += problems
        if doc is not None:
            self.blobs[doc.file] = blob_id(raw)
        return doc

    def _public_key(self, text: str) -> PublicKey:
        def parse() -> PublicKey:
            return parse_public_key(text, min_bits=self.min_bits)

        return self.cache.key(text, self.min_bits, parse) if self.cache else parse()

    # -- routers ----------------------------------------------------------------------------
    def _add_router(self, doc: Located) -> None:
        v = doc.value
        ends = v["endpoints"]
        for fam in ("ipv4", "ipv6"):
            if fam in ends and (msg := fields.check_endpoint(ends[fam], 4 if fam == "ipv4" else 6)):
                self.problems.append(doc.problem(("endpoints", fam), msg))
        identity = self._identity(doc, v.get("identity"), ("identity",))
        key = self._key(doc, v["public_key"], ("public_key",)) if "public_key" in v else None
        crypto = self._crypto(doc, DEFAULT_CRYPTO, v.get("crypto", {}), ("crypto",))
        self.routers[v["name"]] = Router(
            name=v["name"],
            asn=v["asn"],
            ipv4=_compressed(ends.get("ipv4")),
            ipv6=_compressed(ends.get("ipv6")),
            identity=identity,
            public_key=key,
            crypto=crypto,
            mtu=v.get("gre", {}).get("mtu"),
            source=doc.file,
            pools4=self._pools(doc, v, 4),
            pools6=self._pools(doc, v, 6),
        )

    def _pools(self, doc: Located, v: dict[str, Any], family: int) -> tuple[str, ...]:
        key = f"ipv{family}"
        out = []
        for i, raw in enumerate(v.get("transfer_pools", {}).get(key, [])):
            if msg := fields.check_pool(raw, family):
                self.problems.append(doc.problem(("transfer_pools", key, i), msg))
            else:
                out.append(str(ipaddress.ip_network(raw)))
        return tuple(out)

    # -- peers ------------------------------------------------------------------------------
    def _add_peer(self, router_name: str, doc: Located) -> None:
        self.key_file_users[doc.file] = "public_key_file" in doc.value
        router = self.routers.get(router_name)
        if router is None:
            self.problems.append(
                doc.problem(
                    (),
                    f"peers/{router_name}/ names no router: "
                    f"routers/{router_name}.yaml is missing or invalid",
                )
            )
            return
        if "router" in doc.value:
            self._add_internal(router, doc)
        else:
            self._add_external(router, doc)

    def _add_external(self, router: Router, doc: Located) -> None:
        """Resolve the peering of doc (reused from the cache when none of the files it is
        resolved from changed) and register it."""
        peering: Peering | None
        memo = self._memo_key(router, doc)
        if self.cache is None or memo is None:
            peering = self._resolve_external(router, doc)
        else:
            before = len(self.problems)

            def resolve() -> Peering | None:
                p = self._resolve_external(router, doc)
                return p if len(self.problems) == before else None

            peering = self.cache.peering(memo, resolve)
        if peering is not None:
            self._register(doc, peering)

    def _memo_key(self, router: Router, doc: Located) -> str | None:
        """What an external peering is resolved from: its file, its router's file, its key
        file and the floors; None when a file cannot be named by its blob id."""
        parts = [self.blobs.get(router.source), self.blobs.get(doc.file)]
        if "public_key_file" in doc.value:
            rel = f"{Path(doc.file).parent.as_posix()}/{doc.value['name']}.pub"
            try:
                parts.append(blob_id(files.read_regular(self.repo, rel, KEY_FILE_MAX)))
            except files.RepoFileError:
                return None
        if None in parts:
            return None
        return " ".join([doc.file, *map(str, parts), str(self.min_bits), self.min_crypto])

    def _resolve_external(self, router: Router, doc: Located) -> Peering | None:
        """The peering of an external peer's file, or None with the problems recorded."""
        v = doc.value
        endpoint = v["endpoint"]
        if msg := fields.check_endpoint(endpoint):
            self.problems.append(doc.problem(("endpoint",), msg))
            return None
        endpoint = str(fields.ip_address(endpoint))
        if endpoint in (router.ipv4, router.ipv6):
            self.problems.append(
                doc.problem(
                    ("endpoint",),
                    f"{endpoint} is {router.name}'s own endpoint (routers/{router.name}.yaml): "
                    "a router cannot peer with itself",
                )
            )
            return None
        family = fields.ip_address(endpoint).version
        local = router.endpoint(family)
        if local is None:
            self.problems.append(
                doc.problem(
                    ("endpoint",), f"{router.name} has no IPv{family} endpoint to reach {endpoint}"
                )
            )
            return None
        remote_id = self._identity(doc, v.get("identity"), ("identity",)) or Identity.of_address(
            endpoint
        )
        key = (
            self._key(doc, v["public_key"], ("public_key",))
            if "public_key" in v
            else self._key_file(doc, v["public_key_file"])
        )
        crypto = self._crypto(doc, router.crypto, v.get("crypto", {}), ("crypto",))
        gre = self._gre(doc, v["gre"], router.mtu)
        if key is None or gre is None:
            return None
        return self._finish(
            doc,
            Peering(
                router=router.name,
                peer=v["name"],
                asn=v["asn"],
                internal=False,
                local_endpoint=local,
                remote_endpoint=endpoint,
                local_id=router.identity_for(local),
                remote_id=remote_id,
                public_key=key,
                crypto=crypto,
                interface=gre["interface"],
                mtu=gre["mtu"],
                ipv4=gre["ipv4"],
                ipv6=gre["ipv6"],
                description=gre["description"],
                source=doc.file,
            ),
        )

    def _add_internal(self, owner: Router, doc: Located) -> None:
        v = doc.value
        other = self.routers.get(v["router"])
        if other is None or other.name == owner.name:
            why = (
                "is this router itself"
                if other
                else f"names no router in routers/ ({v['router']!r})"
            )
            self.problems.append(doc.problem(("router",), f"{v['router']} {why}"))
            return
        if v["name"] != other.name:
            self.problems.append(
                doc.problem(("name",), "an internal link's name must equal its router")
            )
            return
        family = 4 if owner.ipv4 and other.ipv4 else 6 if owner.ipv6 and other.ipv6 else 0
        if not family:
            self.problems.append(
                doc.problem(
                    ("router",), f"{owner.name} and {other.name} share no endpoint address family"
                )
            )
            return
        for side in (owner, other):
            if side.public_key is None:
                self.problems.append(
                    doc.problem(
                        ("router",),
                        f"routers/{side.name}.yaml needs public_key for this internal link",
                    )
                )
        crypto = self._crypto(doc, owner.crypto, v.get("crypto", {}), ("crypto",))
        gre = self._gre(doc, v["gre"], owner.mtu)
        if gre is None or owner.public_key is None or other.public_key is None:
            return
        for me, them, iface, flip in (
            (owner, other, gre["interface"], False),
            (other, owner, gre["peer_interface"], True),
        ):
            mine, theirs = me.endpoint(family), them.endpoint(family)
            assert mine and theirs  # guaranteed by the family choice above  # noqa: S101
            peering = self._finish(
                doc,
                Peering(
                    router=me.name,
                    peer=them.name,
                    asn=them.asn,
                    internal=True,
                    local_endpoint=mine,
                    remote_endpoint=theirs,
                    local_id=me.identity_for(mine),
                    remote_id=them.identity_for(theirs),
                    public_key=them.public_key or "",
                    crypto=crypto,
                    interface=iface,
                    mtu=gre["mtu"],
                    ipv4=_flip4(gre["ipv4"]) if flip else gre["ipv4"],
                    ipv6=_flip6(gre["ipv6"]) if flip else gre["ipv6"],
                    description=gre["description"],
                    source=doc.file,
                ),
            )
            if peering is not None:
                self._register(doc, peering)

    def _fit_mtu(self, doc: Located, peering: Peering) -> Peering:
        """The tunnel MTU: the one written (router default or peer file), which must fit a
        1500-byte path once ESP wraps it; else 1400, or less where this suite needs it."""
        family = 6 if ":" in peering.local_endpoint else 4
        quick = peering.crypto.quick
        limit = tunnel_mtu_limit(family, quick.enc, quick.auth)
        if peering.mtu is None:
            return replace(peering, mtu=min(DEFAULT_MTU, limit or DEFAULT_MTU))
        if limit is not None and peering.mtu > limit:
            written = "mtu" in doc.value.get("gre", {})
            origin = "" if written else f" (gre.mtu of routers/{peering.router}.yaml)"
            self.problems.append(
                doc.problem(
                    ("gre", "mtu") if written else ("gre",),
                    f"mtu {peering.mtu}{origin} does not fit a 1500-byte path once ESP ({quick.enc}"
                    f"{'/' + quick.auth if quick.auth else ''}) over IPv{family} wraps it: use "
                    f"{limit} or less{' here' if not written else ''} "
                    "(sys/netinet/ip_esp.c esp_output)",
                )
            )
        return peering

    def _finish(self, doc: Located, peering: Peering) -> Peering | None:
        """The peering with its tunnel MTU, or None when a transfer address would recurse."""
        if self._recursive(doc, peering):
            return None
        return self._fit_mtu(doc, peering)

    def _register(self, doc: Located, peering: Peering) -> None:
        """Add the peering to its router, unless the router has one of that name already."""
        key = (peering.router, peering.peer)
        if key in self.origin:
            self.problems.append(
                doc.problem(
                    ("name",),
                    f"{peering.router} already has a peering "
                    f"named {peering.peer} ({self.origin[key].file})",
                )
            )
            return
        self.origin[key] = doc
        self.peerings.setdefault(peering.router, []).append(peering)

    def _recursive(self, doc: Located, p: Peering) -> bool:
        """Refuse a transfer address that is a public endpoint of either side: the tunnel's
        own packets would be routed into the tunnel (GRE recursion)."""
        router = self.routers[p.router]
        publics = {router.ipv4, router.ipv6, p.local_endpoint, p.remote_endpoint} - {None}
        found = False
        for address, path in _transfer_addresses(p):
            if isinstance(address, ipaddress.IPv6Network):
                address = fields.ip_address(p.ipv6.router if p.ipv6 else "::")
            if str(address) in publics:
                self.problems.append(
                    doc.problem(
                        path,
                        f"{address} is a public tunnel endpoint of {p.router} or {p.peer}: "
                        "a transfer address inside the tunnel must differ (GRE recursion)",
                    )
                )
                found = True
        if p.ipv6 and p.ipv6.mode == "ula" and p.ipv6.peer in publics:
            self.problems.append(
                doc.problem(
                    ("gre", "ipv6", "peer"),
                    f"{p.ipv6.peer} is a public tunnel endpoint of {p.router} or {p.peer}: "
                    "a transfer address inside the tunnel must differ (GRE recursion)",
                )
            )
            found = True
        return found

    # -- field groups -------------------------------------------------------------------------
    def _identity(self, doc: Located, raw: Any, path: tuple[str, ...]) -> Identity | None:
        if raw is None:
            return None
        if msg := fields.check_identity(raw["type"], raw["value"]):
            self.problems.append(doc.problem((*path, "value"), msg))
            return None
        value = raw["value"]
        if raw["type"] in ("ipv4", "ipv6"):
            value = str(fields.ip_address(value))  # isakmpd names ipv6 keys in compressed form
        return Identity(raw["type"], value)

    def _key(self, doc: Located, raw: str, path: tuple[str, ...]) -> str | None:
        if not raw.isascii() or "\0" in raw:  # U+2028 is whitespace to \s, and not a key's
            self.problems.append(doc.problem(path, "a public key is ASCII text"))
            return None
        try:
            return self._public_key(raw).pem
        except PublicKeyError as exc:
            self.problems.append(doc.problem(path, str(exc)))
            return None

    def _key_file(self, doc: Located, name: str) -> str | None:
        """The key in public_key_file: exactly <peer>.pub beside doc, a small regular file."""
        path = ("public_key_file",)
        expected = f"{doc.value['name']}.pub"
        if name != expected:
            self.problems.append(
                doc.problem(
                    path,
                    f"must be {expected!r}: the key file sits "
                    "next to this file and is named after the peer",
                )
            )
            return None
        rel = f"{Path(doc.file).parent.as_posix()}/{expected}"
        kind = files.kind_of(self.repo, rel)
        if kind != "file":
            why = {"symlink": "is a symbolic link", None: "does not exist"}.get(
                kind, "is not a regular file"
            )
            self.problems.append(
                doc.problem(
                    path,
                    f"{rel} {why}: commit the key as a regular "
                    "file there, or write it inline as public_key",
                )
            )
            return None
        try:
            raw = files.read_regular(self.repo, rel, KEY_FILE_MAX)
        except files.RepoFileError as exc:
            self.problems.append(doc.problem(path, f"{rel}: {exc}"))
            return None
        try:
            return self._public_key(raw.decode("utf-8")).pem
        except UnicodeDecodeError:
            message = "not text (a public key file is ASCII)"
        except PublicKeyError as exc:
            message = str(exc)
        self.problems.append(doc.problem(path, f"{rel}: {message}"))
        return None

    def _check_key_files(self) -> None:
        """Every key or signature file belongs to a peer file that names <name>.pub."""
        for rel in self.key_files:
            directory, name = rel.rsplit("/", 1)
            match = KEY_FILE_RE.fullmatch(name)
            assert match  # noqa: S101 - only matching names were collected
            peer_file = f"{directory}/{match.group(1)}.yaml"
            uses = self.key_file_users.get(peer_file)
            if uses is None and files.kind_of(self.repo, peer_file) is not None:
                continue  # the peer file itself is broken and already reported
            if uses:
                continue
            why = (
                f"{peer_file} has an inline public_key; use public_key_file: "
                f"{match.group(1)}.pub instead, or remove this file"
                if uses is False
                else f"there is no {peer_file} for it"
            )
            self.problems.append(Problem(rel, 1, 1, "(file)", f"not used: {why}"))

    def _crypto(
        self, doc: Located, base: Crypto, raw: dict[str, Any], path: tuple[str, ...]
    ) -> Crypto:
        phases = {}
        for phase in ("main", "quick"):
            merged = dict(vars(getattr(base, phase)))
            for key, value in raw.get(phase, {}).items():
                if msg := fields.check_phase(phase, key, value):
                    self.problems.append(doc.problem((*path, phase, key), msg))
                    continue
                value = fields.canonical_group(value) if key == "group" else value
                if msg := fields.check_floor(key, value, self.min_crypto):
                    self.problems.append(doc.problem((*path, phase, key), msg))
                    continue
                merged[key] = value
            if merged["enc"] in fields.AEAD_ENC:
                merged["auth"] = None  # an inherited auth would make ipsecctl refuse the rule
            phases[phase] = Phase(**merged)
        return Crypto(**phases)

    def _gre(
        self, doc: Located, raw: dict[str, Any], default_mtu: int | None
    ) -> dict[str, Any] | None:
        before = len(self.problems)
        out: dict[str, Any] = {
            "interface": raw.get("interface"),
            "peer_interface": raw.get("peer_interface"),
            "mtu": raw.get("mtu", default_mtu),
            "description": raw.get("description"),
            "ipv4": self._ipv4(doc, raw.get("ipv4")),
            "ipv6": self._ipv6(doc, raw.get("ipv6")),
        }
        for key in ("interface", "peer_interface"):
            if out[key] is not None and not (
                isinstance(out[key], str) and fields.IFACE_RE.fullmatch(out[key])
            ):
                self.problems.append(
                    doc.problem(("gre", key), "must be greN with N from 0 to 9999")
                )
        if out["description"] is not None and (msg := fields.check_description(out["description"])):
            self.problems.append(doc.problem(("gre", "description"), msg))
        elif out["description"] is not None:
            total = len(f"peerops {doc.value['name']}: {out['description']}")
            if total > fields.IFDESCR_MAX:
                self.problems.append(
                    doc.problem(
                        ("gre", "description"),
                        (
                            f"with the 'peerops {doc.value['name']}: ' prefix the interface "
                            f"description is {total} characters; the kernel keeps "
                            f"{fields.IFDESCR_MAX} (IFDESCRSIZE)"
                        ),
                    )
                )
        if out["ipv4"] is None and out["ipv6"] is None and len(self.problems) == before:
            self.problems.append(doc.problem(("gre",), "needs ipv4 or ipv6 transfer addresses"))
        return out if len(self.problems) == before else None

    def _ipv4(self, doc: Located, raw: dict[str, str] | None) -> Ipv4Pair | None:
        if raw is None:
            return None
        if not self._pair_ok(doc, ("gre", "ipv4"), raw, 4):
            return None
        ours, theirs = (str(fields.ip_address(raw[k])) for k in ("router", "peer"))
        for key, value in (("router", ours), ("peer", theirs)):
            ip = fields.ip_address(value)
            why = fields.impossible_address(ip)
            if ip.is_multicast or ip.is_unspecified or ip.is_loopback or why:
                self.problems.append(
                    doc.problem(
                        ("gre", "ipv4", key), why or f"{value} cannot be a transfer address"
                    )
                )
                return None
        return Ipv4Pair(ours, theirs)

    def _ipv6(self, doc: Located, raw: str | dict[str, str] | None) -> Ipv6Config | None:
        if raw is None:
            return None
        if raw == "eui64":
            return Ipv6Config("eui64")
        path = ("gre", "ipv6")
        if not isinstance(raw, dict) or not self._pair_ok(doc, path, raw, 6):
            return None
        ours, theirs = (ipaddress.IPv6Address(raw[k]) for k in ("router", "peer"))
        for key, ip in (("router", ours), ("peer", theirs)):
            why = fields.impossible_address(ip)
            if ip.is_multicast or ip.is_unspecified or ip.is_loopback or why:
                self.problems.append(
                    doc.problem((*path, key), why or f"{ip} cannot be a transfer address")
                )
                return None
        if ours.is_link_local and theirs.is_link_local:
            return Ipv6Config("link-local", str(ours), str(theirs))
        if ours.is_link_local or theirs.is_link_local:
            self.problems.append(doc.problem(path, "mixes a link-local and a global address"))
            return None
        if ipaddress.IPv6Network(f"{ours}/127", strict=False) != ipaddress.IPv6Network(
            f"{theirs}/127", strict=False
        ):
            self.problems.append(
                doc.problem((*path, "peer"), f"{theirs} is not in the /127 of {ours}")
            )
            return None
        return Ipv6Config("ula", str(ours), str(theirs))

    def _pair_ok(
        self, doc: Located, path: tuple[str, ...], raw: dict[str, str], family: int
    ) -> bool:
        ok = True
        for key in ("router", "peer"):
            if msg := fields.check_address(raw[key], family):
                self.problems.append(doc.problem((*path, key), msg))
                ok = False
        if ok and fields.ip_address(raw["router"]) == fields.ip_address(raw["peer"]):
            self.problems.append(
                doc.problem((*path, "peer"), "the router and the peer have the same address")
            )
            ok = False
        return ok

    # -- checks across one router's peerings ----------------------------------------------------
    def _cross_check(self, router: str) -> None:
        seen: dict[str, dict[object, tuple[Peering, tuple[str, ...]]]] = {
            k: {} for k in ("iface", "endpoint", "id", "addr")
        }
        for p in self.peerings.get(router, []):
            doc = self.origin[(p.router, p.peer)]
            keys = [
                ("iface", p.interface, ("gre", "interface"), "interface"),
                ("endpoint", p.remote_endpoint, ("endpoint",), "endpoint"),
                ("id", p.remote_id.pubkey_path, ("identity",), "identity (same key file)"),
            ]
            keys += [("addr", a, path, "transfer address") for a, path in _transfer_addresses(p)]
            for kind, value, path, label in keys:
                if value is None:
                    continue
                first = seen[kind].setdefault(value, (p, path))
                if first[0] is not p:  # report on both files: either may be the new one
                    other, other_path = first
                    self.problems.append(
                        doc.problem(
                            path,
                            f"{label} {_show(value)} is also used by "
                            f"{other.peer} on {router} ({other.source})",
                        )
                    )
                    self.problems.append(
                        self.origin[(other.router, other.peer)].problem(
                            other_path,
                            f"{label} {_show(value)} is also used by {p.peer} on {router} "
                            f"({p.source})",
                        )
                    )

    # -- one key, one owner ------------------------------------------------------------------------
    def _check_shared_keys(self, router_docs: dict[str, Located]) -> None:
        """Refuse a public key held by two owners (two routers, a router and a peer, or peers of
        different ASNs), on both files: whoever holds the private half could authenticate as
        either, and the usual cause is a pasted key of someone else (often our router's own).
        Peerings of one AS may share a key: one operator's isakmpd has one local.key."""
        holders: dict[str, list[tuple[tuple[str, object], Located, tuple[str, ...], str]]] = {}
        for name, router in self.routers.items():
            if router.public_key and name in router_docs:
                holders.setdefault(router.public_key, []).append(
                    (("router", name), router_docs[name], ("public_key",), f"router {name}")
                )
        for peerings in self.peerings.values():
            for p in peerings:
                if p.internal:
                    continue
                doc = self.origin[(p.router, p.peer)]
                path = ("public_key_file",) if "public_key_file" in doc.value else ("public_key",)
                holders.setdefault(p.public_key, []).append(
                    (("asn", p.asn), doc, path, f"{p.router}/{p.peer} (AS{p.asn})")
                )
        for group in holders.values():
            if len({owner for owner, *_ in group}) < 2:
                continue
            for owner, doc, path, _ in group:
                others = sorted(
                    {f"{label} in {d.file}" for o, d, _, label in group if o != owner}
                )
                shown = ", ".join(others[:3]) + (
                    f" and {len(others) - 3} more" if len(others) > 3 else ""
                )
                self.problems.append(
                    doc.problem(
                        path,
                        f"this public key is also the key of {shown}: each router "
                        "and each peer proves itself with a key of its own (a peer puts its "
                        "router's /etc/isakmpd/local.pub here)",
                    )
                )


_SIGNATURE_HINT = (
    "signatures cover a key file: put the key in <name>.pub (public_key_file: <name>.pub) "
    "and sign that file as <name>.pub.asc (gpg -sb -a) or <name>.pub.sig "
    "(ssh-keygen -Y sign -n peerops)"
)


def _not_regular(entry: files.Entry) -> str | None:
    """Why a directory entry is not read, when it is a link or a special file."""
    if entry.kind == "symlink":
        return "is a symbolic link: only regular files inside the repo are read"
    if entry.kind == "other":
        return "is not a regular file (device, FIFO or socket): not read"
    return None


def _transfer_addresses(p: Peering) -> list[tuple[object, tuple[str, ...]]]:
    """Addresses and /127 networks that must be unique on a router (link-local are per link)."""
    out: list[tuple[object, tuple[str, ...]]] = []
    if p.ipv4:
        out += [
            (fields.ip_address(p.ipv4.router), ("gre", "ipv4", "router")),
            (fields.ip_address(p.ipv4.peer), ("gre", "ipv4", "peer")),
        ]
    if p.ipv6 and p.ipv6.mode == "ula" and p.ipv6.router:
        out.append(
            (ipaddress.IPv6Network(f"{p.ipv6.router}/127", strict=False), ("gre", "ipv6", "router"))
        )
    return out


def _show(value: object) -> str:
    return str(value).removeprefix("/etc/isakmpd/pubkeys/")


def _compressed(address: str | None) -> str | None:
    return str(fields.ip_address(address)) if address else None


def _flip4(pair: Ipv4Pair | None) -> Ipv4Pair | None:
    return Ipv4Pair(pair.peer, pair.router) if pair else None


def _flip6(cfg: Ipv6Config | None) -> Ipv6Config | None:
    if cfg is None or cfg.mode == "eui64":
        return cfg
    return Ipv6Config(cfg.mode, cfg.peer, cfg.router)


def _parse(text: str, shown: str, kind: str, stem: str) -> tuple[Located | None, list[Problem]]:
    """Parse and schema-check the text of one file; the document is None when unusable."""
    doc, problems = yamlpos.load(text, shown)
    if doc is None:
        return None, problems
    if not isinstance(doc.value, dict):
        return None, [*problems, doc.problem((), "the file must hold a mapping of fields")]
    found = schema.validate(doc, kind)
    problems += found
    if doc.value.get("name") != stem:
        return None, [*problems, doc.problem(("name",), f"must equal the file name {stem!r}")]
    return (None if found else doc), problems
