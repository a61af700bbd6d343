"""isakmpd(8) in the simulator: start/stop, its FIFO and pid file, and config over the FIFO.

Sources (openbsd/src): sbin/isakmpd/isakmpd.c v1.109 (`parse_args`, `main`, `write_pid_file`,
`daemon_shutdown`), ui.c (`ui_init`, `ui_config`, `ui_teardown`, `ui_handle_command`),
policy.c (`policy_init`), util.c (`check_file_secrecy_fd`).

What is modelled:
- Flags are checked with isakmpd's getopt string; a bad flag is a failed start (usage).
- `ui_init` runs before anything else: an old FIFO is removed and a new one made (mode 0600);
  a *regular file* in its place is fatal. The FIFO is a FIFO of the router's files (a real
  one under ROOT, or one in memory during a simulation) with a random mtime stamped on it
  and remembered, so `ipsecctl` can tell "isakmpd reads this FIFO" from a stale one.
- The pid file is written next (`write_pid_file`, mode 0644 under the usual umask 022).
- Without -K, `policy_init` needs /etc/isakmpd/isakmpd.policy (0600-ish, root): if it is
  missing or too open isakmpd dies (log_fatal) after having made the FIFO and pid file.
  With a policy file it runs, but KeyNote policy is not simulated: no SA ever comes up.
- Config is only what ipsecctl sends through the FIFO (`C set/add/rmv/rm/rms`, `t`), kept
  as isakmpd's section/tag database. /etc/isakmpd/isakmpd.conf is ignored (not simulated).
- SIGTERM (`stop`) forgets the config and so every SA and flow isakmpd made, and removes the
  FIFO and the pid file. The unprivileged child's `daemon_shutdown` (isakmpd.c v1.109) only
  calls exit(0); the privileged monitor then reads EOF on its socket (monitor.c v1.83
  `must_read` -> `monitor_exit`), waits for the child and unlinks `ui_fifo` and `pid_file`.
  (An earlier reading of isakmpd.c alone concluded that nothing is removed: wrong, the
  monitor does it. monitor.c v1.85 in -current drops the pid file's unlink; the FIFO still
  goes.) So after `rcctl stop isakmpd`, `ipsecctl -f` fails at once on open(2) (ENOENT).
  Only a SIGKILL or a crash (`crash`) leaves a stale FIFO behind, and then an ipsecctl
  open() of it blocks for ever.
- Simplified: with -S (sasyncd) real isakmpd leaves its SAs in the kernel on shutdown; here
  they go away as well. -d (foreground) is accepted and treated like a daemonized start.

State keys (agent/sim/state.py, ROOT/.peerops-sim/state.db):
- state["daemons"]["isakmpd"] = {"pid": int, "flags": [str]} while it runs.
- state["isakmpd"] = {"fifo": path|None, "fifo_id": [inode, mtime_ns]|None, "pid_file": path,
  "keynote": bool, "connections": {name: {"passive": bool, "serial": int}}, "serial": int,
  "generation": int} while it runs. "generation" counts the changes of the section database
  in this run of isakmpd (with its pid, it names the database's contents: agent.sim.ike
  reads sections without listing them as inputs of the view agent.sim.ike_memo keeps).
- state["isakmpd_conf"] = {section: {tag: value}}: the section database, one store row per
  section (lower-case keys, as isakmpd compares them case-insensitively); empty while
  isakmpd does not run.
- state["isakmpd_log"] = [str, ...]: the last 200 messages isakmpd would have logged.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import stat
from collections.abc import MutableMapping
from typing import Any

from agent.sim import state as simstate
from agent.sim.files import FileInfo
from agent.sim.libc import getopt

Conf = MutableMapping[str, dict[str, str]]  # section -> tag -> value

CONF = simstate.CONF_TABLE
HELD_SECTIONS = 1000  # sections a command holds before writing them out (about 90 rules)
FIFO = "/var/run/isakmpd.fifo"
PID_FILE = "/var/run/isakmpd.pid"
POLICY_FILE = "/etc/isakmpd/isakmpd.policy"
GETOPT = "46ac:dD:f:i:KnN:p:Ll:R:STv"
LOG_KEY = "isakmpd_log"
LOG_MAX = 200
USAGE = (
    "usage: isakmpd [-46adKLnSTv] [-c config-file] [-D class=level] [-f fifo]\n"
    "          [-i pid-file] [-l packetlog-file] [-N udpencap-port]\n"
    "          [-p listen-port] [-R report-file]"
)


def log(state: dict[str, Any], message: str) -> None:
    """Append a line to isakmpd's log (what syslog would have), keeping the last LOG_MAX."""
    lines = state.setdefault(LOG_KEY, [])
    lines.append(message)
    del lines[:-LOG_MAX]


