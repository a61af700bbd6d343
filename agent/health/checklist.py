"""The checklist behind per-peer health and `peerops doctor`: one small function per check.

Each check is a pure function of what `agent.facts.observe` saw, the rendered desired state
and the applied record (the ping's result is passed in). A failed check names its cause, the
exact next command and the source of the rule it applies. Order (the doctor's):

    net.inet.gre.allow, isakmpd with -K, local key, peering accepted, peer key, rule loaded,
    flows, SAs, gre interface, tunnel endpoints, transfer addresses, ping (optional)
"""


from __future__ import annotations

import functools
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from agent.facts.ifconfig import Interface
from agent.facts.observe import FileFact, Observed
from agent.health.ping import PingResult
from agent.keys import local_key_problems
from agent.model import PUBKEY_DIR, Peering
from agent.router import gre
from agent.router.desired import GRE_ALLOW, IPSEC_CONF, LOCAL_KEY, LOCAL_PUB, Desired, GreSpec
from agent.router.diff import has_isakmpd_flag, rule_problem
from agent.router.record import Applied

NEGOTIATION_GRACE = 90.0  # seconds: a few IKE retransmits (isakmpd retries after 7, 14, ... s)

PASS, FAIL, WARN, WAIT, SKIP = "pass", "fail", "warn", "wait", "skip"
APPLY = "peerops apply"
ISAKMPD_FOREGROUND = "isakmpd -K -d -v"  # isakmpd(8): -d stay in the foreground, -v verbose
# Watching IKE without touching the other peers, first (isakmpd(8) FIFO: `D class level` sets
# a debug level, A for every class, logged to syslog's daemon facility; ipsecctl(8) -m shows
# the PF_KEY messages; enc(4) carries what ESP decrypted). Restarting isakmpd comes last.
ISAKMPD_DEBUG_ON = (
    "echo 'D A 50' > /var/run/isakmpd.fifo  # isakmpd logs IKE in detail to /var/log/daemon; "
    "'D A 0' ends it"
)
DISRUPTIVE = "DISRUPTIVE: drops the IKE and ESP SAs of every peer of this router"
LOAD_RULES = ("ipsecctl", "-f", IPSEC_CONF)
GRE_PROTO = "gre"  # flows print getprotobynumber(47) (ipsecctl.c ipsecctl_print_flow)

# Where each check's facts come from (man pages and sources, see shared/docs).
SOURCES = {
    "gre-allow": "gre(4); sys/net/if_gre.c drops received GRE unless net.inet.gre.allow=1 "
    "(openbsd-reference §3.3)",
    "isakmpd": "isakmpd(8) -K: policy from ipsecctl, not KeyNote; rcctl(8) get/check "
    "(openbsd-reference §5.1, §6.3)",
    "local-key": "sbin/isakmpd/util.c check_file_secrecy_fd; /etc/rc make_keys "
    "(openbsd-reference §5.2)",
    "peer-accepted": "the state repo and its gates (peerops validate, peerops plan)",
    "peer-key": "sbin/isakmpd/ike_auth.c: <Pubkey-directory>/<ipv4|ipv6|fqdn|ufqdn>/<peer ID> "
    "(openbsd-reference §5.2)",
    "rule": "isakmpd keeps ipsecctl's rules in memory only; a restarted isakmpd has none "
    "(openbsd-reference §1.10, §5.1); peerops' applied record",
    "flows": "ipsecctl(8) -sa FLOWS; isakmpd installs them after phase 2 (pf_key_v2.c, "
    "openbsd-reference §1.4, §1.10)",
    "sas": "ipsecctl(8) -sa SAD (pfkdump.c, openbsd-reference §1.7)",
    "gre": "ifconfig(8) greN flags UP,RUNNING (ifconfig.c status(), openbsd-reference §3.1)",
    "tunnel": "ifconfig(8) greN tunnel: line (ifconfig.c phys_status(), openbsd-reference §3.1)",
    "addresses": "ifconfig(8) greN inet/inet6 lines (ifconfig.c in_status()/in6_alias(), "
    "openbsd-reference §3.1)",
    "endpoint": "ifconfig(8) -a inet/inet6 lines: the source address IKE and GRE use must be "
    "the router's own (isakmpd binds its listeners to the local addresses)",
    "ping": "ping(8) -c count -w maxwait; sbin/ping/ping.c v1.249 exits 0 when a reply came",
}


