"""StatusPublisher at its edges, against real git repos (never mocks): the transport of fetch
and push (an ssh that lets in only the deploy key, and that can hang after the fetch
answered), a push rejected because another router landed first, a remote that moves or goes
away at the awkward moment, and checkouts changed or damaged by hand."""

from __future__ import annotations

import contextlib
import http.server
import os
import pty
import random
import select
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.git import GitTransport
from agent.status.publish import PublishError, PublishResult, StatusPublisher
from tests.test_publish import branch_files, log, make_remote, publisher, report, run_git

DEPLOY_KEY = Path("/etc/peerops/deploy_key")  # the config's git.ssh_key; the fake only checks it

# ssh as git runs it, without any network: only the deploy key gets in, then the remote command
# (git-upload-pack or git-receive-pack '<path>') runs here. A file named after the command in
# the control directory makes that service hang once asked: a remote that accepts the
# connection and never answers. The hang ends when git is gone (no process outlives a test).
FAKE_SSH = """#!{python}
import os, shlex, sys, time
args, given = sys.argv[1:], []
while args[0].startswith("-"):
    flag = args.pop(0)
    if flag in ("-o", "-i", "-p", "-l"):
        given.append((flag, args.pop(0)))
host, command = args[0], shlex.split(" ".join(args[1:]))
with open({record!r}, "a") as record:
    record.write(command[0] + " " + repr(given) + "\\n")
if ("-i", {key!r}) not in given and not os.path.exists(os.path.join({control!r}, "open")):
    sys.stderr.write(host + ": Permission denied (publickey).\\n")
    sys.exit(255)
if os.path.exists(os.path.join({control!r}, command[0])):
    parent, until = os.getppid(), time.monotonic() + 30
    while os.getppid() == parent and time.monotonic() < until:
        time.sleep(0.05)
    sys.exit(255)
os.execvp(command[0], command)
"""


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return make_remote(tmp_path / "remote.git", tmp_path / "seed")