def _abs(path: str) -> str:
    """isakmpd starts from rc with cwd /, so a relative path is relative to /."""
    return path if path.startswith("/") else "/" + path


def running(state: dict[str, Any]) -> bool:
    """True when isakmpd runs (process table entry and its in-memory state)."""
    return "isakmpd" in state.get("daemons", {}) and "isakmpd" in state


# -- start / stop ---------------------------------------------------------------------------


def start(ctx: Any, flags: list[str]) -> bool:
    """Start isakmpd with flags; False when it refuses to start or dies during init."""
    opts, operands, error = getopt("isakmpd", list(flags), GETOPT)
    if error is not None or operands:
        log(ctx.state, error or USAGE.splitlines()[0])
        return False
    fifo: str | None = FIFO
    pid_file = PID_FILE
    keynote = True
    for ch, arg in opts:
        if ch == "f":
            fifo = None if arg == "-" else _abs(arg)  # -f - : commands come on stdin
        elif ch == "i":
            pid_file = _abs(arg)
        elif ch == "K":
            keynote = False
    log(ctx.state, "isakmpd: starting")
    identity = _ui_init(ctx, fifo) if fifo is not None else None
    if fifo is not None and identity is None:
        return False
    pid = simstate.allocate_pid(ctx.state)
    ctx.write_file(pid_file, f"{pid}\n".encode(), 0o644)
    if keynote and not _policy_init(ctx):
        return False
    ctx.state["daemons"]["isakmpd"] = {"pid": pid, "flags": list(flags)}
    ctx.state["isakmpd"] = {
        "fifo": fifo,
        "fifo_id": list(identity) if identity else None,
        "pid_file": pid_file,
        "keynote": keynote,
        "connections": {},
        "serial": 0,
        "generation": 0,
    }
    _forget_conf(ctx.state)  # empty already, unless the state was written by hand
    return True


def _forget_conf(state: Any) -> None:
    """The section database is isakmpd's memory: gone when it stops or dies."""
    conf = state.get(CONF)
    if conf:
        state[CONF] = {}


def _ui_init(ctx: Any, fifo: str) -> tuple[int, int] | None:
    """ui.c `ui_init`: refuse a regular file, remove the old FIFO, mkfifo 0600; its identity."""
    files = ctx.files
    st = files.lstat(fifo)
    if st is not None and stat.S_ISREG(st.st_mode):
        log(ctx.state, f'ui_init: could not create FIFO "{fifo}": File exists')
        return None
    with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
        files.remove(fifo)  # "No need to know about errors."
    try:
        files.mkdir(posixpath.dirname(fifo), 0o755)
        files.mkfifo(fifo, 0o600)
    except OSError as exc:
        log(ctx.state, f'ui_init: mkfifo ("{fifo}", 0600) failed: {os.strerror(exc.errno or 0)}')
        return None
    # The real FIFO stays open in isakmpd, so a FIFO made later in its place is another inode.
    # Here nothing holds it open, an inode number can be reused at once, and a simulation's
    # routers kept from memory get new ones (agent.sim.files.MemoryFiles.write_to): so the
    # FIFO's identity is a random mtime stamped now (nothing ever writes to it). Its inode is
    # noted beside it, for a person reading the state.
    stamp = 10**18 + int.from_bytes(os.urandom(7), "big")
    files.set_mtime(fifo, stamp)
    ctx.chown(fifo, 0, 0)
    made = files.stat(fifo)
    assert made is not None  # noqa: S101 - just made
    return made.st_ino, stamp


def _policy_init(ctx: Any) -> bool:
    """policy.c `policy_init` without -K: the KeyNote policy file must exist and be secret."""
    st = ctx.files.stat(POLICY_FILE)
    if st is None or not stat.S_ISREG(st.st_mode):
        log(
            ctx.state,
            f'policy_init: open ("{POLICY_FILE}", O_RDONLY) failed: No such file or directory',
        )
        return False
    uid = ctx.owner(POLICY_FILE)[0]
    problem = secrecy_problem(POLICY_FILE, uid, st.st_mode)
    if problem is not None:
        log(ctx.state, problem)
        log(ctx.state, f"policy_init: cannot read {POLICY_FILE}")
        return False
    return True


