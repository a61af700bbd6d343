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
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent import git as gitrun
from agent.config import AgentConfig
from agent.git import first_error
from agent.router.record import write_atomic

SOURCE_FILE = "source.json"
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


@dataclass
class SyncResult:
    """The commit to apply and how the source looks: ok, unreachable, refused or local."""

    commit: str | None
    status: str
    new: bool = False
    signer: str | None = None
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    unreachable_since: float | None = None

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
        network or trust problems (they are the result's status)."""
        state = load_source_state(self.cfg.state_dir)
        if self.cfg.remote is None:
            return SyncResult(
                self._head(), "local", message="no remote: the checkout is used as is"
            )
        now = self.clock()
        repo = self._repo()
        refspec = f"+refs/heads/{self.cfg.branch}:{QUARANTINE_REF}"
        try:
            fetch = gitrun.run(
                ["fetch", "--progress", "--no-tags", "origin", refspec],
                cwd=self.cfg.repo,
                timeout=self.timeout,
                transport=self.cfg.git,
            )
        except gitrun.GitSetupError as exc:
            return self._unreachable(state, now, str(exc))
        if fetch.status != 0:  # any failure to fetch means "unreachable"
            return self._unreachable(
                state, now, fetch.error(f"git fetch ({self.timeout:g} s limit)")
                if fetch.timed_out else first_error(fetch.err)
            )
        state.last_fetch_ok, state.unreachable_since = now, None
        fetched = repo.git.rev_parse(QUARANTINE_REF)
        if fetched == state.verified:
            result = SyncResult(fetched, "ok", signer=state.signer)
            self._stale_warning(state, now, result)
            save_source_state(self.cfg.state_dir, state)
            return result
        refusal, signer = self._trust(repo, state.verified, fetched)
        if refusal:
            return self._refuse(state, fetched, refusal)
        repo.git.checkout("--force", "--detach", fetched, env=_git_env())
        repo.git.clean("-ffdqx")
        state.verified, state.signer, state.refused = fetched, signer, None
        state.last_new_commit = now
        save_source_state(self.cfg.state_dir, state)
        return SyncResult(fetched, "ok", new=True, signer=signer)

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
            out = repo.git.execute(["git", *args], env=env, kill_after_timeout=self.timeout)
        tip_signer = None
        for line in out.splitlines():
            sha, letter, key, signer = [*line.split("\x1f"), "", "", ""][:4]
            problem = _signature_problem(letter, key)
            if problem:
                return f"commit {sha[:12]} {problem}: nothing applied", None
            if sha == commits[0]:
                tip_signer = signer or key
        return None, tip_signer

    # -- outcomes ---------------------------------------------------------------------------------
    def _unreachable(self, state: SourceState, now: float, error: str) -> SyncResult:
        state.unreachable_since = state.unreachable_since or now
        save_source_state(self.cfg.state_dir, state)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(state.unreachable_since))
        return SyncResult(
            state.verified or self._head(),
            "unreachable",
            signer=state.signer,
            message=f"remote unreachable since {since}: {error}",
            unreachable_since=state.unreachable_since,
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