@pytest.fixture
def ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fake `ssh` first on PATH; yields its control directory (see FAKE_SSH)."""
    bin_dir, control = tmp_path / "bin", tmp_path / "ssh-control"
    bin_dir.mkdir()
    control.mkdir()
    fake = bin_dir / "ssh"
    fake.write_text(FAKE_SSH.format(python=sys.executable, key=str(DEPLOY_KEY),
                                    control=str(control), record=str(control / "calls")))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.delenv("GIT_SSH_COMMAND", raising=False)
    monkeypatch.delenv("GIT_SSH", raising=False)
    yield control


def over_ssh(remote: Path) -> str:
    return f"ssh://status.invalid{remote}"


# ---- the transport -------------------------------------------------------------------------


def test_fetch_and_push_go_out_with_the_deploy_key(
    remote: Path, tmp_path: Path, ssh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A caller's GIT_SSH_COMMAND (git prefers it to core.sshCommand) must not bypass the key.
    marker = tmp_path / "callers-ssh-ran"
    monkeypatch.setenv("GIT_SSH_COMMAND", f"touch {marker}; exit 255 #")
    transport = GitTransport(ssh_key=DEPLOY_KEY, fetch_timeout=20, push_timeout=20)
    pub = publisher(over_ssh(remote), "rtr1", tmp_path, transport=transport)
    assert pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1") == PublishResult(
        True, True, 1, 0, None
    )
    assert pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2").pushed
    assert branch_files(remote) == {report("rtr1"): b"v2\n"}
    calls = (ssh / "calls").read_text().splitlines()
    assert [c.split()[0] for c in calls] == ["git-upload-pack", "git-receive-pack"] * 2
    assert all("('-o', 'BatchMode=yes')" in c and "('-o', 'IdentitiesOnly=yes')" in c
               for c in calls)
    # Without the key the remote refuses: the report stays queued, the error says so.
    keyless = publisher(over_ssh(remote), "rtr2", tmp_path, transport=GitTransport())
    res = keyless.publish({report("rtr2"): b"x\n"}, "rtr2: x")
    assert (res.committed, res.pushed, res.attempts, res.pending) == (True, False, 0, 1)
    assert res.error == (
        f"fetch from {over_ssh(remote)} failed: fatal: Could not read from remote repository."
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("service", "settings"),
    [
        # the configured fetch timeout, not the (long) one of local git commands
        ("git-upload-pack", {"git_timeout": 20.0,
                             "transport": GitTransport(ssh_key=DEPLOY_KEY, fetch_timeout=1.0)}),
        # the push hangs after the fetch answered: the push timeout cuts it off
        ("git-receive-pack", {"git_timeout": 20.0,
                              "transport": GitTransport(ssh_key=DEPLOY_KEY, push_timeout=1.0)}),
    ],
    ids=["fetch", "push"],
)
def test_a_remote_that_hangs_is_cut_off_by_its_own_timeout(
    remote: Path, tmp_path: Path, ssh: Path, service: str, settings: dict[str, object]
) -> None:
    pub = publisher(over_ssh(remote), "rtr1", tmp_path, **settings)
    assert pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1").pushed
    (ssh / service).touch()
    started = time.monotonic()
    res = pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2")
    assert time.monotonic() - started < 8
    what = "fetch from" if service == "git-upload-pack" else "push to"
    attempts = 0 if service == "git-upload-pack" else 1
    assert (res.committed, res.pushed, res.attempts, res.pending) == (True, False, attempts, 1)
    assert res.error and res.error.startswith(f"{what} {over_ssh(remote)} failed: ")
    assert "Timeout" in res.error
    (ssh / service).unlink()
    assert pub.flush() == PublishResult(False, True, 1, 0, None)
    assert branch_files(remote) == {report("rtr1"): b"v2\n"}


@pytest.mark.parametrize("service", ["git-upload-pack", "git-receive-pack"])
def test_without_a_transport_fetch_and_push_are_bounded_by_git_timeout(
    remote: Path, tmp_path: Path, ssh: Path, service: str
) -> None:
    """`peerops` always passes the config's transport; without one, fetch and push take
    git_timeout (here an ssh that lets anyone in)."""
    (ssh / "open").touch()
    pub = publisher(over_ssh(remote), "rtr1", tmp_path, git_timeout=1.0)
    assert pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1").pushed
    (ssh / service).touch()
    started = time.monotonic()
    res = pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2")
    assert time.monotonic() - started < 8
    attempts = 0 if service == "git-upload-pack" else 1
    assert (res.committed, res.pushed, res.attempts, res.pending) == (True, False, attempts, 1)
    assert res.error and "Timeout" in res.error


def test_a_transport_that_cannot_be_used_queues_the_report_and_says_why(
    remote: Path, tmp_path: Path
) -> None:
    creds = tmp_path / "git-credentials"
    creds.write_text("https://bot:tok3n@git.example.net\n")
    creds.chmod(0o644)
    pub = publisher(remote, "rtr1", tmp_path, transport=GitTransport(http_credentials=creds))
    res = pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    why = f"error: git.http_credentials: {creds}: mode 0644 lets others read it: chmod 600 {creds}"
    # git's line, cut at 300 characters like every error of git (agent.git.first_error)
    assert res == PublishResult(True, False, 0, 1, f"fetch from {remote} failed: {why[:300]}")
    creds.chmod(0o600)
    assert pub.flush() == PublishResult(False, True, 1, 0, None)
    assert branch_files(remote) == {report("rtr1"): b"v1\n"}


# ---- the remote moves or goes away at the awkward moment -------------------------------------


def test_a_rejected_push_is_answered_by_a_replay_on_the_new_tip(
    remote: Path, tmp_path: Path
) -> None:
    """rtr2 landed since rtr1's last call, and rtr3 lands between rtr1's fetch and its push
    (the remote refuses that push once, as when two pushes race for the ref): rtr1 backs
    off, fetches, replays its report on rtr3's and pushes again."""
    delays: list[float] = []
    rtr3 = publisher(remote, "rtr3", tmp_path)

    def meanwhile(delay: float) -> None:
        delays.append(delay)
        assert rtr3.publish({report("rtr3"): b"three\n"}, "rtr3: three").pushed

    # rng=None: the publisher's own jitter
    rtr1 = publisher(remote, "rtr1", tmp_path, sleep=meanwhile, rng=None)
    rtr1.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    publisher(remote, "rtr2", tmp_path).publish({report("rtr2"): b"two\n"}, "rtr2: two")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\n[ -e {tmp_path}/once ] && exit 0\ntouch {tmp_path}/once\n"
                    "echo 'lost the race' >&2\nexit 1\n")
    hook.chmod(0o755)
    res = rtr1.publish({report("rtr1"): b"v2\n"}, "rtr1: v2")
    assert res == PublishResult(True, True, 2, 0, None)
    assert len(delays) == 1 and 0.01 * 0.5 <= delays[0] < 0.01 * 1.5
    assert log(remote) == ["rtr1: v2", "rtr3: three", "rtr2: two", "rtr1: v1"]
    assert branch_files(remote) == {
        report("rtr1"): b"v2\n", report("rtr2"): b"two\n", report("rtr3"): b"three\n"
    }


