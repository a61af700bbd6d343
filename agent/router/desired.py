"""The rendered desired state of one router: files, gre interfaces, services and sysctls.

Plain frozen data (BundleWrap's expected_state): the diff compares it with what facts observe.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

IPSEC_CONF = "/etc/ipsec.conf"
SYSCTL_CONF = "/etc/sysctl.conf"
RC_CONF_LOCAL = "/etc/rc.conf.local"
LOCAL_KEY = "/etc/isakmpd/private/local.key"
LOCAL_PUB = "/etc/isakmpd/local.pub"
ISAKMPD_PID = "/var/run/isakmpd.pid"
GRE_ALLOW = "net.inet.gre.allow"
ISAKMPD_FLAGS = "-K"  # policy from ipsecctl, not KeyNote (isakmpd(8), openbsd-reference §5.1)
MANAGED_DESCRIPTION = "peerops"  # descriptions "peerops <peer>[: text]" mark owned interfaces
HOSTNAME_HEADER = "# managed by peerops"


def hostname_path(interface: str) -> str:
    return f"/etc/hostname.{interface}"


@dataclass(frozen=True)
class ManagedFile:
    path: str
    content: bytes
    mode: int
    uid: int = 0
    gid: int = 0  # wheel

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class GreSpec:
    """What `ifconfig greN` must show once netstart applied /etc/hostname.greN."""

    interface: str
    peer: str
    description: str
    mtu: int
    tunnel_src: str
    tunnel_dst: str
    inet: tuple[str, str] | None  # (local, dest) with netmask 255.255.255.255
    inet6: tuple[tuple[str, int], ...]  # explicit addresses (address, prefixlen)
    link_local: bool  # some fe80:: address must exist (eui64 or explicit)


@dataclass(frozen=True)
class Desired:
    router: str
    ipsec_conf: ManagedFile
    rules: dict[str, str]  # peer -> its ipsec.conf rule block (for `ipsecctl -d -f` later)
    pubkeys: dict[str, ManagedFile]  # path -> key file
    hostname_files: dict[str, ManagedFile]  # interface -> /etc/hostname.greN
    gre: dict[str, GreSpec]  # interface -> expected live state
    interfaces: dict[str, str]  # peer -> interface
    sysctl: dict[str, str]
    isakmpd_flags: str
    ipsec_enabled: bool
    held_interfaces: frozenset[str] = frozenset()  # interfaces of held peers: left as they are
    held_files: frozenset[str] = frozenset()  # key files of held peers: left as they are
    peer_keys: dict[str, str] = field(default_factory=dict)  # peer -> its key file
