"""Failure containment on the simulated fleet: one broken peering never blocks the others, a
failed change is rolled back, a quarantined peer is retried when its file changes. Faults are
injected with the simulated host's own `fault` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.health.doctor import run_doctor
from agent.keys import generate_key_pair
from agent.lab.demo import build_demo_fleet
from agent.router.record import load_record
from agent.run.converge import apply_router, plan_router
from agent.run.quarantine import load as load_quarantine
from agent.sim.cli import main as sim_main
from agent.sim.host import SimHost
from tests.conftest import edit
from tests.test_converge import converge, health, peers_answer, sa_lines

# Every verify after an apply is checked against a whole new look at the router.
pytestmark = pytest.mark.usefixtures("reobserve_checked")

BOB = "peers/rtr1/bob.yaml"
BOB_IP = "2001:db8:b0b::7"
ALICE_IP = "198.51.100.7"


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, AgentConfig]:
    configs = build_demo_fleet(tmp_path / "fleet")
    converge(configs)
    return configs


def fault(cfg: AgentConfig, *words: str) -> None:
    assert sim_main(["--root", str(cfg.root), "fault", *words]) == 0


def new_peer(cfg: AgentConfig, name: str, endpoint: str, net: int) -> None:
    """A peer file like alice's, with its own key, endpoint and transfer pair."""
    _, public = generate_key_pair()
    key = "".join(f"  {line}\n" for line in public.decode().splitlines())
    (cfg.repo / f"peers/rtr1/{name}.yaml").write_text(
        f"name: {name}\nasn: 42424{net:05d}\nendpoint: {endpoint}\n"
        f"identity:\n  type: fqdn\n  value: {name}.example.org\n"
        f"public_key: |\n{key}"
        f"gre:\n  ipv4:\n    router: 172.20.{net}.1\n    peer: 172.20.{net}.2\n"
    )


def test_a_refused_rule_quarantines_its_peer_while_the_others_converge(
    fleet: dict[str, AgentConfig],
) -> None:
    cfg = fleet["rtr1"]
    host = SimHost(cfg.root)
    alice_iface = {h.peer: h.interface for h in plan_router(cfg).health}["alice"]
    bob_sas = sa_lines(cfg, BOB_IP)
    bob_rule = load_record(cfg.state_dir).rules["bob"]
    # The pull request: dave and erin join (and have configured their side), bob's proposal
    # changes; by hand, alice's tunnel is destroyed (drift). OpenBSD refuses bob's new rule
    # (wherever it appears).
    new_peer(cfg, "dave", "198.51.100.21", 21)
    new_peer(cfg, "erin", "198.51.100.22", 22)
    peers_answer(cfg)
    edit(cfg.repo / BOB, "enc: aes-128", "enc: aes-192")
    assert host.run(["ifconfig", alice_iface, "destroy"]).rc == 0
    fault(cfg, "add", "--matching", "enc aes-192", "--", "ipsecctl", "-n", "-f")

    outcome = apply_router(cfg)

    assert (outcome.result, outcome.exit_code) == ("failed", 6)  # changes, and a failure
    refused = next(r for r in outcome.results if not r.ok)
    assert refused.step.kind == "check-ipsec"
    why = outcome.peer_errors["bob"]
    assert why.startswith("quarantined: OpenBSD refuses its rule: ipsecctl -n -f <its rule>: ")
    assert "Syntax error in config file" in why  # the command's own message
    states = health(cfg)
    assert states["dave"] == "up" and states["erin"] == "up" and states["alice"] == "up"
    assert host.run(["ifconfig", alice_iface]).rc == 0  # the drift was repaired
    assert load_record(cfg.state_dir).rules["bob"] == bob_rule  # bob keeps his old rule ...
    assert sa_lines(cfg, BOB_IP) == bob_sas  # ... and his SAs
    entry = load_quarantine(cfg.state_dir)["bob"]
    assert (entry.attempts, entry.command) == (1, "ipsecctl -n -f <its rule>")

    doctor = run_doctor(cfg, "bob", ping=False)
    accepted = next(c for c in doctor.checks if c.id == "peer-accepted")
    assert accepted.status == "warn" and "ipsecctl -n -f <its rule>" in accepted.detail

    again = apply_router(cfg)  # held until its file changes or the backoff ends
    assert again.results == [] and again.plan == [] and again.result == "degraded"
    assert "quarantined" in again.peer_errors["bob"]

    # The next commit fixes bob's file: he is tried again at once and leaves quarantine.
    sim_main(["--root", str(cfg.root), "fault", "clear"])
    edit(cfg.repo / BOB, "enc: aes-192", "enc: aes-256")
    peers_answer(cfg)
    fixed = apply_router(cfg)
    assert fixed.result == "changed" and "bob" not in fixed.peer_errors
    assert health(cfg)["bob"] == "up" and load_quarantine(cfg.state_dir) == {}
    assert plan_router(cfg).plan == []


