"""`peerops doctor`: each simulated fault is named first, with its cause and the exact next
command; following those commands repairs the router; a healthy fleet passes."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import AgentConfig
from agent.esp import esp_size, largest_mtu
from agent.health.checklist import FAIL, NEGOTIATION_GRACE, PASS, SKIP
from agent.health.doctor import STEPS, pf_hints, run_doctor
from agent.health.peer import assess
from agent.lab.scenarios import SCENARIOS, Fault
from agent.run.converge import RunOutcome, apply_router, prepare
from agent.sim.host import SimHost
from tests.simfleet import clone

LATER = NEGOTIATION_GRACE + 1  # seconds after the fault: IKE has had time to retry


@pytest.fixture
def fleet(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> dict[str, AgentConfig]:
    """A converged fleet this test may break."""
    return clone(tmp_path_factory, tmp_path / "fleet")


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AgentConfig]:
    """A converged fleet the tests only look at."""
    return clone(tmp_path_factory, tmp_path_factory.mktemp("doctor") / "fleet")


def health_now(cfg: AgentConfig, now: float) -> dict[str, tuple[str, str | None]]:
    """Each peer's (state, check) as health assesses it at `now`."""
    outcome = RunOutcome(cfg.router)
    prepared = prepare(cfg, outcome)
    assert prepared is not None
    rows = assess(prepared.peerings, prepared.desired, prepared.observed, prepared.record,
                  outcome.peer_errors, now=now)
    return {h.peer: (h.state, h.check) for h in rows}


def follow(cfg: AgentConfig, commands: tuple[str, ...]) -> None:
    """Do what the doctor said, as a person would; `mv` is done on the files (the simulator
    has no mv command), `peerops apply` runs the agent."""
    host = SimHost(cfg.root)
    for line in commands:
        argv = shlex.split(line.split("  #")[0])
        if argv[:2] == ["peerops", "apply"]:
            apply_router(cfg)
        elif argv[0] == "mv":
            data = host.read_file(argv[1])
            assert data is not None
            host.write_file(argv[2], data, mode=0o644)
            host.remove_file(argv[1])
        else:
            result = host.run(argv)
            assert result.ok, (argv, result.stderr)


# (scenario, peer, what the first failure's next command must be; None: a debugging step)
CASES = [
    ("peer-key-missing", "alice", "peerops apply -c {config}"),
    ("key-wrong-directory", "alice",
     "mv /etc/isakmpd/pubkeys/ipv4/198.51.100.7 /etc/isakmpd/pubkeys/fqdn/alice.example.org"),
    ("key-wrong-directory", "bob",
     "mv /etc/isakmpd/pubkeys/fqdn/2001:db8:b0b::7 /etc/isakmpd/pubkeys/ipv6/2001:db8:b0b::7"),
    ("proposal-mismatch", "alice", None),
    ("proposal-mismatch", "rtr2", None),
    ("isakmpd-without-k", None, "rcctl set isakmpd flags -K"),
    ("gre-not-allowed", None, "sysctl net.inet.gre.allow=1"),
    ("wrong-tunnel-endpoint", "bob", "ifconfig gre2 tunnel 2001:db8:1::1 2001:db8:b0b::7"),
    ("isakmpd-stopped", None, "rcctl start isakmpd"),
]


@pytest.mark.parametrize(("scenario", "peer", "next_command"), CASES)
def test_each_fault_is_named_first_and_the_next_commands_repair_it(
    fleet: dict[str, AgentConfig], scenario: str, peer: str | None, next_command: str | None
) -> None:
    cfg = fleet["rtr1"]
    fault: Fault = SCENARIOS[scenario](cfg, peer)
    later = time.time() + LATER
    report = run_doctor(cfg, now=later)
    first = report.first_failure
    assert first is not None and report.exit_code == 4
    assert (first.id, first.peer) == (fault.check, fault.peer)
    assert first.cause
    # health gives the same reason: the affected peers are down on that check, the others up
    states = health_now(cfg, later)
    for name, (state, check) in states.items():
        hit = fault.peer is None or name == fault.peer
        assert (state, check) == (("down", fault.check) if hit else ("up", None)), name
    if next_command is None:  # the fix is at the other end: the doctor shows how to see it
        assert "proposal" in first.cause
        # watching comes first and touches no other peer; stopping isakmpd comes last, marked
        assert first.next[0].startswith("echo 'D A 50' > /var/run/isakmpd.fifo")
        assert first.next[1].startswith("ipsecctl -m")
        assert not any("rcctl stop" in step for step in first.next)
        assert first.debug[0].startswith("rcctl stop isakmpd  # DISRUPTIVE: drops")
        assert "every peer" in first.debug[0]
        assert first.debug[1].startswith("isakmpd -K -d -v")
        return
    assert first.next[0].split("  #")[0] == next_command.format(config=cfg.source)
    follow(cfg, first.next)
    assert run_doctor(cfg, now=later).first_failure is None


