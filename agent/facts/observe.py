"""Observe a router: files, rc settings, sysctl, IPsec flows and SAs, gre interfaces.

Side-effect free: only reads files and runs read-only commands. `observe` looks at all of it
afresh; `reobserve` (verify after an apply) looks again at exactly what the applied steps'
resources can have changed and keeps the rest of an observation taken a moment before. Each
command is an argv constant or built from a validated name; its output goes to a pure parser.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, cast

from agent.errors import ParseError
from agent.facts.ifconfig import Interface, parse_ifconfig
from agent.facts.ipsec import IpsecFacts, parse_ipsecctl
from agent.host import FileStat, Host
from agent.model import ID_TYPES, PUBKEY_DIR
from agent.router.desired import (
    GRE_ALLOW,
    HOSTNAME_HEADER,
    IPSEC_CONF,
    ISAKMPD_PID,
    LOCAL_KEY,
    LOCAL_PUB,
    MANAGED_DESCRIPTION,
    SYSCTL_CONF,
)

IPSECCTL_SA = ("ipsecctl", "-sa")
IFCONFIG_GRE = ("ifconfig", "gre")
RCCTL_GET_ISAKMPD_FLAGS = ("rcctl", "get", "isakmpd", "flags")
RCCTL_CHECK_ISAKMPD = ("rcctl", "check", "isakmpd")
RCCTL_GET_IPSEC = ("rcctl", "get", "ipsec")
SYSCTL_GRE_ALLOW = ("sysctl", GRE_ALLOW)
WHOLE_FILES = (IPSEC_CONF, SYSCTL_CONF, LOCAL_PUB)
GRE_NAME = re.compile(r"gre[0-9]+")
HOSTNAME_FILE = re.compile(r"hostname\.gre[0-9]+")
OWNED_DESCRIPTION = re.compile(rf"{MANAGED_DESCRIPTION} ([a-z][a-z0-9-]*)(:|\Z)")
OWNED_HOSTNAME = re.compile(rf"^{HOSTNAME_HEADER}.*\(peer ([a-z][a-z0-9-]*)[,)]")


@dataclass(frozen=True)
class FileFact:
    path: str
    content: bytes
    stat: FileStat

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class Observed:
    """Everything the diff needs to know about the live router."""

    files: dict[str, FileFact | None] = field(default_factory=dict)
    hostname_files: dict[str, FileFact] = field(default_factory=dict)  # greN -> file
    pubkey_files: dict[str, FileFact] = field(default_factory=dict)
    isakmpd_flags: str | None = None  # None: disabled (rcctl prints NO)
    isakmpd_running: bool = False
    isakmpd_pid: int | None = None
    ipsec_enabled: bool = False
    sysctl: dict[str, str] = field(default_factory=dict)
    ipsec: IpsecFacts = field(default_factory=lambda: IpsecFacts((), ()))
    gre: dict[str, Interface] = field(default_factory=dict)
    local_key: FileStat | None = None
    # Addresses of the router's own interfaces (gre excluded); None: not looked at. Looked at
    # only when a peering is not up (observe_local_addresses): `ifconfig -a` lists every gre.
    local_addresses: frozenset[str] | None = None
    errors: list[str] = field(default_factory=list)

    def owner_of_interface(self, name: str) -> str | None:
        """The peer owning a gre interface or hostname file, or None if not peerops'."""
        iface = self.gre.get(name)
        if (
            iface is not None
            and iface.description
            and (m := OWNED_DESCRIPTION.match(iface.description))
        ):
            return m.group(1)
        file = self.hostname_files.get(name)
        if file is not None and (m := OWNED_HOSTNAME.match(file.content.decode(errors="replace"))):
            return m.group(1)
        return None


def observe(host: Host) -> Observed:
    """Return a fresh observation of host; problems reading it are listed, not raised."""
    obs = Observed()
    for path in WHOLE_FILES:
        obs.files[path] = read_file_fact(host, path)
    obs.local_key = host.stat(LOCAL_KEY)
    obs.hostname_files = _hostname_files(host)
    obs.pubkey_files = _pubkey_files(host)
    _observe_rc(host, obs)
    _observe_sysctl(host, obs)
    _observe_ipsec(host, obs)
    _observe_gre(host, obs)
    return obs


