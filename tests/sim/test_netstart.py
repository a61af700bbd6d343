"""agent.sim.netstart: `sh /etc/netstart [-n] IF` as etc/netstart v1.229 runs hostname.if files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.host import CommandResult
from agent.sim import if_gre
from agent.sim import state as simstate
from agent.sim.host import SimHost
from agent.sim.netstart import eval_words, read_lines

MAC = "00:21:28:f9:c1:d8"
CREATE = "{ ifconfig gre0 || ifconfig gre0 create; }"


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    state = simstate.new_state()
    if_gre.add_physical(state, "em0", inet=[("192.0.2.1", 24)], mac=MAC)
    if_gre.add_physical(state, "lo0")
    root = tmp_path / "rtr"
    simstate.save(root, state)
    return SimHost(root)


def hostname_file(host: SimHost, name: str, text: str, mode: int = 0o640, uid: int = 0) -> None:
    host.write_file(f"/etc/hostname.{name}", text.encode(), mode=mode, uid=uid)


def netstart(host: SimHost, *args: str) -> CommandResult:
    return host.run(["sh", "/etc/netstart", *args])


def gre(host: SimHost, name: str = "gre0") -> dict[str, Any]:
    return simstate.load(host.root)["interfaces"][name]


def show(host: SimHost, name: str = "gre0") -> str:
    return host.run(["ifconfig", name]).stdout


# -- the DN42 wiki gotcha (reference §4.1, capture C2) -------------------------------------------


def test_wiki_inet_line_takes_the_peer_as_netmask(host: SimHost) -> None:
    hostname_file(host, "gre0", "tunnel 3.4.5.6 1.3.3.7\ninet 10.20.30.0 10.20.30.1\ninet6 eui64\n")
    dry = netstart(host, "-n", "gre0")
    assert (dry.rc, dry.stderr) == (0, "")
    assert dry.stdout.splitlines() == [
        CREATE,  # vifscreate (gre is clonable)
        CREATE,  # ifstart's ifcreate
        "ifconfig gre0 tunnel 3.4.5.6 1.3.3.7",
        "ifconfig gre0 inet 10.20.30.0 netmask 10.20.30.1",
        "ifconfig gre0 inet6 eui64",
    ]
    assert "gre0" not in simstate.load(host.root)["interfaces"]  # -n changed nothing
    real = netstart(host, "gre0")
    assert (real.rc, real.stdout) == (0, "")
    assert real.stderr == "ifconfig: 10.20.30.1: non-contiguous mask\n"
    state = gre(host)
    assert state["inet"] == [] and state["tunnel"]["dst"] == "1.3.3.7"
    assert [e["address"] for e in state["inet6"]] == ["fe80::221:28ff:fef9:c1d8"]


def test_recommended_file_from_reference(host: SimHost) -> None:
    hostname_file(host, "gre0", (
        'description "dn42 peer AS424242xxxx"\n'
        "tunnel 192.0.2.1 198.51.100.7\n"
        "inet 172.20.0.1 255.255.255.255\n"
        "dest 172.20.0.2\n"
        "inet6 eui64\n"
        "inet6 fd42:1:2::1 127\n"
        "up\n"))
    assert netstart(host, "-n", "gre0").stdout.splitlines()[2:] == [
        'ifconfig gre0 description "dn42 peer AS424242xxxx"',
        "ifconfig gre0 tunnel 192.0.2.1 198.51.100.7",
        "ifconfig gre0 inet 172.20.0.1 172.20.0.2 netmask 255.255.255.255",
        "ifconfig gre0 inet6 eui64",
        "ifconfig gre0 inet6 fd42:1:2::1 prefixlen 127",
        "ifconfig gre0 up",
    ]
    result = netstart(host, "gre0")
    assert (result.rc, result.stdout, result.stderr) == (0, "", "")
    assert show(host) == (
        "gre0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476\n"
        "\tdescription: dn42 peer AS424242xxxx\n"
        "\tindex 5 priority 0 llprio 6\n"
        "\tencap: vnetid none txprio payload rxprio packet\n"
        "\tgroups: gre\n"
        "\ttunnel: inet 192.0.2.1 --> 198.51.100.7 ttl 64 nodf ecn\n"
        "\tinet 172.20.0.1 --> 172.20.0.2 netmask 0xffffffff\n"
        "\tinet6 fe80::221:28ff:fef9:c1d8%gre0 -->  prefixlen 64 scopeid 0x5\n"
        "\tinet6 fd42:1:2::1 -->  prefixlen 127\n"
    )


def test_b1_hostname_file_with_names_from_hosts(tmp_path: Path) -> None:
    """B1 came from `tunnel A.example.com D.example.net` + `inet6 fd42::/127`."""
    state = simstate.new_state()
    if_gre.add_physical(state, "em0", mac=MAC)
    state["next_ifindex"] = 22
    simstate.save(tmp_path / "b1", state)
    host = SimHost(tmp_path / "b1")
    hosts = b"2001:db8::a A.example.com\n2001:db9::d D.example.net\n"
    host.write_file("/etc/hosts", hosts, mode=0o644)
    hostname_file(host, "gre0", "tunnel A.example.com D.example.net\ninet6 fd42::/127\n")
    assert netstart(host, "gre0").rc == 0
    assert show(host).splitlines()[4:] == [
        "\ttunnel: inet6 2001:db8::a --> 2001:db9::d ttl 64 nodf ecn",
        "\tinet6 fe80::221:28ff:fef9:c1d8%gre0 -->  prefixlen 64 scopeid 0x16",
        "\tinet6 fd42:: -->  prefixlen 127",
    ]


def test_rerun_replaces_inet_and_adds_inet6(host: SimHost) -> None:
    hostname_file(host, "gre0", "inet 172.20.0.1 255.255.255.255 172.20.0.2\n")
    netstart(host, "gre0")
    hostname_file(host, "gre0", "inet 172.20.9.1 255.255.255.255 172.20.9.2\n")
    netstart(host, "gre0")
    assert [e["address"] for e in gre(host)["inet"]] == ["172.20.9.1"]


# -- permissions, names, missing files -----------------------------------------------------------


def test_insecure_file_is_fixed_with_a_warning(host: SimHost) -> None:
    hostname_file(host, "gre0", "up\n", mode=0o644, uid=1000)
    result = netstart(host, "-n", "gre0")  # the fix happens even with -n, as in ifstart()
    assert result.stderr == "WARNING: /etc/hostname.gre0 is insecure, fixing permissions.\n"
    st = host.stat("/etc/hostname.gre0")
    assert st is not None and (st.mode, st.uid, st.gid) == (0o640, 0, 0)
    assert netstart(host, "-n", "gre0").stderr == ""


def test_owner_alone_makes_it_insecure(host: SimHost) -> None:
    hostname_file(host, "gre0", "up\n", mode=0o600, uid=5)
    assert "is insecure" in netstart(host, "gre0").stderr
    assert host.stat("/etc/hostname.gre0").mode == 0o600  # type: ignore[union-attr]


def test_missing_file_and_invalid_names(host: SimHost) -> None:
    missing = netstart(host, "gre5")
    assert (missing.rc, missing.stdout) == (0, "")
    assert missing.stderr == "netstart: /etc/hostname.gre5: No such file or directory.\n"
    hostname_file(host, "gre0.bak", "up\n")
    ignored = netstart(host, "gre0.bak", "-x")  # not letters+digits: silently skipped
    assert (ignored.rc, ignored.stdout, ignored.stderr) == (0, "", "")


def test_usage_and_other_sh_invocations(host: SimHost) -> None:
    usage = netstart(host, "-x", "gre0")
    assert (usage.rc, usage.stderr) == (1, "usage: sh /etc/netstart [-n] [interface ...]\n")
    other = host.run(["sh", "-c", "ifconfig gre0 up"])
    assert other.rc == 127 and "is simulated" in other.stderr


# -- shell evaluation ----------------------------------------------------------------------------


def test_bang_lines_print_with_n_and_are_refused_otherwise(host: SimHost) -> None:
    hostname_file(host, "gre0", ('description "fr.telecomlobby.com"\n'
                                 "keepalive 5 2\n"
                                 "!ifconfig $if 10.10.10.249 10.10.10.250 netmask 0xfffffffc up\n"))
    assert netstart(host, "-n", "gre0").stdout.splitlines()[2:] == [
        'ifconfig gre0 description "fr.telecomlobby.com"',
        "ifconfig gre0 keepalive 5 2",
        "ifconfig gre0 10.10.10.249 10.10.10.250 netmask 0xfffffffc up",
    ]
    result = netstart(host, "gre0")
    assert result.rc == 1
    assert result.stderr == ("peerops sim: refusing to evaluate shell construct in "
                             "/etc/hostname.gre0 line 3\n")
    assert gre(host)["description"] == "" and gre(host)["keepalive"] is None  # nothing ran


@pytest.mark.parametrize("line", ["description foo;reboot", "description $HOME",
                                  'description "$(id)"', "description `id`", "up | cat",
                                  "description ~root"])
def test_unquoted_metacharacters_are_refused(host: SimHost, line: str) -> None:
    hostname_file(host, "gre0", f"mtu 1400\n{line}\n")
    result = netstart(host, "gre0")
    assert result.rc == 1
    assert result.stderr.endswith("in /etc/hostname.gre0 line 2\n")
    assert gre(host)["mtu"] == 1476


def test_quotes_backslashes_and_comments_follow_ksh(host: SimHost) -> None:
    hostname_file(host, "gre0", ("description 'a;b $c'\n"
                                 "up # bring it up\n"
                                 "# a comment line\n"))
    assert netstart(host, "gre0").stderr == ""
    assert gre(host)["description"] == "a;b $c" and gre(host)["up"] is True
    # parse_hn_line gets the line split on IFS before eval: quoted runs of blanks collapse.
    hostname_file(host, "gre0", 'description "double   spaced"\n')
    netstart(host, "gre0")
    assert gre(host)["description"] == "double spaced"


def test_unterminated_last_line_is_not_read(host: SimHost) -> None:
    hostname_file(host, "gre0", "description first\nup")
    assert netstart(host, "gre0").rc == 0
    assert gre(host)["description"] == "first" and gre(host)["up"] is False


def test_read_and_eval_helpers() -> None:
    assert read_lines(b"a\\\nb\nc\\ d\ne") == [(1, "ab"), (3, "c d")]
    assert eval_words("ifconfig gre0 description \"x \\\"y\\\"\" 'z'") == [
        "ifconfig", "gre0", "description", 'x "y"', "z"]
    assert read_lines(b"inet 10.0.0.1\n\n# up\nmtu") == [(1, "inet 10.0.0.1"), (2, ""), (3, "# up")]
    assert eval_words("ifconfig  gre0\tup # comment") == ["ifconfig", "gre0", "up"]
    assert eval_words("a=b c,d 1.2.3.4/32 x:y") == ["a=b", "c,d", "1.2.3.4/32", "x:y"]
    assert eval_words("ifconfig  gre0\t up\n") == ["ifconfig", "gre0", "up"]
    assert eval_words("a\rb\x0bc") == ["a\rb\x0bc"]  # not blanks to ksh: one word


def test_blank_runs_cost_linear_time() -> None:
    """Words of plain characters split without the quote-by-quote walk; a long blank run
    before something that needs the walk stays linear (a regex with nested repetition took
    exponential time here: a simulation of 1000 peers ran five times longer)."""
    import signal

    def hung(*_: Any) -> None:
        raise TimeoutError("eval_words did not finish in 10 s")

    signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        text = "ifconfig" + " " * 60 + "gre0" + " \t" * 60 + "description 'a  b'"
        assert eval_words(text) == ["ifconfig", "gre0", "description", "a  b"]
    finally:
        signal.alarm(0)


# -- routes and the full run ---------------------------------------------------------------------


def test_mygate_routes_are_printed_with_n(host: SimHost) -> None:
    host.write_file("/etc/mygate", b"192.0.2.254\n2001:db8::1\n192.0.2.253\n", mode=0o644)
    hostname_file(host, "gre0", "up\n")
    assert netstart(host, "-n", "gre0").stdout.splitlines()[-2:] == [
        "route -qn add -host default 192.0.2.254",
        "route -qn add -host -inet6 default 2001:db8::1",
    ]
    assert "route" not in netstart(host, "gre0").stdout  # route(8) is not simulated


def test_full_run_prints_loopback_and_routes(host: SimHost) -> None:
    hostname_file(host, "gre0", "up\n")
    assert netstart(host, "-n").stdout.splitlines() == [
        "ifconfig lo0 inet 127.0.0.1/8",
        CREATE,  # vifscreate: every pseudo-interface up front
        "route -qn delete 224.0.0.0/4",  # multicast=NO in rc.conf
        "route -qn add -net 224.0.0.0/4 -interface 127.0.0.1 -reject",
        "route -qn add -net 127 127.0.0.1 -reject",
        CREATE,  # gre is in the last ifmstart group, after the routes
        "ifconfig gre0 up",
    ]
