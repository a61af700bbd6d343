"""The plan: an ordered list of steps, each saying why. A pure function of desired state,
observed state and the applied record; `peerops plan` prints it, `apply` executes it.

Order: validate ipsec.conf first (nothing changes if it is refused), then sysctl, keys,
rc settings and isakmpd, rules (removed and changed ones deleted with `ipsecctl -d -f`
before the new file is loaded; never a flush, which would drop every peer's SAs), and gre.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.facts.ifconfig import Interface
from agent.facts.observe import FileFact, Observed
from agent.keys import fingerprint_of
from agent.router.desired import (
    GRE_ALLOW,
    IPSEC_CONF,
    SYSCTL_CONF,
    Desired,
    GreSpec,
    ManagedFile,
    hostname_path,
)
from agent.router.record import Applied
from agent.router.render import merge_sysctl_conf

SYSCTL_CONF_MODE = 0o644


@dataclass(frozen=True)
class Step:
    """One change. kind: run | write | remove | check-ipsec | delete-rule."""

    kind: str
    resource: str  # e.g. "file:/etc/ipsec.conf", "gre:gre1", "rc:isakmpd", "rule:alice"
    why: str
    argv: tuple[str, ...] = ()
    file: ManagedFile | None = None
    path: str | None = None
    text: str | None = None  # ipsec.conf text to check, or the old rule to delete

    def describe(self) -> str:
        if self.kind == "run":
            return " ".join(self.argv)
        if self.kind == "write" and self.file:
            return f"write {self.file.path} ({self.file.mode:04o} root:wheel)"
        if self.kind == "remove":
            return f"remove {self.path}"
        if self.kind == "check-ipsec":
            return "ipsecctl -n -f <new ipsec.conf>"
        return f"ipsecctl -d -f <last applied rule of {self.resource.removeprefix('rule:')}>"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "resource": self.resource,
            "why": self.why,
            "action": self.describe(),
        }
        if self.argv:
            out["argv"] = list(self.argv)
        return out


def make_plan(desired: Desired, obs: Observed, record: Applied) -> list[Step]:
    """Return the steps that make the router match desired, in the order they must run."""
    steps: list[Step] = []
    conf_changes = _file_steps(desired.ipsec_conf, obs.files.get(IPSEC_CONF), "ipsec.conf")
    if conf_changes:
        steps.append(
            Step(
                "check-ipsec",
                f"file:{IPSEC_CONF}",
                "validate before it replaces the live file",
                text=desired.ipsec_conf.content.decode(),
            )
        )
    steps += _sysctl_steps(desired, obs)
    steps += _pubkey_steps(desired, obs, record)
    rc_steps, restarting = _rc_steps(desired, obs)
    steps += rc_steps
    steps += _rule_steps(desired, obs, record, conf_changes, restarting)
    steps += _gre_steps(desired, obs)
    return steps


def _file_steps(want: ManagedFile, have: FileFact | None, label: str) -> list[Step]:
    why = _file_difference(want, have)
    return [Step("write", f"file:{want.path}", f"{label} {why}", file=want)] if why else []


def _file_difference(want: ManagedFile, have: FileFact | None) -> str | None:
    if have is None:
        return "is missing"
    if have.sha256 != want.sha256:
        return "content differs"
    if have.stat.mode != want.mode:
        return f"mode is {have.stat.mode:04o}, not {want.mode:04o}"
    if (have.stat.uid, have.stat.gid) != (want.uid, want.gid):
        return f"owner is {have.stat.uid}:{have.stat.gid}, not root:wheel"
    return None


def _sysctl_steps(desired: Desired, obs: Observed) -> list[Step]:
    steps = []
    for name, value in desired.sysctl.items():
        live = obs.sysctl.get(name)
        if live != value:
            why = f"{name} is {live}" + ("; gre(4) drops GRE packets" if name == GRE_ALLOW else "")
            steps.append(Step("run", f"sysctl:{name}", why, argv=("sysctl", f"{name}={value}")))
    current = obs.files.get(SYSCTL_CONF)
    merged = ManagedFile(
        SYSCTL_CONF,
        merge_sysctl_conf(current.content if current else None, desired.sysctl),
        current.stat.mode if current else SYSCTL_CONF_MODE,
    )
    if current is None or current.content != merged.content:
        steps.append(Step("write", f"file:{SYSCTL_CONF}", "set at boot too", file=merged))
    return steps


def _pubkey_steps(desired: Desired, obs: Observed, record: Applied) -> list[Step]:
    steps = []
    for path, want in desired.pubkeys.items():
        have = obs.pubkey_files.get(path)
        if _file_difference(want, have):  # parse the key for its fingerprint only then
            steps += _file_steps(want, have, f"peer key {fingerprint_of(want.content.decode())}")
    for path in sorted(set(record.pubkeys) - set(desired.pubkeys) - desired.held_files):
        if path in obs.pubkey_files:
            steps.append(Step("remove", f"file:{path}", "its peering was removed", path=path))
    return steps


def _rc_steps(desired: Desired, obs: Observed) -> tuple[list[Step], bool]:
    """Return rc steps and whether isakmpd is (re)started by them (rules must be reloaded)."""
    steps = []
    if obs.isakmpd_flags is None:
        steps.append(
            Step("run", "rc:isakmpd", "isakmpd is not enabled", argv=("rcctl", "enable", "isakmpd"))
        )
    flags_change = obs.isakmpd_flags != desired.isakmpd_flags
    if flags_change:
        steps.append(
            Step(
                "run",
                "rc:isakmpd",
                f"isakmpd flags are {obs.isakmpd_flags or 'NO'!r}; "
                "-K makes isakmpd take policy from ipsecctl",
                argv=("rcctl", "set", "isakmpd", "flags", desired.isakmpd_flags),
            )
        )
    if desired.ipsec_enabled and not obs.ipsec_enabled:
        steps.append(
            Step(
                "run",
                "rc:ipsec",
                "ipsec=NO: /etc/ipsec.conf would not load at boot",
                argv=("rcctl", "enable", "ipsec"),
            )
        )
    if not obs.isakmpd_running:
        steps.append(
            Step(
                "run",
                "daemon:isakmpd",
                "isakmpd is not running",
                argv=("rcctl", "start", "isakmpd"),
            )
        )
        return steps, True
    if flags_change:
        steps.append(
            Step(
                "run",
                "daemon:isakmpd",
                "its flags changed; it forgets loaded rules",
                argv=("rcctl", "restart", "isakmpd"),
            )
        )
        return steps, True
    return steps, False


def _rule_steps(
    desired: Desired, obs: Observed, record: Applied, conf_changes: list[Step], restarting: bool
) -> list[Step]:
    steps = []
    isakmpd_kept = (
        not restarting and record.isakmpd_pid is not None and record.isakmpd_pid == obs.isakmpd_pid
    )
    if isakmpd_kept:  # only a live isakmpd holds old rules worth deleting
        for peer, old in sorted(record.rules.items()):
            new = desired.rules.get(peer)
            if new != old:
                why = "its peering was removed" if new is None else "its rule changed"
                steps.append(Step("delete-rule", f"rule:{peer}", why, text=old))
    steps += conf_changes
    reload_why = _reload_reason(desired, obs, record, restarting, bool(conf_changes) or bool(steps))
    if reload_why:
        steps.append(Step("run", "ipsec:rules", reload_why, argv=("ipsecctl", "-f", IPSEC_CONF)))
    return steps


def _reload_reason(
    desired: Desired, obs: Observed, record: Applied, restarting: bool, changed: bool
) -> str | None:
    if not desired.rules:
        return None
    if restarting:
        return "isakmpd (re)starts in this run and holds no rules"
    if changed:
        return "the rules changed"
    if record.isakmpd_pid != obs.isakmpd_pid:
        pids = f"pid {record.isakmpd_pid} -> {obs.isakmpd_pid}"
        return f"isakmpd restarted since the rules were loaded ({pids})"
    if record.rules != desired.rules:
        return "the loaded rules are not the desired ones"
    return None


def _gre_steps(desired: Desired, obs: Observed) -> list[Step]:
    steps = []
    for iface, spec in sorted(desired.gre.items()):
        file_steps = _file_steps(
            desired.hostname_files[iface], obs.hostname_files.get(iface), f"hostname.{iface}"
        )
        steps += file_steps
        live = obs.gre.get(iface)
        why = gre_difference(spec, live)
        if live is not None and (why or file_steps):
            steps.append(
                Step(
                    "run",
                    f"gre:{iface}",
                    f"re-create: {why or 'its file changed'}",
                    argv=("ifconfig", iface, "destroy"),
                )
            )
        if live is None or why or file_steps:
            steps.append(
                Step(
                    "run",
                    f"gre:{iface}",
                    why or "apply its changed file",
                    argv=("sh", "/etc/netstart", iface),
                )
            )
    for iface in sorted(set(obs.gre) | set(obs.hostname_files)):
        if iface in desired.gre or iface in desired.held_interfaces:
            continue  # wanted, or held as it is for a gated peer
        if obs.owner_of_interface(iface) is None:
            continue  # not ours: never touched
        if iface in obs.gre:
            steps.append(
                Step(
                    "run",
                    f"gre:{iface}",
                    f"peer {obs.owner_of_interface(iface)} was removed",
                    argv=("ifconfig", iface, "destroy"),
                )
            )
        if iface in obs.hostname_files:
            steps.append(
                Step(
                    "remove",
                    f"file:{hostname_path(iface)}",
                    "its peering was removed",
                    path=hostname_path(iface),
                )
            )
    return steps


def gre_difference(spec: GreSpec, live: Interface | None) -> str | None:
    """Say how a live interface differs from its spec, or None when it matches."""
    if live is None:
        return f"{spec.interface} does not exist"
    checks = [
        (live.up, True, "is down"),
        (live.mtu, spec.mtu, f"mtu is {live.mtu}, not {spec.mtu}"),
        (live.description, spec.description, "description differs"),
        (
            (live.tunnel.src, live.tunnel.dst) if live.tunnel else None,
            (spec.tunnel_src, spec.tunnel_dst),
            "tunnel endpoints differ",
        ),
        (
            [(a.address, a.dest, a.netmask) for a in live.inet],
            [(spec.inet[0], spec.inet[1], "255.255.255.255")] if spec.inet else [],
            "IPv4 addresses differ",
        ),
        (_explicit_inet6(live, spec), sorted(spec.inet6), "IPv6 addresses differ"),
        (
            any(a.address.startswith("fe80:") for a in live.inet6),
            spec.link_local,
            "link-local differs",
        ),
    ]
    for have, want, why in checks:
        if have != want:
            return why
    return None


def _explicit_inet6(live: Interface, spec: GreSpec) -> list[tuple[str, int]]:
    """Live IPv6 addresses except kernel-made link-locals (eui64, or added with an address)."""
    wanted = {a for a, _ in spec.inet6}
    return sorted(
        (a.address, a.prefixlen)
        for a in live.inet6
        if not a.address.startswith("fe80:") or a.address in wanted
    )