def reobserve(host: Host, before: Observed, resources: Iterable[str]) -> Observed:
    """An observation as fresh as observe(host) for a router that, since `before` was taken,
    changed only the given step resources ("file:/etc/x", "gre:gre3", "rule:alice", ...).

    What a resource can change is looked at again: a file is read, a gre interface is asked
    for (`ifconfig greN`), rules and isakmpd's keys and daemon mean `ipsecctl -sa`, rc and
    sysctl their commands. An unknown resource, or a `before` with errors, means a full look."""
    scope = _scope(resources)
    if scope is None or before.errors:
        return observe(host)
    files, ifaces, areas = scope
    obs = replace(
        before,
        files=dict(before.files),
        hostname_files=dict(before.hostname_files),
        pubkey_files=dict(before.pubkey_files),
        sysctl=dict(before.sysctl),
        gre=dict(before.gre),
        errors=[],
    )
    for path in sorted(files):
        _refresh_file(host, obs, path)
    if "rc" in areas:
        _observe_rc(host, obs)
    if "sysctl" in areas:
        _observe_sysctl(host, obs)
    if "ipsec" in areas:
        _observe_ipsec(host, obs)
    if "gre" in areas:
        obs.gre = {}
        _observe_gre(host, obs)
    else:
        for name in sorted(ifaces):
            _observe_one_gre(host, obs, name)
    return obs


def _scope(resources: Iterable[str]) -> tuple[set[str], set[str], set[str]] | None:
    """(files, gre interfaces, areas) the resources can have changed; None: anything."""
    files: set[str] = set()
    ifaces: set[str] = set()
    areas: set[str] = set()
    for resource in resources:
        kind, _, name = resource.partition(":")
        if kind == "file":
            files.add(name)
            if name.startswith("/etc/isakmpd/"):
                areas.add("ipsec")  # isakmpd reads keys when it negotiates
        elif kind == "gre" and GRE_NAME.fullmatch(name):
            ifaces.add(name)
        elif kind in ("rule", "ipsec"):
            areas.add("ipsec")
        elif kind == "daemon" and name == "isakmpd":
            areas |= {"rc", "ipsec"}
        elif kind == "rc":
            areas.add("rc")
        elif kind == "sysctl":
            areas |= {"sysctl", "gre"}  # net.inet.gre.allow decides what tunnels carry
        else:
            return None
    return files, ifaces, areas


def _refresh_file(host: Host, obs: Observed, path: str) -> None:
    """Read path again into whichever part of obs holds it."""
    fact = read_file_fact(host, path)
    directory, _, name = path.rpartition("/")
    if directory == "/etc" and HOSTNAME_FILE.fullmatch(name):
        table: dict[str, FileFact] = obs.hostname_files
        key = name.removeprefix("hostname.")
    elif directory.startswith(PUBKEY_DIR + "/") and directory.split("/")[-1] in ID_TYPES:
        table, key = obs.pubkey_files, path
    elif path == LOCAL_KEY:
        obs.local_key = host.stat(LOCAL_KEY)
        return
    else:
        if path in WHOLE_FILES:  # a file observe does not look at stays unobserved
            obs.files[path] = fact
        return
    if fact is None:
        table.pop(key, None)
    else:
        table[key] = fact


def read_file_fact(host: Host, path: str) -> FileFact | None:
    st = host.stat(path)
    if st is None or st.is_dir:
        return None
    content = host.read_file(path)
    return None if content is None else FileFact(path, content, st)


def _hostname_files(host: Host) -> dict[str, FileFact]:
    out = {}
    for name in host.list_dir("/etc") or []:
        if HOSTNAME_FILE.fullmatch(name) and (
            fact := read_file_fact(host, f"/etc/{name}")
        ):
            out[name.removeprefix("hostname.")] = fact
    return out


def _pubkey_files(host: Host) -> dict[str, FileFact]:
    out = {}
    for id_type in ID_TYPES:
        directory = f"{PUBKEY_DIR}/{id_type}"
        for name in host.list_dir(directory) or []:
            if fact := read_file_fact(host, f"{directory}/{name}"):
                out[fact.path] = fact
    return out


