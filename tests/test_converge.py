"""End-to-end runs on a simulated fleet: converge, change, drift; every second run plans nothing.

The fleet is built from the example state repo exactly as `peerops demo` builds it: a bare git
remote, one checkout per router, simulated OpenBSD roots with their own keys.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet
from agent.repo.inventory import load_inventory
from agent.run.converge import RunOutcome, apply_router, plan_router
from agent.sim.fleet import refresh_external
from agent.sim.host import SimHost
from tests.conftest import edit

# Every verify after an apply is checked against a whole new look at the router.
pytestmark = pytest.mark.usefixtures("reobserve_checked")


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, AgentConfig]:
    return build_demo_fleet(tmp_path)


def converge(configs: dict[str, AgentConfig]) -> dict[str, RunOutcome]:
    """Apply every router, then prove idempotency: a second plan is empty everywhere."""
    outcomes = {name: apply_router(cfg) for name, cfg in configs.items()}
    for name, cfg in configs.items():
        again = plan_router(cfg)
        assert again.plan == [], f"{name} plans again: {[s.to_json() for s in again.plan]}"
    return outcomes


def peers_answer(cfg: AgentConfig) -> None:
    """Model the external peers now in the repo (they have configured their side too)."""
    inventory, problems = load_inventory(cfg.repo)
    assert inventory is not None, problems
    refresh_external(cfg.root.parent.parent / "fleet.json", inventory)


def health(cfg: AgentConfig) -> dict[str, str]:
    return {h.peer: h.state for h in plan_router(cfg).health}


def sa_lines(cfg: AgentConfig, peer_ip: str) -> list[str]:
    out = SimHost(cfg.root).run(["ipsecctl", "-ss"]).stdout.splitlines()
    return [line for line in out if f" {peer_ip} " in f"{line} "]


def test_fleet_converges_and_every_link_comes_up(fleet: dict[str, AgentConfig]) -> None:
    outcomes = converge(fleet)
    assert {n: o.exit_code for n, o in outcomes.items()} == {"rtr1": 2, "rtr2": 2}
    assert health(fleet["rtr1"]) == {"alice": "up", "bob": "up", "rtr2": "up"}
    assert health(fleet["rtr2"]) == {"carol": "up", "rtr1": "up"}
    rtr1 = SimHost(fleet["rtr1"].root)
    assert rtr1.run(["rcctl", "get", "isakmpd", "flags"]).stdout == "-K\n"
    assert rtr1.run(["sysctl", "net.inet.gre.allow"]).stdout == "net.inet.gre.allow=1\n"
    conf = rtr1.stat("/etc/ipsec.conf")
    assert conf is not None and (conf.mode, conf.uid, conf.gid) == (0o600, 0, 0)
    gre = rtr1.stat("/etc/hostname.gre0")
    assert gre is not None and gre.mode == 0o640
    assert rtr1.read_file("/etc/isakmpd/pubkeys/fqdn/alice.example.org") is not None
    assert rtr1.read_file("/etc/isakmpd/pubkeys/ipv6/2001:db8:b0b::7") is not None
    assert {n: apply_router(c).exit_code for n, c in fleet.items()} == {"rtr1": 0, "rtr2": 0}


def test_add_a_peer_converges_without_disturbing_others(fleet: dict[str, AgentConfig]) -> None:
    converge(fleet)
    cfg = fleet["rtr1"]
    before = sa_lines(cfg, "198.51.100.7")
    dave = cfg.repo / "peers/rtr1/dave.yaml"
    shutil.copy(cfg.repo / "peers/rtr1/alice.yaml", dave)
    text = (
        dave.read_text()
        .replace("name: alice", "name: dave")
        .replace("198.51.100.7", "198.51.100.77")
    )
    text = text.replace("alice.example.org", "dave.example.org").replace("172.20.1.", "172.20.3.")
    dave.write_text(text)
    peers_answer(cfg)
    converge(fleet)
    states = health(cfg)
    assert states["dave"] == "up" and states["alice"] == "up"
    assert sa_lines(cfg, "198.51.100.7") == before  # alice's SAs (and SPIs) untouched
    assert SimHost(cfg.root).run(["ifconfig", "gre3"]).rc == 0  # gre0-2 were taken: no renumbering


def test_remove_a_peer_deletes_rule_interface_and_key(fleet: dict[str, AgentConfig]) -> None:
    converge(fleet)
    cfg = fleet["rtr1"]
    iface = {h.peer: h.interface for h in plan_router(cfg).health}["alice"]
    (cfg.repo / "peers/rtr1/alice.yaml").unlink()
    outcome = apply_router(cfg)
    kinds = [(r.step.kind, r.step.resource) for r in outcome.results]
    assert ("delete-rule", "rule:alice") in kinds
    assert not any(r.step.argv[:2] == ("ipsecctl", "-F") for r in outcome.results)
    host = SimHost(cfg.root)
    assert host.run(["ifconfig", iface]).rc == 1
    assert host.read_file(f"/etc/hostname.{iface}") is None
    assert host.read_file("/etc/isakmpd/pubkeys/fqdn/alice.example.org") is None
    assert sa_lines(cfg, "198.51.100.7") == []
    # isakmpd itself no longer holds alice's connection: deleted with -d, not just left
    # without a key (a rule loaded again instead of deleted would keep it).
    from agent.sim import state as simstate

    conns = simstate.load(cfg.root)["isakmpd"]["connections"]
    assert conns and not [name for name in conns if "198.51.100.7" in name]
    assert health(cfg) == {"bob": "up", "rtr2": "up"}
    assert plan_router(cfg).plan == []


def test_changing_one_peers_crypto_only_touches_that_peer(fleet: dict[str, AgentConfig]) -> None:
    converge(fleet)
    cfg = fleet["rtr1"]
    alice_before = sa_lines(cfg, "198.51.100.7")
    bob = cfg.repo / "peers/rtr1/bob.yaml"
    edit(bob, "enc: aes-128", "enc: aes-192")
    peers_answer(cfg)  # bob agreed to the new proposal in the pull request
    outcome = apply_router(cfg)
    deleted = [r.step.resource for r in outcome.results if r.step.kind == "delete-rule"]
    assert deleted == ["rule:bob"]
    assert sa_lines(cfg, "198.51.100.7") == alice_before
    assert all("enc aes-192" in line for line in sa_lines(cfg, "2001:db8:b0b::7"))
    assert health(cfg)["bob"] == "up"
    assert plan_router(cfg).plan == []


def test_drift_is_corrected(fleet: dict[str, AgentConfig]) -> None:
    converge(fleet)
    cfg = fleet["rtr1"]
    host = SimHost(cfg.root)
    assert host.run(["ifconfig", "gre0", "destroy"]).rc == 0
    assert host.run(["rcctl", "set", "isakmpd", "flags", "-v"]).rc == 0
    conf = host.read_file("/etc/ipsec.conf") or b""
    host.write_file("/etc/ipsec.conf", conf + b"# edited by hand\n", mode=0o644)
    outcome = apply_router(cfg)
    why = {r.step.resource for r in outcome.results}
    assert {"gre:gre0", "rc:isakmpd", "file:/etc/ipsec.conf", "ipsec:rules"} <= why
    assert outcome.exit_code == 2
    assert host.run(["rcctl", "get", "isakmpd", "flags"]).stdout == "-K\n"
    conf_after = host.stat("/etc/ipsec.conf")
    assert conf_after is not None and conf_after.mode == 0o600
    converge(fleet)
    assert set(health(cfg).values()) == {"up"}


def test_isakmpd_restarted_by_hand_gets_its_rules_back(fleet: dict[str, AgentConfig]) -> None:
    converge(fleet)
    cfg = fleet["rtr1"]
    host = SimHost(cfg.root)
    assert host.run(["rcctl", "restart", "isakmpd"]).rc == 0
    assert sa_lines(cfg, "198.51.100.7") == []  # a restarted isakmpd forgot every rule
    steps = plan_router(cfg).plan
    assert [s.argv for s in steps] == [("ipsecctl", "-f", "/etc/ipsec.conf")]
    converge(fleet)
    assert set(health(cfg).values()) == {"up"}


def test_unmanaged_gre_interface_is_left_alone(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    host = SimHost(cfg.root)
    assert host.run(["ifconfig", "gre0", "create"]).rc == 0
    assert host.run(["ifconfig", "gre7", "tunnel", "192.0.2.1", "192.0.2.99"]).rc == 0
    outcome = apply_router(cfg)
    assert "gre0 exists and is not managed by peerops" in outcome.peer_errors["rtr2"]
    assert outcome.exit_code == 6  # changes applied, and one peering left out
    assert host.run(["ifconfig", "gre7"]).stdout.count("192.0.2.99") == 1
    assert all("gre7" not in (r.step.resource + " ".join(r.step.argv)) for r in outcome.results)
    assert all(r.step.resource != "gre:gre0" for r in outcome.results)
    assert plan_router(cfg).plan == []


def test_invalid_repo_changes_nothing(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    edit(cfg.repo / "peers/rtr1/alice.yaml", "asn: 4242421234", "asn: 4242421234\nasn: 1")
    outcome = apply_router(cfg)
    assert outcome.result == "stalled" and outcome.exit_code == 4
    assert outcome.results == []
    assert SimHost(cfg.root).read_file("/etc/ipsec.conf") is None


def test_gated_peer_is_held_as_applied_while_others_converge(
    fleet: dict[str, AgentConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    converge(fleet)
    cfg = fleet["rtr1"]
    before = sa_lines(cfg, "198.51.100.7")
    host = SimHost(cfg.root)
    key_before = host.read_file("/etc/isakmpd/pubkeys/fqdn/alice.example.org")
    # a new commit changes alice and bob, and a gate (e.g. a bad key signature) rejects alice
    edit(cfg.repo / "peers/rtr1/alice.yaml", "description: dn42 peer alice", "description: new")
    edit(cfg.repo / "peers/rtr1/bob.yaml", "enc: aes-128", "enc: aes-192")
    peers_answer(cfg)
    monkeypatch.setattr(
        "agent.repo.gates._gates", lambda: [lambda _cfg, _ps: {"alice": "bad signature"}]
    )
    outcome = apply_router(cfg)
    assert outcome.peer_errors == {"alice": "bad signature"}
    assert {r.step.resource for r in outcome.results if r.step.kind == "delete-rule"} == {
        "rule:bob"
    }
    assert sa_lines(cfg, "198.51.100.7") == before  # alice's tunnel kept working as it was
    assert host.read_file("/etc/isakmpd/pubkeys/fqdn/alice.example.org") == key_before
    old_line = b'description "peerops alice: dn42 peer alice"'
    assert old_line in (host.read_file("/etc/hostname.gre1") or b"")
    assert plan_router(cfg).plan == []
    monkeypatch.undo()
    converge(fleet)  # the gate lifts: alice's new commit applies
    assert b"peerops alice: new" in (host.read_file("/etc/hostname.gre1") or b"")