def test_a_remote_gone_during_the_backoff_leaves_the_report_queued(
    remote: Path, tmp_path: Path
) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho closed >&2\nexit 1\n")
    hook.chmod(0o755)
    away = remote.with_name("away.git")
    pub = publisher(remote, "rtr1", tmp_path, max_attempts=4,
                    sleep=lambda _delay: remote.rename(away))
    res = pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    assert (res.committed, res.pushed, res.attempts, res.pending) == (True, False, 1, 1)
    assert res.error and res.error.startswith(f"fetch from {remote} failed: ")
    away.rename(remote)
    hook.unlink()
    assert pub.flush() == PublishResult(False, True, 1, 0, None)


def test_a_queue_on_a_tip_read_by_read_branch_is_replayed_on_it(
    remote: Path, tmp_path: Path
) -> None:
    """read_branch fetches a newer tip; the report queued while the remote is then away sits
    on the older one, so the next call must replay it (not take the fetched tip as its base
    and push a non-fast-forward until the bound)."""
    rtr1 = publisher(remote, "rtr1", tmp_path)
    rtr1.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    publisher(remote, "rtr2", tmp_path).publish({report("rtr2"): b"two\n"}, "rtr2: two")
    assert rtr1.read_branch() == {report("rtr1"): b"v1\n", report("rtr2"): b"two\n"}
    remote.rename(remote.with_name("away.git"))
    # (a message ending in X: the replay keeps it to the last byte)
    assert rtr1.publish({report("rtr1"): b"v2\n"}, "rtr1: v2 on X").pending == 1
    remote.with_name("away.git").rename(remote)
    assert rtr1.flush() == PublishResult(False, True, 1, 0, None)
    assert log(remote) == ["rtr1: v2 on X", "rtr2: two", "rtr1: v1"]


def test_nothing_to_push_while_the_remote_is_down_is_no_error(
    remote: Path, tmp_path: Path
) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    remote.rename(remote.with_name("away.git"))
    assert pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1") == PublishResult(
        False, True, 0, 0, None
    )


# ---- the checkout, for people and after hands touched it ----------------------------------------


def test_the_checkout_shows_what_other_routers_published(remote: Path, tmp_path: Path) -> None:
    """The status checkout is for people too: after a call that only adopted the remote's
    tip (nothing of ours changed), its files are the branch's."""
    rtr1 = publisher(remote, "rtr1", tmp_path)
    rtr1.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    publisher(remote, "rtr2", tmp_path).publish({report("rtr2"): b"two\n"}, "rtr2: two")
    assert rtr1.publish({report("rtr1"): b"v1\n"}, "rtr1: v1").committed is False
    assert (rtr1.checkout / "reports" / "rtr2.yaml").read_bytes() == b"two\n"
    assert run_git("status", "--porcelain", cwd=rtr1.checkout) == ""


