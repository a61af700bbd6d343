"""Faults to put into a simulated fleet, each the way a person would cause it on OpenBSD.

Every function takes a router's AgentConfig (a simulated host: `peerops demo --keep DIR`
leaves DIR/<router>/peerops.yaml) and, for per-peer faults, a peer of that router. It breaks
the router through its real commands where one exists (`rcctl`, `sysctl`, `ifconfig`,
`ipsecctl`), otherwise through the files isakmpd reads, and returns a Fault that says what it
did and which `peerops doctor` check must name the cause first:

    peer-key-missing        the peer's public key file removed          -> peer-key
    key-wrong-directory     the key moved under another ID type's dir   -> peer-key
    proposal-mismatch       the remote proposes another quick cipher    -> flows
    isakmpd-without-k       isakmpd_flags without -K, isakmpd restarted -> isakmpd
    gre-not-allowed         sysctl net.inet.gre.allow=0                 -> gre-allow
    wrong-tunnel-endpoint   ifconfig greN tunnel to a wrong address     -> tunnel
    isakmpd-stopped         rcctl stop isakmpd                          -> isakmpd

From a shell: `python -m agent.lab.scenarios -c DIR/rtr1/peerops.yaml NAME [PEER]`.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.config import AgentConfig, load_config
from agent.errors import PeeropsError
from agent.host import CommandResult
from agent.model import PUBKEY_DIR, Peering
from agent.sim import state as simstate
from agent.sim.fleet import load_fleet, write_fleet
from agent.sim.host import SimHost

# Addresses from the documentation ranges (RFC 5737, RFC 3849): nobody answers there.
WRONG_ENDPOINT = {4: "203.0.113.99", 6: "2001:db8:dead::99"}


class ScenarioError(PeeropsError):
    """The fault could not be put in place (wrong router, unknown peer, command failed)."""


@dataclass(frozen=True)
class Fault:
    """A fault in place: where, what was done, and the doctor check that must come first."""

    name: str
    router: str
    peer: str | None
    check: str
    did: tuple[str, ...]


def _host(cfg: AgentConfig) -> SimHost:
    if cfg.host != "simulated":
        raise ScenarioError(f"{cfg.source}: scenarios only break simulated routers")
    return SimHost(cfg.root)


def _peering(cfg: AgentConfig, peer: str | None) -> Peering:
    """The router's peering with `peer`, resolved from its state repo checkout."""
    from agent.repo.inventory import load_inventory

    if not peer:
        raise ScenarioError("this fault needs a peer")
    inventory, problems = load_inventory(cfg.repo)
    if inventory is None:
        raise ScenarioError(f"{cfg.repo}: invalid state repo ({len(problems)} errors)")
    for p in inventory.for_router(cfg.router):
        if p.peer == peer:
            return p
    raise ScenarioError(f"{cfg.router} has no peer {peer!r}")


def _run(host: SimHost, *argv: str, check: bool = True) -> str:
    """Run a simulated command; its command line for the Fault's record."""
    result: CommandResult = host.run(argv)
    if check and not result.ok:
        raise ScenarioError(f"{' '.join(argv)}: exit {result.rc}: {result.stderr.strip()}")
    return " ".join(argv)


# -- keys --------------------------------------------------------------------------------------


def peer_key_missing(cfg: AgentConfig, peer: str | None = None) -> Fault:
    """Remove the peer's public key file (as `rm` would): isakmpd cannot verify the peer."""
    p = _peering(cfg, peer)
    host = _host(cfg)
    path = p.remote_id.pubkey_path
    if not host.remove_file(path):
        raise ScenarioError(f"{path} did not exist")
    return Fault("peer-key-missing", cfg.router, p.peer, "peer-key", (f"rm {path}",))


def wrong_directory_for(p: Peering) -> str:
    """Where a person following the wiki literally might put the key: named after the peer's
    address under ipv4/ (or ipv6/) when the peer uses an FQDN/UFQDN ID, under fqdn/ when
    it uses its address."""
    if p.remote_id.type in ("fqdn", "ufqdn"):
        kind = "ipv4" if ipaddress.ip_address(p.remote_endpoint).version == 4 else "ipv6"
        return f"{PUBKEY_DIR}/{kind}/{p.remote_endpoint}"
    return f"{PUBKEY_DIR}/fqdn/{p.remote_endpoint}"


def key_in_wrong_directory(cfg: AgentConfig, peer: str | None = None) -> Fault:
    """Move the peer's key to a directory of another identity type (like `mv`)."""
    p = _peering(cfg, peer)
    host = _host(cfg)
    path, wrong = p.remote_id.pubkey_path, wrong_directory_for(p)
    data = host.read_file(path)
    if data is None:
        raise ScenarioError(f"{path} does not exist")
    host.write_file(wrong, data, mode=0o644)
    host.remove_file(path)
    return Fault("key-wrong-directory", cfg.router, p.peer, "peer-key", (f"mv {path} {wrong}",))


# -- IKE -----------------------------------------------------------------------------------------


def _other_cipher(rule: str) -> tuple[str, str]:
    """The rule with another quick-mode cipher, and that cipher."""
    m = re.search(r"(quick(?: auth \S+)? enc )(\S+)", rule)
    if m is None:
        raise ScenarioError("the rule has no quick-mode enc to change")
    other = "aes-192" if m.group(2) == "aes-128" else "aes-128"
    return rule[: m.start(2)] + other + rule[m.end(2):], other