def secrecy_problem(path: str, uid: int, mode: int) -> str | None:
    """util.c `check_file_secrecy_fd` for isakmpd running as root; the log line if refused."""
    if uid != 0:
        return f"check_file_secrecy_fd: not loading {path} - file owner is not process user"
    if mode & 0o077:  # S_IRWXG | S_IRWXO
        return f"check_file_secrecy_fd: not loading {path} - too open permissions"
    return None


def stop(ctx: Any) -> None:
    """SIGTERM: delete its SAs and flows (they are derived from its config), exit, and have
    the monitor remove the FIFO and the pid file (monitor.c v1.83 `monitor_exit`)."""
    log(ctx.state, "isakmpd: shutting down...")
    ist = ctx.state.pop("isakmpd", None)
    _forget_conf(ctx.state)
    log(ctx.state, "isakmpd: exit")
    if ist is None:
        return
    for path in (ist.get("fifo"), ist.get("pid_file")):
        if path is not None:
            with contextlib.suppress(OSError):  # monitor_exit ignores unlink(2)'s errors
                ctx.remove_file(path)


def crash(ctx: Any) -> None:
    """SIGKILL (or a crash): the process and everything it held in memory are gone, but no
    code runs to clean up, so the FIFO and the pid file stay behind (stale)."""
    ctx.state.pop("isakmpd", None)
    _forget_conf(ctx.state)


# -- the FIFO -------------------------------------------------------------------------------


def fifo_has_reader(state: dict[str, Any], fifo: str, st: FileInfo) -> bool:
    """True when a running isakmpd holds this very FIFO open (else an open() would block):
    the FIFO it made, told by the mtime it stamped (see _ui_init)."""
    if not running(state):
        return False
    ist = state["isakmpd"]
    made = ist.get("fifo_id")
    return ist.get("fifo") == _abs(fifo) and isinstance(made, list) and made[1:] == [
        st.st_mtime_ns]


_SET_ADD_RMV = re.compile(r"C\s*\S+\s*\[([^\]]+)\]:([^=]+)=\s*(\S+)(?:\s+(\S+))?")
_RMS = re.compile(r"C\s*\S+\s*\[([^\]]+)\]")
_RM = re.compile(r"C\s*\S+\s*\[([^\]]+)\]:\s*(\S+)")
_LIMIT = 200  # every %200s / %200[...] in ui_config's sscanf formats


def apply_commands(state: Any, lines: list[str]) -> None:
    """ui.c `ui_handle_command` for each complete line written to the FIFO."""
    ist = state["isakmpd"]
    conf = state.setdefault(CONF, {})
    before = _connection_lists(conf)
    changed = False
    for line in lines:
        if line.startswith("C"):
            changed = _ui_config(state, conf, line) or changed
        elif line.startswith("t"):
            _ui_teardown(ist, line)
        else:
            log(state, f"ui_handle_messages: unrecognized command: '{line[:1]}'")
    if changed:
        ist["generation"] = int(ist.get("generation", 0)) + 1
    after = _connection_lists(conf)
    if after != before:
        _follow_connections(ist, conf, before, after)
    # ipsecctl -f sends a thousand rules one by one: their eleven thousand sections are
    # written to the store as it goes instead of all held until the command ends.
    simstate.release_over(state, CONF, HELD_SECTIONS)


def _follow_connections(
    ist: dict[str, Any], conf: Conf, before: tuple[str, str], after: tuple[str, str]
) -> None:
    """Keep `connections` equal to the changed [Phase 2] lists, quickly when they only grew."""
    tails = [_appended(old, new) for old, new in zip(before, after, strict=True)]
    if tails[0] is not None and tails[1] is not None:
        _add_connections(ist, tails[0], tails[1])
    else:
        _sync_connections(ist, conf)


def _appended(old: str, new: str) -> str | None:
    """The items new adds at the end of list old, or None when it changed otherwise."""
    if not new.startswith(old):
        return None
    tail = new[len(old):]
    return tail if not old or not tail or old.endswith(",") or tail.startswith(",") else None


def _connection_lists(conf: Conf) -> tuple[str, str]:
    phase2 = conf.get("phase 2") or {}
    return phase2.get("connections", ""), phase2.get("passive-connections", "")


