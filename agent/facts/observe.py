"""Observe a router: files, rc settings, sysctl, IPsec flows and SAs, gre interfaces.

Side-effect free: only reads files and runs read-only commands. Every call observes afresh
(verify depends on that). Each command is an argv constant; its output goes to a pure parser.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

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
    for path in (IPSEC_CONF, SYSCTL_CONF, LOCAL_PUB):
        obs.files[path] = read_file_fact(host, path)
    obs.local_key = host.stat(LOCAL_KEY)
    obs.hostname_files = _hostname_files(host)
    obs.pubkey_files = _pubkey_files(host)
    _observe_rc(host, obs)
    _observe_sysctl(host, obs)
    _observe_ipsec(host, obs)
    _observe_gre(host, obs)
    return obs


def read_file_fact(host: Host, path: str) -> FileFact | None:
    st = host.stat(path)
    if st is None or st.is_dir:
        return None
    content = host.read_file(path)
    return None if content is None else FileFact(path, content, st)


def _hostname_files(host: Host) -> dict[str, FileFact]:
    out = {}
    for name in host.list_dir("/etc") or []:
        if re.fullmatch(r"hostname\.gre[0-9]+", name) and (
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


def _observe_ipsec(host: Host, obs: Observed) -> None:
    result = host.run(IPSECCTL_SA)
    if not result.ok:
        obs.errors.append(f"ipsecctl -sa failed: {result.stderr.strip()}")
        return
    try:
        obs.ipsec = parse_ipsecctl(result.stdout, "ipsecctl -sa")
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
        interfaces = parse_ifconfig(result.stdout, "ifconfig gre")
    except ParseError as exc:
        obs.errors.append(str(exc))
        return
    obs.gre = {i.name: i for i in interfaces if re.fullmatch(r"gre[0-9]+", i.name)}