def test_proposal_mismatch_waits_while_ike_may_still_be_negotiating(
    fleet: dict[str, AgentConfig],
) -> None:
    cfg = fleet["rtr1"]
    SCENARIOS["proposal-mismatch"](cfg, "alice")
    record_loaded = json.loads((cfg.state_dir / "applied.json").read_text())["loaded_at"]
    report = run_doctor(cfg, "alice", now=record_loaded + 5)
    assert report.first_failure is None and report.exit_code == 0
    flows = next(c for c in report.checks if c.id == "flows")
    assert flows.status == "wait" and "still negotiating" in flows.detail
    assert health_now(cfg, record_loaded + 5)["alice"] == ("negotiating", None)
    assert health_now(cfg, record_loaded + LATER)["alice"] == ("down", "flows")


def test_a_wrong_cipher_cause_quotes_our_proposal(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    SCENARIOS["proposal-mismatch"](cfg, "alice")
    first = run_doctor(cfg, "alice", now=time.time() + LATER).first_failure
    assert first is not None and first.id == "flows"
    assert ("main auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 28800, "
            "quick auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 3600") in first.cause
    sas = next(c for c in run_doctor(cfg, "alice", now=time.time() + LATER).checks
               if c.id == "sas")
    assert sas.status == FAIL and "flows" not in sas.cause  # its own cause, not "see flows"


def test_consequences_point_back_to_the_cause(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    SCENARIOS["peer-key-missing"](cfg, "alice")
    checks = {c.id: c for c in run_doctor(cfg, "alice", now=time.time() + LATER).checks}
    for consequence in (checks["flows"], checks["sas"], checks["ping"]):
        assert consequence.status == FAIL and consequence.next == ()  # the cause has the fix
        assert consequence.cause == (
            "a consequence of the earlier failure: peer key [alice] (fix that first)"
        )
    assert checks["gre"].status == PASS  # gre does not depend on IKE


def test_a_healthy_router_passes_every_check_in_order(
    healthy: dict[str, AgentConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = healthy["rtr1"]
    assert main(["doctor", "-c", str(cfg.source), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["first_failure"] is None
    statuses = {(c["id"], c["peer"]): c["status"] for c in report["checks"]}
    assert statuses.pop(("pf", None)) == SKIP  # no pfctl on the simulated router
    assert set(statuses.values()) == {PASS}
    ids = [c["id"] for c in report["checks"]]
    assert ids == sorted(ids, key=STEPS.index)  # every step for all peers before the next
    assert {(c["peer"]) for c in report["checks"] if c["id"] == "ping"} == {"alice", "bob", "rtr2"}
    assert main(["doctor", "-c", str(cfg.source), "rtr2"]) == 0
    text = capsys.readouterr().out
    assert "ping [rtr2]" in text and "[alice]" not in text
    assert text.rstrip().endswith("rtr1: every check passed")


def test_unknown_peer_is_a_usage_error(
    healthy: dict[str, AgentConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "-c", str(healthy["rtr1"].source), "zed"]) == 1
    assert "rtr1 has no peer 'zed' (its peers: alice, bob, rtr2)" in capsys.readouterr().err


def test_local_key_permissions_and_owner(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    host = SimHost(cfg.root)
    key = host.read_file("/etc/isakmpd/private/local.key")
    assert key is not None
    host.write_file("/etc/isakmpd/private/local.key", key, mode=0o640)
    first = run_doctor(cfg, ping=False).first_failure
    assert first is not None and first.id == "local-key"
    assert "too open permissions" in (first.cause or "")
    assert first.next == ("chmod 600 /etc/isakmpd/private/local.key",)
    host.write_file("/etc/isakmpd/private/local.key", key, mode=0o600, uid=1000)
    first = run_doctor(cfg, ping=False).first_failure
    assert first is not None and first.next == ("chown root:wheel /etc/isakmpd/private/local.key",)


def test_ipsec_conf_that_does_not_parse_shows_ipsecctl_error(
    fleet: dict[str, AgentConfig],
) -> None:
    cfg = fleet["rtr1"]
    SimHost(cfg.root).write_file("/etc/ipsec.conf", b"this is not a rule\n", mode=0o600)
    first = run_doctor(cfg, ping=False).first_failure
    assert first is not None and first.id == "ipsec-conf"
    assert first.detail.startswith("/etc/ipsec.conf: 1: syntax error")
    assert first.next[0] == "ipsecctl -n -f /etc/ipsec.conf"


def test_isakmpd_restarted_by_hand_has_lost_its_rules(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    assert SimHost(cfg.root).run(["rcctl", "restart", "isakmpd"]).ok
    first = run_doctor(cfg, ping=False).first_failure
    assert first is not None and (first.id, first.peer) == ("rule", "alice")
    assert "restarted" in (first.cause or "")
    follow(cfg, first.next)
    assert run_doctor(cfg).first_failure is None


def test_mtu_too_large_for_esp_is_a_warning_with_the_mtu_that_fits(
    fleet: dict[str, AgentConfig],
) -> None:
    cfg = fleet["rtr1"]
    assert SimHost(cfg.root).run(["ifconfig", "gre1", "mtu", "1476"]).ok
    report = run_doctor(cfg, "alice", ping=False)
    mtu = next(c for c in report.checks if c.id == "mtu")
    assert mtu.status == "warn" and report.exit_code == 0  # fragments still get through
    assert "1548 bytes on em0 (mtu 1500)" in mtu.detail
    assert mtu.next[0] == "ifconfig gre1 mtu 1434"


def test_esp_sizes_follow_esp_output() -> None:
    # IPv4 20 + ESP 8 + IV 16 + (GRE 4 + 1400) + padding 4 (1406 -> 1408, 16-byte blocks)
    # + ICV 16 (hmac-sha2-256 truncated to 128 bits)
    assert esp_size(1400, 20, "aes-256", "hmac-sha2-256") == 1468
    # AES-CBC with hmac-sha1 (ICV 12): 20 + 8 + 16 + 1404 + 4 + 12
    assert esp_size(1400, 20, "aes", "hmac-sha1") == 1464
    # GCM over IPv6: 40 + 8 + IV 8 + 1444 + padding to 4 bytes (1446 -> 1448: 4) + ICV 16
    assert esp_size(1440, 40, "aes-128-gcm", None) == 1520
    # 1434 + 4 + 2 is a multiple of 16: 20 + 8 + 16 + 1438 + 2 + 16 = 1500 exactly
    assert largest_mtu(1500, 20, "aes-256", "hmac-sha2-256") == 1434
    assert esp_size(1400, 20, "chacha20-poly1305", None) is None  # sizes not known here


def test_pf_hints() -> None:
    assert pf_hints("pass all flags S/SA\n") == []  # nothing is blocked
    good = (
        "block drop all\n"
        "pass in on em0 proto udp from any to any port = 500\n"
        "pass in on em0 proto esp all\n"
        "pass in on enc0 proto gre all keep state (if-bound)\n"
    )
    assert pf_hints(good) == []
    hints = pf_hints("block drop all\npass in on em0 proto gre all\n")
    assert any("IKE" in h for h in hints) and any("esp" in h for h in hints)
    assert any("on enc0" in h for h in hints)
    assert any("cleartext GRE" in h for h in hints)


def test_an_invalid_repo_is_the_only_finding(fleet: dict[str, AgentConfig]) -> None:
    cfg = fleet["rtr1"]
    alice = cfg.repo / "peers" / "rtr1" / "alice.yaml"
    alice.write_text(alice.read_text() + "asn: [not, a, number]\n")
    report = run_doctor(cfg)
    assert [c.id for c in report.checks] == ["repo"] and report.exit_code == 4
    assert report.checks[0].next == (f"peerops validate {cfg.repo}",)
    assert "alice.yaml" in report.checks[0].detail