def proposal_mismatch(cfg: AgentConfig, peer: str | None = None) -> Fault:
    """Make the far end propose something else: an external peer of the fleet model turns to
    state "mismatch"; a managed peer router loads its rule for this link with another
    quick-mode cipher (`ipsecctl -f` overwrites the connection's sections in its isakmpd)."""
    p = _peering(cfg, peer)
    host = _host(cfg)
    if not p.internal:
        return _external_mismatch(cfg, host, p)
    return _router_mismatch(cfg, host, p)


def _fleet_path(host: SimHost) -> Path:
    fleet = simstate.read_host_info(host.root).get("fleet")
    if not fleet:
        raise ScenarioError(f"{host.root} belongs to no fleet")
    return Path(fleet)


def _external_mismatch(cfg: AgentConfig, host: SimHost, p: Peering) -> Fault:
    path = _fleet_path(host)
    fleet = json.loads(path.read_text())
    entry = fleet.get("external", {}).get(cfg.router, {}).get(p.peer)
    if entry is None:
        raise ScenarioError(f"{p.peer} is not an external peer of {cfg.router} in {path}")
    entry["state"] = "mismatch"
    write_fleet(path, fleet)
    return Fault("proposal-mismatch", cfg.router, p.peer, "flows",
                 (f"{path}: external {cfg.router}/{p.peer} state mismatch",))


def _router_mismatch(cfg: AgentConfig, host: SimHost, p: Peering) -> Fault:
    from agent.repo.inventory import load_inventory
    from agent.router.render import render_rule

    roots = load_fleet(host.root).get("routers", {})
    if p.peer not in roots:
        raise ScenarioError(f"router {p.peer} is not in the fleet of {cfg.router}")
    inventory, _ = load_inventory(cfg.repo)
    mirror = next(
        (q for q in (inventory.for_router(p.peer) if inventory else ()) if q.peer == cfg.router),
        None,
    )
    if mirror is None:
        raise ScenarioError(f"{p.peer} has no peering with {cfg.router} in the repo")
    rule, cipher = _other_cipher(render_rule(mirror))
    remote = SimHost(roots[p.peer])
    temp = remote.write_temp("/etc", ".ipsec.mismatch.", rule.encode())
    try:
        loaded = _run(remote, "ipsecctl", "-f", temp)
    finally:
        remote.remove_file(temp)
    return Fault("proposal-mismatch", cfg.router, p.peer, "flows",
                 (f"on {p.peer}: {loaded} (its rule for {cfg.router} with quick enc {cipher})",))


def isakmpd_without_k(cfg: AgentConfig, peer: str | None = None) -> Fault:
    """Set isakmpd_flags without -K and restart it: it wants KeyNote's isakmpd.policy, which
    a fresh install lacks, so it dies at start (and would accept no peer if it ran)."""
    host = _host(cfg)
    did = (_run(host, "rcctl", "set", "isakmpd", "flags", ""),
           _run(host, "rcctl", "restart", "isakmpd", check=False))
    return Fault("isakmpd-without-k", cfg.router, None, "isakmpd", did)


def isakmpd_stopped(cfg: AgentConfig, peer: str | None = None) -> Fault:
    """Stop isakmpd (SIGTERM deletes its SAs and flows)."""
    host = _host(cfg)
    return Fault("isakmpd-stopped", cfg.router, None, "isakmpd",
                 (_run(host, "rcctl", "stop", "isakmpd"),))


# -- GRE -----------------------------------------------------------------------------------------


def gre_not_allowed(cfg: AgentConfig, peer: str | None = None) -> Fault:
    """Turn net.inet.gre.allow off: the kernel drops received GRE."""
    host = _host(cfg)
    return Fault("gre-not-allowed", cfg.router, None, "gre-allow",
                 (_run(host, "sysctl", "net.inet.gre.allow=0"),))


def wrong_tunnel_endpoint(cfg: AgentConfig, peer: str | None = None) -> Fault:
    """Point the peer's gre interface at an address nobody answers on."""
    from agent.router.record import load_record

    p = _peering(cfg, peer)
    host = _host(cfg)
    iface = load_record(cfg.state_dir).interfaces.get(p.peer)
    if iface is None:
        raise ScenarioError(f"no gre interface was applied for {p.peer} (run peerops apply)")
    wrong = WRONG_ENDPOINT[ipaddress.ip_address(p.local_endpoint).version]
    did = _run(host, "ifconfig", iface, "tunnel", p.local_endpoint, wrong)
    return Fault("wrong-tunnel-endpoint", cfg.router, p.peer, "tunnel", (did,))


SCENARIOS: dict[str, Callable[[AgentConfig, str | None], Fault]] = {
    "peer-key-missing": peer_key_missing,
    "key-wrong-directory": key_in_wrong_directory,
    "proposal-mismatch": proposal_mismatch,
    "isakmpd-without-k": isakmpd_without_k,
    "gre-not-allowed": gre_not_allowed,
    "wrong-tunnel-endpoint": wrong_tunnel_endpoint,
    "isakmpd-stopped": isakmpd_stopped,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Put one fault into a simulated router and say what was done."""
    parser = argparse.ArgumentParser(prog="python -m agent.lab.scenarios", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True, help="the router's peerops.yaml")
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("peer", nargs="?")
    args = parser.parse_args(argv)
    try:
        fault = SCENARIOS[args.scenario](load_config(args.config), args.peer)
    except (ScenarioError, OSError) as exc:
        print(f"scenarios: {exc}", file=sys.stderr)
        return 1
    for line in fault.did:
        print(line)
    print(f"peerops doctor should name `{fault.check}` first")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
