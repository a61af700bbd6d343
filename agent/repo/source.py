"""Pull the state repo and decide whether its new commits may be applied.

Fetch into a quarantine ref first, verify, and only then move the working checkout, so an
untrusted commit never reaches the working tree (the lesson of ansible-pull #75609):
- fast-forward only: a remote rewound or force-pushed behind the last verified commit is
  refused unless `trust.allow_rewind` (comin's rule; Flux and Argo CD accept it silently);
- with `trust.require_signed`, EVERY new commit since the last verified one needs a good
  signature from an allowed signer (Flux v1 checked the range; v2 and Argo only HEAD),
  checked by git itself against an SSH allowed_signers file and/or a GnuPG keyring;
- a remote that is down or slow leaves the checkout on the last verified commit (drift is
  still corrected) and is reported as unreachable since when; a remote that stays frozen
  (no new commit for `schedule.stale_after`) raises a warning: a freeze is otherwise invisible.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent import git as gitrun
from agent.config import AgentConfig
from agent.errors import PeeropsError
from agent.git import first_error
from agent.router.record import write_atomic

SOURCE_FILE = "source.json"
# Lock files a killed git leaves behind (the publisher clears the same in its checkout).
_STALE_LOCKS = ("index.lock", "HEAD.lock", "config.lock", "packed-refs.lock", "shallow.lock")
_SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class CheckoutCorrupt(PeeropsError):
    """The checkout could not be repaired in this run."""


class FetchFailed(PeeropsError):
    """git fetch failed (the remote, or a checkout git cannot use: _sound decides)."""
QUARANTINE_REF = "refs/peerops/fetched"
# git's %G? letters (git-log(1)): G good, U good with unknown validity, X/Y expired sig/key,
# R revoked key, E cannot be checked (key missing), B bad, N no signature.
_SIG_FORMAT = "%H%x1f%G?%x1f%GF%x1f%GS"


@dataclass
class SourceState:
    """What the agent remembers about its source between runs (state_dir/source.json)."""

    verified: str | None = None  # last commit moved into the working tree
    signer: str | None = None  # who signed it (with require_signed)
    last_fetch_ok: float | None = None
    last_new_commit: float | None = None  # when the remote last offered a new commit
    unreachable_since: float | None = None
    refused: dict[str, str] | None = None  # {"commit", "reason"} of the last refusal
    # A commit the dead-man switch reverted (agent/run/deadman.py): {"commit", "restored",
    # "reason", "at"}; it is not applied again, only a newer commit ends the hold.
    held: dict[str, Any] | None = None


@dataclass
class SyncResult:
    """The commit to apply and how the source looks: ok, unreachable, refused, held or
    local (held: the remote's commit was reverted by the dead-man switch; the restored one
    is applied)."""

    commit: str | None
    status: str
    new: bool = False
    signer: str | None = None
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    unreachable_since: float | None = None
    held: dict[str, Any] | None = None  # SourceState.held while a commit is held

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_source_state(state_dir: Path) -> SourceState:
    path = state_dir / SOURCE_FILE
    if not path.exists():
        return SourceState()
    data = json.loads(path.read_text())
    return SourceState(**{k: v for k, v in data.items() if k in SourceState.__dataclass_fields__})


def save_source_state(state_dir: Path, state: SourceState) -> None:
    data = json.dumps(asdict(state), indent=1, sort_keys=True).encode()
    write_atomic(state_dir / SOURCE_FILE, data)


class GitSource:
    """The state repo checkout at cfg.repo, pulled from cfg.remote."""

    def __init__(self, cfg: AgentConfig, clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.clock = clock
        self.timeout = cfg.git.fetch_timeout  # the configured one: no hidden floor

    def sync(self) -> SyncResult:
        """Fetch, verify, and move the checkout only to a trusted commit; never raises for
        network or trust problems (they are the result's status). A checkout that git can no
        longer use (stale lock, not a repository, corrupt objects) is repaired: locks of a
        dead git removed, or the checkout moved aside and fetched anew, then verified
        against the trust anchor like any new commit."""
        warnings: list[str] = []
        state = self._anchor(warnings)
        if self.cfg.remote is None:
            return SyncResult(
                self._head(), "local", message="no remote: the checkout is used as is"
            )
        now = self.clock()
        repo = self._usable_repo(warnings)
        try:
            fetched = self._fetch(repo)
        except gitrun.GitSetupError as exc:  # the transport as configured: not the checkout
            return self._unreachable(state, now, str(exc), warnings)
        except Exception as exc:
            if self._sound(repo):  # the checkout is fine: the remote is the problem
                return self._unreachable(state, now, _git_error(exc), warnings)
            repo = self._move_aside(f"fetch failed: {_git_error(exc)}", warnings)
            try:
                fetched = self._fetch(repo)
            except Exception as again:
                return self._unreachable(state, now, _git_error(again), warnings)
        state.last_fetch_ok, state.unreachable_since = now, None
        if state.held and fetched == state.held["commit"]:
            self._put_back(repo, str(state.verified), warnings)
            save_source_state(self.cfg.state_dir, state)
            result = self._held(state)
            result.warnings[:0] = warnings
            return result
        if fetched == state.verified:
            state.held = None  # the remote itself went back to the restored commit
            result = SyncResult(fetched, "ok", signer=state.signer, warnings=warnings)
            self._put_back(repo, fetched, warnings)
            self._stale_warning(state, now, result)
            save_source_state(self.cfg.state_dir, state)
            return result
        refusal, signer = self._trust(repo, state.verified, fetched)
        if refusal:
            result = self._refuse(state, fetched, refusal)
            result.warnings[:0] = warnings
            return result
        self._checkout(repo, fetched, warnings)
        state.verified, state.signer, state.refused, state.held = fetched, signer, None, None
        state.last_new_commit = now
        save_source_state(self.cfg.state_dir, state)
        return SyncResult(fetched, "ok", new=True, signer=signer, warnings=warnings)

    def preview(self, dest: Path) -> SyncResult:
        """`plan --fetch`: fetch into the quarantine ref and verify it exactly as sync would,
        but leave the checkout and the trust anchor as they are; a commit that may be applied
        has its tree exported into dest (git archive, written by agent.repo.archive: no
        absolute path, no `..`, no link that points out of dest)."""
        if self.cfg.remote is None:
            return SyncResult(None, "local", message="no remote: nothing to fetch")
        warnings: list[str] = []
        state = self._anchor(warnings)
        repo = self._repo()
        try:
            fetched = self._fetch(repo)
        except Exception as exc:
            return SyncResult(None, "unreachable", message=_git_error(exc), warnings=warnings)
        signer = state.signer
        if fetched != state.verified:
            refusal, signer = self._trust(repo, state.verified, fetched)
            if refusal:
                return SyncResult(fetched, "refused", message=refusal, warnings=warnings)
        from agent.repo.archive import ArchiveError, write_tree

        try:  # a local operation: no transport involved
            tree = repo.git.archive("--format=tar", fetched, stdout_as_string=False)
        except Exception as exc:
            return SyncResult(fetched, "error", message=_git_error(exc), warnings=warnings)
        try:
            write_tree(tree, dest)
        except (ArchiveError, OSError) as exc:
            return SyncResult(fetched, "error", message=f"cannot export {fetched[:12]}: {exc}",
                              warnings=warnings)
        new = fetched != state.verified
        return SyncResult(fetched, "ok", new=new, signer=signer, warnings=warnings)

    def _fetch(self, repo: Any, branch: str | None = None, ref: str = QUARANTINE_REF) -> str:
        """Fetch branch (default: the configured one) into ref; the commit it names."""
        refspec = f"+refs/heads/{branch or self.cfg.branch}:{ref}"
        fetch = gitrun.run(
            ["fetch", "--progress", "--no-tags", "origin", refspec],
            cwd=self.cfg.repo,
            timeout=self.timeout,
            transport=self.cfg.git,
        )
        if fetch.status != 0:
            raise FetchFailed(
                fetch.error(f"git fetch ({self.timeout:g} s limit)")
                if fetch.timed_out else first_error(fetch.err)
            )
        return str(repo.git.rev_parse("--verify", f"{ref}^{{commit}}"))

    def _put_back(self, repo: Any, commit: str, warnings: list[str]) -> None:
        """Make the working tree the verified commit it should hold: fill a fresh or repaired
        checkout, and discard edits made by hand (changed, added or ignored files). Only
        verified commits are applied, and a restarted agent must apply what a running one
        (which reuses the last inventory while the commit is unchanged) does."""
        if self._head_of(repo) != commit:
            self._checkout(repo, commit, warnings)
            return
        if repo.git.status("--porcelain", "--untracked-files=all", "--ignored", env=_git_env()):
            warnings.append(
                f"the checkout had changes that are not in the verified commit {commit[:12]} "
                "(edited by hand?): discarded"
            )
            self._checkout(repo, commit, warnings)

    def _checkout(self, repo: Any, commit: str, warnings: list[str]) -> None:
        """Put the verified commit in the working tree; a checkout that fails is repaired
        once (moved aside, fetched again: the commit is already verified)."""
        try:
            repo.git.checkout("--force", "--detach", commit, env=_git_env())
            repo.git.clean("-ffdqx")
            return
        except Exception as exc:
            repo = self._move_aside(f"checkout failed: {_git_error(exc)}", warnings)
        if self._fetch(repo) != commit:
            raise CheckoutCorrupt(f"the remote moved while the checkout was repaired ({commit})")
        repo.git.checkout("--force", "--detach", commit, env=_git_env())
        repo.git.clean("-ffdqx")

    # -- the trust anchor -------------------------------------------------------------------
    def _anchor(self, warnings: list[str]) -> SourceState:
        """The last verified commit survives the loss of state_dir: source.json first, then
        the checkout's HEAD, then this router's last report on the status branch."""
        try:
            state = load_source_state(self.cfg.state_dir)
        except (ValueError, TypeError) as exc:  # unreadable JSON: as good as lost
            warnings.append(f"{self.cfg.state_dir / SOURCE_FILE} is unreadable ({exc})")
            state = SourceState()
        if state.verified or self.cfg.remote is None:
            return state
        if (self.cfg.state_dir / SOURCE_FILE).exists() and not warnings:
            return state  # known, and nothing verified yet: the first run
        anchor, where = checkout_head(self.cfg.repo), "the checkout's HEAD"
        if anchor is None:
            anchor, where = self._reported_commit(), "this router's last status report"
        if anchor is None and not self.cfg.repo.exists():
            return state  # a router's very first run: trust on first use
        lost = (
            f"trust anchor lost ({self.cfg.state_dir / SOURCE_FILE} is missing or unreadable)"
        )
        if anchor:
            warnings.append(f"{lost}: using {where} {anchor[:12]} as the last verified commit")
            state.verified = anchor
        else:
            warnings.append(f"{lost} and no commit to fall back on: the remote's tip is trusted")
        return state

    def _reported_commit(self) -> str | None:
        """The commit of reports/<router>.yaml on the status branch of the remote."""
        import git
        import yaml

        try:
            repo = self._usable_repo([])
            self._fetch(repo, self.cfg.status_branch, "refs/peerops/status")
            text = repo.git.show(f"refs/peerops/status:reports/{self.cfg.router}.yaml")
            commit = yaml.safe_load(text).get("commit")
        except (PeeropsError, git.GitCommandError, yaml.YAMLError, AttributeError, OSError):
            return None
        return commit if isinstance(commit, str) and _SHA_RE.fullmatch(commit) else None

    # -- repairing the checkout ---------------------------------------------------------------
    def _usable_repo(self, warnings: list[str]) -> Any:
        """The checkout, with stale locks of a dead git removed (we hold the run lock, so no
        other git runs here), or moved aside and begun anew when git cannot open it."""
        git_dir = self.cfg.repo / ".git"
        if git_dir.is_dir() and not git_dir.is_symlink():
            stale = [*(git_dir / n for n in _STALE_LOCKS), *(git_dir / "refs").rglob("*.lock")]
            for lock in stale:
                if lock.is_file():
                    lock.unlink()
                    warnings.append(f"removed {lock} left by a git that died")
        try:
            repo = self._repo()
            repo.git.rev_parse("--git-dir")
            return repo
        except Exception as exc:
            return self._move_aside(f"not a usable git repository: {_git_error(exc)}", warnings)

    def _sound(self, repo: Any) -> bool:
        """Whether the local repository is intact (only asked after a failed fetch)."""
        try:
            repo.git.fsck("--connectivity-only", "--no-dangling", "--no-progress",
                          kill_after_timeout=self.timeout, env=_git_env())
        except Exception:
            return False
        return True

    def _move_aside(self, why: str, warnings: list[str]) -> Any:
        """Rename the broken checkout to <repo>.broken (one kept, for a post-mortem) and
        begin a new one; the next fetch is verified against the trust anchor as usual."""
        path = self.cfg.repo
        aside = path.with_name(path.name + ".broken")
        if aside.exists() or aside.is_symlink():
            shutil.rmtree(aside) if aside.is_dir() and not aside.is_symlink() else aside.unlink()
        if path.exists() or path.is_symlink():
            path.rename(aside)
        warnings.append(f"checkout corrupt ({why}): moved aside to {aside} and fetched anew")
        return self._repo()

    def hold(self, commit: str, restore: str, reason: str) -> None:
        """Move the checkout back to restore and hold commit: sync will not apply it again
        until the remote offers a newer one (the dead-man switch's revert)."""
        repo = self._repo()
        repo.git.checkout("--force", "--detach", restore, env=_git_env())
        repo.git.clean("-ffdqx")
        state = load_source_state(self.cfg.state_dir)
        # The restored commit was verified when it was first applied; its signer is not kept.
        state.verified, state.signer = restore, None
        state.held = {"commit": commit, "restored": restore, "reason": reason, "at": self.clock()}
        save_source_state(self.cfg.state_dir, state)

    def reachable(self) -> str | None:
        """None when the remote answers a bounded `git ls-remote` for the branch now (through
        the same transport as the fetch), else git's reason."""
        return self._ls_remote()[1]

    def ahead(self) -> str | None:
        """`plan`'s note when the remote's branch (a bounded ls-remote, nothing fetched) is not
        the commit the checkout holds, or cannot be asked; None when they agree."""
        if self.cfg.remote is None:
            return None
        tip, problem = self._ls_remote()
        if problem is not None:
            return f"the remote could not be asked for news: {problem}"
        head = self._head()
        if tip is None or tip == head:
            return None
        return (f"the remote's {self.cfg.branch} is at {tip[:12]}, the checkout at "
                f"{(head or 'nothing')[:12]}: `peerops plan --fetch` previews it, "
                "`peerops run` applies it if it is trusted")

    def _ls_remote(self) -> tuple[str | None, str | None]:
        """(the branch's commit on the remote, None) or (None, git's reason)."""
        self._repo()
        try:
            result = gitrun.run(
                ["ls-remote", "--heads", "origin", f"refs/heads/{self.cfg.branch}"],
                cwd=self.cfg.repo,
                timeout=self.timeout,
                transport=self.cfg.git,
            )
        except gitrun.GitSetupError as exc:
            return None, str(exc)
        if result.timed_out:
            return None, result.error(f"git ls-remote ({self.timeout:g} s limit)")
        if result.status != 0:
            return None, first_error(result.err)
        words = result.out.split()
        return (words[0] if words else None), None

    # -- trust --------------------------------------------------------------------------------
    def _trust(
        self, repo: Any, verified: str | None, fetched: str
    ) -> tuple[str | None, str | None]:
        """Return (why fetched may not be applied or None, the tip's signer or None)."""
        rewound = verified is not None and not self._is_ancestor(repo, verified, fetched)
        if rewound and not self.cfg.trust.allow_rewind:
            return (
                f"{self.cfg.branch} at {fetched[:12]} does not descend from the last verified "
                f"commit {(verified or '')[:12]}: the remote was rewound or force-pushed "
                "(set trust.allow_rewind to accept it)"
            ), None
        if self.cfg.trust.require_signed:
            return self._check_signatures(repo, self._new_commits(repo, verified, fetched))
        return None, None

    def _is_ancestor(self, repo: Any, old: str, new: str) -> bool:
        import git

        try:
            repo.git.merge_base("--is-ancestor", old, new)
        except git.GitCommandError:
            return False
        return True

    def _new_commits(self, repo: Any, verified: str | None, fetched: str) -> list[str]:
        """Every commit the working tree would gain; the tip alone on first use."""
        if verified and self._is_ancestor(repo, verified, fetched):
            out = repo.git.rev_list(f"{verified}..{fetched}")
            return out.split()
        return [fetched]

    def _check_signatures(self, repo: Any, commits: list[str]) -> tuple[str | None, str | None]:
        """Verify every commit with git; return (the first problem, the tip's signer)."""
        trust = self.cfg.trust
        with tempfile.TemporaryDirectory(prefix="peerops-gnupg-") as empty_home:
            # Without a configured keyring, gpg must not fall back to root's own ~/.gnupg.
            env = _git_env(GNUPGHOME=str(trust.gpg_home or empty_home))
            args = [
                "-c",
                f"gpg.ssh.allowedSignersFile={trust.allowed_signers or os.devnull}",
                "log",
                "--no-walk=unsorted",
                f"--format={_SIG_FORMAT}",
                *commits,
            ]
            try:
                out = repo.git.execute(["git", *args], env=env, kill_after_timeout=self.timeout)
            except Exception as exc:  # fail closed: a signature not checked is not trusted
                return f"commit {commits[0][:12]}: {self._unchecked(exc)}: nothing applied", None
        tip_signer = None
        for line in out.splitlines():
            sha, letter, key, signer = [*line.split("\x1f"), "", "", ""][:4]
            problem = _signature_problem(letter, key)
            if problem:
                return f"commit {sha[:12]} {problem}: nothing applied", None
            if sha == commits[0]:
                tip_signer = signer or key
        return None, tip_signer

    def _unchecked(self, exc: Exception) -> str:
        """Why the signatures could not be checked: a verifier (gpg, ssh-keygen) that hung
        is killed with git after git.fetch_timeout (GitPython says "Timeout:")."""
        if "Timeout:" in str(exc):  # GitCommandError's text holds git's stderr
            return (f"the signature check did not finish within git.fetch_timeout "
                    f"({self.timeout:g} s)")
        return f"the signature check failed: {_git_error(exc)}"

    # -- outcomes ---------------------------------------------------------------------------------
    def _unreachable(
        self, state: SourceState, now: float, error: str, warnings: list[str] | None = None
    ) -> SyncResult:
        state.unreachable_since = state.unreachable_since or now
        save_source_state(self.cfg.state_dir, state)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(state.unreachable_since))
        message = f"remote unreachable since {since}: {error}"
        if state.held:  # the hold is what an operator must see first
            result = self._held(state)
            result.message = f"{result.message}; {message}"
            result.unreachable_since = state.unreachable_since
            return result
        return SyncResult(
            state.verified or self._head(),
            "unreachable",
            signer=state.signer,
            message=message,
            unreachable_since=state.unreachable_since,
            warnings=list(warnings or []),
        )

    def _held(self, state: SourceState) -> SyncResult:
        held = state.held or {}
        return SyncResult(
            state.verified,
            "held",
            signer=state.signer,
            message=(
                f"commit {str(held.get('commit'))[:12]} held: the dead-man switch restored "
                f"{str(held.get('restored'))[:12]} ({held.get('reason')}); waiting for a newer "
                "commit"
            ),
            held=dict(held),
        )

    def _refuse(self, state: SourceState, fetched: str, reason: str) -> SyncResult:
        state.refused = {"commit": fetched, "reason": reason}
        save_source_state(self.cfg.state_dir, state)
        return SyncResult(state.verified, "refused", signer=state.signer, message=reason)

    def _stale_warning(self, state: SourceState, now: float, result: SyncResult) -> None:
        state.last_new_commit = state.last_new_commit or now
        quiet = now - state.last_new_commit
        if quiet > self.cfg.schedule.stale_after:
            result.warnings.append(
                f"remote stale: no new commit on {self.cfg.branch} for "
                f"{quiet / 3600:.1f} h (a frozen remote withholds updates)"
            )

    # -- the checkout ---------------------------------------------------------------------------
    def _repo(self) -> Any:
        import git

        path = self.cfg.repo
        if not (path / ".git").exists():
            path.mkdir(parents=True, exist_ok=True)
            repo = git.Repo.init(path)
            repo.git.remote("add", "origin", self.cfg.remote)
            return repo
        repo = git.Repo(path)
        if repo.git.remote("get-url", "origin") != self.cfg.remote:
            repo.git.remote("set-url", "origin", self.cfg.remote)
        return repo

    @staticmethod
    def _head_of(repo: Any) -> str | None:
        try:
            return str(repo.head.commit.hexsha)
        except Exception:  # an empty, fresh checkout has no HEAD yet
            return None

    def _head(self) -> str | None:
        import git

        try:
            return git.Repo(self.cfg.repo).head.commit.hexsha
        except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
            return None


def checkout_head(repo: Path) -> str | None:
    """The commit checked out at repo, or None (no checkout, or not a usable one)."""
    import git

    try:
        return str(git.Repo(repo).head.commit.hexsha)
    except Exception:  # any broken checkout: the caller only names the commit
        return None


def _signature_problem(letter: str, key: str) -> str | None:
    """Say why a commit's signature is not acceptable, or None when it is."""
    if letter == "G":
        return None
    if letter == "U" and key and not key.startswith("SHA256:"):
        return None  # GnuPG: a good signature by a key of the configured keyring (no ownertrust)
    return {
        "N": "is not signed",
        "B": "has a bad signature",
        "U": "is signed by a key that is not an allowed signer",
        "E": "is signed by a key that is not an allowed signer (cannot be checked)",
        "X": "has an expired signature",
        "Y": "is signed by an expired key",
        "R": "is signed by a revoked key",
    }.get(letter, f"has an unusable signature ({letter})")


_git_env = gitrun.environment  # one environment for every git the agent runs (agent/git.py)


def _git_error(exc: Exception) -> str:
    """git's first meaningful error line of a failed command (redacted), or the exception."""
    text = str(getattr(exc, "stderr", "") or exc)
    # GitPython wraps git's stderr as "\n  stderr: '<text>'": git's own words are inside.
    wrapped = re.fullmatch(r"\s*stderr: '(.*)'\s*", text, re.DOTALL)
    return first_error(wrapped[1] if wrapped else text) or type(exc).__name__
