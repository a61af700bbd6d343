"""The simulated ping(8)/ping6(8) and uname(1).

Output, messages and exit codes follow sbin/ping/ping.c v1.249 and usr.bin/uname/uname.c
v1.11 (quoted in agent/sim/ping.py and agent/sim/uname.py); an echo is answered only when
the tunnel works end to end, on both routers (or with the modelled external peer).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.config import AgentConfig
from agent.sim import state as simstate
from agent.sim.cli import init_root
from agent.sim.host import SimHost
from agent.sim.ping import USAGE_V4, USAGE_V6
from tests.simfleet import clone


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AgentConfig]:
    """A converged fleet the tests of this module only read."""
    return clone(tmp_path_factory, tmp_path_factory.mktemp("ping") / "fleet")


@pytest.fixture
def own_fleet(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> dict[str, AgentConfig]:
    """A converged fleet this test may break."""
    return clone(tmp_path_factory, tmp_path / "fleet")


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> SimHost:
    """A freshly installed router named r1 with em0 192.0.2.1/24 and no tunnel."""
    root = tmp_path_factory.mktemp("bare") / "root"
    init_root(root, "r1", ["192.0.2.1"])
    return SimHost(root)


def host(fleet: dict[str, AgentConfig], name: str) -> SimHost:
    return SimHost(fleet[name].root)


@pytest.mark.parametrize(
    ("router", "argv0", "target", "hop"),
    [
        ("rtr1", "ping", "172.20.1.2", "ttl"),  # external alice, IPv4 /32 pair
        ("rtr1", "ping6", "fd42:4242:b0b::1", "hlim"),  # external bob, ULA /127
        ("rtr1", "ping", "172.20.0.2", "ttl"),  # managed rtr2, IPv4
        ("rtr1", "ping6", "fe80::42:2%gre0", "hlim"),  # managed rtr2, explicit link-local
        ("rtr2", "ping", "172.20.0.1", "ttl"),  # and back
    ],
)
def test_echo_is_answered_across_a_working_tunnel(
    fleet: dict[str, AgentConfig], router: str, argv0: str, target: str, hop: str
) -> None:
    result = host(fleet, router).run([argv0, "-c", "3", "-w", "2", target])
    assert result.rc == 0 and result.stderr == ""
    lines = result.stdout.split("\n")
    assert lines[0] == f"PING {target} ({target}): 56 data bytes"
    reply = re.compile(
        rf"64 bytes from {re.escape(target)}: icmp_seq=(\d) {hop}=64 time=(\d+\.\d{{3}}) ms"
    )
    matches = [reply.fullmatch(line) for line in lines[1:4]]
    assert all(matches), lines[1:4]
    assert [int(m.group(1)) for m in matches if m] == [0, 1, 2]
    times = [float(m.group(2)) for m in matches if m]
    assert lines[4:7] == [
        "",
        f"--- {target} ping statistics ---",
        "3 packets transmitted, 3 packets received, 0.0% packet loss",
    ]
    stats = re.fullmatch(r"round-trip min/avg/max/std-dev = ([\d.]+)/([\d.]+)/([\d.]+)/[\d.]+ ms",
                         lines[7])
    assert stats is not None
    assert float(stats.group(1)) == min(times) and float(stats.group(3)) == max(times)
    assert lines[8:] == [""]


def test_nothing_answers_off_the_tunnels(fleet: dict[str, AgentConfig]) -> None:
    result = host(fleet, "rtr1").run(["ping", "-c", "2", "-w", "1", "172.20.9.9"])
    assert result.rc == 1  # exit(nreceived == 0)
    assert result.stdout == (
        "PING 172.20.9.9 (172.20.9.9): 56 data bytes\n"
        "\n"
        "--- 172.20.9.9 ping statistics ---\n"
        "2 packets transmitted, 0 packets received, 100.0% packet loss\n"
    )


def test_a_scoped_link_local_is_looked_for_on_that_interface_only(
    fleet: dict[str, AgentConfig],
) -> None:
    """rtr2's link-local answers across rtr1's gre0 (their tunnel), not across gre1 (a
    tunnel to an outside peer), although gre0 comes first among rtr1's interfaces."""
    rtr1 = host(fleet, "rtr1")
    assert rtr1.run(["ping6", "-c", "1", "-w", "1", "fe80::42:2%gre0"]).rc == 0
    wrong = rtr1.run(["ping6", "-c", "1", "-w", "1", "fe80::42:2%gre1"])
    assert (wrong.rc, wrong.stderr) == (1, "")
    assert "1 packets transmitted, 0 packets received, 100.0% packet loss" in wrong.stdout