def test_every_rule_refused_is_the_routers_failure_not_a_peers(
    fleet: dict[str, AgentConfig],
) -> None:
    cfg = fleet["rtr1"]
    edit(cfg.repo / BOB, "enc: aes-128", "enc: aes-192")
    peers_answer(cfg)
    fault(cfg, "add", "--", "ipsecctl", "-n", "-f")
    outcome = apply_router(cfg)
    assert outcome.result == "failed" and outcome.peer_errors == {}
    assert [r.step.kind for r in outcome.results] == ["check-ipsec"]  # nothing changed
    assert load_quarantine(cfg.state_dir) == {}


def test_a_failed_load_is_rolled_back_and_verified(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    host = SimHost(cfg.root)
    conf_before = host.read_file("/etc/ipsec.conf")
    alice_rule = load_record(cfg.state_dir).rules["alice"]
    (cfg.repo / "peers/rtr1/alice.yaml").unlink()  # alice's rule is deleted, then the load fails
    fault(cfg, "add", "--times", "1", "--", "ipsecctl", "-f", "/etc/ipsec.conf")

    outcome = apply_router(cfg)

    kinds = [(r.step.kind, r.ok) for r in outcome.results]
    assert ("delete-rule", True) in kinds and ("load-rules", False) in kinds
    rollback = [r for r in outcome.results if r.step.why.startswith("rollback")]
    assert [(r.step.kind, r.ok) for r in rollback] == [
        ("write", True),
        ("reload-rules", True),
        ("check-ipsec", True),
    ]
    assert outcome.result == "failed" and outcome.exit_code == 6
    assert outcome.peer_errors == {}  # a load failure is the router's, not alice's
    assert host.read_file("/etc/ipsec.conf") == conf_before
    assert load_record(cfg.state_dir).rules["alice"] == alice_rule
    assert host.run(["ifconfig", "gre1"]).rc == 0  # the gre steps after the load never ran

    done = apply_router(cfg)  # the fault is used up: the removal goes through
    assert done.result == "changed" and "alice" not in load_record(cfg.state_dir).rules
    assert sa_lines(cfg, ALICE_IP) == []
    assert plan_router(cfg).plan == []


def test_a_failed_interface_change_is_undone_for_that_peer_only(
    fleet: dict[str, AgentConfig],
) -> None:
    cfg = fleet["rtr1"]
    host = SimHost(cfg.root)
    ifaces = {h.peer: h.interface for h in plan_router(cfg).health}
    alice, bob = ifaces["alice"], ifaces["bob"]
    file_before = host.read_file(f"/etc/hostname.{alice}")
    show_before = host.run(["ifconfig", alice]).stdout
    edit(cfg.repo / "peers/rtr1/alice.yaml", "  ipv6: eui64\n", "  ipv6: eui64\n  mtu: 1380\n")
    edit(cfg.repo / "peers/rtr1/alice.yaml", "dn42 peer alice", "dn42 peer alice two")
    edit(cfg.repo / BOB, "dn42 peer bob", "dn42 peer bob two")
    fault(cfg, "add", "--", "ifconfig", alice, "description")

    outcome = apply_router(cfg)

    assert outcome.result == "failed"
    assert outcome.peer_errors["alice"].startswith(
        f"quarantined: gre:{alice} could not be changed: ifconfig {alice} description"
    )
    assert "SIOCSIFDESCR" in outcome.peer_errors["alice"]
    assert host.read_file(f"/etc/hostname.{alice}") == file_before  # restored
    assert host.run(["ifconfig", alice]).stdout == show_before  # the mtu change undone
    assert "dn42 peer bob two" in host.run(["ifconfig", bob]).stdout  # bob went ahead
    assert health(cfg)["alice"] == "up"
    assert apply_router(cfg).plan == []  # alice is held; nothing else to do


def _bob_description(cfg: AgentConfig) -> None:
    edit(cfg.repo / BOB, "dn42 peer bob", "dn42 peer bob two")


def _dave(cfg: AgentConfig) -> None:
    new_peer(cfg, "dave", "198.51.100.21", 21)
    peers_answer(cfg)
    _bob_description(cfg)


def _bob_rule(cfg: AgentConfig) -> None:
    edit(cfg.repo / BOB, "enc: aes-128", "enc: aes-192")
    new_peer(cfg, "dave", "198.51.100.21", 21)
    peers_answer(cfg)


def _gre_allow_off(cfg: AgentConfig) -> None:
    assert SimHost(cfg.root).run(["sysctl", "net.inet.gre.allow=0"]).rc == 0
    _bob_description(cfg)


def _isakmpd_stopped(cfg: AgentConfig) -> None:
    assert SimHost(cfg.root).run(["rcctl", "stop", "isakmpd"]).rc == 0
    _bob_description(cfg)


# A fault at each kind of mutating command: (the change that makes the plan run it, the
# command's argv prefix, the peer it belongs to or None for the router's own failure).
FAULTS = {
    "netstart creating a new peer's tunnel": (_dave, ["sh", "/etc/netstart", "gre3"], "dave"),
    "deleting a changed peer's old rule": (_bob_rule, ["ipsecctl", "-d", "-f"], "bob"),
    "sysctl (router-wide)": (_gre_allow_off, ["sysctl", "net.inet.gre.allow=1"], None),
    "starting isakmpd (router-wide)": (_isakmpd_stopped, ["rcctl", "start", "isakmpd"], None),
}


@pytest.mark.parametrize("case", list(FAULTS))
def test_a_fault_at_each_kind_of_command(fleet: dict[str, AgentConfig], case: str) -> None:
    cfg = fleet["rtr1"]
    host = SimHost(cfg.root)
    change, command, peer = FAULTS[case]
    change(cfg)
    fault(cfg, "add", "--", *command)
    outcome = apply_router(cfg)
    failed = [r for r in outcome.results if not r.ok]
    assert outcome.result == "failed" and failed
    assert failed[0].step.peer == peer and failed[0].error  # the command's own message
    if failed[0].step.argv:
        assert list(failed[0].step.argv[: len(command)]) == command
    bob_iface = {h.peer: h.interface for h in outcome.health}["bob"]
    bob_shows = host.run(["ifconfig", bob_iface]).stdout
    if peer is None:  # the router's failure: nothing after it ran, nobody is blamed
        assert outcome.peer_errors == {}
        assert failed[0] is outcome.results[-1]
        assert "dn42 peer bob two" not in bob_shows
    else:  # that peer alone is held; the others went ahead in the same run
        assert list(outcome.peer_errors) == [peer]
        assert outcome.peer_errors[peer].startswith("quarantined: ")
        assert " ".join(command) in outcome.peer_errors[peer]
        others = {h.peer: h.state for h in outcome.health if h.peer != peer}
        assert others and all(state == "up" for state in others.values()), others
    if peer is not None:
        assert apply_router(cfg).results == []  # held until its file changes or the backoff
    sim_main(["--root", str(cfg.root), "fault", "clear"])
    if peer is None:  # once the router can do it, everything goes through
        assert apply_router(cfg).result == "changed" and plan_router(cfg).plan == []
