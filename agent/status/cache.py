"""A read-only copy of a state repo's status branch (and its main) in the user's cache dir.

`peerops fleet --remote URL` and `peerops history` read the fleet's reports from any machine:
no root, no agent configuration, nothing written to the remote or to a router's checkout. The
cache is a bare repository per (remote, branch) under $XDG_CACHE_HOME/peerops (default
~/.cache/peerops); a fetch that fails or times out leaves the last fetched copy in place, and
the reader works on it with a note saying how old it is.

Everything read from the branch comes from every router of the fleet (and whoever else can
push to it): paths are matched whole, blobs are size-capped, and parsing is left to callers
that validate.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.errors import PeeropsError
from agent.git import redact
from agent.status.publish import BRANCH_RE

REPORT_PATH_RE = re.compile(r"reports/([a-z][a-z0-9-]{0,30})\.yaml")
MAX_REPORT_BYTES = 1 << 20  # a real report is a few KiB; anything larger is not read
STATUS_REF = "refs/peerops/status"
MAIN_REF = "refs/peerops/main"
_STAMP = "peerops-fetched.json"
_MISSING = "couldn't find remote ref"


class CacheError(PeeropsError):
    """The status branch could not be read: not fetched now, and never fetched before."""


@dataclass(frozen=True)
class Snapshot:
    """What a reader works on: the status tip, the state repo's main, and how fresh they are."""

    remote: str
    branch: str
    tip: str | None  # the status branch's tip (None: the remote has no such branch)
    main: str | None  # the state repo's main tip (None: not fetched or absent)
    fetched_at: float  # when the copy was last fetched from the remote
    offline: bool  # the fetch failed now: this is the copy fetched at fetched_at
    note: str | None  # why the copy may be old, for a person


@dataclass(frozen=True)
class ReportChange:
    """One report as a status commit set it (data None: the commit deleted it)."""

    status_commit: str
    committed: float  # the status commit's committer time
    router: str
    data: bytes | None
    initial: bool = False  # the report in force when the window opened, not a change in it


