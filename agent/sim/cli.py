"""`peerops sim`: run one command on a simulated router, as a person would on the real one.

    peerops sim --root DIR [--init [--name NAME] [--address ADDR ...]] [--timeout SECONDS]
                [COMMAND [ARG ...]]

`main(argv)` takes the arguments after `peerops sim` (a leading "sim" is skipped too), runs
COMMAND through SimHost(DIR) and copies its stdout/stderr unchanged to ours; the exit status
is the command's, 124 when it would have blocked (with a message), 127 for a command the
simulator does not have (SimHost says so on stderr), 2 for a usage error of `peerops sim`.

`init_root()` makes a minimal freshly installed router (used by `--init` and by
agent/sim/provision.py, which adds the isakmpd keys).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import PeeropsError
from agent.host import DEFAULT_TIMEOUT
from agent.sim import faults, if_gre, rcctl
from agent.sim import state as simstate
from agent.sim.files import MemoryFiles
from agent.sim.host import SimHost

USAGE = ("usage: peerops sim --root DIR [--init [--name NAME] [--address ADDR ...]]"
         " [--timeout SECONDS] [COMMAND [ARG ...]]\n"
         "       peerops sim --root DIR fault add [--times N] [--rc N] [--stderr TEXT]"
         " [--matching TEXT] -- CMD [ARG ...] | fault list | fault clear")

# Directories of a fresh install that the agent relies on (etc/mtree/4.4BSD.dist modes:
# /etc/isakmpd/private is 0700, the rest 0755).
DIRECTORIES: tuple[tuple[str, int], ...] = (
    ("/etc", 0o755), ("/var/run", 0o755), ("/etc/isakmpd", 0o755),
    ("/etc/isakmpd/private", 0o700), ("/etc/isakmpd/pubkeys", 0o755),
    ("/etc/isakmpd/pubkeys/ipv4", 0o755), ("/etc/isakmpd/pubkeys/ipv6", 0o755),
    ("/etc/isakmpd/pubkeys/fqdn", 0o755), ("/etc/isakmpd/pubkeys/ufqdn", 0o755),
)


def _mac_for(name: str) -> str:
    """A stable, universally administered MAC for the router's em0 (made up from its name:
    the simulator has no hardware). Universal matters: gre link-locals borrow its EUI-64."""
    digest = hashlib.sha256(name.encode()).digest()
    octets = [0x00, 0x1B, 0x21, *digest[:3]]
    return ":".join(f"{o:02x}" for o in octets)


def _split_addresses(addresses: list[str]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """`ADDR[/LEN]` -> (inet, inet6) lists; a bare address gets /24 (IPv4) or /64 (IPv6),
    an assumption for the public LAN em0 sits on."""
    inet: list[tuple[str, int]] = []
    inet6: list[tuple[str, int]] = []
    for text in addresses:
        addr_text, _, plen = text.partition("/")
        addr = ipaddress.ip_address(addr_text)
        if addr.version == 4:
            inet.append((str(addr), int(plen or 24)))
        else:
            inet6.append((str(addr), int(plen or 64)))
    return inet, inet6


def init_root(root: Path, name: str, addresses: list[str]) -> None:
    """Make ROOT a freshly booted router if it is not one yet: the directories above,
    /etc/rc.conf and /etc/myname, lo0/em0/enc0/pflog0 (em0 with `addresses`), and the daemons
    rc.conf enables by default running. No keys (see agent/sim/provision.py)."""
    root = Path(root)
    if simstate.is_provisioned(root):
        return
    files = simstate.router_files(root, create=True)
    for directory, mode in DIRECTORIES:
        files.mkdir(directory, mode)
        files.chmod(directory, mode)  # one that was there too
    state = simstate.new_state()
    _attach_em0(state, name, addresses)
    if_gre.add_physical(state, "enc0")
    if_gre.add_physical(state, "lo0")
    if_gre.add_physical(state, "pflog0")
    simstate.save(root, state)
    if files.stat(simstate.HOST_PATH) is None:
        simstate.write_host_info(root, name, None)
    host = SimHost(root)
    host.write_file("/etc/rc.conf", rcctl.RC_CONF_TEXT.encode(), mode=0o644)
    host.write_file("/etc/myname", f"{name}\n".encode(), mode=0o644)
    on = host.run(["rcctl", "ls", "on"]).stdout.split()
    daemons = [svc for svc in on if svc in rcctl.RC_D]
    if daemons:
        host.run(["rcctl", "start", *daemons])  # what /etc/rc's start_daemon does at boot


def _attach_em0(state: dict[str, Any], name: str, addresses: list[str]) -> None:
    """em0 as a fresh install leaves it: the only interface that depends on the router's
    name (its MAC) and addresses (its fixed ifindex does not)."""
    inet, inet6 = _split_addresses(addresses)
    if_gre.add_physical(state, "em0", inet=inet, inet6=inet6, mac=_mac_for(name))


@dataclass(frozen=True)
class FreshRoot:
    """A router as init_root leaves it, held in memory to make many routers from (a lab that
    provisions hundreds: writing a copy costs a fraction of a boot). Only em0, /etc/myname and
    host.json depend on a router's name and addresses; the rest (directories, rc.conf, the
    store with the daemons started at boot) is the same on every fresh router.

    The files a copy shares with the template unchanged (rc.conf, the runfiles of the daemons
    started at boot) are hard links to the booted template's on disk, and the same bytes in
    memory: a link is a directory entry, a new file an inode (most of a lab's provisioning
    time). Safe because the simulated host never writes a file in place: every write is a
    new file renamed over the old one (agent.sim.files) and a removal unlinks one name, so a
    router that changes such a file gets a file of its own. The store is written in place:
    never linked.
    """

    entries: tuple[tuple[str, int, bytes | None], ...]  # path, mode, bytes (None: directory)
    scratch: Path | None = None  # where the template was booted (kept while it is copied)
    tree: MemoryFiles | None = None  # the entries but the store, for copies made in memory

    @classmethod
    def boot(cls, scratch: Path) -> FreshRoot:
        """Boot a router at scratch (a directory of its own) and hold what it left."""
        init_root(scratch, "template", [])
        simstate.on_disk(scratch)  # a store made in memory (simstate.in_memory) too
        simstate.close(scratch)  # the store is then state.db alone
        entries: list[tuple[str, int, bytes | None]] = []
        for path, info, data in simstate.router_files(scratch).walk():
            if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
                raise ValueError(f"not a file or directory in a fresh router: {scratch}{path}")
            entries.append((path.lstrip("/"), stat.S_IMODE(info.st_mode), data))
        tree = MemoryFiles()
        for path, mode, data in entries:
            if data is None:
                tree.mkdir("/" + path, mode)
            elif path != os.path.join(simstate.SIM_DIR, simstate.STATE_FILE):
                tree.create("/" + path, data, mode)
        return cls(tuple(entries), scratch, tree)

    def copy(
        self, root: Path, name: str, addresses: list[str], fleet: str | None = None,
        files: dict[str, tuple[bytes, int]] | None = None,
    ) -> None:
        """Make ROOT (not existing yet) what init_root(ROOT, name, addresses) makes, with
        host.json naming fleet and `files` (path -> (bytes, mode), root:wheel: what a first
        boot adds, e.g. rc's make_keys) as host.write_file would leave them. One transaction
        and each file written once: a lab provisions hundreds of routers."""
        os.makedirs(root)  # (not there yet)
        on = simstate.router_files(root, create=True)  # in memory in a simulation
        info = os.path.join(simstate.SIM_DIR, simstate.HOST_FILE)
        own = {info: simstate.host_info_text(name, fleet), "etc/myname": f"{name}\n".encode()}
        store = os.path.join(simstate.SIM_DIR, simstate.STATE_FILE)
        template_store = os.path.join(self.scratch, store) if self.scratch else None
        copied = isinstance(on, MemoryFiles) and self.tree is not None and template_store
        if copied:  # the whole tree at once: a path walk per entry costs more
            on.fill_from(self.tree)
            for rel, data in own.items():
                on.write("/" + rel, data, self.tree.mode_of("/" + rel))
            simstate.copy_store(root, template_store)
        for rel, mode, data in () if copied else self.entries:
            if data is None:  # (a directory comes before what it holds)
                on.mkdir("/" + rel, mode)
            elif rel == store and template_store and simstate.copy_store(root, template_store):
                continue  # a store in memory (simstate.in_memory)
            elif rel in own or rel == store or self.scratch is None:
                on.create("/" + rel, own.get(rel, data), mode)
            else:
                on.create("/" + rel, data, mode, template=os.path.join(self.scratch, rel))
        em0 = simstate.new_state()
        _attach_em0(em0, name, addresses)
        with simstate.transaction(root) as state:
            state["interfaces"]["em0"] = em0["interfaces"]["em0"]
            # The owners of the template's files (root:wheel) are in its store already.
            for os_path, (data, mode) in (files or {}).items():
                on.create(os_path, data, mode)
                state["owners"][os_path] = [0, 0]
        simstate.changed()


@dataclass
class _Args:
    root: Path | None = None
    init: bool = False
    name: str | None = None
    addresses: list[str] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT
    command: list[str] = field(default_factory=list)


class _UsageError(PeeropsError):
    """A wrong `peerops sim` command line (exit 2 with the usage)."""


class _Help(Exception):
    pass


def _take(argv: list[str], i: int, opt: str) -> tuple[str, int]:
    """The value of an option given as `--opt VALUE` or `--opt=VALUE`; returns it and the
    index after it."""
    word = argv[i]
    if word.startswith(opt + "="):
        return word[len(opt) + 1:], i + 1
    if i + 1 >= len(argv):
        raise _UsageError(f"option {opt} needs a value")
    return argv[i + 1], i + 2


def _parse(argv: list[str]) -> _Args:
    """Options up to the first word that is not one; the rest is the command."""
    args = _Args()
    i = 1 if argv[:1] == ["sim"] else 0
    while i < len(argv) and argv[i].startswith("-"):
        word = argv[i]
        opt = word.split("=", 1)[0]
        if opt in ("-h", "--help"):
            raise _Help
        if opt == "--init":
            args.init, i = True, i + 1
        elif opt == "--root":
            value, i = _take(argv, i, opt)
            args.root = Path(value)
        elif opt == "--name":
            args.name, i = _take(argv, i, opt)
        elif opt == "--address":
            value, i = _take(argv, i, opt)
            args.addresses.append(value)
        elif opt == "--timeout":
            value, i = _take(argv, i, opt)
            args.timeout = float(value)
        else:
            raise _UsageError(f"unknown option {word}")
    args.command = argv[i:]
    if args.root is None:
        raise _UsageError("--root is required")
    return args


def _help_text() -> str:
    """`peerops sim --help`: what it does, the simulated commands, and what --init makes."""
    from agent.sim.host import COMMANDS

    names = ", ".join(sorted(set(COMMANDS) - {"sh"}))
    return f"""{USAGE}

Run COMMAND on the simulated OpenBSD router under DIR as one would on the real router: output,
errors and exit status are OpenBSD's. Simulated commands: {names} and sh /etc/netstart [IF ...];
isakmpd runs as a daemon through rcctl (rcctl start isakmpd), with its FIFO.

options:
  --root DIR         the simulated router's root directory (required)
  --init             first make DIR a freshly booted router, if it is not one: the directories
                     of a fresh install, /etc/rc.conf and /etc/myname, lo0, em0, enc0 and pflog0,
                     and the daemons rc.conf enables running; no isakmpd keys (peerops key
                     generate makes them)
  --name NAME        with --init: the router's name (default: DIR's last component)
  --address ADDR     with --init: an address of em0, ADDR[/LEN] (repeatable)
  --timeout SECONDS  a command that would block longer ends with exit 124
  fault add|list|clear
                     make matching commands fail (--times N, --rc N, --stderr TEXT,
                     --matching TEXT), list or clear those faults"""


def main(argv: list[str]) -> int:
    """Run `peerops sim ...`; returns the exit status."""
    try:
        args = _parse(list(argv))
    except _Help:
        print(_help_text())
        return 0
    except (_UsageError, ValueError) as error:
        sys.stderr.write(f"peerops sim: {error}\n{USAGE}\n")
        return 2
    root = args.root or Path()
    if args.init:
        init_root(root, args.name or root.resolve().name, args.addresses)
    elif not simstate.is_provisioned(root):
        sys.stderr.write(f"peerops sim: {root}: not a simulated router (use --init)\n")
        return 2
    if not args.command:
        if args.init:
            return 0
        sys.stderr.write(f"peerops sim: no command given\n{USAGE}\n")
        return 2
    if args.command[0] == "fault":
        rc, text = faults.command(root, args.command[1:])
        (sys.stdout if rc == 0 else sys.stderr).write(text)
        return rc
    result = SimHost(root).run(args.command, timeout=args.timeout)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sys.stdout.flush()
    if result.timed_out:
        shown = " ".join(args.command)
        sys.stderr.write(f"peerops sim: {shown}: timed out after {args.timeout:g} s"
                         " (it would block for ever on OpenBSD)\n")
        return 124
    return result.rc
