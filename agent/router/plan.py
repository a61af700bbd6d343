"""The plan: an ordered list of typed steps, each saying why. A pure function of desired
state, observed state and the applied record; `peerops plan` prints it, `apply` executes it.

Order: validate ipsec.conf first (nothing changes if it is refused), then sysctl, keys,
rc settings and isakmpd, rules (removed and changed ones deleted with `ipsecctl -d -f`
before the new file is loaded; never a flush, which would drop every peer's SAs), and gre
(changed in place where ifconfig can; created through netstart only when missing).
The differences come from router/diff.py and router/gre.py, which health uses too.
"""

from __future__ import annotations

from agent.facts.observe import FileFact, Observed
from agent.keys import fingerprint_of
from agent.router import gre
from agent.router.desired import (
    GRE_ALLOW,
    IPSEC_CONF,
    SYSCTL_CONF,
    Desired,
    ManagedFile,
    hostname_path,
)
from agent.router.diff import file_difference, isakmpd_difference, rules_reload_reason
from agent.router.record import Applied
from agent.router.render import merge_sysctl_conf
from agent.router.steps import (
    CheckRules,
    DeleteRule,
    LoadRules,
    RemoveFile,
    Run,
    StartIsakmpd,
    Step,
    WriteFile,
)

SYSCTL_CONF_MODE = 0o644

__all__ = ["Step", "make_plan"]


def make_plan(desired: Desired, obs: Observed, record: Applied) -> list[Step]:
    """Return the steps that make the router match desired, in the order they must run."""
    steps: list[Step] = []
    conf_changes = _file_steps(desired.ipsec_conf, obs.files.get(IPSEC_CONF), "ipsec.conf")
    if conf_changes:
        steps.append(
            CheckRules(
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


def _file_steps(
    want: ManagedFile, have: FileFact | None, label: str, peer: str | None = None
) -> list[Step]:
    why = file_difference(want, have)
    return [WriteFile(f"file:{want.path}", f"{label} {why}", peer, file=want)] if why else []


def _sysctl_steps(desired: Desired, obs: Observed) -> list[Step]:
    steps: list[Step] = []
    for name, value in desired.sysctl.items():
        live = obs.sysctl.get(name)
        if live != value:
            why = f"{name} is {live}" + ("; gre(4) drops GRE packets" if name == GRE_ALLOW else "")
            steps.append(Run(f"sysctl:{name}", why, command=("sysctl", f"{name}={value}")))
    current = obs.files.get(SYSCTL_CONF)
    merged = ManagedFile(
        SYSCTL_CONF,
        merge_sysctl_conf(current.content if current else None, desired.sysctl),
        current.stat.mode if current else SYSCTL_CONF_MODE,
    )
    if current is None or current.content != merged.content:
        steps.append(WriteFile(f"file:{SYSCTL_CONF}", "set at boot too", file=merged))
    return steps


def _pubkey_steps(desired: Desired, obs: Observed, record: Applied) -> list[Step]:
    steps: list[Step] = []
    owner = {path: peer for peer, path in desired.peer_keys.items()}
    for path, want in desired.pubkeys.items():
        have = obs.pubkey_files.get(path)
        if file_difference(want, have):  # parse the key for its fingerprint only then
            label = f"peer key {fingerprint_of(want.content.decode())}"
            steps += _file_steps(want, have, label, owner.get(path))
    was = {path: peer for peer, path in record.peer_keys.items()}
    for path in sorted(set(record.pubkeys) - set(desired.pubkeys) - desired.held_files):
        if path in obs.pubkey_files:
            steps.append(
                RemoveFile(f"file:{path}", "its peering was removed", was.get(path), path=path)
            )
    return steps


def _rc_steps(desired: Desired, obs: Observed) -> tuple[list[Step], bool]:
    """Return rc steps and whether isakmpd is (re)started by them (rules must be reloaded)."""
    state = isakmpd_difference(desired, obs)
    steps: list[Step] = []
    if state.disabled:
        steps.append(
            Run("rc:isakmpd", "isakmpd is not enabled", command=("rcctl", "enable", "isakmpd"))
        )
    if state.flags_wrong:
        steps.append(
            Run(
                "rc:isakmpd",
                f"isakmpd flags are {obs.isakmpd_flags or 'NO'!r}; "
                "-K makes isakmpd take policy from ipsecctl",
                command=("rcctl", "set", "isakmpd", "flags", desired.isakmpd_flags),
            )
        )
    if state.ipsec_disabled:
        steps.append(
            Run(
                "rc:ipsec",
                "ipsec=NO: /etc/ipsec.conf would not load at boot",
                command=("rcctl", "enable", "ipsec"),
            )
        )
    if state.stopped:
        steps.append(StartIsakmpd("daemon:isakmpd", "isakmpd is not running"))
        return steps, True
    if state.flags_wrong:
        steps.append(
            StartIsakmpd("daemon:isakmpd", "its flags changed; it forgets loaded rules",
                         restart=True)
        )
        return steps, True
    return steps, False


def _rule_steps(
    desired: Desired, obs: Observed, record: Applied, conf_changes: list[Step], restarting: bool
) -> list[Step]:
    steps: list[Step] = []
    isakmpd_kept = (
        not restarting and record.isakmpd_pid is not None and record.isakmpd_pid == obs.isakmpd_pid
    )
    if isakmpd_kept:  # only a live isakmpd holds old rules worth deleting
        for peer, old in sorted(record.rules.items()):
            new = desired.rules.get(peer)
            if new != old:
                why = "its peering was removed" if new is None else "its rule changed"
                steps.append(DeleteRule(f"rule:{peer}", why, peer, text=old))
    steps += conf_changes
    if not desired.rules:
        return steps
    if restarting:
        why: str | None = "isakmpd (re)starts in this run and holds no rules"
    elif steps:
        why = "the rules changed"
    else:
        why = rules_reload_reason(desired, obs, record.rules, record.isakmpd_pid)
    if why:
        steps.append(LoadRules("ipsec:rules", why))
    return steps


def _gre_steps(desired: Desired, obs: Observed) -> list[Step]:
    steps: list[Step] = []
    for iface, spec in sorted(desired.gre.items()):
        # The file first, so a boot gives what the live changes give.
        steps += _file_steps(
            desired.hostname_files[iface],
            obs.hostname_files.get(iface),
            f"hostname.{iface}",
            spec.peer,
        )
        live = obs.gre.get(iface)
        if live is None:
            steps.append(
                Run(f"gre:{iface}", f"{iface} does not exist", spec.peer,
                    command=("sh", "/etc/netstart", iface))
            )
            continue
        for d in gre.differences(spec, live):
            steps += [Run(f"gre:{iface}", d.why, spec.peer, command=argv) for argv in d.fixes]
    for iface in sorted(set(obs.gre) | set(obs.hostname_files)):
        if iface in desired.gre or iface in desired.held_interfaces:
            continue  # wanted, or held as it is for a gated peer
        owner = obs.owner_of_interface(iface)
        if owner is None:
            continue  # not ours: never touched
        if iface in obs.gre:
            steps.append(
                Run(
                    f"gre:{iface}",
                    f"peer {owner} was removed",
                    owner,
                    command=("ifconfig", iface, "destroy"),
                )
            )
        if iface in obs.hostname_files:
            steps.append(
                RemoveFile(
                    f"file:{hostname_path(iface)}",
                    "its peering was removed",
                    owner,
                    path=hostname_path(iface),
                )
            )
    return steps