def cache_root() -> Path:
    """$XDG_CACHE_HOME/peerops, or ~/.cache/peerops (the XDG base directory rule)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "peerops"


def check_remote(remote: str) -> str:
    """Ensure remote can go into a git argv as a URL or path (never read as an option); a
    local directory is made absolute, so one remote has one cache from any directory."""
    if not remote or remote.startswith("-") or any(ord(ch) < 32 for ch in remote):
        raise ValueError(f"remote {remote!r} is not a URL or path")
    return os.path.abspath(remote) if os.path.isdir(remote) else remote


class StatusCache:
    """The cached copy of one remote's status branch; every git call is an argv list with a
    timeout, and a timed-out git is killed with its children."""

    def __init__(
        self,
        remote: str,
        *,
        branch: str = "status",
        main: str = "main",
        root: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        for name in (branch, main):
            if not BRANCH_RE.fullmatch(name) or ".." in name or name.endswith((".lock", ".")):
                raise ValueError(f"branch name {name!r} is not a plain git branch name")
        self.remote = check_remote(remote)
        self.branch = branch
        self.main = main
        self.timeout = timeout
        key = hashlib.sha256(f"{self.remote}\0{branch}\0{main}".encode()).hexdigest()[:20]
        self.dir = (root or cache_root()) / key

    # ---- fetching --------------------------------------------------------------------------

    def refresh(self, *, fetch: bool = True) -> Snapshot:
        """Fetch the status branch and main into the cache and return the snapshot to read;
        when the fetch fails (or fetch=False) return the last fetched copy with a note.

        Raises CacheError when there is no earlier copy to fall back on."""
        with self._locked():
            error = self._fetch() if fetch else "not fetched (--offline)"
            stamp = self._stamp()
            if error is None:
                stamp = {"fetched_at": time.time(), "remote": redact(self.remote)}
                self._write_stamp(stamp)
            elif stamp is None:
                raise CacheError(
                    f"cannot read the status branch of {redact(self.remote)}: {error}; "
                    "no copy of it was fetched before"
                )
            fetched_at = float(stamp["fetched_at"])
            note = None
            if error is not None:
                age = duration(time.time() - fetched_at)
                note = f"offline: {error}; showing the copy fetched {age} ago ({_iso(fetched_at)})"
            tip, main = self._ref(STATUS_REF), self._ref(MAIN_REF)
            return Snapshot(
                self.remote, self.branch, tip, main, fetched_at, error is not None, note
            )

    def _fetch(self) -> str | None:
        """Fetch both branches; return why it failed, or None."""
        refspecs = [
            f"+refs/heads/{self.branch}:{STATUS_REF}",
            f"+refs/heads/{self.main}:{MAIN_REF}",
        ]
        deadline = time.monotonic() + self.timeout
        out = self._fetch_refs(refspecs, deadline)
        if out is not None and f"{_MISSING} refs/heads/{self.main}" in out:
            self._git("update-ref", "-d", MAIN_REF, check=False)
            out = self._fetch_refs(refspecs[:1], deadline)
        if out is not None and _MISSING in out:
            self._git("update-ref", "-d", STATUS_REF, check=False)
            return None  # the remote is there and has no status branch yet: nothing reported
        return out

    def _fetch_refs(self, refspecs: Sequence[str], deadline: float) -> str | None:
        left = deadline - time.monotonic()
        if left <= 0:
            return f"fetch from {redact(self.remote)} timed out after {self.timeout:g}s"
        status, _, err = self._run(
            ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-auto-gc",
             "--no-recurse-submodules", "--", self.remote, *refspecs],
            timeout=left,
        )
        if status == 0:
            return None
        if status is None:
            return f"fetch from {redact(self.remote)} timed out after {self.timeout:g}s"
        return f"fetch from {redact(self.remote)} failed: {_last_line(err)}"

    # ---- reading ---------------------------------------------------------------------------

    def reports(self, rev: str) -> dict[str, bytes]:
        """Every router's report at rev: router name -> bytes (names from valid paths only;
        oversized blobs left out)."""
        listing = self._git("ls-tree", "-z", "-l", "--full-tree", rev, "--", "reports/")
        wanted: dict[str, str] = {}
        for record in filter(None, listing.split("\0")):
            meta, path = record.split("\t", 1)
            mode, kind, oid, size = meta.split()
            match = REPORT_PATH_RE.fullmatch(path)
            if match and kind == "blob" and mode == "100644" and int(size) <= MAX_REPORT_BYTES:
                wanted[match.group(1)] = oid
        blobs = self._blobs(list(wanted.values()))
        return {router: blobs[oid] for router, oid in wanted.items() if oid in blobs}

    def changes(self, rev: str, since: float | None = None) -> list[ReportChange]:
        """Every change to a report on the branch up to rev, oldest first; with since, only
        the commits after since plus, per router, the report in force at since (so a reader
        knows each peer's state when the window opens)."""
        args = ["log", "--reverse", "--no-merges", "--raw", "--no-abbrev", "--no-renames", "-z",
                "--format=%x01%H %ct", rev]
        if since is not None:
            args.insert(1, f"--since={int(since)}")
        out = self._git(*args, "--", "reports/")
        pending: list[tuple[str, float, str, str | None]] = []
        for chunk in filter(None, out.split("\x01")):
            head, _, raw = chunk.partition("\0")  # "%H %ct", NUL, then the raw diff
            commit, stamp = head.split()
            fields = [f for f in raw.split("\0") if f.strip()]
            for meta, path in zip(fields[::2], fields[1::2], strict=True):
                match = REPORT_PATH_RE.fullmatch(path)
                if not match:
                    continue
                parts = meta.strip().lstrip(":").split()
                oid = None if parts[4] == "D" else parts[3]
                pending.append((commit, float(stamp), match.group(1), oid))
        if since is not None and pending:
            first = pending[0][0]
            start = self._tree_ids(f"{first}^")
        else:
            start = {}
        blobs = self._blobs([*start.values(), *(oid for *_, oid in pending if oid)])
        initial = [
            ReportChange(pending[0][0], since or 0.0, r, blobs.get(oid), initial=True)
            for r, oid in sorted(start.items())
        ]
        return initial + [
            ReportChange(c, t, r, blobs.get(oid) if oid else None) for c, t, r, oid in pending
        ]

    def _tree_ids(self, rev: str) -> dict[str, str]:
        status, out, _ = self._run(["ls-tree", "-z", "--full-tree", rev, "--", "reports/"])
        if status != 0:
            return {}  # rev is the root commit: nothing before it
        ids = {}
        for record in filter(None, out.decode().split("\0")):
            meta, path = record.split("\t", 1)
            match = REPORT_PATH_RE.fullmatch(path)
            if match:
                ids[match.group(1)] = meta.split()[2]
        return ids

    def behind(self, commit: str | None, main: str | None) -> int | None:
        """How many commits of main the given state-repo commit lacks (None: unknown, e.g. not
        on main or main not fetched)."""
        if not commit or not main or not re.fullmatch(r"[0-9a-f]{40}([0-9a-f]{24})?", commit):
            return None
        status, _, _ = self._run(["merge-base", "--is-ancestor", commit, main])
        if status != 0:
            return None
        return int(self._git("rev-list", "--count", f"{commit}..{main}").strip())

    def subjects(self, commits: Sequence[str]) -> dict[str, str]:
        """The subject line of each state-repo commit that the cache holds."""
        known = [c for c in dict.fromkeys(commits) if re.fullmatch(r"[0-9a-f]{40}", c or "")]
        if not known:
            return {}
        batch = "".join(f"{c}\n" for c in known).encode()
        _, out, _ = self._run(["cat-file", "--batch"], stdin=batch)
        subjects, pos = {}, 0
        for commit in known:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            if header[-1] == b"missing":
                pos = end + 1
                continue
            size = int(header[2])
            body = out[end + 1 : end + 1 + size].decode(errors="replace")
            pos = end + 1 + size + 1
            if header[1] == b"commit":
                message = body.split("\n\n", 1)[1] if "\n\n" in body else ""
                subjects[commit] = message.strip().splitlines()[0] if message.strip() else ""
        return subjects

    def _blobs(self, oids: Sequence[str]) -> dict[str, bytes]:
        unique = list(dict.fromkeys(oids))
        if not unique:
            return {}
        batch = "".join(f"{oid}\n" for oid in unique).encode()
        _, raw, _ = self._run(["cat-file", "--batch"], stdin=batch)
        blobs: dict[str, bytes] = {}
        pos = 0
        for oid in unique:
            end = raw.index(b"\n", pos)
            header = raw[pos:end].split()
            if header[-1] == b"missing":
                pos = end + 1
                continue
            size = int(header[2])
            if header[1] == b"blob" and size <= MAX_REPORT_BYTES:
                blobs[oid] = raw[end + 1 : end + 1 + size]
            pos = end + 1 + size + 1
        return blobs

    def _ref(self, ref: str) -> str | None:
        status, out, _ = self._run(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"])
        return out.decode().strip() if status == 0 else None

    # ---- plumbing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Ensure the cache repository exists and hold its lock (two readers may share it)."""
        try:
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not (self.dir / "HEAD").is_file():
                self._git("init", "--quiet", "--bare")
            fd = os.open(self.dir / "peerops.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise CacheError(f"cache {self.dir}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _stamp(self) -> dict[str, float] | None:
        try:
            data = json.loads((self.dir / _STAMP).read_text())
            return data if isinstance(data.get("fetched_at"), int | float) else None
        except (OSError, ValueError, AttributeError):
            return None

    def _write_stamp(self, stamp: dict[str, object]) -> None:
        tmp = self.dir / f"{_STAMP}.tmp"
        tmp.write_text(json.dumps(stamp))
        tmp.replace(self.dir / _STAMP)

    def _git(self, *argv: str, check: bool = True) -> str:
        status, out, err = self._run(list(argv))
        if check and status != 0:
            raise CacheError(f"git {argv[0]} in {self.dir} failed: {_last_line(err)}")
        return out.decode(errors="replace")

    def _run(
        self, argv: list[str], *, timeout: float | None = None, stdin: bytes | None = None
    ) -> tuple[int | None, bytes, str]:
        """Run git in the cache; (status, stdout, stderr), status None when it timed out (the
        whole process group is killed: a fetch may have started helpers)."""
        env = {
            **os.environ,
            "GIT_DIR": str(self.dir),
            "GIT_TERMINAL_PROMPT": "0",  # never wait for a password nobody will type
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
            "LC_ALL": "C",  # error texts are shown to people and matched here
        }
        for name in ("GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
            env.pop(name, None)
        proc = subprocess.Popen(
            ["git", "-c", "core.hooksPath=/dev/null", *argv],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(stdin, timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return None, b"", "timed out"
        return proc.returncode, out, err.decode(errors="replace")


def _last_line(text: str) -> str:
    """git's first meaningful fatal:/error: line, credentials redacted (agent/git.py)."""
    from agent.git import first_error

    return first_error(text)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def duration(seconds: float) -> str:
    """A short human duration: 45s, 12m, 3h, 2d."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
