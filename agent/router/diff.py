"""How the router differs from the desired state, one function per resource (files, sysctl,
isakmpd's rc settings, the loaded rules). The plan turns each difference into steps and the
health checklist explains it: both call these, so the "what" and the "why" cannot disagree.
The gre interface has its own module (router/gre.py).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from agent.facts.observe import FileFact, Observed
from agent.router.desired import Desired, ManagedFile
from agent.sim.libc import getopt

ISAKMPD_GETOPT = "46ac:dD:f:i:KnN:p:Ll:R:STv"  # sbin/isakmpd/isakmpd.c parse_args


def file_difference(want: ManagedFile, have: FileFact | None) -> str | None:
    """How a file on the router differs from the one to write (content, mode, owner)."""
    if have is None:
        return "is missing"
    if have.sha256 != want.sha256:
        return "content differs"
    if have.stat.mode != want.mode:
        return f"mode is {have.stat.mode:04o}, not {want.mode:04o}"
    if (have.stat.uid, have.stat.gid) != (want.uid, want.gid):
        return f"owner is {have.stat.uid}:{have.stat.gid}, not root:wheel"
    return None


def sysctl_difference(name: str, want: str, obs: Observed) -> str | None:
    live = obs.sysctl.get(name)
    if live == want:
        return None
    return f"{name} is {live if live is not None else '(unreadable)'}, not {want}"


def has_isakmpd_flag(flags: str, letter: str) -> bool:
    """True when isakmpd's getopt would see -letter in flags ("-K", "-dK", "-v -K", ...);
    the simulator's getopt(3) is OpenBSD's, so both read flags the same way."""
    words = shlex.split(flags) if flags else []
    parsed, _, _ = getopt("isakmpd", words, ISAKMPD_GETOPT)
    return any(ch == letter for ch, _ in parsed)


@dataclass(frozen=True)
class IsakmpdState:
    """What differs in isakmpd's rc settings and process (each False when fine)."""

    disabled: bool  # isakmpd_flags=NO
    flags_wrong: bool  # no -K: the policy would come from KeyNote, not from ipsecctl
    ipsec_disabled: bool  # ipsec=NO: /etc/ipsec.conf would not load at boot
    stopped: bool

    @property
    def differs(self) -> bool:
        return self.disabled or self.flags_wrong or self.ipsec_disabled or self.stopped


def isakmpd_difference(desired: Desired, obs: Observed) -> IsakmpdState:
    """isakmpd enabled with -K (other flags an operator added, like -v, are kept), ipsec
    enabled when there are rules, and isakmpd running."""
    flags = obs.isakmpd_flags
    return IsakmpdState(
        disabled=flags is None,
        flags_wrong=flags is None or not has_isakmpd_flag(flags, "K"),
        ipsec_disabled=desired.ipsec_enabled and not obs.ipsec_enabled,
        stopped=not obs.isakmpd_running,
    )


@dataclass(frozen=True)
class RuleProblem:
    """Why the rule isakmpd holds for a peer is not the desired one."""

    code: str  # stopped | never-loaded | restarted | differs | stray
    detail: str


def rule_problem(peer: str, desired: Desired, obs: Observed, loaded: dict[str, str],
                 loaded_pid: int | None) -> RuleProblem | None:
    """Whether isakmpd holds the desired rule of `peer` (per the applied record: isakmpd
    cannot be asked). None when it does."""
    if not obs.isakmpd_running:
        return RuleProblem("stopped", "isakmpd is not running, so it holds no rule")
    rule, wanted = loaded.get(peer), desired.rules.get(peer)
    if rule is None and wanted is not None:
        return RuleProblem("never-loaded", f"no rule for {peer} was ever loaded (applied record)")
    if loaded_pid != obs.isakmpd_pid:
        return RuleProblem(
            "restarted",
            f"rules were loaded into isakmpd pid {loaded_pid}, now pid {obs.isakmpd_pid} runs",
        )
    if wanted is None and rule is not None:
        return RuleProblem("stray", f"the rule of {peer} is loaded but its peering is gone")
    if rule != wanted:
        return RuleProblem("differs", f"the loaded rule for {peer} differs from the repo's")
    return None


def rules_reload_reason(desired: Desired, obs: Observed, loaded: dict[str, str],
                        loaded_pid: int | None) -> str | None:
    """Why /etc/ipsec.conf must be loaded again: the router-wide view of rule_problem."""
    if not desired.rules:
        return None
    for peer in sorted(set(desired.rules) | set(loaded)):
        problem = rule_problem(peer, desired, obs, loaded, loaded_pid)
        if problem is not None:
            return problem.detail
    return None