def test_a_checkout_switched_to_another_branch_by_hand_comes_back(
    remote: Path, tmp_path: Path
) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    co = pub.checkout
    run_git("checkout", "--quiet", "-b", "scratch", cwd=co)
    (co / "reports" / "rtr1.yaml").write_text("tried by hand\n")
    run_git("commit", "--quiet", "-am", "an experiment", cwd=co)
    again = publisher(remote, "rtr1", tmp_path)  # the next run
    assert again.publish({report("rtr1"): b"v1\n"}, "rtr1: v1").committed is False
    assert run_git("symbolic-ref", "HEAD", cwd=co).strip() == "refs/heads/status"
    assert (co / "reports" / "rtr1.yaml").read_bytes() == b"v1\n"
    assert run_git("status", "--porcelain", cwd=co) == ""
    assert log(remote) == ["rtr1: v1"]


def test_remote_settings_changed_by_hand_are_put_back(tmp_path: Path) -> None:
    """An operator widened the fetch refspec (it would download the desired-state history
    too); the remote's path holds a space. The next run fetches the status branch only."""
    remote = make_remote(tmp_path / "status remote.git", tmp_path / "seed")
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    co = pub.checkout
    run_git("config", "remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*", cwd=co)
    again = publisher(remote, "rtr1", tmp_path)
    assert again.publish({report("rtr1"): b"v2\n"}, "rtr1: v2").pushed
    assert run_git("config", "--get-all", "remote.origin.fetch", cwd=co).splitlines() == [
        "+refs/heads/status:refs/remotes/origin/status"
    ]
    assert run_git("config", "remote.origin.url", cwd=co).strip() == str(remote)
    refs = run_git("for-each-ref", "--format=%(refname)", cwd=co).split()
    assert sorted(refs) == ["refs/heads/status", "refs/peerops/base",
                            "refs/remotes/origin/status"]
    assert not (co / ".git" / "FETCH_HEAD").exists()  # fetched with --no-write-fetch-head
    assert log(remote) == ["rtr1: v2", "rtr1: v1"]


def test_stale_ref_locks_of_a_killed_git_are_removed(remote: Path, tmp_path: Path) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    refs = pub.checkout / ".git" / "refs"
    for lock in (refs / "heads" / "status.lock", refs / "remotes" / "origin" / "status.lock"):
        lock.write_text("")
    res = publisher(remote, "rtr1", tmp_path).publish({report("rtr1"): b"v2\n"}, "rtr1: v2")
    assert res == PublishResult(True, True, 1, 0, None)
    assert list(refs.rglob("*.lock")) == []


def test_a_damaged_checkout_is_a_local_failure(remote: Path, tmp_path: Path) -> None:
    """Nothing can be queued in a checkout git no longer recognises: PublishError, with git's
    own words, rather than a result that pretends the report is pending."""
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    objects = pub.checkout / ".git" / "objects"
    objects.rename(objects.with_name("objects.lost"))
    with pytest.raises(PublishError, match=r"\Agit for-each-ref failed \(128\): fatal: not a git"):
        pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2")
    assert log(remote) == ["rtr1: v1"]


def test_an_author_may_hold_any_printable_text_but_angle_brackets(tmp_path: Path) -> None:
    author = ("Xavier X. (NOC), ops", "noc+X@example.net")
    assert StatusPublisher("r.git", "rtr1", tmp_path / "co", author=author).author == author


class _AsksForCredentials(http.server.BaseHTTPRequestHandler):
    """An https-style remote on loopback that wants a user and password for everything."""

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="status"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_no_credential_helper_of_the_checkout_is_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials come only from git.http_credentials: a helper written into the checkout's
    own configuration (git would run it and hand it the remote's challenge) is ignored, and so
    is a caller's askpass program (git runs it even where no terminal prompt is allowed)."""
    askpass = tmp_path / "askpass"
    askpass.write_text(f"#!/bin/sh\ntouch {tmp_path}/askpass-ran\necho guessed\n")
    askpass.chmod(0o755)
    monkeypatch.setenv("GIT_ASKPASS", str(askpass))
    monkeypatch.setenv("SSH_ASKPASS", str(askpass))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AsksForCredentials)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/status.git"
        pub = publisher(url, "rtr1", tmp_path)
        assert pub.read_branch(fetch=False) == {}  # creates the checkout
        marker = tmp_path / "helper-ran"
        run_git("config", "credential.helper", f"!touch {marker}; false", cwd=pub.checkout)
        res = pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    finally:
        server.shutdown()
        server.server_close()
    assert (res.committed, res.pushed, res.pending) == (True, False, 1)
    assert res.error and res.error.startswith(f"fetch from {url} failed: ")
    assert not marker.exists() and not (tmp_path / "askpass-ran").exists()