def cmd(*argv: str) -> str:
    """A command as a person types it (quoted for sh); shown, never executed from text."""
    return shlex.join(argv)


@dataclass(frozen=True)
class Check:
    """One line of the checklist: pass / fail / warn / wait / skip, with cause and next steps.

    `next` lists commands in the order to run them; the first is the exact next command (a
    fix, or when the fix is at the other end, the first step to see it); `debug` lists the
    deeper tools to reach for when the next commands do not help.
    """

    id: str
    title: str
    status: str
    detail: str
    peer: str | None = None
    cause: str | None = None
    next: tuple[str, ...] = ()
    source: str = ""
    debug: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    @property
    def label(self) -> str:
        return f"{self.title} [{self.peer}]" if self.peer else self.title

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["next"] = list(self.next)
        data["debug"] = list(self.debug)
        return data


def _check(check_id: str, title: str, status: str, detail: str, **kw: Any) -> Check:
    """A Check with the source of its facts filled in."""
    return Check(check_id, title, status, detail, source=SOURCES.get(check_id, ""), **kw)


# -- keys ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def rsa_numbers(pem: bytes) -> tuple[int, int] | None:
    """(n, e) of a PEM RSA key, public (SPKI or PKCS#1) or private; None if it is not one.

    isakmpd reads public keys with PEM_read_RSA_PUBKEY, then PEM_read_RSAPublicKey
    (ike_auth.c), so both public forms count as the same key.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import (
        load_pem_private_key,
        load_pem_public_key,
    )

    key: Any = None
    try:
        key = load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        try:
            key = load_pem_private_key(pem, password=None).public_key()
        except (ValueError, TypeError, UnsupportedAlgorithm):
            return None
    if not isinstance(key, rsa.RSAPublicKey):
        return None
    numbers = key.public_numbers()
    return numbers.n, numbers.e


def same_key(a: bytes, b: bytes) -> bool:
    """True when both hold the same RSA key (byte-identical, or the same numbers)."""
    if a.strip() == b.strip():
        return True
    na = rsa_numbers(a)
    return na is not None and na == rsa_numbers(b)


# -- router-wide checks ----------------------------------------------------------------------------


def check_gre_allow(obs: Observed, apply: str = APPLY) -> Check:
    """net.inet.gre.allow must be 1, or the kernel drops every GRE packet it receives."""
    value = obs.sysctl.get(GRE_ALLOW)
    if value == "1":
        return _check("gre-allow", GRE_ALLOW, PASS, f"{GRE_ALLOW}=1")
    if value is None:
        return _check(
            "gre-allow", GRE_ALLOW, FAIL, f"{GRE_ALLOW} could not be read",
            cause="; ".join(e for e in obs.errors if GRE_ALLOW in e) or "sysctl gave no value",
            next=(cmd("sysctl", GRE_ALLOW),),
        )
    return _check(
        "gre-allow", GRE_ALLOW, FAIL, f"{GRE_ALLOW}={value}",
        cause="the kernel drops every GRE packet it receives (gre(4)): no tunnel can work; "
        "the DN42 wiki's OpenBSD page never sets it",
        next=(cmd("sysctl", f"{GRE_ALLOW}=1"), apply + "  # also keeps it in /etc/sysctl.conf"),
    )


def check_isakmpd(obs: Observed, desired_flags: str = "-K", apply: str = APPLY) -> Check:
    """isakmpd enabled with -K in its flags, and running. The rules go back in with
    `peerops apply`, which also records which isakmpd holds them (a rule loaded by hand with
    ipsecctl -f is invisible to peerops: isakmpd cannot be asked)."""
    load = apply + "  # loads /etc/ipsec.conf into the new isakmpd and records it"
    title = "isakmpd with -K"
    flags, running = obs.isakmpd_flags, obs.isakmpd_running
    state = f"isakmpd({'ok' if running else 'failed'})"
    if flags is None:
        return _check(
            "isakmpd", title, FAIL, f"isakmpd_flags=NO (disabled), {state}",
            cause="isakmpd is not enabled: nothing negotiates IKE",
            next=(
                cmd("rcctl", "enable", "isakmpd"),
                cmd("rcctl", "set", "isakmpd", "flags", desired_flags),
                cmd("rcctl", "start", "isakmpd"),
                load,
            ),
        )
    if not has_isakmpd_flag(flags, "K"):
        return _check(
            "isakmpd", title, FAIL, f"isakmpd_flags={flags or '(empty)'} has no -K, {state}",
            cause="without -K isakmpd takes its policy from KeyNote (/etc/isakmpd/isakmpd.policy"
            ", and dies when that file is missing) instead of the rules ipsecctl loads, so no "
            "peer is ever accepted",
            next=(
                cmd("rcctl", "set", "isakmpd", "flags", desired_flags),
                cmd("rcctl", "restart", "isakmpd") + f"  # {DISRUPTIVE} (none is up without -K)",
                load,
            ),
        )
    if not running:
        return _check(
            "isakmpd", title, FAIL, f"isakmpd_flags={flags}, but {state}: not running",
            cause="nothing negotiates IKE; a started isakmpd holds no rules until ipsecctl "
            "loads them",
            next=(cmd("rcctl", "start", "isakmpd"), load),
            debug=(ISAKMPD_FOREGROUND + "  # if it does not stay up: see why in the foreground",),
        )
    pid = f" pid {obs.isakmpd_pid}" if obs.isakmpd_pid else ""
    return _check("isakmpd", title, PASS, f"{state}{pid}, isakmpd_flags={flags}")


def check_local_key(
    obs: Observed, private_key: bytes | None = None, published: str | None = None
) -> Check:
    """Our private key exists, root-owned with no group/other bits; local.pub is its public
    half (when the key's bytes are given) and is the key the repo publishes (when given)."""
    title = "local key"
    st = obs.local_key
    if st is None:
        return _check(
            "local-key", title, FAIL, f"{LOCAL_KEY} is missing",
            cause="isakmpd signs IKE with it (RSA); /etc/rc makes it at first boot, and every "
            "peer must then get the new /etc/isakmpd/local.pub",
            next=(local_key_problems(None)[0][2] + "  # 0600 root:wheel, and local.pub",),
        )
    seen = f"{LOCAL_KEY} mode {st.mode:04o} uid {st.uid}"
    refused = local_key_problems(st)
    if refused:
        complaint, _, fix = refused[0]
        return _check(
            "local-key", title, FAIL, seen,
            cause=f"isakmpd refuses it: 'check_file_secrecy_fd: {complaint}'"
            + (" (any group or other bit)" if "permissions" in complaint else ""),
            next=(fix,),
        )
    pub = obs.files.get(LOCAL_PUB)
    problem = _local_pub_problem(pub, private_key, published)
    if problem is not None:
        cause, fix = problem
        return _check("local-key", title, FAIL, seen, cause=cause, next=fix)
    return _check("local-key", title, PASS, seen + " (root only)")


def _local_pub_problem(
    pub: FileFact | None, private_key: bytes | None, published: str | None
) -> tuple[str, tuple[str, ...]] | None:
    """Why local.pub cannot be the key our peers verify us with, and the fix; None if fine."""
    if private_key is None and published is None:
        return None
    if pub is None:
        return f"{LOCAL_PUB} is missing: peers need it", (
            cmd("openssl", "rsa", "-out", LOCAL_PUB, "-in", LOCAL_KEY, "-pubout"),
        )
    mine = rsa_numbers(private_key) if private_key is not None else None
    if private_key is not None and mine is not None and rsa_numbers(pub.content) != mine:
        return f"{LOCAL_PUB} is not the public half of {LOCAL_KEY}", (
            cmd("openssl", "rsa", "-out", LOCAL_PUB, "-in", LOCAL_KEY, "-pubout"),
        )
    if published is not None and not same_key(pub.content, published.encode()):
        return (
            f"{LOCAL_PUB} is not the public_key the state repo publishes for this router: "
            "peers verify our signature with the repo's key and reject us",
            (f"put the content of {LOCAL_PUB} into public_key of routers/<this router>.yaml",),
        )
    return None


# -- per-peer checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerView:
    """Everything known about one peering at one moment."""

    p: Peering
    desired: Desired
    obs: Observed
    record: Applied
    error: str | None
    now: float

    @property
    def interface(self) -> str | None:
        return self.desired.interfaces.get(self.p.peer) or self.record.interfaces.get(self.p.peer)

    @property
    def spec(self) -> GreSpec | None:
        iface = self.desired.interfaces.get(self.p.peer)
        return self.desired.gre.get(iface) if iface else None

    @property
    def live(self) -> Interface | None:
        return self.obs.gre.get(self.interface) if self.interface else None

    @property
    def negotiating(self) -> bool:
        """Rules were loaded so recently that IKE may still be negotiating."""
        return self.now - (self.record.loaded_at or 0) < NEGOTIATION_GRACE


def check_accepted(v: PeerView) -> Check | None:
    """A peering the run left out (invalid, gated, quarantined, no interface); None when
    accepted. A warning while its last applied state is held (the link may well be up: the
    checks after this one say), a failure when nothing was ever applied for it."""
    if v.error is None:
        return None
    applied = v.p.peer in v.record.rules or v.p.peer in v.record.interfaces
    return _check(
        "peer-accepted", "peering accepted", WARN if applied else FAIL,
        f"left out of this run: {v.error}", peer=v.p.peer,
        cause="peerops keeps what was applied for it but changes nothing; its repo entry, a "
        "gate (signature, key policy) or its quarantine (OpenBSD refused its change) holds "
        "the current commit back",
        next=("peerops plan", f"peerops doctor {v.p.peer}"),
    )


def check_endpoint(v: PeerView) -> Check | None:
    """Our tunnel endpoint is an address of one of the router's own interfaces; None when the
    addresses were not looked at (only done when a peering is not up)."""
    owned = v.obs.local_addresses
    if owned is None:
        return None
    ours = v.p.local_endpoint
    if ours.lower() in owned:
        return _check("endpoint", "our endpoint", PASS, f"{ours} is on this router", peer=v.p.peer)
    return _check(
        "endpoint", "our endpoint", FAIL,
        f"no interface of this router holds {ours}", peer=v.p.peer,
        cause=f"isakmpd cannot send IKE from {ours} nor receive the peer's packets for it: "
        f"routers/{v.p.router}.yaml names an endpoint this router does not have (a typo, or "
        "the address moved)",
        next=(cmd("ifconfig", "-a"),
              f"fix endpoints in routers/{v.p.router}.yaml, or configure {ours} here"),
    )


def _id_reason(p: Peering) -> str:
    """Why isakmpd looks the peer's key up under that ID (its type decides the directory)."""
    if p.needs_dstid:
        return f"its rule says dstid {p.remote_id.value}, an {p.remote_id.type} ID"
    return f"without dstid its IKE ID is its address {p.remote_endpoint}"


def _misplaced(v: PeerView) -> list[str]:
    """Key files in other identity directories that hold the peer's key or carry its name."""
    want = v.p.remote_id.pubkey_path
    names = {v.p.remote_id.value, v.p.remote_endpoint}
    found = []
    for path, fact in sorted(v.obs.pubkey_files.items()):
        if path == want:
            continue
        if path.rsplit("/", 1)[-1] in names or same_key(fact.content, v.p.public_key.encode()):
            found.append(path)
    return found


def check_peer_key(v: PeerView, apply: str = APPLY) -> Check:
    """The peer's key at the path its identity type requires, holding the repo's key."""
    p, title = v.p, "peer key"
    want = p.remote_id.pubkey_path
    fact = v.obs.pubkey_files.get(want)
    if fact is not None and same_key(fact.content, p.public_key.encode()):
        return _check("peer-key", title, PASS, f"{want} holds {p.peer}'s key", peer=p.peer)
    elsewhere = _misplaced(v) if fact is None else []
    if elsewhere:
        return _check(
            "peer-key", title, FAIL,
            f"{want} is missing; {p.peer}'s key is at {elsewhere[0]} (wrong identity directory)",
            peer=p.peer,
            cause=f"isakmpd looks the key up by the peer's IKE ID and its type: "
            f"{_id_reason(p)}, so the key must be {want} (ike_auth.c), not under "
            f"{elsewhere[0].removeprefix(PUBKEY_DIR + '/').split('/')[0]}/",
            next=(cmd("mv", elsewhere[0], want),),
        )
    if fact is None:
        return _check(
            "peer-key", title, FAIL, f"{want} is missing", peer=p.peer,
            cause=f"isakmpd cannot verify {p.peer}'s signature, so IKE fails ({_id_reason(p)})",
            next=(apply + "  # installs the key from the state repo",),
        )
    return _check(
        "peer-key", title, FAIL, f"{want} holds another key than the repo's for {p.peer}",
        peer=p.peer,
        cause=f"isakmpd verifies {p.peer}'s signature with this file, and it is not the key "
        "the peer published",
        next=(apply + "  # rewrites the key from the state repo",),
    )


def check_rule(v: PeerView, apply: str = APPLY) -> Check:
    """The peer's rule was loaded into the isakmpd that runs now, and is the repo's rule."""
    p, title, rec = v.p, "rule loaded", v.record
    problem = rule_problem(p.peer, v.desired, v.obs, rec.rules, rec.isakmpd_pid)
    if problem is None:
        return _check("rule", title, PASS, f"loaded into isakmpd pid {v.obs.isakmpd_pid}",
                      peer=p.peer)
    causes = {
        "stopped": ("rules live only in isakmpd's memory", (cmd("rcctl", "start", "isakmpd"),
                                                             apply)),
        "never-loaded": ("isakmpd does not know this peer", (apply,)),
        "restarted": (
            "isakmpd was restarted since and has forgotten every rule (rules loaded by hand "
            f"with `{cmd(*LOAD_RULES)}` are invisible to peerops: isakmpd cannot be asked)",
            (apply + "  # loads /etc/ipsec.conf into it and records that",),
        ),
    }
    cause, fix = causes.get(
        problem.code, ("the peering changed in the repo since the last apply", (apply,))
    )
    return _check("rule", title, FAIL, problem.detail, peer=p.peer, cause=cause, next=fix)


def _counts(v: PeerView) -> tuple[int, int, int, int]:
    """(flows in, flows out, SAs in, SAs out) for proto gre with the peer."""
    p, ipsec = v.p, v.obs.ipsec
    return (  # counted once for all peers, not scanned per peer
        ipsec.count_flows(GRE_PROTO, p.remote_endpoint, "in"),
        ipsec.count_flows(GRE_PROTO, p.remote_endpoint, "out"),
        ipsec.count_sas(p.remote_endpoint, p.local_endpoint),
        ipsec.count_sas(p.local_endpoint, p.remote_endpoint),
    )


def _proposal(p: Peering) -> str:
    """Our proposal as the rule writes it, for comparing with the other end's."""
    parts = []
    for name, ph in (("main", p.crypto.main), ("quick", p.crypto.quick)):
        auth = f"auth {ph.auth} " if ph.auth else ""
        parts.append(f"{name} {auth}enc {ph.enc} group {ph.group} lifetime {ph.lifetime}")
    return ", ".join(parts)


def _negotiation(v: PeerView, check_id: str, seen: str, prior: Check | None) -> Check:
    """A missing flow or SA: wait within the grace period, else name why IKE fails."""
    p, title = v.p, ("flows" if check_id == "flows" else "SAs")
    if prior is not None:
        return _check(
            check_id, title, FAIL, seen, peer=p.peer,
            cause=f"a consequence of the earlier failure: {prior.label} (fix that first)",
        )
    if v.negotiating:
        age = v.now - (v.record.loaded_at or 0)
        return _check(
            check_id, title, WAIT, f"{seen}; rules loaded {age:.0f} s ago: still negotiating",
            peer=p.peer, next=(cmd("ipsecctl", "-sa"),),
        )
    return _check(
        check_id, title, FAIL, seen, peer=p.peer,
        cause=f"IKE with {p.peer} ({p.remote_endpoint}) does not complete although this router "
        "is ready (isakmpd -K runs, our rule is loaded, both keys are in place): the other end "
        "refuses. Most often its proposal does not match ours exactly (ours: "
        f"{_proposal(p)}); else it lacks our current local.pub, expects another ID from us "
        f"(we send {p.local_id.type} {p.local_id.value}), or a firewall drops udp/500, "
        "udp/4500 or esp",
        next=(
            ISAKMPD_DEBUG_ON,
            cmd("ipsecctl", "-m") + "  # PF_KEY messages: SAs acquired, added, expired",
            cmd("tcpdump", "-ni", "enc0") + "  # what arrives through ESP",
        ),
        debug=(
            cmd("rcctl", "stop", "isakmpd") + f"  # {DISRUPTIVE} until it is started again",
            ISAKMPD_FOREGROUND + "  # then, in another shell: ipsecctl -f /etc/ipsec.conf",
        ),
    )


def check_flows(v: PeerView, prior: Check | None = None) -> Check:
    """Flows in and out for proto gre with the peer (isakmpd installs them after phase 2)."""
    fin, fout, _, _ = _counts(v)
    seen = f"{fin} in / {fout} out for proto gre with {v.p.remote_endpoint}"
    if fin and fout:
        return _check("flows", "flows", PASS, seen, peer=v.p.peer)
    return _negotiation(v, "flows", seen, prior)


def check_sas(v: PeerView, prior: Check | None = None) -> Check:
    """SAs in both directions between the endpoints."""
    _, _, sin, sout = _counts(v)
    seen = f"{sin} in / {sout} out between {v.p.local_endpoint} and {v.p.remote_endpoint}"
    if sin and sout:
        return _check("sas", "SAs", PASS, seen, peer=v.p.peer)
    return _negotiation(v, "sas", seen, prior)


def check_gre(v: PeerView, apply: str = APPLY) -> Check:
    """The peer's gre interface exists, is UP and RUNNING."""
    p, iface = v.p, v.interface
    if iface is None:
        return _check("gre", "gre interface", FAIL, "no gre interface allocated", peer=p.peer,
                      cause="see the peering's error above", next=("peerops plan",))
    live = v.live
    if live is None:
        netstart = cmd("sh", "/etc/netstart", iface)
        fix = (netstart,) if iface in v.obs.hostname_files else (apply,)
        return _check(
            "gre", "gre interface", FAIL, f"{iface} does not exist", peer=p.peer,
            cause=f"the tunnel interface is gone (destroyed, or netstart never ran "
            f"/etc/hostname.{iface})",
            next=fix,
        )
    flags = ",".join(live.flags)
    if not live.up or "RUNNING" not in live.flags:
        return _check(
            "gre", "gre interface", FAIL, f"{iface} is down (flags <{flags}>)", peer=p.peer,
            cause="a down interface carries nothing",
            next=(cmd("ifconfig", iface, "up"),),
        )
    return _check("gre", "gre interface", PASS, f"{iface} <{flags}> mtu {live.mtu}",
                  peer=p.peer)


def _skipped(check_id: str, title: str, v: PeerView) -> Check:
    """A skip: no live interface (check_gre reports that), or nothing rendered to compare."""
    why = "no interface to look at" if v.live is None else "held as applied (not rendered)"
    return _check(check_id, title, SKIP, why, peer=v.p.peer)


def _gre_differences(v: PeerView, fields: tuple[str, ...]) -> list[gre.Difference] | None:
    """The interface's differences in these fields (router/gre.py, as the plan sees them)."""
    if v.live is None or v.spec is None:
        return None
    return [d for d in gre.differences(v.spec, v.live) if d.field in fields]


def _fixes(diffs: list[gre.Difference]) -> tuple[str, ...]:
    return tuple(cmd(*argv) for d in diffs for argv in d.fixes)


def check_tunnel(v: PeerView, apply: str = APPLY) -> Check:
    """The tunnel endpoints of the gre interface are the peering's endpoints."""
    title = "tunnel endpoints"
    diffs = _gre_differences(v, ("tunnel",))
    if diffs is None:
        return _skipped("tunnel", title, v)
    live, spec = v.live, v.spec
    assert live is not None and spec is not None  # noqa: S101 - checked above
    have = (live.tunnel.src, live.tunnel.dst) if live.tunnel else (None, None)
    seen = f"tunnel {have[0] or '(unset)'} --> {have[1] or '(unset)'}"
    if not diffs:
        return _check("tunnel", title, PASS, seen, peer=v.p.peer)
    want = (spec.tunnel_src, spec.tunnel_dst)
    return _check(
        "tunnel", title, FAIL, f"{seen}, the peering needs {want[0]} --> {want[1]}",
        peer=v.p.peer,
        cause=f"GRE does not go between {want[0]} and {want[1]}, the only pair the peer and "
        "the IPsec flows (proto gre between the endpoints) accept: nothing crosses the tunnel",
        next=(*_fixes(diffs), apply + f"  # also rewrites /etc/hostname.{spec.interface}"),
    )


def check_addresses(v: PeerView, apply: str = APPLY) -> Check:
    """The transfer addresses the peering names are on the interface, and no others."""
    title = "transfer addresses"
    diffs = _gre_differences(v, ("inet", "inet6", "link-local"))
    if diffs is None:
        return _skipped("addresses", title, v)
    live, spec = v.live, v.spec
    assert live is not None and spec is not None  # noqa: S101 - checked above
    shown = [f"{a.address} --> {a.dest}" for a in live.inet]
    shown += [f"{a.address}/{a.prefixlen}" for a in live.inet6]
    if not diffs:
        return _check("addresses", title, PASS, ", ".join(shown) or "none needed",
                      peer=v.p.peer)
    return _check(
        "addresses", title, FAIL, gre.describe(diffs), peer=v.p.peer,
        cause="the two ends of the tunnel must hold mirrored transfer addresses (our local is "
        "the peer's destination), or nothing on top of the tunnel (BGP, ping) reaches across",
        next=(*_fixes(diffs), apply + f"  # also rewrites /etc/hostname.{spec.interface}"),
    )


# -- ping ------------------------------------------------------------------------------------------


def check_ping(
    v: PeerView, result: PingResult | None, prior: Check | None = None, waiting: bool = False
) -> Check:
    """An echo across the transfer net comes back."""
    p = v.p
    if result is None:
        return _check("ping", "ping", SKIP, "no peer transfer address known (IPv6 eui64 only)",
                      peer=p.peer)
    shown = " ".join(result.argv)
    if result.rc == 127:
        return _check("ping", "ping", SKIP, f"{result.argv[0]} is not available here",
                      peer=p.peer)
    if result.answered:
        return _check("ping", "ping", PASS,
                      f"{shown}: {result.received}/{result.sent} answered", peer=p.peer)
    seen = f"{shown}: " + ("timed out" if result.timed_out else
                           f"{result.received}/{result.sent} answered")
    if prior is not None:
        return _check("ping", "ping", FAIL, seen, peer=p.peer,
                      cause=f"a consequence of the earlier failure: {prior.label} (fix that "
                      "first)")
    if waiting:
        return _check("ping", "ping", WAIT, f"{seen}; IKE is still negotiating", peer=p.peer,
                      next=(shown,))
    iface = v.interface or "greN"
    return _check(
        "ping", "ping", FAIL, seen, peer=p.peer,
        cause="IPsec and the local gre interface look right, but nothing answers across the "
        "tunnel: the other end's gre interface, its transfer address, its net.inet.gre.allow "
        "or a pf rule on either side",
        next=(cmd("tcpdump", "-ni", "enc0"), cmd("tcpdump", "-ni", iface), shown),
    )


# -- ordered checks and the state ------------------------------------------------------------------

# Checks whose failure stops IKE for a peer: a missing flow or SA is their consequence.
IKE_PREREQUISITES = (
    "isakmpd", "local-key", "ipsec-conf", "peer-accepted", "endpoint", "peer-key", "rule"
)


def first_failure(checks: Sequence[Check], ids: Sequence[str] | None = None) -> Check | None:
    """The first failed check (among `ids` when given)."""
    return next((c for c in checks if c.failed and (ids is None or c.id in ids)), None)


def peer_checks(
    v: PeerView,
    router_checks: Sequence[Check],
    apply: str = APPLY,
    *,
    pinged: bool = False,
    ping: PingResult | None = None,
) -> list[Check]:
    """The per-peer checks in the doctor's order, after the router-wide ones given; the
    ping check only when `pinged` (`ping` None then means there was nothing to ping)."""
    first = [check_accepted(v), check_endpoint(v), check_peer_key(v, apply), check_rule(v, apply)]
    done = [c for c in first if c]
    prior = first_failure([*router_checks, *done], IKE_PREREQUISITES)
    done.append(check_flows(v, prior))
    done.append(check_sas(v, prior))
    done += [check_gre(v, apply), check_tunnel(v, apply), check_addresses(v, apply)]
    if pinged:
        earlier = first_failure([*router_checks, *done])
        waiting = any(c.status == WAIT for c in done)
        done.append(check_ping(v, ping, earlier, waiting))
    return done


def router_checks(obs: Observed, desired: Desired) -> list[Check]:
    """The router-wide checks health can make from observation alone, in doctor order."""
    return [check_gre_allow(obs), check_isakmpd(obs, desired.isakmpd_flags), check_local_key(obs)]