def test_quiet_small_packets_and_own_address(fleet: dict[str, AgentConfig]) -> None:
    rtr1 = host(fleet, "rtr1")
    quiet = rtr1.run(["ping", "-q", "-c", "2", "172.20.1.2"]).stdout.splitlines()
    assert quiet[1:4] == ["", "--- 172.20.1.2 ping statistics ---",
                          "2 packets transmitted, 2 packets received, 0.0% packet loss"]
    assert quiet[4].startswith("round-trip")
    # -s 16: the 24-byte timing payload does not fit, so no time= and no round-trip line
    small = rtr1.run(["ping", "-s", "16", "-c", "1", "172.20.1.2"]).stdout.splitlines()
    assert small[0] == "PING 172.20.1.2 (172.20.1.2): 16 data bytes"
    assert small[1] == "24 bytes from 172.20.1.2: icmp_seq=0 ttl=64"
    assert not any(line.startswith("round-trip") for line in small)
    assert rtr1.run(["ping", "-c", "1", "192.0.2.1"]).rc == 0  # our em0 answers itself


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        (["ping", "-c", "x", "192.0.2.9"], "ping: number of packets to transmit is invalid: x\n"),
        (["ping", "-c", "-1", "192.0.2.9"],
         "ping: number of packets to transmit is too small: -1\n"),
        (["ping", "-w", "0", "192.0.2.9"], "ping: maxwait value is too small: 0\n"),
        (["ping", "-i", "0", "192.0.2.9"], "ping: interval is too small: 0\n"),
        (["ping", "-i", "x", "192.0.2.9"], "ping: interval is invalid: x\n"),
        (["ping", "-I", "192.0.2.77", "-c", "1", "192.0.2.9"],
         "ping: bind: Can't assign requested address\n"),
        (["ping", "-z", "192.0.2.9"], "ping: unknown option -- z\n" + USAGE_V4 + "\n"),
        (["ping6", "-c"], "ping6: option requires an argument -- c\n" + USAGE_V6 + "\n"),
        (["ping", "-c", "1"], USAGE_V4 + "\n"),
        (["ping", "192.0.2.9", "192.0.2.8"], USAGE_V4 + "\n"),
    ],
)
def test_argument_errors_exit_1_with_ping_c_messages(
    bare: SimHost, argv: list[str], stderr: str
) -> None:
    result = bare.run(argv)
    assert (result.rc, result.stdout, result.stderr) == (1, "", stderr)


def test_usage_texts_are_ping_c_usage() -> None:
    assert USAGE_V4 == (
        "usage: ping [-DdEefgHLnqRv] [-c count] [-I sourceaddr] [-i interval]\n"
        "\t[-l preload] [-p pattern] [-s packetsize] [-T toskeyword]\n"
        "\t[-t ttl] [-V rtable] [-w maxwait] host"
    )
    assert USAGE_V6.startswith("usage: ping6 [-DdEefgHLmnqv] [-c count] [-h hoplimit] ")


@pytest.mark.parametrize(
    "argv",
    [
        ["ping6", "-c", "1", "192.0.2.1"],  # another family
        ["ping", "-c", "1", "router.example"],  # no DNS
        ["ping6", "-c", "1", "fe80::1"],  # link-local without %interface
        ["ping", "-t", "5", "-c", "1", "192.0.2.1"],  # an option that is not modelled
    ],
)
def test_what_is_not_simulated_is_refused(bare: SimHost, argv: list[str]) -> None:
    result = bare.run(argv)
    assert result.rc == 1 and result.stderr.startswith(f"peerops sim: {argv[0]}: ")


def test_a_run_that_outlasts_the_timeout_times_out(fleet: dict[str, AgentConfig]) -> None:
    rtr1 = host(fleet, "rtr1")
    forever = rtr1.run(["ping", "172.20.1.2"], timeout=5)  # no -c: until interrupted
    assert forever.timed_out and forever.stdout == "PING 172.20.1.2 (172.20.1.2): 56 data bytes\n"
    # 2 requests a second apart, then maxwait 60 s for an answer that never comes
    waits = rtr1.run(["ping", "-c", "2", "-w", "60", "172.20.9.9"], timeout=30)
    assert waits.timed_out
    assert rtr1.run(["ping", "-c", "2", "-w", "60", "172.20.1.2"], timeout=30).rc == 0