def test_local_git_commands_are_bounded_by_git_timeout(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local git that hangs (a stuck disk, a lock held elsewhere) ends the call with
    PublishError after git_timeout instead of blocking the agent."""
    real_git = shutil.which("git")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(
        '#!/bin/sh\nfor a; do [ "$a" = hash-object ] && exec sleep 30; done\n'
        f'exec {real_git} "$@"\n'
    )
    (bin_dir / "git").chmod(0o755)
    pub = publisher(remote, "rtr1", tmp_path, git_timeout=1.0)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    started = time.monotonic()
    with pytest.raises(PublishError, match=r"\Agit hash-object failed "):
        pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2")
    assert time.monotonic() - started < 8


def pack_count(checkout: Path) -> int:
    return len(list((checkout / ".git" / "objects" / "pack").glob("*.pack")))


def test_git_s_auto_gc_keeps_the_checkout_tidy_without_repacking_every_call(
    remote: Path, tmp_path: Path
) -> None:
    """Fetch and fast-import run without auto-gc, so the publisher runs `gc --auto` itself:
    packs do not pile up past git's limit, and the checkout is not repacked whole on every
    call (here every fast-import keeps a pack of its own and the limit is 3)."""
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    run_git("config", "fastimport.unpackLimit", "1", cwd=pub.checkout)
    run_git("config", "gc.autoPackLimit", "3", cwd=pub.checkout)
    before = pack_count(pub.checkout)
    pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2")
    assert pack_count(pub.checkout) == before + 1  # no repack below the limit
    for n in range(3, 8):
        assert pub.publish({report("rtr1"): f"v{n}\n".encode()}, f"rtr1: v{n}").pushed
        assert pack_count(pub.checkout) <= 3


def test_a_failing_gc_does_not_turn_a_landed_report_into_an_error(
    remote: Path, tmp_path: Path
) -> None:
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    run_git("config", "gc.auto", "not-a-number", cwd=pub.checkout)  # `git gc` dies on it
    assert pub.publish({report("rtr1"): b"v2\n"}, "rtr1: v2") == PublishResult(
        True, True, 1, 0, None
    )


def test_a_run_from_a_terminal_never_stops_at_a_prompt(tmp_path: Path) -> None:
    """Run by hand from a shell, a remote that asks for credentials must not stop the run at
    a `Username for ...` prompt: the fetch fails at once and the report is queued."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AsksForCredentials)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/status.git"
    pub = publisher(url, "rtr1", tmp_path)  # made here, so mutation testing sees who runs git
    pid, terminal = pty.fork()  # the child's controlling terminal is the pty
    if pid == 0:
        try:
            res = pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
            os._exit(0 if res.pending == 1 else 1)
        except BaseException:
            os._exit(2)
    seen, deadline = b"", time.monotonic() + 20
    poller = select.poll()  # not select(): the descriptor may be above FD_SETSIZE here
    poller.register(terminal, select.POLLIN)
    try:
        while b"Username" not in seen and time.monotonic() < deadline:
            if poller.poll(200):
                try:
                    chunk = os.read(terminal, 1024)
                except OSError:  # EIO: the child is gone
                    break
                if not chunk:
                    break
                seen += chunk
            elif os.waitpid(pid, os.WNOHANG)[0]:
                pid = 0
                break
    finally:
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        status = os.waitpid(pid, 0)[1] if pid else 0
        os.close(terminal)
        server.shutdown()
        server.server_close()
    assert b"Username" not in seen
    assert status == 0


def test_a_file_name_that_is_not_utf8_does_not_stop_read_branch(
    remote: Path, tmp_path: Path
) -> None:
    """A name git stores as raw bytes comes back surrogate-escaped (os.fsencode gives the bytes
    back), next to the other files."""
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    human = tmp_path / "human"
    run_git("clone", "--quiet", "--branch", "status", str(remote), str(human))
    name = b"notes/latin1-\xe9.txt".decode("utf-8", "surrogateescape")
    (human / "notes").mkdir()
    (human / name).write_bytes(b"caf\xe9\n")
    run_git("add", "-A", cwd=human)
    run_git("commit", "--quiet", "-m", "a latin-1 name", cwd=human)
    run_git("push", "--quiet", "origin", "status", cwd=human)
    files = pub.read_branch()
    assert files == {report("rtr1"): b"v1\n", name: b"caf\xe9\n"}
    assert os.fsencode(name) == b"notes/latin1-\xe9.txt"


def test_the_checkouts_reflog_names_the_router_not_the_caller(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Who moved the branch (`git reflog` in the checkout, what an admin reads) is the router,
    whatever identity the caller's environment holds."""
    monkeypatch.setenv("GIT_COMMITTER_NAME", "wrong")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "wrong@example.invalid")
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    monkeypatch.undo()
    who = run_git("reflog", "--format=%gn <%ge>", "refs/heads/status", cwd=pub.checkout)
    assert set(who.splitlines()) == {"peerops rtr1 <peerops@rtr1.invalid>"}


def test_without_git_the_call_fails_and_says_so(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    pub = publisher(remote, "rtr1", tmp_path)
    with pytest.raises(PublishError, match=r"\Agit not found: "):
        pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")


def test_the_default_retry_policy(remote: Path, tmp_path: Path) -> None:
    """Without settings (what `peerops` uses): 8 pushes at most, backing off 0.2 s doubled
    each time, capped at 10 s, each times a jitter in [0.5, 1.5); fetch, push and local git
    commands bounded by 60 s."""
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    delays: list[float] = []
    pub = StatusPublisher(str(remote), "rtr1", tmp_path / "co", sleep=delays.append,
                          rng=random.Random(7))
    assert (pub.git_timeout, pub.transport.fetch_timeout, pub.transport.push_timeout) == (
        60.0, 60.0, 60.0
    )
    res = pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    assert (res.pushed, res.attempts, res.pending) == (False, 8, 1)
    jitter = random.Random(7)  # the same draws as the publisher's
    assert delays == [min(10.0, 0.2 * 2**n) * jitter.uniform(0.5, 1.5) for n in range(7)]


def git_commands(log_file: Path) -> list[str]:
    """The git subcommands run, in order (the word after git's own -c options)."""
    commands = []
    for line in log_file.read_text().splitlines():
        words = line.split("\0")
        while words and words[0] == "-c":
            words = words[2:]
        commands.append(" ".join(words[:2]) if words[0] == "remote" else words[0])
    return commands


def test_a_call_that_changes_nothing_does_no_more_than_it_must(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Work proportional to what changed: once the checkout is set up, a publish of the same
    report fetches and compares, and runs no replay, no push, no reset, no gc, no count of
    pending commits, and reads the remote's settings once per publisher (never rewriting
    them when they are right). Every git command is logged by a wrapper on PATH."""
    real_git, log_file = shutil.which("git"), tmp_path / "git-commands"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(
        f"#!/bin/sh\nprintf '%s\\0' \"$@\" | sed 's/\\x00$//' >> {log_file}\n"
        f"echo >> {log_file}\nexec {real_git} \"$@\"\n"
    )
    (bin_dir / "git").chmod(0o755)
    pub = publisher(remote, "rtr1", tmp_path)
    pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1")
    assert run_git("config", "remote.origin.tagOpt", cwd=pub.checkout).strip() == "--no-tags"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    log_file.write_text("")
    assert pub.publish({report("rtr1"): b"v1\n"}, "rtr1: v1") == PublishResult(
        False, True, 0, 0, None
    )
    again = publisher(remote, "rtr1", tmp_path)  # the next run: a new publisher
    assert again.publish({report("rtr1"): b"v1\n"}, "rtr1: v1").committed is False
    steady = ["for-each-ref", "ls-tree", "hash-object", "fetch", "for-each-ref", "for-each-ref",
              "ls-tree", "for-each-ref"]
    assert git_commands(log_file) == [*steady, "config", *steady]