def _observe_rc(host: Host, obs: Observed) -> None:
    flags = host.run(RCCTL_GET_ISAKMPD_FLAGS)
    value = flags.stdout.rstrip("\n")
    obs.isakmpd_flags = None if value == "NO" else value
    obs.isakmpd_running = host.run(RCCTL_CHECK_ISAKMPD).rc == 0
    pid = host.read_file(ISAKMPD_PID)
    if obs.isakmpd_running and pid and pid.strip().isdigit():
        obs.isakmpd_pid = int(pid.strip())
    ipsec = host.run(RCCTL_GET_IPSEC)
    obs.ipsec_enabled = ipsec.rc == 0 and ipsec.stdout.strip() not in ("NO", "")


def _observe_sysctl(host: Host, obs: Observed) -> None:
    result = host.run(SYSCTL_GRE_ALLOW)
    name, sep, value = result.stdout.strip().partition("=")
    if result.rc != 0 or not sep:
        obs.errors.append(f"sysctl {GRE_ALLOW}: {result.stderr.strip() or 'no value'}")
        return
    obs.sysctl[name] = value


# A daemon cycle that gets the same output as the last one reuses its parse (the facts are
# frozen): a thousand flows, SAs and interfaces are parsed only when something changed. The
# last parse of each is kept under the digest of its text, not the text (half a megabyte).
_LAST_PARSE: dict[str, tuple[bytes, Any]] = {}
_Parsed = TypeVar("_Parsed")


def _reused(kind: str, text: str, parse: Callable[[], _Parsed]) -> _Parsed:
    digest = hashlib.sha256(text.encode()).digest()
    last = _LAST_PARSE.get(kind)
    if last is not None and last[0] == digest:
        return cast(_Parsed, last[1])
    parsed = parse()
    _LAST_PARSE[kind] = (digest, parsed)
    return parsed


def _parsed_sa(text: str) -> IpsecFacts:
    return _reused("sa", text, lambda: parse_ipsecctl(text, "ipsecctl -sa"))


def _parsed_gre(text: str) -> tuple[Interface, ...]:
    return _reused("gre", text, lambda: tuple(parse_ifconfig(text, "ifconfig gre")))


def _observe_ipsec(host: Host, obs: Observed) -> None:
    result = host.run(IPSECCTL_SA)
    if not result.ok:
        obs.errors.append(f"ipsecctl -sa failed: {result.stderr.strip()}")
        return
    try:
        obs.ipsec = _parsed_sa(result.stdout)
    except ParseError as exc:
        obs.errors.append(str(exc))


IFCONFIG_ALL = ("ifconfig", "-a")
_ADDRESS_LINE = re.compile(r"\tinet6? ([0-9A-Fa-f.:]+)(?:%\S+)?(?: .*)?")


def observe_local_addresses(host: Host, obs: Observed) -> None:
    """Fill obs.local_addresses from `ifconfig -a` (ifconfig.c in_status/in6_status lines),
    leaving out gre interfaces: a tunnel endpoint must sit on the router's own interface."""
    result = host.run(IFCONFIG_ALL)
    if result.rc != 0:
        obs.errors.append(f"ifconfig -a failed: {result.stderr.strip()}")
        return
    found, in_gre = set(), False
    for line in result.stdout.splitlines():
        if line and not line[0].isspace():
            in_gre = re.match(r"gre[0-9]+:", line) is not None
        elif not in_gre and (m := _ADDRESS_LINE.fullmatch(line)):
            found.add(m.group(1).lower())
    obs.local_addresses = frozenset(found)


def _observe_gre(host: Host, obs: Observed) -> None:
    result = host.run(IFCONFIG_GRE)
    if result.rc != 0:  # "gre: no such interface" when the group has no members
        return
    try:
        interfaces = _parsed_gre(result.stdout)
    except ParseError as exc:
        obs.errors.append(str(exc))
        return
    obs.gre = {i.name: i for i in interfaces if GRE_NAME.fullmatch(i.name)}


def _observe_one_gre(host: Host, obs: Observed, name: str) -> None:
    """`ifconfig greN`: the interface as it is now, or gone ("greN: no such interface")."""
    result = host.run(("ifconfig", name))
    if result.rc != 0:
        if result.stderr.strip().endswith(f"{name}: no such interface"):
            obs.gre.pop(name, None)
        else:
            obs.errors.append(f"ifconfig {name} failed: {result.stderr.strip()}")
        return
    try:
        found = [i for i in parse_ifconfig(result.stdout, f"ifconfig {name}") if i.name == name]
    except ParseError as exc:
        obs.errors.append(str(exc))
        return
    if found:
        obs.gre[name] = found[0]
    else:
        obs.gre.pop(name, None)