def _break_far_gre_allow(fleet: dict[str, AgentConfig]) -> None:
    assert host(fleet, "rtr2").run(["sysctl", "net.inet.gre.allow=0"]).ok


def _break_near_gre_allow(fleet: dict[str, AgentConfig]) -> None:
    assert host(fleet, "rtr1").run(["sysctl", "net.inet.gre.allow=0"]).ok


def _far_interface_down(fleet: dict[str, AgentConfig]) -> None:
    assert host(fleet, "rtr2").run(["ifconfig", "gre0", "down"]).ok


def _far_tunnel_not_mirrored(fleet: dict[str, AgentConfig]) -> None:
    assert host(fleet, "rtr2").run(["ifconfig", "gre0", "tunnel", "192.0.2.2", "203.0.113.9"]).ok


def _far_address_not_paired(fleet: dict[str, AgentConfig]) -> None:
    argv = ["ifconfig", "gre0", "inet", "172.20.0.2", "172.20.0.9", "netmask", "255.255.255.255"]
    assert host(fleet, "rtr2").run(argv).ok


def _no_ipsec(fleet: dict[str, AgentConfig]) -> None:
    assert host(fleet, "rtr2").run(["rcctl", "stop", "isakmpd"]).ok


@pytest.mark.parametrize(
    "breakage",
    [_break_far_gre_allow, _break_near_gre_allow, _far_interface_down, _far_tunnel_not_mirrored,
     _far_address_not_paired, _no_ipsec],
)
def test_managed_peer_stops_answering_when_any_part_breaks(
    own_fleet: dict[str, AgentConfig], breakage: Callable[[dict[str, AgentConfig]], None]
) -> None:
    argv = ["ping", "-c", "2", "-w", "1", "172.20.0.2"]
    assert host(own_fleet, "rtr1").run(argv).rc == 0
    breakage(own_fleet)
    result = host(own_fleet, "rtr1").run(argv)
    assert result.rc == 1 and "2 packets transmitted, 0 packets received" in result.stdout


def _near_interface_down(fleet: dict[str, AgentConfig]) -> None:
    assert host(fleet, "rtr1").run(["ifconfig", "gre0", "down"]).ok


def _near_address_moved(fleet: dict[str, AgentConfig]) -> None:
    argv = ["ifconfig", "gre0", "inet", "172.20.0.1", "172.20.0.9", "netmask", "255.255.255.255"]
    assert host(fleet, "rtr1").run(argv).ok


@pytest.mark.parametrize("breakage", [_near_interface_down, _near_address_moved])
def test_inside_a_snapshot_a_change_of_our_own_interfaces_is_seen(
    own_fleet: dict[str, AgentConfig], breakage: Callable[[dict[str, AgentConfig]], None]
) -> None:
    argv = ["ping", "-c", "1", "-w", "1", "172.20.0.2"]
    rtr1 = host(own_fleet, "rtr1")
    with simstate.snapshot():  # as `peerops simulate` pings: interfaces read once, until...
        assert rtr1.run(argv).rc == 0
        assert rtr1.run(argv).rc == 0
        breakage(own_fleet)  # ... a command changes them
        assert rtr1.run(argv).rc == 1


def test_external_peer_answers_only_while_its_state_is_up(
    own_fleet: dict[str, AgentConfig],
) -> None:
    argv = ["ping", "-c", "1", "-w", "1", "172.20.1.2"]
    rtr1 = host(own_fleet, "rtr1")
    fleet_file = own_fleet["rtr1"].root.parent.parent / "fleet.json"
    doc = json.loads(fleet_file.read_text())
    for state, rc in (("up", 0), ("down", 1), ("mismatch", 1)):
        doc["external"]["rtr1"]["alice"]["state"] = state
        fleet_file.write_text(json.dumps(doc))
        assert rtr1.run(argv).rc == rc, state


def test_uname(bare: SimHost) -> None:
    assert bare.run(["uname", "-a"]).stdout == "OpenBSD r1 7.7 GENERIC.MP#0 amd64\n"
    assert bare.run(["uname"]).stdout == "OpenBSD\n"  # no option: the system name only
    assert bare.run(["uname", "-rn"]).stdout == "r1 7.7\n"  # fixed order, not argv order
    bad = bare.run(["uname", "-x"])
    assert (bad.rc, bad.stderr) == (1, "uname: unknown option -- x\nusage: uname [-amnprsv]\n")
    assert bare.run(["uname", "extra"]).rc == 1
    assert bare.run(["uname", "-p"]).stderr.startswith("peerops sim: uname: ")
