"""agent.sim.ifconfig against the captures (openbsd-captures.md B1, B4) and ifconfig.c."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.host import CommandResult
from agent.sim import if_gre, libc
from agent.sim import state as simstate
from agent.sim.host import SimHost

B1_MAC = "00:21:28:f9:c1:d8"  # the EUI-64 source of B1's fe80::221:28ff:fef9:c1d8

# Capture B1 (DN42 wiki, `ifconfig gre0`); the wiki copy indents with 8 spaces, real
# output with a TAB (openbsd-reference.md §3.1), so the spaces are turned back into TABs.
B1 = """\
gre0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476
        index 22 priority 0 llprio 6
        encap: vnetid none txprio payload rxprio packet
        groups: gre
        tunnel: inet6 2001:db8::a --> 2001:db9::d ttl 64 nodf ecn
        inet6 fe80::221:28ff:fef9:c1d8%gre0 -->  prefixlen 64 scopeid 0x16
        inet6 fd42:: -->  prefixlen 127
""".replace("        ", "\t")

# Capture B4 (gre7, TABs already). It is from about 6.4-6.5, which printed no rxprio and
# `->` on the tunnel line; 7.x prints both differently (reference §3.1 item 5/8 and §7), so
# exactly those two version-dependent spots are adjusted to the current format.
B4 = """\
gre7: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1400
\tdescription: obsd1.quadra.ru
\tindex 7 priority 0 llprio 6
\tencap: vnetid none txprio payload
\tgroups: gre
\ttunnel: inet 95.163.182.69 -> 94.228.246.38 ttl 64 nodf ecn
\tinet 172.16.7.2 --> 172.16.7.1 netmask 0xffffffff
"""
B4_CURRENT = B4.replace("txprio payload\n", "txprio payload rxprio packet\n")
B4_CURRENT = B4_CURRENT.replace(" -> ", " --> ")


def make_root(tmp_path: Path, next_index: int = 5, mac: str = B1_MAC) -> SimHost:
    """A router with em0 (MAC `mac`) and lo0; new interfaces get ifindex `next_index`."""
    state = simstate.new_state()
    if_gre.add_physical(state, "em0", inet=[("192.0.2.1", 24)], mac=mac)
    if_gre.add_physical(state, "lo0")
    state["next_ifindex"] = next_index
    root = tmp_path / "rtr"
    simstate.save(root, state)
    return SimHost(root)


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    return make_root(tmp_path)


def run(host: SimHost, *argv: str) -> CommandResult:
    return host.run(["ifconfig", *argv])


def ok(host: SimHost, *argv: str) -> str:
    """Run ifconfig, require exit 0 and no stderr, return stdout."""
    result = run(host, *argv)
    assert (result.rc, result.stderr) == (0, ""), result
    return result.stdout


def iface(host: SimHost, name: str) -> dict[str, Any]:
    return simstate.load(host.root)["interfaces"][name]


# -- the captures --------------------------------------------------------------------------------


def test_b1_ipv6_gre_block_matches_capture(tmp_path: Path) -> None:
    host = make_root(tmp_path, next_index=22)
    ok(host, "gre0", "tunnel", "2001:db8::a", "2001:db9::d")
    # B1's hostname.gre0 had only `tunnel` and `inet6 fd42::/127`: the inet6 address
    # attaches IPv6 (link-local borrowed from em0's MAC) and brings the gre up.
    ok(host, "gre0", "inet6", "fd42::/127")
    assert ok(host, "gre0").splitlines() == B1.splitlines()
    assert ok(host, "gre0") == B1


def test_b4_ipv4_gre_block_matches_capture_in_current_format(tmp_path: Path) -> None:
    host = make_root(tmp_path, next_index=7)
    ok(host, "gre7", "create")
    ok(host, "gre7", "description", "obsd1.quadra.ru")
    ok(host, "gre7", "tunnel", "95.163.182.69", "94.228.246.38")
    ok(host, "gre7", "172.16.7.2", "172.16.7.1", "netmask", "0xffffffff")
    ok(host, "gre7", "mtu", "1400", "up")
    assert ok(host, "gre7").splitlines() == B4_CURRENT.splitlines()


def test_positional_form_from_reference_3_3(host: SimHost) -> None:
    ok(host, "gre0", "10.0.0.1", "10.0.0.2", "netmask", "0xffffffff", "up")
    out = ok(host, "gre0")
    assert out.startswith("gre0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476\n")
    assert "\tinet 10.0.0.1 --> 10.0.0.2 netmask 0xffffffff\n" in out


# -- creation, groups, missing interfaces --------------------------------------------------------


def test_missing_interface_and_empty_group(host: SimHost) -> None:
    assert (run(host, "gre0").rc, run(host, "gre0").stderr) == (1, "gre0: no such interface\n")
    result = run(host, "gre")
    assert (result.rc, result.stdout, result.stderr) == (1, "", "gre: no such interface\n")


def test_fresh_gre_shows_unset_tunnel_and_is_down(host: SimHost) -> None:
    ok(host, "gre1", "create")
    assert ok(host, "gre1") == (
        "gre1: flags=8010<POINTOPOINT,MULTICAST> mtu 1476\n"
        "\tindex 5 priority 0 llprio 6\n"
        "\tencap: vnetid none txprio payload rxprio packet\n"
        "\tgroups: gre\n"
        "\ttunnel: (unset) ttl 64 nodf ecn\n"
    )


def test_create_destroy_and_their_errors(host: SimHost) -> None:
    ok(host, "gre3", "up")  # any command but destroy creates a clonable interface
    assert iface(host, "gre3")["up"] is True
    again = run(host, "gre3", "create")
    assert (again.rc, again.stderr) == (1, "ifconfig: gre3: SIOCIFCREATE: File exists\n")
    ok(host, "gre3", "destroy")
    assert "gre3" not in simstate.load(host.root)["interfaces"]
    gone = run(host, "gre3", "destroy")
    assert (gone.rc, gone.stderr) == (1, "ifconfig: gre3: SIOCIFDESTROY: Device not configured\n")
    physical = run(host, "em0", "destroy")
    assert (physical.rc, physical.stderr) == (1, "ifconfig: em0: SIOCIFDESTROY: Invalid argument\n")


def test_group_listing_and_group_attributes(host: SimHost) -> None:
    ok(host, "gre0", "create")
    ok(host, "gre1", "create")
    listing = ok(host, "gre")
    assert [ln for ln in listing.splitlines() if not ln.startswith("\t")] == [
        "gre0: flags=8010<POINTOPOINT,MULTICAST> mtu 1476",
        "gre1: flags=8010<POINTOPOINT,MULTICAST> mtu 1476",
    ]
    assert ok(host, "-g", "gre") == "gre: carp demote count 0\n"
    missing = run(host, "-g", "peers")
    assert (missing.rc, missing.stderr) == (
        1, "ifconfig: peers: SIOCGIFGATTR: No such file or directory\n")


def test_group_and_unset_group(host: SimHost) -> None:
    ok(host, "gre0", "group", "peers")
    assert "\tgroups: gre peers\n" in ok(host, "gre0")
    assert ok(host, "peers").startswith("gre0: ")
    digit = run(host, "gre0", "group", "dn42")  # "dn42" ends in a digit: not a group name
    assert (digit.rc, digit.stderr) == (
        1, "ifconfig: setifgroup: group names may not end in a digit\n")
    ok(host, "gre0", "-group", "peers")
    assert "\tgroups: gre\n" in ok(host, "gre0")
    absent = run(host, "gre0", "-group", "peers")
    assert (absent.rc, absent.stderr) == (
        1, "ifconfig: peers: SIOCDIFGROUP: No such file or directory\n")


def test_cloner_list_is_sorted_and_has_gre(host: SimHost) -> None:
    names = ok(host, "-C").split()
    assert names == sorted(names) and "gre" in names


# -- IPv4 addresses ------------------------------------------------------------------------------


def test_inet_without_alias_replaces_the_first_address(host: SimHost) -> None:
    ok(host, "gre0", "inet", "10.0.0.1", "10.0.0.2", "netmask", "255.255.255.255")
    ok(host, "gre0", "inet", "10.0.0.5/32", "10.0.0.6")
    inet = [ln for ln in ok(host, "gre0").splitlines() if ln.startswith("\tinet ")]
    assert inet == ["\tinet 10.0.0.5 --> 10.0.0.6 netmask 0xffffffff"]
    ok(host, "gre0", "inet", "10.0.1.1/32", "10.0.1.2", "alias")
    inet = [ln for ln in ok(host, "gre0").splitlines() if ln.startswith("\tinet ")]
    assert inet == ["\tinet 10.0.0.5 --> 10.0.0.6 netmask 0xffffffff",
                    "\tinet 10.0.1.1 --> 10.0.1.2 netmask 0xffffffff"]
    # `ifconfig -a` shows the first inet address only (printif() noinet, ifaliases 0).
    all_block = ok(host, "-a")
    assert "10.0.0.5" in all_block and "10.0.1.1" not in all_block
    assert "10.0.1.1" in ok(host, "-A")


def test_inet_delete_and_missing_delete(host: SimHost) -> None:
    ok(host, "gre0", "10.0.0.1", "10.0.0.2", "netmask", "0xffffffff")
    ok(host, "gre0", "inet", "10.0.0.1", "delete")
    assert iface(host, "gre0")["inet"] == []
    result = run(host, "gre0", "inet", "10.0.0.1", "-alias")
    assert (result.rc, result.stderr) == (
        1, "ifconfig: SIOCDIFADDR: Can't assign requested address\n")


def test_new_address_without_netmask_is_classful(host: SimHost) -> None:
    ok(host, "gre0", "172.16.0.1", "172.16.0.2")
    assert "\tinet 172.16.0.1 --> 172.16.0.2 netmask 0xffff0000\n" in ok(host, "gre0")


def test_address_errors(host: SimHost) -> None:
    bad = run(host, "gre0", "foo")
    assert (bad.rc, bad.stderr) == (1, "ifconfig: foo: bad value\n")
    third = run(host, "gre0", "10.0.0.1", "10.0.0.2", "10.0.0.3")
    assert (third.rc, third.stderr) == (1, "ifconfig: 10.0.0.3: bad value\n")
    mask = run(host, "gre0", "inet", "10.20.30.0", "netmask", "10.20.30.1")
    assert (mask.rc, mask.stderr) == (1, "ifconfig: 10.20.30.1: non-contiguous mask\n")
    prefix = run(host, "gre0", "inet", "10.0.0.1", "prefixlen", "33")
    assert (prefix.rc, prefix.stderr) == (1, "ifconfig: prefix 33: too large\n")


def test_inet_aton_forms_and_hosts_file(host: SimHost) -> None:
    assert libc.inet_aton("0xffffffff") == 0xFFFFFFFF
    assert libc.inet_aton("10.1") == 0x0A000001
    assert libc.inet_aton("010.0.0.1") == 0x08000001  # leading 0 is octal
    assert libc.inet_aton("1.2.3.4.5") is None
    host.write_file("/etc/hosts", b"192.0.2.9 peer.example # a peer\n", mode=0o644)
    ok(host, "gre0", "tunnel", "192.0.2.1", "peer.example")
    assert "\ttunnel: inet 192.0.2.1 --> 192.0.2.9 ttl 64 nodf ecn\n" in ok(host, "gre0")
    unknown = run(host, "gre0", "tunnel", "192.0.2.1", "nowhere.example")
    assert (unknown.rc, unknown.stderr) == (
        1, "ifconfig: error in parsing address string: name or service is not known\n")


# -- IPv6 ----------------------------------------------------------------------------------------


def test_inet6_destination_needs_prefixlen_128(host: SimHost) -> None:
    ok(host, "gre0", "inet6", "fd42::1", "fd42::2")  # default prefixlen 128 with a p2p dst
    assert "\tinet6 fd42::1 --> fd42::2 prefixlen 128\n" in ok(host, "gre0")
    bad = run(host, "gre0", "inet6", "fd42::3/127", "fd42::4")
    assert (bad.rc, bad.stderr) == (1, "ifconfig: SIOCAIFADDR: Invalid argument\n")
    ok(host, "gre0", "inet6", "fd42:1::1", "prefixlen", "64")
    assert "\tinet6 fd42:1::1 -->  prefixlen 64\n" in ok(host, "gre0")


def test_inet6_eui64_only_adds_the_link_local(host: SimHost) -> None:
    ok(host, "gre2", "create")
    ok(host, "gre2", "inet6", "eui64")
    out = ok(host, "gre2")
    assert out.splitlines()[0] == "gre2: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476"
    assert [ln for ln in out.splitlines() if "inet6" in ln] == [
        "\tinet6 fe80::221:28ff:fef9:c1d8%gre2 -->  prefixlen 64 scopeid 0x5"]
    not_v6 = run(host, "gre2", "eui64")
    assert (not_v6.rc, not_v6.stderr) == (
        1, "ifconfig: eui64 not allowed for this address family\n")


def test_link_local_zones(host: SimHost) -> None:
    ok(host, "gre0", "inet6", "fe80::5%gre0", "prefixlen", "64")
    assert "\tinet6 fe80::5%gre0 -->  prefixlen 64 scopeid 0x5\n" in ok(host, "gre0")
    other = run(host, "gre0", "inet6", "fe80::6%lo0", "prefixlen", "64")
    assert (other.rc, other.stderr) == (1, "ifconfig: SIOCAIFADDR: Invalid argument\n")
    nozone = run(host, "gre0", "inet6", "fe80::7%nope0")
    assert (nozone.rc, nozone.stderr) == (
        1, "ifconfig: fe80::7%nope0: name or service is not known\n")


def test_remove_inet6(host: SimHost) -> None:
    ok(host, "gre0", "inet6", "fd42::1/127")
    ok(host, "gre0", "-inet6")
    assert "inet6" not in ok(host, "gre0")


# -- other parameters ----------------------------------------------------------------------------


def test_mtu_limits(host: SimHost) -> None:
    low = run(host, "gre0", "mtu", "575")
    assert (low.rc, low.stderr) == (0, "ifconfig: SIOCSIFMTU: Invalid argument\n")
    assert iface(host, "gre0")["mtu"] == 1476
    ok(host, "gre0", "mtu", "576")
    assert iface(host, "gre0")["mtu"] == 576
    bad = run(host, "gre0", "mtu", "abc")
    assert (bad.rc, bad.stderr) == (1, "ifconfig: mtu abc: invalid\n")


def test_keepalive_lines_and_limits(host: SimHost) -> None:
    ok(host, "gre0", "keepalive", "5", "2", "up")
    out = ok(host, "gre0")
    assert "\tkeepalive: timeout 5 count 2\n" in out
    assert "\tstatus: keepalive down\n" in out
    order = [out.index(word) for word in ("keepalive:", "encap:", "status:", "tunnel:")]
    assert order == sorted(order)
    ok(host, "gre0", "down")
    assert "status:" not in ok(host, "gre0")  # gre_down(): not RUNNING is LINK_STATE_UNKNOWN
    ok(host, "gre0", "-keepalive")
    assert "keepalive:" not in ok(host, "gre0")
    short = run(host, "gre0", "keepalive", "0", "2")
    assert (short.rc, short.stderr) == (1, "ifconfig: keepalive period 0: too small\n")
    many = run(host, "gre0", "keepalive", "5", "300")  # ifconfig allows 600, gre 256
    assert (many.rc, many.stderr) == (0, "ifconfig: SIOCSETKALIVE: Invalid argument\n")


def test_description_and_tunnel_knobs(host: SimHost) -> None:
    ok(host, "gre0", "description", "dn42 peer AS4242420000")
    assert "\tdescription: dn42 peer AS4242420000\n" in ok(host, "gre0")
    ok(host, "gre0", "-description")
    assert "description" not in ok(host, "gre0")
    ok(host, "gre0", "tunnel", "192.0.2.1", "198.51.100.7", "tunnelttl", "copy", "tunneldf",
       "-tunnelecn", "vnetid", "42")
    out = ok(host, "gre0")
    assert "\ttunnel: inet 192.0.2.1 --> 198.51.100.7 ttl copy df noecn\n" in out
    assert "\tencap: vnetid 42 txprio payload rxprio packet\n" in out
    ok(host, "gre0", "-tunnel")
    assert "\ttunnel: (unset) ttl copy df noecn\n" in ok(host, "gre0")
    multicast = run(host, "gre0", "tunnel", "192.0.2.1", "224.0.0.5")
    assert (multicast.rc, multicast.stderr) == (0, "ifconfig: SIOCSLIFPHYADDR: Invalid argument\n")


def test_argument_and_usage_errors(host: SimHost) -> None:
    assert run(host, "gre0", "mtu").stderr == "ifconfig: 'mtu' requires argument\n"
    two = run(host, "gre0", "tunnel", "1.2.3.4")
    assert two.stderr == "ifconfig: 'tunnel' requires 2 arguments\n"
    usage = run(host, "-x")
    assert usage.rc == 1
    assert usage.stderr == ("usage: ifconfig [-AaC] [-M lladdr] [interface] [address_family]\n"
                            "\t\t[address [dest_address]] [parameters]\n")
    long_name = run(host, "gre00000000000000")
    assert long_name.stderr == "ifconfig: interface name 'gre00000000000000' too long\n"


def test_unmodelled_keyword_fails_loudly(host: SimHost) -> None:
    result = run(host, "em0", "media", "autoselect")
    assert (result.rc, result.stderr) == (
        1, "peerops sim: ifconfig: keyword 'media' is not simulated\n")


def test_family_filter_prints_only_that_family(host: SimHost) -> None:
    ok(host, "gre0", "10.0.0.1", "10.0.0.2", "netmask", "0xffffffff")
    ok(host, "gre0", "inet6", "fd42::1/127")
    only6 = ok(host, "gre0", "inet6")
    assert "\tinet " not in only6 and "\tinet6 fd42::1 -->  prefixlen 127\n" in only6


def test_physical_interfaces_of_a_fresh_router(host: SimHost) -> None:
    assert ok(host, "em0") == (
        "em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n"
        f"\tlladdr {B1_MAC}\n"
        "\tindex 1 priority 0 llprio 3\n"
        "\tmedia: Ethernet autoselect (1000baseT full-duplex)\n"
        "\tstatus: active\n"
        "\tinet 192.0.2.1 netmask 0xffffff00 broadcast 192.0.2.255\n"
    )
    assert ok(host, "lo0") == (
        "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 32768\n"
        "\tindex 3 priority 0 llprio 3\n"
        "\tgroups: lo\n"
        "\tinet6 ::1 prefixlen 128\n"
        "\tinet6 fe80::1%lo0 prefixlen 64 scopeid 0x3\n"
        "\tinet 127.0.0.1 netmask 0xff000000\n"
    )
