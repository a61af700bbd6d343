"""Publish this router's status files on the shared status branch: one branch, many writers.

Every router commits only its own files (`reports/<router>.yaml`, `keys/<router>.pub`) from a
checkout of its own, so concurrent pushes race but never really conflict. A rejected push is
answered with a fetch, a replay of our queued commits onto the remote tip and another push after
a jittered exponential backoff; whatever still cannot be pushed stays as local commits (the
queue) and goes out with the next call. Failures of the remote are reported in PublishResult;
a local failure (the report could not even be queued) raises PublishError.

Refs in the checkout:
  refs/heads/<branch>           the remote tip as last seen, plus our queued commits on top
  refs/remotes/origin/<branch>  the remote tip as last fetched or pushed; absent when the remote
                                has no such branch
  refs/peerops/base             the remote tip our queue was last built on; it survives a remote
                                that was re-created empty, so only the queue is replayed then

Commits are written with `git fast-import` rather than `git commit` / `git rebase`:
- our version of our files must win byte for byte, while `rebase -X theirs` still merges the
  non-conflicting hunks of a hand edit and stops on a modify/delete conflict; fast-import sets
  our paths to exactly our blobs and takes every other path from the remote tip;
- the whole replay is one process that updates the branch at its end, so a process killed at
  any moment leaves the branch before or after the replay, never half-way;
- fewer processes between fetch and push means a shorter race window when many routers push
  at once (fetch, read refs, fast-import, push).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import git
from git.exc import GitCommandNotFound

from agent.errors import PeeropsError
from agent.git import GitSetupError, GitTransport, first_error, redact, ssh_command
from agent.git import options as transport_options

ROUTER_RE = re.compile(r"[a-z][a-z0-9-]{0,30}")
# Kept to a single plain component: the branch name goes into refspecs and ref paths.
BRANCH_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
BASE_REF = "refs/peerops/base"
LOCK_NAME = "peerops-publish.lock"
# Lock files a killed git process can leave behind; under our flock nobody else runs git here.
_STALE_LOCKS = ("index.lock", "HEAD.lock", "config.lock", "packed-refs.lock", "shallow.lock")
_REBASE_DIRS = ("rebase-merge", "rebase-apply")
_STATE_FILES = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "REBASE_HEAD")
_MISSING_BRANCH = "couldn't find remote ref"
# No tags, no submodules, no FETCH_HEAD, no forced-update scan, no gc: only the branch's objects.
_FETCH = (
    "--quiet",
    "--no-tags",
    "--no-recurse-submodules",
    "--no-write-fetch-head",
    "--no-show-forced-updates",
    "--no-auto-gc",
)
# Oldest first, with the raw diff of each commit (our paths only) after its header fields.
_QUEUE_LOG = (
    "--reverse",
    "--no-merges",
    "--raw",
    "--no-abbrev",
    "--no-renames",
    "-z",
    "--date=raw",
    "--format=%x01%an%x00%ae%x00%ad%x00%B",
)

_Entry = tuple[str, str]  # (mode, blob id) of a file in a tree


@dataclass(frozen=True)
class PublishResult:
    committed: bool  # a new commit was made this call
    pushed: bool  # the remote now has every local status commit
    attempts: int  # push attempts made this call
    pending: int  # local commits not yet on the remote (queued for the next call)
    error: str | None  # last error (remote down, rejected after the bound), None when pushed


class PublishError(PeeropsError, RuntimeError):
    """A local git operation failed, so nothing new was queued (the remote is not involved)."""


@dataclass(frozen=True)
class _Out:
    status: int
    out: str | bytes
    err: str

    @property
    def text(self) -> str:
        """Stdout as stripped text."""
        return self.out.strip() if isinstance(self.out, str) else self.out.decode().strip()

    @property
    def data(self) -> bytes:
        """Stdout as bytes, exactly as git wrote it."""
        return self.out if isinstance(self.out, bytes) else self.out.encode()


@dataclass(frozen=True)
class _Refs:
    head: str | None  # our branch
    tip: str | None  # the remote's branch as last fetched or pushed
    base: str | None  # the remote tip our queue was built on


@dataclass(frozen=True)
class _Change:
    """One of our commits, as needed to write it again on another parent."""

    author: tuple[str, str, str]  # name, email, raw date ("<epoch> <tz>")
    message: str
    entries: Mapping[str, _Entry] = field(default_factory=dict)  # our files set by the commit
    removed: tuple[str, ...] = ()  # our files the commit deleted


@dataclass(frozen=True)
class _Push:
    ok: bool
    rejected: bool  # the remote answered and refused the update (retry after a fetch)
    error: str | None


class StatusPublisher:
    """Commits this router's status files in its own checkout and pushes them to `branch`."""

    def __init__(
        self,
        remote: str,
        router: str,
        checkout: Path,
        *,
        branch: str = "status",
        author: tuple[str, str] | None = None,
        max_attempts: int = 8,
        base_delay: float = 0.2,
        max_delay: float = 10.0,
        git_timeout: float = 60.0,
        transport: GitTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        _check_settings(remote, router, branch, max_attempts, git_timeout)
        self.remote = remote
        self.router = router
        self.branch = branch
        self.checkout = Path(checkout).absolute()
        self.author = author or (f"peerops {router}", f"peerops@{router}.invalid")
        _check_identity(self.author)
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.git_timeout = git_timeout  # local git commands
        # fetch and push: the configured deploy key, credentials and timeouts (agent/git.py)
        self.transport = transport or GitTransport(
            fetch_timeout=git_timeout, push_timeout=git_timeout
        )
        self._sleep = sleep
        # Jitter, not cryptography; a generator per publisher so routers never back off in step.
        self._rng = rng or random.Random()  # noqa: S311
        self.paths = (f"reports/{router}.yaml", f"keys/{router}.pub")
        self._local = f"refs/heads/{branch}"
        self._tracking = f"refs/remotes/origin/{branch}"
        self._git_dir = self.checkout / ".git"
        self._g = self._make_git()
        self._remote_configured = False
        # State of one call, reset when the lock is taken.
        self._queue: list[_Change] | None = None  # our commits the remote lacks, oldest first
        self._built_on: str | None = None  # the remote tip the queue now sits on
        self._moved = False  # the branch moved: the work tree needs refreshing

    # ---- public API --------------------------------------------------------------------------

    def publish(self, files: Mapping[str, bytes], message: str) -> PublishResult:
        """Write files (paths relative to the branch root), commit them with message if the tree
        changed, then push every pending commit.

        Ensures: paths, contents and message are checked before anything is written
        (ValueError, TypeError); a commit is made only when our files differ from the remote
        tip (from the local branch while the remote is unreachable); files not given keep the
        bytes we committed last, so a remote that lost them gets them back; on return the
        commit is on the remote or queued locally (pending > 0, error set)."""
        wanted = self._check_files(files)
        _check_message(message)
        with self._locked():
            self._recover()
            carried = self._own_entries(self._refs().head)
            blobs = {path: ("100644", self._store_blob(data)) for path, data in wanted.items()}
            error = self._sync()
            committed = self._commit({**carried, **blobs}, message)
            return self._finish(committed, error)

    def flush(self) -> PublishResult:
        """Push commits queued by earlier calls (no new commit).

        Ensures: on return every queued commit is on the remote, or pending and error say why."""
        with self._locked():
            self._recover()
            if self._pending(self._refs()) == 0:
                return PublishResult(False, True, 0, 0, None)
            return self._finish(False, self._sync())

    def read_branch(self, *, fetch: bool = True) -> dict[str, bytes]:
        """Fetch the status branch and return every file on the remote's tip (path -> bytes);
        {} if the branch does not exist yet.

        With fetch=False the tip fetched last is read (no network). Raises PublishError when
        the remote cannot be reached, rather than passing an old tip off as the current one."""
        with self._locked():
            self._recover()
            if fetch:
                error = self._fetch()
                if error is not None:
                    raise PublishError(error)
            tip = self._refs().tip
            return {} if tip is None else self._read_tree(tip)

    # ---- validation --------------------------------------------------------------------------

    def _check_files(self, files: Mapping[str, bytes]) -> dict[str, bytes]:
        """Ensure every path is one of this router's own files and every value is bytes."""
        wanted: dict[str, bytes] = {}
        for path, data in files.items():
            # Exact membership, not normalisation: no path is ever built from the caller's text.
            if path not in self.paths:
                raise ValueError(
                    f"{path!r}: router {self.router} may write only {' and '.join(self.paths)}"
                )
            if not isinstance(data, bytes | bytearray):
                raise TypeError(f"{path}: content must be bytes, not {type(data).__name__}")
            wanted[path] = bytes(data)
        return wanted

    # ---- running git ---------------------------------------------------------------------------

    def _make_git(self) -> git.Git:
        """A gitpython command runner bound to this checkout and independent of the caller's git
        configuration and environment."""
        g = git.Git(str(self.checkout))
        name, email = self.author
        g.set_persistent_git_options(
            c=[
                "core.hooksPath=/dev/null",  # the branch's content must never run code here
                f"user.name={name}",
                f"user.email={email}",
                "commit.gpgSign=false",
                "gc.autoDetach=false",  # no background gc outliving the timeout
                "core.fsmonitor=false",
            ]
        )
        git_dir = str(self._git_dir)
        g.update_environment(
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            # Inherited GIT_* variables (e.g. when run from a hook) must not redirect us.
            GIT_DIR=git_dir,
            GIT_WORK_TREE=str(self.checkout),
            GIT_INDEX_FILE=os.path.join(git_dir, "index"),
            GIT_OBJECT_DIRECTORY=os.path.join(git_dir, "objects"),
            GIT_COMMON_DIR=git_dir,
            GIT_ASKPASS="",  # no prompt program either (git asks it even without a terminal)
            GIT_CONFIG_PARAMETERS="",
            GIT_CONFIG_COUNT="0",
            GIT_AUTHOR_NAME=name,
            GIT_AUTHOR_EMAIL=email,
            GIT_COMMITTER_NAME=name,
            GIT_COMMITTER_EMAIL=email,
        )
        return g

    def _git(
        self,
        *argv: str,
        check: bool = True,
        stdin: bytes | None = None,
        binary: bool = False,
        timeout: float | None = None,
        remote: bool = False,
    ) -> _Out:
        """Run one git subcommand as an argv list under git_timeout (or timeout); remote: with
        the transport's -c options; with check, ensure it succeeded or raise PublishError."""
        runner, env = self._g, None
        if remote:
            try:
                runner = self._g(c=transport_options(self.transport)[1::2])
            except GitSetupError as exc:
                return _Out(1, "", f"error: {exc}")
            # git prefers GIT_SSH_COMMAND to core.sshCommand: an inherited one would bypass the
            # deploy key and known_hosts (gitpython can only add variables, not remove them).
            env = {"GIT_SSH_COMMAND": ssh_command(self.transport)}
        command = getattr(runner, argv[0].replace("-", "_"))
        with contextlib.ExitStack() as stack:
            istream = None
            if stdin is not None:
                istream = stack.enter_context(tempfile.TemporaryFile())
                istream.write(stdin)
                istream.seek(0)
            try:
                status, out, err = command(
                    *argv[1:],
                    istream=istream,
                    with_extended_output=True,
                    with_exceptions=False,
                    kill_after_timeout=timeout or self.git_timeout,
                    stdout_as_string=not binary,
                    shell=False,
                    env=env,
                )
            except GitCommandNotFound as exc:
                raise PublishError(f"git not found: {exc}") from exc
        result = _Out(status, out, err)
        if check and status != 0:
            raise PublishError(f"git {argv[0]} failed ({status}): {first_error(err)}")
        return result

    def _refs(self) -> _Refs:
        """Our branch, the remote tip and the base, read in one call (None where absent)."""
        names = (self._local, self._tracking, BASE_REF)
        out = self._git("for-each-ref", "--format=%(refname) %(objectname)", *names).text
        found = dict(line.split(" ", 1) for line in out.splitlines())
        return _Refs(*(found.get(name) for name in names))

    # ---- the checkout --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Ensure the checkout exists as a git repository and hold its lock (the daemon, a manual
        run and `peerops fleet` may share one checkout); reset the per-call state."""
        try:
            self.checkout.mkdir(mode=0o755, parents=True, exist_ok=True)
            if not (self._git_dir / "HEAD").is_file():
                self._git("init", "--quiet", f"--initial-branch={self.branch}")
            fd = os.open(self._git_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise PublishError(f"status checkout {self.checkout}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._queue, self._built_on, self._moved = None, None, False
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _recover(self) -> None:
        """Ensure the checkout is usable after a killed process: stale locks removed, a rebase
        or merge in progress aborted, HEAD on our branch, the remote configured."""
        for name in _STALE_LOCKS:
            (self._git_dir / name).unlink(missing_ok=True)
        for lock in (self._git_dir / "refs").rglob("*.lock"):
            lock.unlink(missing_ok=True)
        # A rebase moves the branch only when it completes, so dropping the state of one left
        # half-way loses nothing (no `rebase --abort`: HEAD is put back on our branch below
        # and the work tree, which may be half-way too, reset at the end of the call).
        if any((self._git_dir / name).exists() for name in _REBASE_DIRS):
            self._moved = True
        for name in (*_REBASE_DIRS, "sequencer"):
            shutil.rmtree(self._git_dir / name, ignore_errors=True)
        for name in _STATE_FILES:
            (self._git_dir / name).unlink(missing_ok=True)
        if (self._git_dir / "HEAD").read_text().strip() != f"ref: {self._local}":
            self._git("symbolic-ref", "HEAD", self._local)
            self._moved = True
        self._configure_remote()

    def _configure_remote(self) -> None:
        """Ensure `origin` points at the remote and fetches only the status branch (never the
        desired-state history)."""
        if self._remote_configured:
            return
        out = self._git("config", "--get-regexp", r"^remote\.origin\.(url|fetch)$", check=False)
        current = dict(line.split(" ", 1) for line in out.text.splitlines())
        if "remote.origin.url" not in current:
            # -t: the fetch refspec names the status branch only.
            self._git("remote", "add", "-t", self.branch, "--no-tags", "origin", self.remote)
        else:
            if current["remote.origin.url"] != self.remote:
                self._git("remote", "set-url", "origin", self.remote)
            if current.get("remote.origin.fetch") != f"+refs/heads/{self.branch}:{self._tracking}":
                self._git("remote", "set-branches", "origin", self.branch)
        self._remote_configured = True

    # ---- reading and writing objects -----------------------------------------------------------

    def _store_blob(self, data: bytes) -> str:
        """Write data as a blob, byte for byte (no attribute filters), and return its id."""
        return self._git("hash-object", "-w", "--no-filters", "--stdin", stdin=data).text

    def _own_entries(self, rev: str | None) -> dict[str, _Entry]:
        """Our files in rev as path -> (mode, blob id); {} without a rev."""
        if rev is None:
            return {}
        out = self._git("ls-tree", "-z", "--full-tree", rev, "--", *self.paths).text
        entries: dict[str, _Entry] = {}
        for record in filter(None, out.split("\0")):
            meta, path = record.split("\t", 1)
            mode, kind, oid = meta.split()
            if kind == "blob" and path in self.paths:
                entries[path] = (mode, oid)
        return entries

    def _read_tree(self, rev: str) -> dict[str, bytes]:
        """Every regular file in rev as path -> bytes."""
        listing = self._git("ls-tree", "-r", "-z", "--full-tree", rev).text
        wanted: list[tuple[str, str]] = []
        for record in filter(None, listing.split("\0")):
            meta, path = record.split("\t", 1)
            mode, kind, oid = meta.split()
            if kind == "blob" and mode in ("100644", "100755"):
                wanted.append((path, oid))
        if not wanted:
            return {}
        batch = "".join(f"{oid}\n" for _, oid in wanted).encode()
        raw = self._git("cat-file", "--batch", stdin=batch, binary=True).data
        files: dict[str, bytes] = {}
        pos = 0
        for path, _oid in wanted:
            header_end = raw.index(b"\n", pos)
            size = int(raw[pos:header_end].split()[2])
            files[path] = raw[header_end + 1 : header_end + 1 + size]
            pos = header_end + 1 + size + 1  # each object is followed by a newline
        return files

    def _write_commits(self, parent: str | None, changes: Sequence[_Change]) -> str:
        """Write changes as a chain of commits on parent (None: a new orphan root), point our
        branch at the last one and return its id.

        Ensures: each commit keeps its author, date and message; our files take exactly the
        given blobs, every other path comes from parent; the branch moves once, at the end."""
        name, email = self.author
        now = f"{int(time.time())} +0000"
        stream = [b"feature done\n"]
        for mark, change in enumerate(changes, 1):
            a_name, a_email, a_date = change.author
            message = change.message.encode() + b"\n"
            head = [
                f"commit {self._local}",
                f"mark :{mark}",
                f"author {a_name} <{a_email}> {a_date}",
                f"committer {name} <{email}> {now}",
                f"data {len(message)}",
            ]
            body = [f"from {parent}"] if mark == 1 and parent else []
            body += [f"from :{mark - 1}"] if mark > 1 else []
            # Paths are ours, fixed at construction ([a-z0-9-] names): they need no quoting.
            body += [f"M {mode} {oid} {path}" for path, (mode, oid) in change.entries.items()]
            body += [f"D {path}" for path in change.removed]
            stream += ["\n".join(head).encode() + b"\n", message, "\n".join(body).encode() + b"\n"]
        stream.append(f"get-mark :{len(changes)}\ndone\n".encode())
        # --force: a replay replaces the branch (not a fast-forward); we hold the checkout lock.
        out = self._git(
            "fast-import", "--quiet", "--force", "--date-format=raw", stdin=b"".join(stream)
        )
        self._moved = True
        return out.text

    # ---- commits -------------------------------------------------------------------------------

    def _commit(self, desired: Mapping[str, _Entry], message: str) -> bool:
        """Ensure the branch tip holds our desired files; commit only if one differs from the
        tip, and return whether a commit was made."""
        head = self._refs().head
        current = self._own_entries(head)
        changed = {path: entry for path, entry in desired.items() if current.get(path) != entry}
        if not changed:
            return False
        name, email = self.author
        change = _Change((name, email, f"{int(time.time())} +0000"), message, changed)
        self._write_commits(head, [change])
        if self._queue is not None:
            self._queue.append(change)
        return True

    def _load_queue(self, head: str, refs: _Refs) -> list[_Change]:
        """Our commits that the remote lacks, oldest first, with what each did to our files.
        Excluding the base as well keeps a re-created remote from getting our whole old history
        replayed (only the queue; publish() restores our latest files anyway)."""
        excludes = [f"^{ref}" for ref in (refs.tip, refs.base) if ref]
        out = self._git("log", *_QUEUE_LOG, head, *excludes, "--", *self.paths).text
        return [_parse_change(chunk) for chunk in out.split("\x01") if chunk.strip()]

    # ---- talking to the remote -----------------------------------------------------------------

    def _fetch(self) -> str | None:
        """Ensure the tracking ref is the remote's tip (deleted if the remote has no such
        branch); return the error if the remote could not be read."""
        out = self._git(
            "fetch", *_FETCH, "origin", check=False, remote=True,
            timeout=self.transport.fetch_timeout,
        )
        if out.status == 0:
            return None
        if _MISSING_BRANCH in out.err:
            # Empty or re-created remote: forget its old tip, so every local commit is pending.
            self._git("update-ref", "-d", self._tracking)
            return None
        return f"fetch from {redact(self.remote)} failed: {first_error(out.err)}"

    def _sync(self) -> str | None:
        """Fetch and ensure our queued commits sit on the remote's tip (adopt, fast-forward or
        replay); return the error if the remote could not be read (the queue is kept as is)."""
        error = self._fetch()
        if error is not None:
            return error
        refs = self._refs()
        if refs.tip is None:
            return None  # no branch there: the push (re)creates it from our history
        if refs.head is not None and refs.tip in (refs.base, self._built_on):
            return None  # the remote has not moved since our queue was built on it
        if refs.head is None:
            self._queue = []
        elif self._queue is None:
            self._queue = self._load_queue(refs.head, refs)
        if self._queue:
            self._write_commits(refs.tip, self._queue)
        elif refs.head != refs.tip:
            self._git("update-ref", self._local, refs.tip)  # nothing queued: adopt or fast-forward
            self._moved = True
        self._built_on = refs.tip
        return None

    def _push(self) -> _Push:
        """One push of our branch, never forced: the remote only ever fast-forwards."""
        refspec = f"{self._local}:refs/heads/{self.branch}"
        out = self._git(
            "push", "--porcelain", "--no-verify", "origin", refspec, check=False, remote=True,
            timeout=self.transport.push_timeout,
        )
        if out.status == 0:
            return _Push(True, False, None)
        refused = [ln for ln in out.text.splitlines() if ln.startswith("!\t")]
        if refused:
            # "[rejected] (fetch first)": another router got there first. "[remote rejected]
            # (failed to update ref)": two pushes raced for the ref lock. Both are retried.
            return _Push(False, True, f"push rejected: {refused[0].split(chr(9))[-1]}")
        return _Push(
            False, False, f"push to {redact(self.remote)} failed: {first_error(out.err)}"
        )

    def _pending(self, refs: _Refs) -> int:
        """Local commits that are not on the remote as last seen."""
        if refs.head is None:
            return 0
        revs = [refs.head, f"^{refs.tip}"] if refs.tip else [refs.head]
        return int(self._git("rev-list", "--count", *revs).text)

    def _delay(self, retry: int) -> float:
        """Jittered exponential backoff before retry number retry (0-based)."""
        return min(self.max_delay, self.base_delay * 2**retry) * self._rng.uniform(0.5, 1.5)

    def _push_queue(self) -> tuple[int, str | None]:
        """Push until the remote has every local commit, at most max_attempts pushes; on a
        rejection back off, fetch, replay and try again. Returns (attempts, last error).

        A rejection means another router's push landed between our fetch and our push, and
        those windows never overlap: with N routers publishing at once, max_attempts >= N
        guarantees that every report lands; the backoff makes far fewer attempts the rule."""
        attempts = 0
        error: str | None = None
        while attempts < self.max_attempts:
            if attempts > 0:
                self._sleep(self._delay(attempts - 1))
                error = self._sync()
                if error is not None:
                    break  # the remote went away: the queue waits for the next call
            attempts += 1
            push = self._push()
            if push.ok:
                return attempts, None
            error = push.error
            if not push.rejected:
                break  # unreachable, timed out or refused access: retrying now will not help
        return attempts, error

    def _finish(self, committed: bool, error: str | None) -> PublishResult:
        """Push the queue (unless the remote could not even be fetched), record the base, tidy
        the checkout and report."""
        attempts = 0
        refs = self._refs()
        if error is None and refs.head is not None and refs.head != refs.tip:
            attempts, error = self._push_queue()
            refs = self._refs()
        pending = 0 if error is None else self._pending(refs)
        base = refs.tip if pending == 0 else self._built_on
        if base is not None and base != refs.base:
            self._git("update-ref", BASE_REF, base)
        if self._moved and refs.head is not None:
            self._git("reset", "--hard", "--quiet")  # the files match the branch, for people
            # Fetch and fast-import leave loose objects, and neither runs auto-gc here.
            self._git("gc", "--auto", "--quiet", check=False)
        return PublishResult(committed, pending == 0, attempts, pending, error if pending else None)


# ---- module helpers --------------------------------------------------------------------------


def _parse_change(chunk: str) -> _Change:
    """One commit of `git log -z --raw` as printed by _load_queue: header, then raw diff."""
    fields = chunk.split("\0")
    name, email, date, message = fields[:4]
    entries: dict[str, _Entry] = {}
    removed: list[str] = []
    raw = [f for f in fields[4:] if f.strip()]
    for meta, path in zip(raw[::2], raw[1::2], strict=True):
        _old_mode, new_mode, _old, new, status = meta.strip().lstrip(":").split()
        if status == "D":
            removed.append(path)
        else:
            entries[path] = (new_mode, new)
    return _Change((name, email, date), message.rstrip("\n"), entries, tuple(removed))


def _check_settings(
    remote: str, router: str, branch: str, max_attempts: int, git_timeout: float
) -> None:
    """Ensure the constructor's arguments are safe to put into git argv and refs."""
    if not ROUTER_RE.fullmatch(router):
        raise ValueError(f"router name {router!r} must match ^[a-z][a-z0-9-]{{0,30}}$")
    if not BRANCH_RE.fullmatch(branch) or branch.endswith((".lock", ".")) or ".." in branch:
        raise ValueError(f"branch name {branch!r} is not a plain git branch name")
    # A leading '-' would be read as an option; control characters have no place in a URL.
    if not remote or remote.startswith("-") or any(ord(ch) < 32 for ch in remote):
        raise ValueError(f"remote {remote!r} is not a URL or path")
    if max_attempts < 1 or git_timeout <= 0:
        raise ValueError("max_attempts must be >= 1 and git_timeout > 0")


def _check_identity(author: tuple[str, str]) -> None:
    """Ensure the author name and email can be written into a commit header."""
    for part in author:
        if not part.strip() or any(ch in part for ch in "<>") or any(ord(c) < 32 for c in part):
            raise ValueError(f"author part {part!r} is empty or holds <, > or a control char")


def _check_message(message: str) -> None:
    """Ensure the commit message is one non-empty line."""
    if not message.strip() or any(ord(ch) < 32 for ch in message):
        raise ValueError(f"commit message {message!r} must be one non-empty line")
