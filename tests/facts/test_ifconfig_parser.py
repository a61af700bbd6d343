"""parse_ifconfig: every capture of openbsd-captures.md, every documented variant, garbage.

Expectations were written by hand from the capture text and openbsd-reference.md §3/§7
(ifconfig.c status, getencap, phys_status, in_status, in6_alias, printb with IFFBITS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.errors import ParseError
from agent.facts.ifconfig import (
    Inet,
    Inet6,
    Interface,
    Keepalive,
    Tunnel,
    gre_interfaces,
    parse_ifconfig,
)

CAPTURES = Path(__file__).parent / "captures"
P2P = ["UP", "POINTOPOINT", "RUNNING", "MULTICAST"]
ANY4 = "0.0.0.0"  # noqa: S104 - an address in ifconfig output, nothing binds to it


def read_capture(name: str) -> str:
    """Return a capture file exactly as stored (tabs kept, no newline translation)."""
    return (CAPTURES / name).read_bytes().decode("utf-8")


def without_prompt(text: str, prompt: str | None) -> str:
    """Drop the console prompt/echo line that starts a capture (if any)."""
    lines = text.splitlines(keepends=True)
    if prompt is not None:
        assert lines[0].rstrip("\n") == prompt
        lines = lines[1:]
    return "".join(lines)


def iface_json(name: str, **kw: Any) -> dict[str, Any]:
    """An expected Interface.to_json() with defaults for absent values."""
    base: dict[str, Any] = {
        "name": name, "flags": P2P, "up": True, "mtu": None, "index": None, "description": None,
        "groups": [], "tunnel": None, "inet": [], "inet6": [], "keepalive": None, "status": None,
        "priority": None, "llprio": None, "encap": None,
    }
    base.update(kw)
    return base


def tunnel_json(family: str, src: str, dst: str | None, ttl: Any = 64, df: Any = False,
                ecn: Any = True) -> dict[str, Any]:
    return {"family": family, "src": src, "dst": dst, "ttl": ttl, "df": df, "ecn": ecn}


def inet_json(address: str, dest: str | None, netmask: str) -> dict[str, Any]:
    return {"address": address, "dest": dest, "netmask": netmask}


def inet6_json(address: str, scope: str | None, dest: str | None, prefixlen: int | None,
               flags: list[str] | None = None) -> dict[str, Any]:
    return {"address": address, "scope": scope, "dest": dest, "prefixlen": prefixlen,
            "flags": flags or []}


ENCAP_66 = {"vnetid": "none", "txprio": "payload", "rxprio": "packet"}

# --------------------------------------------------------------------------------------------
# Captures (tests/facts/captures/README.md names their sources)

B1 = iface_json(
    "gre0", mtu=1476, index=22, priority=0, llprio=6, encap=ENCAP_66, groups=["gre"],
    tunnel=tunnel_json("inet6", "2001:db8::a", "2001:db9::d"),
    inet6=[inet6_json("fe80::221:28ff:fef9:c1d8", "gre0", None, 64),
           inet6_json("fd42::", None, None, 127)],
)
B4 = iface_json(
    "gre7", mtu=1400, description="obsd1.quadra.ru", index=7, priority=0, llprio=6,
    encap={"vnetid": "none", "txprio": "payload"}, groups=["gre"],
    tunnel=tunnel_json("inet", "95.163.182.69", "94.228.246.38"),
    inet=[inet_json("172.16.7.2", "172.16.7.1", "255.255.255.255")],
)
S1 = iface_json(
    "sec1", mtu=1280, index=7, priority=0, llprio=3, groups=["sec"],
    inet=[inet_json("198.18.45.45", "198.18.23.23", "255.255.255.255")],
    inet6=[inet6_json("fe80::1000:ff:feab:cdff", "sec1", None, 64),
           inet6_json("2001:db8:45::45", None, "2001:db8:23::23", 128, ["tentative"])],
)

# (file, prompt/echo line at its top or None, expected to_json() per interface)
CAPTURE_CASES = [
    ("B1_ifconfig_gre0.txt", "$ ifconfig gre0", [B1]),
    ("B4_ifconfig_gre7.txt", None, [B4]),
    ("S1_ifconfig_sec1.txt", " ifconfig sec1", [S1]),
]
# Config inputs (hostname.if files), not command output: refused at line 1.
NOT_OUTPUT = ["C1_hostname.gre0.txt", "C1_hostname.gre1.txt", "C2_hostname.gre0_pubkeys.txt",
              "C2_hostname.gre0_gre.txt"]


def test_every_ifconfig_capture_is_covered() -> None:
    files = {p.name for p in CAPTURES.glob("*.txt") if p.name[0] in "BSC"}  # Parts B, S, C
    assert files == {c[0] for c in CAPTURE_CASES} | set(NOT_OUTPUT)
    assert all(p.name[0] in "ABSC" for p in CAPTURES.glob("*.txt"))


@pytest.mark.parametrize(("name", "prompt", "expected"), CAPTURE_CASES,
                         ids=[c[0] for c in CAPTURE_CASES])
def test_capture_outputs(name: str, prompt: str | None, expected: list[dict[str, Any]]) -> None:
    ifaces = parse_ifconfig(without_prompt(read_capture(name), prompt), name)
    assert [i.to_json() for i in ifaces] == expected
    assert all(i.extra == () for i in ifaces)


@pytest.mark.parametrize("name", [c[0] for c in CAPTURE_CASES if c[1]] + NOT_OUTPUT)
def test_whole_capture_with_prompt_is_refused_at_line_1(name: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse_ifconfig(read_capture(name), name)
    assert exc.value.line_no == 1
    assert exc.value.line == read_capture(name).splitlines()[0].rstrip()


def test_capture_details_beyond_json() -> None:
    b1 = without_prompt(read_capture("B1_ifconfig_gre0.txt"), "$ ifconfig gre0")
    (gre0,) = parse_ifconfig(b1)
    assert gre0.inet6[0].scopeid == "0x16"  # index 22
    assert gre0.flags_value == 0x8051
    assert gre0.tunnel == Tunnel("inet6", "2001:db8::a", "2001:db9::d", 64, False, True)
    s1 = without_prompt(read_capture("S1_ifconfig_sec1.txt"), " ifconfig sec1")
    (sec1,) = parse_ifconfig(s1)
    assert gre_interfaces([gre0, sec1]) == [gre0]
    assert sec1.inet6[1] == Inet6("2001:db8:45::45", None, "2001:db8:23::23", 128, ("tentative",))


def test_capture_files_keep_tabs_and_spaces() -> None:
    assert "\n\tdescription: obsd1.quadra.ru\n" in read_capture("B4_ifconfig_gre7.txt")
    assert "\n        groups: gre\n" in read_capture("B1_ifconfig_gre0.txt")


# --------------------------------------------------------------------------------------------
# A whole `ifconfig -a` with many kinds of interfaces (synthesised from ifconfig.c formats)

IFCONFIG_A = """\
lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 32768
\tindex 5 priority 0 llprio 3
\tgroups: lo
\tinet6 ::1 prefixlen 128
\tinet6 fe80::1%lo0 prefixlen 64 scopeid 0x5
\tinet 127.0.0.1 netmask 0xff000000
em0: flags=a48843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,AUTOCONF6TEMP,AUTOCONF6,AUTOCONF4> mtu 1500
\tlladdr 00:0d:b9:4a:1b:2c
\tdescription: uplink: ISP "fiber" 1G
\tindex 1 priority 0 llprio 3
\tgroups: egress
\tmedia: Ethernet autoselect (1000baseT full-duplex,master)
\tstatus: active
\tinet 192.0.2.1 netmask 0xffffff00 broadcast 192.0.2.255
\tinet6 fe80::20d:b9ff:fe4a:1b2c%em0 prefixlen 64 scopeid 0x1
\tinet6 2001:db8::20d:b9ff:fe4a:1b2c prefixlen 64 autoconf pltime 604654 vltime 2591854
\tinet6 2001:db8::1234:9abc:def0 prefixlen 64 deprecated autoconf temporary pltime 0 vltime 864
em1: flags=8802<BROADCAST,SIMPLEX,MULTICAST> mtu 1500
\tlladdr 00:0d:b9:4a:1b:2d
\tindex 2 priority 0 llprio 3
\tmedia: Ethernet autoselect (none)
\tstatus: no carrier
enc0: flags=0<>
\tindex 3 priority 0 llprio 3
\tgroups: enc
\tstatus: active
pflog0: flags=141<UP,RUNNING,PROMISC> mtu 33136
\tindex 6 priority 0 llprio 3
\tgroups: pflog
pfsync0: flags=41<UP,RUNNING> mtu 1500
\tindex 12 priority 0 llprio 3
\tpfsync: syncdev: em1 maxupd: 128 defer: off
\tgroups: carp pfsync
vio0: flags=2008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LRO> metric 5 mtu 1500
\tlladdr 52:54:00:12:34:56
\tindex 4 priority 0 llprio 3
\tgroups: egress
\tmedia: Ethernet autoselect
\tstatus: active
\tinet 10.0.2.15 netmask 0xffffff00 broadcast 10.0.2.255
bridge0: flags=41<UP,RUNNING>
\tdescription: lab bridge
\tindex 7 llprio 3
\tgroups: bridge
\tpriority 32768 hellotime 2 fwddelay 15 maxage 20 holdcnt 6 proto rstp
\tdesignated: id 00:00:00:00:00:00 priority 0
\tem1 flags=3<LEARNING,DISCOVER>
\t\tport 2 ifpriority 0 ifcost 0
carp0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\tlladdr 00:00:5e:00:01:01
\tindex 8 priority 15 llprio 3
\tcarp: MASTER carpdev em0 vhid 1 advbase 1 advskew 0
\tgroups: carp
\tstatus: master
\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255
gre0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476
\tdescription: peerops peer-a: AS4242420001 "x"
\tindex 9 priority 0 llprio 6
\tkeepalive: timeout 5 count 2
\tencap: vnetid none txprio payload rxprio packet
\tgroups: gre
\tstatus: active
\ttunnel: inet 192.0.2.1 --> 198.51.100.7 ttl 64 nodf ecn
\tinet 172.20.0.1 --> 172.20.0.2 netmask 0xffffffff
\tinet6 fe80::20d:b9ff:fe4a:1b2c%gre0 -->  prefixlen 64 scopeid 0x9
\tinet6 fd42:1:2::1 --> fd42:1:2:: prefixlen 127
gre1: flags=8010<POINTOPOINT,MULTICAST> mtu 1476
\tindex 10 priority 0 llprio 6
\tkeepalive: timeout 10 count 3
\tencap: vnetid none txprio payload rxprio packet
\tgroups: gre
\tstatus: down
\ttunnel: (unset)
wg0: flags=80c3<UP,BROADCAST,RUNNING,NOARP,MULTICAST> mtu 1420
\tindex 11 priority 0 llprio 3
\twgport 51820
\twgpubkey 6Gv0X0sZf9iHkP0xX7mJ8Ew1Y4lqKQ8sZ2a5W3b9c0E=
\twgpeer kHCg9H0L5j2dJt0oq3L7Vz0nYxwq5q6XQmJvqf5a0l8=
\t\twgendpoint 198.51.100.20 51820
\t\ttx: 0, rx: 0
\t\twgaip 10.9.0.2/32
\tgroups: wg
\tinet 10.9.0.1 netmask 0xffffff00
"""


def test_whole_ifconfig_a() -> None:
    ifaces = {i.name: i for i in parse_ifconfig(IFCONFIG_A, "ifconfig -a")}
    assert list(ifaces) == ["lo0", "em0", "em1", "enc0", "pflog0", "pfsync0", "vio0", "bridge0",
                            "carp0", "gre0", "gre1", "wg0"]
    assert ifaces["pfsync0"].groups == ("carp", "pfsync")
    assert ifaces["pfsync0"].extra == ("pfsync: syncdev: em1 maxupd: 128 defer: off",)
    assert [i.name for i in gre_interfaces(list(ifaces.values()))] == ["gre0", "gre1"]

    lo0 = ifaces["lo0"]
    assert lo0.inet == (Inet("127.0.0.1", None, "255.0.0.0"),)
    assert lo0.inet6 == (Inet6("::1", None, None, 128, ()),
                         Inet6("fe80::1", "lo0", None, 64, (), scopeid="0x5"))
    em0 = ifaces["em0"]
    assert em0.flags[-3:] == ("AUTOCONF6TEMP", "AUTOCONF6", "AUTOCONF4")
    assert em0.description == 'uplink: ISP "fiber" 1G'
    assert em0.status == "active"
    assert em0.inet == (Inet("192.0.2.1", None, "255.255.255.0", "192.0.2.255"),)
    assert em0.inet6[2].flags == ("deprecated", "autoconf", "temporary")
    assert (em0.inet6[1].pltime, em0.inet6[1].vltime) == ("604654", "2591854")
    assert em0.extra == ("lladdr 00:0d:b9:4a:1b:2c",
                         "media: Ethernet autoselect (1000baseT full-duplex,master)")
    assert ifaces["em1"].up is False and ifaces["em1"].status == "no carrier"
    enc0 = ifaces["enc0"]
    assert (enc0.flags, enc0.flags_value, enc0.up, enc0.mtu) == ((), 0, False, None)
    assert ifaces["vio0"].metric == 5 and ifaces["vio0"].flags[-1] == "LRO"
    bridge0 = ifaces["bridge0"]
    assert (bridge0.index, bridge0.priority, bridge0.llprio) == (7, None, 3)
    assert bridge0.extra[0].startswith("priority 32768 hellotime 2 fwddelay 15 maxage 20")
    assert len(bridge0.extra) == 4
    assert ifaces["carp0"].priority == 15 and ifaces["carp0"].status == "master"
    assert ifaces["wg0"].inet == (Inet("10.9.0.1", None, "255.255.255.0"),)

    gre0 = ifaces["gre0"]
    assert gre0.to_json() == iface_json(
        "gre0", mtu=1476, index=9, priority=0, llprio=6, encap=ENCAP_66, groups=["gre"],
        description='peerops peer-a: AS4242420001 "x"', keepalive={"timeout": 5, "count": 2},
        status="active", tunnel=tunnel_json("inet", "192.0.2.1", "198.51.100.7"),
        inet=[inet_json("172.20.0.1", "172.20.0.2", "255.255.255.255")],
        inet6=[inet6_json("fe80::20d:b9ff:fe4a:1b2c", "gre0", None, 64),
               inet6_json("fd42:1:2::1", None, "fd42:1:2::", 127)],
    )
    gre1 = ifaces["gre1"]
    assert (gre1.up, gre1.tunnel, gre1.tunnel_unset, gre1.status) == (False, None, True, "down")
    assert gre1.keepalive == Keepalive(10, 3)
    assert gre1.flags == ("POINTOPOINT", "MULTICAST")
    assert gre0.tunnel_unset is False


# --------------------------------------------------------------------------------------------
# Older and rarer formats


OLD_GRE = """\
gre0: flags=9051<UP,POINTOPOINT,RUNNING,LINK0,MULTICAST> mtu 1476
        priority: 0
        groups: gre
        physical address inet 192.0.2.1 --> 198.51.100.7 rdomain 1
        inet 10.0.0.1 --> 10.0.0.2 netmask 0xfffffffc
        inet6 fe80::200:24ff:fecb:1c10%gre0 ->  prefixlen 64 scopeid 0x7
        inet6 2001:db8:1::2 -> 2001:db8:1::1 prefixlen 128
