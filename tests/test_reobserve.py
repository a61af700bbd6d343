"""Verify after an apply looks again at exactly what the applied steps can have changed
(facts.observe.reobserve): the result equals a whole new observation, for less work."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.facts.observe import IPSECCTL_SA, Observed, observe, reobserve
from agent.lab.demo import build_demo_fleet
from agent.run.converge import apply_router
from agent.sim.host import SimHost
from tests.conftest import edit


@pytest.fixture
def rtr1(tmp_path: Path) -> AgentConfig:
    cfg = build_demo_fleet(tmp_path)["rtr1"]
    assert apply_router(cfg).exit_code == 2
    return cfg


def same(after: Observed, whole: Observed) -> None:
    assert replace(after, local_addresses=None) == whole


def test_a_changed_description_is_verified_with_one_interface_and_one_file(
    rtr1: AgentConfig, reobserve_checked: list[list[str]]
) -> None:
    edit(rtr1.repo / "peers/rtr1/alice.yaml", "description: dn42 peer alice",
         "description: dn42 peer alice, moved")
    outcome = apply_router(rtr1)
    assert outcome.exit_code == 2 and not outcome.residual
    iface = outcome.plan[0].resource.removeprefix("gre:").removeprefix("file:/etc/hostname.")
    assert reobserve_checked == [[f"file:/etc/hostname.{iface}", f"gre:{iface}"]]
    assert apply_router(rtr1).plan == []


def test_only_the_commands_for_the_touched_resources_run(rtr1: AgentConfig) -> None:
    host = SimHost(rtr1.root)
    before = observe(host)
    iface = sorted(before.gre)[0]
    assert host.run(["ifconfig", iface, "description", "peerops somebody: by hand"]).rc == 0
    host.commands.clear()
    after = reobserve(host, before, [f"gre:{iface}"])
    assert host.commands == [("ifconfig", iface)]
    assert after.gre[iface].description == "peerops somebody: by hand"
    same(after, observe(host))


def test_a_destroyed_interface_and_a_removed_file_are_gone(rtr1: AgentConfig) -> None:
    host = SimHost(rtr1.root)
    before = observe(host)
    iface = sorted(before.gre)[0]
    assert host.run(["ifconfig", iface, "destroy"]).rc == 0
    assert host.remove_file(f"/etc/hostname.{iface}")
    after = reobserve(host, before, [f"gre:{iface}", f"file:/etc/hostname.{iface}"])
    assert iface not in after.gre and iface not in after.hostname_files
    same(after, observe(host))


def test_a_key_file_makes_isakmpd_look_again(rtr1: AgentConfig) -> None:
    host = SimHost(rtr1.root)
    before = observe(host)
    path = sorted(before.pubkey_files)[0]
    assert host.remove_file(path)
    host.commands.clear()
    after = reobserve(host, before, [f"file:{path}"])
    assert path not in after.pubkey_files
    assert IPSECCTL_SA in host.commands  # the peer can no longer be authenticated
    assert len(after.ipsec.sas) < len(before.ipsec.sas)
    same(after, observe(host))


@pytest.mark.parametrize("resources", [["mystery:thing"], ["gre:../etc"]])
def test_an_unknown_resource_means_a_whole_look(rtr1: AgentConfig,
                                                 resources: list[str]) -> None:
    host = SimHost(rtr1.root)
    before = observe(host)
    host.commands.clear()
    reobserve(host, before, resources)
    assert IPSECCTL_SA in host.commands and ("ifconfig", "gre") in host.commands


def test_an_earlier_look_with_errors_is_not_reused(rtr1: AgentConfig) -> None:
    host = SimHost(rtr1.root)
    before = replace(observe(host), errors=["ipsecctl -sa failed: simulated"])
    host.commands.clear()
    after = reobserve(host, before, ["rc:ipsec"])
    assert after.errors == [] and IPSECCTL_SA in host.commands


def test_an_unchanged_output_reuses_its_parse_and_a_changed_one_is_parsed(
    rtr1: AgentConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's cycles observe again and again: ipsecctl -sa and ifconfig gre are parsed
    only when their output changed (the facts are frozen, so sharing them is safe)."""
    from agent.facts import observe as facts

    parsed: list[str] = []
    real_sa, real_gre = facts.parse_ipsecctl, facts.parse_ifconfig
    monkeypatch.setattr(facts, "parse_ipsecctl",
                        lambda text, src: parsed.append("sa") or real_sa(text, src))
    monkeypatch.setattr(facts, "parse_ifconfig",
                        lambda text, src: parsed.append("gre") or real_gre(text, src))
    host = SimHost(rtr1.root)
    first = observe(host)
    parsed.clear()
    again = observe(host)
    assert parsed == [] and again == first and again.ipsec is first.ipsec
    host.run(["ifconfig", "gre0", "down"])
    changed = observe(host)
    assert parsed == ["gre"]
    assert not changed.gre["gre0"].up and first.gre["gre0"].up