def _add_connections(ist: dict[str, Any], active: str, passive: str) -> None:
    """What _sync_connections does when the lists only grew by these tails (ipsecctl -f
    adds one connection per rule): only the new names are looked at, not the whole list."""
    current = ist["connections"]
    for names, is_passive in ((active, False), (passive, True)):
        for name in conf_list(names):
            if name not in current:
                ist["serial"] += 1
                current[name] = {"passive": is_passive, "serial": ist["serial"]}
            elif not is_passive:
                current[name]["passive"] = False  # [Phase 2]:Connections comes first


def _ui_config(state: Any, conf: Conf, cmd: str) -> bool:
    """ui.c `ui_config`: set/add/rmv/rm/rms on the section database (get is not modelled);
    True when the database changed."""
    words = cmd[1:].split(None, 1)
    sub = words[0].lower() if words else ""
    handler = _HANDLERS.get(sub)
    if handler is not None:
        match = _SET_ADD_RMV.match(cmd)
        if match:
            section, tag, value, force = match.groups()
            if len(section) <= _LIMIT and len(tag) <= _LIMIT:
                return handler(state, conf, section.lower(), tag.lower(), value[:_LIMIT], force)
    elif sub == "rms" and (match := _RMS.match(cmd)):
        return conf.pop(match.group(1).lower(), None) is not None
    elif sub == "rm" and (match := _RM.match(cmd)):
        section, tag = match.group(1).lower(), match.group(2).lower()
        tags = conf.get(section)
        if tags is None or tag not in tags:
            return False
        del tags[tag]
        return True
    elif sub == "get":
        return False
    log(state, f'ui_config: command "{cmd}" malformed')
    return False


def _conf_set(
    state: Any, conf: Conf, section: str, tag: str, value: str, force: str | None
) -> bool:
    tags = conf.setdefault(section, {})
    if tag in tags and force is None:
        log(state, f"conf_set: duplicate tag [{section}]:{tag}, ignoring...")
        return False
    if tags.get(tag) == value:
        return False
    tags[tag] = value
    return True


def _conf_add(
    state: Any, conf: Conf, section: str, tag: str, value: str, force: str | None
) -> bool:
    tags = conf.setdefault(section, {})
    old = tags.get(tag)
    if old is None:
        tags[tag] = value
        return True
    # A value that is not even a substring is not in the list: skip splitting the list (it
    # holds every connection, and ipsecctl -f adds them one by one).
    if value.strip() not in old or value not in conf_list(old):
        tags[tag] = old + value if old.endswith(",") else f"{old},{value}"
        return True
    return False


def _conf_rmv(
    state: Any, conf: Conf, section: str, tag: str, value: str, force: str | None
) -> bool:
    tags = conf.get(section, {})
    if tag not in tags:
        return False
    old = tags[tag]
    kept = [item for item in conf_list(old) if item != value]
    if kept:
        tags[tag] = ",".join(kept)
    else:
        del tags[tag]
    return tags.get(tag) != old


_HANDLERS = {"set": _conf_set, "add": _conf_add, "rmv": _conf_rmv}


def conf_list(value: str) -> list[str]:
    """conf.c `conf_get_list`: a comma-separated value, blanks around items removed."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _ui_teardown(ist: dict[str, Any], cmd: str) -> None:
    """ui.c `ui_teardown`: `t [main|quick] name`; a torn-down phase 2 SA is renegotiated
    (isakmpd's connection checker), so here it only gets new SPIs."""
    words = cmd.split()
    name = words[-1] if len(words) >= 2 else None
    entry = ist["connections"].get(name) if name else None
    if entry is not None and (len(words) == 2 or words[1] == "quick"):
        ist["serial"] += 1
        entry["serial"] = ist["serial"]


def _sync_connections(ist: dict[str, Any], conf: Conf) -> None:
    """Keep `connections` equal to [Phase 2]:Connections and Passive-Connections; a newly
    added name gets a new serial (its SAs are new)."""
    phase2 = conf.get("phase 2") or {}
    wanted: dict[str, bool] = {}
    for tag, passive in (("connections", False), ("passive-connections", True)):
        for name in conf_list(phase2.get(tag, "")):
            wanted.setdefault(name, passive)
    current = ist["connections"]
    for name in list(current):
        if name not in wanted:
            del current[name]
    for name, passive in wanted.items():
        if name not in current:
            ist["serial"] += 1
            current[name] = {"passive": passive, "serial": ist["serial"]}
        current[name]["passive"] = passive