"""


def test_old_physical_address_priority_and_arrows() -> None:
    (gre0,) = parse_ifconfig(OLD_GRE)
    assert gre0.priority == 0 and gre0.index is None and gre0.llprio is None
    assert gre0.flags == ("UP", "POINTOPOINT", "RUNNING", "LINK0", "MULTICAST")
    assert gre0.tunnel == Tunnel("inet", "192.0.2.1", "198.51.100.7", None, None, None,
                                 rdomain=1)
    assert gre0.inet == (Inet("10.0.0.1", "10.0.0.2", "255.255.255.252"),)
    assert gre0.inet6 == (
        Inet6("fe80::200:24ff:fecb:1c10", "gre0", None, 64, (), scopeid="0x7"),
        Inet6("2001:db8:1::2", None, "2001:db8:1::1", 128, ()),
    )
    assert gre0.to_json()["tunnel"] == tunnel_json("inet", "192.0.2.1", "198.51.100.7",
                                                   ttl=None, df=None, ecn=None)


OLD_STATICARP = "gif0: flags=8071<UP,POINTOPOINT,NOTRAILERS,RUNNING,MULTICAST> mtu 1280\n"


def test_old_notrailers_flag_name() -> None:
    (gif0,) = parse_ifconfig(OLD_STATICARP)
    assert gif0.flags_value == 0x8071 and "NOTRAILERS" in gif0.flags


@pytest.mark.parametrize(
    ("line", "expected", "unset"),
    [
        ("tunnel: inet 192.0.2.1 -> 198.51.100.7 ttl 64",
         Tunnel("inet", "192.0.2.1", "198.51.100.7", 64, None, None), False),
        ("tunnel: inet 192.0.2.1 --> 198.51.100.7 ttl 64 nodf ecn rdomain 3",
         Tunnel("inet", "192.0.2.1", "198.51.100.7", 64, False, True, rdomain=3), False),
        ("tunnel: inet 192.0.2.1 --> 198.51.100.7 ttl copy df noecn",
         Tunnel("inet", "192.0.2.1", "198.51.100.7", "copy", True, False), False),
        ("tunnel: inet 192.0.2.1 ttl 64 nodf ecn",  # `tunneladdr`: source only
         Tunnel("inet", "192.0.2.1", None, 64, False, True), False),
        ("tunnel: inet6 2001:db8::a --> 2001:db8::d ttl 255 nodf ecn",
         Tunnel("inet6", "2001:db8::a", "2001:db8::d", 255, False, True), False),
        ("tunnel: (unset)", None, True),
        ("tunnel: (unset) ttl 64 nodf ecn", None, True),
    ],
)
def test_tunnel_variants(line: str, expected: Tunnel | None, unset: bool) -> None:
    text = f"gre4: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476\n\tgroups: gre\n\t{line}\n"
    (gre4,) = parse_ifconfig(text)
    assert (gre4.tunnel, gre4.tunnel_unset) == (expected, unset)


def test_tunnel_ports_are_split_for_ipv4() -> None:
    text = ("vxlan0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1450\n"
            "\tlladdr fe:e1:ba:d0:12:34\n"
            "\tencap: vnetid 100 parent em0 txprio 0 rxprio outer\n"
            "\tgroups: vxlan\n"
            "\ttunnel: inet 192.0.2.1:4789 --> 198.51.100.7:4789 ttl 1 nodf\n")
    (vx,) = parse_ifconfig(text)
    assert vx.tunnel == Tunnel("inet", "192.0.2.1", "198.51.100.7", 1, False, None, "4789",
                               "4789")
    assert vx.encap == {"vnetid": "100", "parent": "em0", "txprio": "0", "rxprio": "outer"}
    assert vx.is_gre is False


def test_gif_with_encap_without_vnetid_and_placeholder_addresses() -> None:
    # A copied README output where the author masked the addresses.
    text = ("gif0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1452\n"
            "        index 11 priority 0 llprio 3\n"
            "        encap: txprio payload rxprio payload\n"
            "        groups: gif egress\n"
            "        tunnel: inet6 2001:db8::x --> 2001:db8::y ttl 64 nodf ecn\n"
            "        inet 198.51.x.x --> 0.0.0.1 netmask 0xffffffff\n")
    (gif0,) = parse_ifconfig(text)
    assert gif0.encap == {"txprio": "payload", "rxprio": "payload"}
    assert gif0.tunnel == Tunnel("inet6", "2001:db8::x", "2001:db8::y", 64, False, True)
    assert gif0.inet == (Inet("198.51.x.x", "0.0.0.1", "255.255.255.255"),)
    assert gif0.is_gre is False


def test_keepalive_and_status_b2_style() -> None:
    text = ("gre0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476\n"
            "        index 6 priority 0 llprio 6\n"
            "        keepalive: timeout 5 count 2\n"
            "        encap: vnetid none txprio payload rxprio packet\n"
            "        groups: gre\n"
            "        status: active\n"
            "        tunnel: inet 203.0.113.1 --> 203.0.113.2 ttl 64 nodf ecn\n"
            "        inet 10.10.10.249 --> 10.10.10.250 netmask 0xfffffffc\n")
    (gre0,) = parse_ifconfig(text)
    assert gre0.keepalive == Keepalive(5, 2) and gre0.status == "active"
    assert gre0.inet[0].netmask == "255.255.255.252"


def test_header_rdomain_and_group_membership_makes_gre() -> None:
    text = ("gre3: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> rdomain 2 mtu 1476\n"
            "\tgroups: gre\n"
            "tun5: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1500\n"
            "\tgroups: tun gre\n"
            "egre0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1462\n"
            "\tgroups: egre\n")
    ifaces = parse_ifconfig(text)
    assert ifaces[0].rdomain == 2 and ifaces[0].mtu == 1476
    assert [i.name for i in gre_interfaces(ifaces)] == ["gre3", "tun5"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("inet6 fd42::1 -->  prefixlen 127", Inet6("fd42::1", None, None, 127, ())),
        ("inet6 fd42::1 --> prefixlen 127", Inet6("fd42::1", None, None, 127, ())),  # lost space
        ("inet6 fd42::1 -->", Inet6("fd42::1", None, None, None, ())),
        ("inet6 fd42::1 --> fd42:: prefixlen 127 tentative",
         Inet6("fd42::1", None, "fd42::", 127, ("tentative",))),
        ("inet6 fe80::1%gre9 -> fe80::2%gre9 prefixlen 64 scopeid 0xa",
         Inet6("fe80::1", "gre9", "fe80::2%gre9", 64, (), "0xa")),
        ("inet6 2001:db8::5 prefixlen 64 anycast duplicated detached",
         Inet6("2001:db8::5", None, None, 64, ("anycast", "duplicated", "detached"))),
        ("inet6 2001:db8::6 prefixlen 64 autoconf pltime infty vltime infty",
         Inet6("2001:db8::6", None, None, 64, ("autoconf",), pltime="infty", vltime="infty")),
    ],
)
def test_inet6_variants(line: str, expected: Inet6) -> None:
    (iface,) = parse_ifconfig(f"gre9: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST>\n\t{line}\n")
    assert iface.inet6 == (expected,)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("inet 172.20.0.1 --> 0.0.0.0 netmask 0xffffffff", Inet("172.20.0.1", ANY4,
                                                                "255.255.255.255")),
        ("inet 172.20.0.1 -> 172.20.0.2 netmask 0xfffffffe", Inet("172.20.0.1", "172.20.0.2",
                                                                  "255.255.255.254")),
        ("inet 10.1.2.3 netmask 0xffff0000 broadcast 10.1.255.255",
         Inet("10.1.2.3", None, "255.255.0.0", "10.1.255.255")),
        ("inet 10.1.2.3 netmask 0x0", Inet("10.1.2.3", None, ANY4)),
    ],
)
def test_inet_variants(line: str, expected: Inet) -> None:
    (iface,) = parse_ifconfig(f"gre2: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST>\n {line}\n")
    assert iface.inet == (expected,)


def test_unknown_flag_name_is_allowed_for_an_unnamed_extended_bit() -> None:
    text = "em9: flags=10008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,NEWBIT>\n"
    (iface,) = parse_ifconfig(text)
    assert iface.flags[-1] == "NEWBIT"


def test_frozen_and_json_keys() -> None:
    (gre0,) = parse_ifconfig(OLD_GRE)
    with pytest.raises(AttributeError):
        gre0.name = "x"  # type: ignore[misc]
    assert set(gre0.to_json()) >= {"name", "flags", "up", "mtu", "index", "description", "groups",
                                   "tunnel", "inet", "inet6", "keepalive", "status"}
    assert isinstance(gre0, Interface)


def test_interfaces_are_hashable() -> None:
    ifaces = parse_ifconfig(IFCONFIG_A)
    assert len(set(ifaces)) == len(ifaces)


def test_empty_listing() -> None:
    assert parse_ifconfig("") == []
    assert parse_ifconfig("\n\n") == []


# --------------------------------------------------------------------------------------------
# Garbage: ParseError with the right line number

HDR = "gre0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476\n"


@pytest.mark.parametrize(
    ("text", "line_no"),
    [
        ("gre0: no such interface\n", 1),
        ("ifconfig: SIOCGIFFLAGS: Device not configured\n", 1),
        ("\tindex 1 priority 0 llprio 3\n" + HDR, 1),
        (HDR + "\tgroups: gre\nsomething unindented\n", 3),
        (HDR + "\tgroups: gre\n\tgarbage line here\n", 3),  # unknown line in a gre interface
        (HDR + "\tgarbage line here\n\tgroups: gre\n", 2),
        ("tun5: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST>\n\tgroups: gre\n\tfoo bar\n", 3),
        (HDR + "\tindex seven priority 0 llprio 6\n", 2),  # not an index line -> unknown on gre
        ("gre0: flags=8050<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476\n", 1),  # UP not in hex
        ("gre0: flags=8051<POINTOPOINT,RUNNING,MULTICAST> mtu 1476\n", 1),  # UP in hex, no name
        ("gre0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST,FOO> mtu 1476\n", 1),
        ("gre0: flags=8051<UP,UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476\n", 1),
        ("gre0: flags=8051<up,POINTOPOINT,RUNNING,MULTICAST> mtu 1476\n", 1),
        ("gre0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu abc\n", 1),
        ("gre0: flags=<UP> mtu 1476\n", 1),
        ("gre0 flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476\n", 1),
        (HDR + "\tinet 10.0.0.1 --> 10.0.0.2\n", 2),
        (HDR + "\tinet 10.0.0.1 --> 10.0.0.2 netmask 0x1ffffffff\n", 2),
        (HDR + "\tinet 10.0.0.1 --> 10.0.0.2 netmask 255.255.255.255\n", 2),
        (HDR + "\tinet banana netmask 0xffffffff\n", 2),
        (HDR + "\tinet6 fd42::1 prefixlen 64 banana\n", 2),
        (HDR + "\tinet6 fd42::1 prefixlen sixtyfour\n", 2),
        (HDR + "\tinet6 notanaddress prefixlen 64\n", 2),
        (HDR + "\tinet6\n", 2),
        (HDR + "\tinet6 fe80::1%gre0 -->  prefixlen 64 scopeid 22\n", 2),
        (HDR + "\tdescription: a\n\tgroups: gre\n\tdescription: b\n", 4),
        (HDR + "\ttunnel: ipx 1.2.3.4 --> 5.6.7.8\n", 2),
        (HDR + "\ttunnel: inet 1.2.3.4 --> 5.6.7.8 ttl 64 nodf ecn banana\n", 2),
        (HDR + "\ttunnel: inet 1.2.3.4 --> 5.6.7.8 ttl many\n", 2),
        (HDR + "\ttunnel: inet 1.2.3.4 -->\n", 2),
        (HDR + "\ttunnel: inet 1.2.3.4 --> 5.6.7.8\n\ttunnel: (unset)\n", 3),
        (HDR + "\tkeepalive: timeout five count 2\n", 2),
        (HDR + "\tencap: vnetid\n", 2),
        (HDR + "\tencap: colour blue\n", 2),
        (HDR + "\tencap: vnetid none vnetid 5\n", 2),
        (HDR + "\tstatus:\n", 2),
        (HDR + "\tpriority: x\n", 2),
        (HDR + "\tindex 1 priority 0 llprio 6\n\tindex 1 priority 0 llprio 6\n", 3),
        ("em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n"
         "\tlladdr 00:00:00:00:00:01\n\tinet 10.0.0.1 netmask 0xffffff00 broadcast\n", 3),
    ],
)
def test_garbage_raises_parse_error_on_the_right_line(text: str, line_no: int) -> None:
    with pytest.raises(ParseError) as exc:
        parse_ifconfig(text, "ifconfig gre")
    assert exc.value.line_no == line_no
    assert exc.value.line == text.split("\n")[line_no - 1].rstrip()
    assert str(exc.value).startswith(f"ifconfig gre: line {line_no}: ")


def test_unknown_lines_are_tolerated_outside_gre() -> None:
    text = ("em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n"
            "\tgarbage line here\n"
            "\thwfeatures=1b7<CSUM_IPv4,CSUM_TCPv4> hardmtu 9216\n")
    (em0,) = parse_ifconfig(text)
    assert em0.extra == ("garbage line here", "hwfeatures=1b7<CSUM_IPv4,CSUM_TCPv4> hardmtu 9216")


def test_tolerated_unmodelled_lines_on_gre() -> None:
    (gre0,) = parse_ifconfig(HDR + "\tlladdr 00:00:00:00:00:01\n\tgroups: gre\n")
    assert gre0.extra == ("lladdr 00:00:00:00:00:01",)
