"""agent.sim.ipsecctl and agent.sim.isakmpd: the command line, loading, FIFO and daemon."""

from __future__ import annotations

import stat

import pytest

from agent.sim import isakmpd
from sim.fleetkit import FleetBuilder, Router, gre_rule, in_ctx

USAGE = "usage: ipsecctl [-cdFkmnv] [-D macro=value] [-f file] [-i fifo] [-s modifier]\n"
NOT_LOADED = "ipsecctl: Syntax error in config file: ipsec rules not loaded\n"
IDLE = "FLOWS:\nNo flows\n\nSAD:\nNo entries\n"


def lone(fleet: FleetBuilder, start: bool = True) -> Router:
    return fleet.router("rtr1", "192.0.2.1", start=start)


def connections(router: Router) -> dict[str, dict[str, object]]:
    return router.state().get("isakmpd", {}).get("connections", {})


def test_idle_router_show(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    for argv, out in (
        (["-sa"], IDLE),
        (["-s", "all"], IDLE),
        (["-sf"], ""),
        (["-ss"], ""),
        (["-s", "fl"], ""),
        (["-s", "a"], IDLE),
    ):
        result = r.run("ipsecctl", *argv)
        assert (result.rc, result.stdout, result.stderr) == (0, out, "")
    # ipsecctl_lookup_option is strncmp(cmd, option, strlen(cmd)): the modifier must be a
    # prefix of flow/sa/all, so a longer word like "flows" is refused.
    longer = r.run("ipsecctl", "-s", "flows")
    assert (longer.rc, longer.stderr) == (1, "ipsecctl: Unknown show modifier 'flows'\n" + USAGE)


def test_usage_errors(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    assert (r.run("ipsecctl").rc, r.run("ipsecctl").stderr) == (1, USAGE)
    bad = r.run("ipsecctl", "-x")
    assert (bad.rc, bad.stderr) == (1, "ipsecctl: unknown option -- x\n" + USAGE)
    missing = r.run("ipsecctl", "-f")
    assert missing.stderr == "ipsecctl: option requires an argument -- f\n" + USAGE
    modifier = r.run("ipsecctl", "-s", "bogus")
    assert (modifier.rc, modifier.stderr) == (
        1,
        "ipsecctl: Unknown show modifier 'bogus'\n" + USAGE,
    )
    extra = r.run("ipsecctl", "-sa", "now")
    assert extra.stderr == "ipsecctl: unknown command line argument: now ...\n" + USAGE
    assert extra.stdout == ""


def test_parse_only_checks_file_secrecy(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    rule = gre_rule("192.0.2.1", "198.51.100.7")
    for mode in (0o600, 0o640):
        r.write("/etc/ipsec.conf", rule, mode=mode)
        ok = r.run("ipsecctl", "-n", "-f", "/etc/ipsec.conf")
        assert (ok.rc, ok.stdout, ok.stderr) == (0, "", "")
    for mode in (0o644, 0o660, 0o604):
        r.write("/etc/ipsec.conf", rule, mode=mode)
        result = r.run("ipsecctl", "-n", "-f", "/etc/ipsec.conf")
        assert (result.rc, result.stderr) == (
            1,
            "ipsecctl: /etc/ipsec.conf: group writable or world read/writable\n" + NOT_LOADED,
        )
    r.write("/etc/ipsec.conf", rule, mode=0o600, uid=1000)
    result = r.run("ipsecctl", "-n", "-f", "/etc/ipsec.conf")
    assert (
        result.stderr == "ipsecctl: /etc/ipsec.conf: owner not root or current user\n" + NOT_LOADED
    )
    gone = r.run("ipsecctl", "-nf", "/etc/nope.conf")
    assert (gone.rc, gone.stderr) == (
        1,
        "ipsecctl: pushfile: /etc/nope.conf: No such file or directory\n" + NOT_LOADED,
    )


def test_parse_error_text_and_exit(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    r.write(
        "/etc/ipsec.conf",
        "ike esp transport from 192.0.2.1 to 198.51.100.7 \\\n    tag dn42 srcid 192.0.2.1\n",
    )
    result = r.run("ipsecctl", "-n", "-f", "/etc/ipsec.conf")
    assert (result.rc, result.stderr) == (1, "/etc/ipsec.conf: 2: syntax error\n" + NOT_LOADED)
    r.write("/etc/ipsec.conf", "ike esp from 10.0.0.1 to 10.0.0.2 quick enc aes lifetime 9d\n")
    fatal = r.run("ipsecctl", "-n", "-f", "/etc/ipsec.conf")
    assert fatal.rc == 1
    assert fatal.stderr == "ipsecctl: invalid time unit: No such file or directory\n"


def test_not_simulated_rules_exit_1(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    r.write("/etc/ipsec.conf", "flow esp from 10.0.0.0/24 to 10.0.1.0/24 peer 192.0.2.9\n")
    result = r.run("ipsecctl", "-n", "-f", "/etc/ipsec.conf")
    assert result.rc == 1
    assert result.stderr.startswith("peerops sim: ipsecctl: /etc/ipsec.conf: 1: flow rules")
    assert "not simulated" in result.stderr


def test_verbose_parse_only_prints_isakmpd_commands(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    r.write("/etc/ipsec.conf", gre_rule("192.0.2.1", "198.51.100.7"))
    result = r.run("ipsecctl", "-nvf", "/etc/ipsec.conf")
    assert result.rc == 0
    assert result.stdout.startswith("C set [Phase 1]:198.51.100.7=peer-198.51.100.7 force\n")
    assert result.stdout.endswith(
        "C add [Phase 2]:Connections=from-192.0.2.1=47-to-198.51.100.7=47\n"
    )


def test_load_without_isakmpd_fails_on_the_fifo(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    result = r.load(gre_rule("192.0.2.1", "198.51.100.7"))
    assert (result.rc, result.stdout, result.timed_out) == (1, "", False)
    assert result.stderr == (
        "ipsecctl: ike_ipsec_establish: open(/var/run/isakmpd.fifo): No such file or directory\n"
    )


def test_load_with_a_regular_file_as_fifo(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    r.write("/var/run/isakmpd.fifo", "", mode=0o600)
    result = r.load(gre_rule("192.0.2.1", "198.51.100.7"))
    assert (result.rc, result.stderr) == (
        1,
        "ipsecctl: ike_ipsec_establish: /var/run/isakmpd.fifo not a fifo\n",
    )
    assert not r.start_isakmpd()  # ui_init refuses to replace a regular file
    assert (
        'ui_init: could not create FIFO "/var/run/isakmpd.fifo": File exists'
        in (r.state()["isakmpd_log"])
    )


def test_isakmpd_start_makes_fifo_and_pid_file(fleet: FleetBuilder) -> None:
    r = lone(fleet)
    st = r.state()
    pid = st["daemons"]["isakmpd"]["pid"]
    assert st["daemons"]["isakmpd"]["flags"] == ["-K"]
    assert r.host.read_file("/var/run/isakmpd.pid") == f"{pid}\n".encode()
    fifo = r.host.files().stat("/var/run/isakmpd.fifo")
    assert fifo is not None
    assert stat.S_ISFIFO(fifo.st_mode) and stat.S_IMODE(fifo.st_mode) == 0o600
    assert st["isakmpd"]["connections"] == {} and st["isakmpd_conf"] == {}


def test_isakmpd_refuses_bad_flags_and_missing_policy(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    assert not r.start_isakmpd(["-X"])
    assert "isakmpd: unknown option -- X" in r.state()["isakmpd_log"]
    assert not r.start_isakmpd(["-v"])  # no -K: policy_init needs isakmpd.policy
    st = r.state()
    assert "isakmpd" not in st["daemons"]
    assert (
        'policy_init: open ("/etc/isakmpd/isakmpd.policy", O_RDONLY) failed: '
        "No such file or directory"
    ) in st["isakmpd_log"]
    # it died after ui_init and write_pid_file: both files are there
    assert r.host.files().stat("/var/run/isakmpd.fifo") is not None
    assert r.host.files().stat("/var/run/isakmpd.pid") is not None
    r.write("/etc/isakmpd/isakmpd.policy", "KeyNote-Version: 2\n", mode=0o644)
    assert not r.start_isakmpd(["-v"])
    assert r.state()["isakmpd_log"][-1] == "policy_init: cannot read /etc/isakmpd/isakmpd.policy"


def test_load_sends_rules_to_isakmpd(fleet: FleetBuilder) -> None:
    r = lone(fleet)
    result = r.load(gre_rule("192.0.2.1", "198.51.100.7"))
    assert (result.rc, result.stdout, result.stderr) == (0, "", "")
    name = "from-192.0.2.1=47-to-198.51.100.7=47"
    assert list(connections(r)) == [name]
    conf = r.state()["isakmpd_conf"]
    assert conf[name]["isakmp-peer"] == "peer-198.51.100.7"
    assert conf["phase 1"]["198.51.100.7"] == "peer-198.51.100.7"
    again = r.run("ipsecctl", "-f", "/etc/ipsec.conf")  # `force` everywhere: same config
    assert again.rc == 0
    assert connections(r) == {name: {"passive": False, "serial": 1}}


def test_delete_removes_only_that_rule(fleet: FleetBuilder) -> None:
    r = lone(fleet)
    one = gre_rule("192.0.2.1", "198.51.100.7")
    two = gre_rule("192.0.2.1", "203.0.113.9")
    assert r.load(one + two).rc == 0
    assert len(connections(r)) == 2
    r.write("/tmp/old.conf", two)
    result = r.run("ipsecctl", "-d", "-f", "/tmp/old.conf")
    assert (result.rc, result.stderr) == (0, "")
    assert list(connections(r)) == ["from-192.0.2.1=47-to-198.51.100.7=47"]
    conf = r.state()["isakmpd_conf"]
    gone = "from-192.0.2.1=47-to-203.0.113.9=47"
    assert gone not in conf and f"phase2-{gone}" not in conf
    assert "peer-203.0.113.9" in conf  # the phase 1 peer section stays (ike.c)


def test_clean_stop_removes_fifo_and_pid_file_so_a_load_fails_at_once(
    fleet: FleetBuilder,
) -> None:
    """monitor.c v1.83 `monitor_exit`: on SIGTERM the monitor unlinks the FIFO and the pid
    file, so ipsecctl's open(2) fails with ENOENT instead of blocking (ike.c err(1, ...))."""
    r = lone(fleet)
    assert r.load(gre_rule("192.0.2.1", "198.51.100.7")).rc == 0
    r.stop_isakmpd()
    st = r.state()
    assert "isakmpd" not in st and "isakmpd" not in st["daemons"]
    assert r.host.files().stat("/var/run/isakmpd.fifo") is None
    assert r.host.files().stat("/var/run/isakmpd.pid") is None
    result = r.run("ipsecctl", "-f", "/etc/ipsec.conf")
    assert (result.rc, result.stdout, result.timed_out) == (1, "", False)
    assert result.stderr == (
        "ipsecctl: ike_ipsec_establish: open(/var/run/isakmpd.fifo): No such file or directory\n"
    )
    assert r.start_isakmpd()
    assert connections(r) == {}  # a restart forgets the rules
    assert r.run("ipsecctl", "-f", "/etc/ipsec.conf").rc == 0
    assert len(connections(r)) == 1


def test_rcctl_stop_removes_the_fifo(fleet: FleetBuilder) -> None:
    r = lone(fleet)
    assert r.run("rcctl", "stop", "isakmpd").rc == 0
    assert r.host.files().stat("/var/run/isakmpd.fifo") is None
    assert not r.load(gre_rule("192.0.2.1", "198.51.100.7")).timed_out


def test_killed_isakmpd_leaves_a_stale_fifo_that_blocks(fleet: FleetBuilder) -> None:
    r = lone(fleet)
    assert r.load(gre_rule("192.0.2.1", "198.51.100.7")).rc == 0
    r.kill_isakmpd()
    assert r.host.files().stat("/var/run/isakmpd.pid") is not None
    blocked = r.run("ipsecctl", "-f", "/etc/ipsec.conf")
    assert blocked.timed_out and not blocked.ok
    assert r.start_isakmpd()  # ui_init removes the stale FIFO and makes a new one
    assert r.run("ipsecctl", "-f", "/etc/ipsec.conf").rc == 0


def test_fifo_replaced_behind_isakmpds_back_blocks(fleet: FleetBuilder) -> None:
    r = lone(fleet)
    files = r.host.files()
    assert files.remove("/var/run/isakmpd.fifo")
    files.mkfifo("/var/run/isakmpd.fifo", 0o600)  # a new FIFO nobody reads
    assert r.load(gre_rule("192.0.2.1", "198.51.100.7")).timed_out


def test_illegal_transform_fails_the_load_after_partial_config(fleet: FleetBuilder) -> None:
    r = lone(fleet)
    result = r.load("ike esp transport from 192.0.2.1 to 198.51.100.7 main enc aes-128-ctr\n")
    assert result.rc == 1
    assert result.stderr == (
        "ipsecctl: illegal transform aes-128-ctr\nipsecctl: failed to add ike rule 0\n"
    )
    assert connections(r) == {}
    assert "peer-198.51.100.7" in r.state()["isakmpd_conf"]  # sent before the failure


def test_flush_bumps_generation_and_shows_empty_at_once(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    result = r.run("ipsecctl", "-F", "-sa")
    assert (result.rc, result.stdout) == (0, IDLE)
    assert r.state()["ipsec"]["flush_generation"] == 1
    assert r.run("ipsecctl", "-nF").rc == 0
    assert r.state()["ipsec"]["flush_generation"] == 1  # -n: no action


def test_verbose_sa_dump_is_not_simulated(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    result = r.run("ipsecctl", "-v", "-sa")
    assert result.rc == 1 and "not simulated" in result.stderr
    flows = r.run("ipsecctl", "-v", "-sf")
    assert (flows.rc, flows.stdout) == (0, "")


def test_monitor_blocks(fleet: FleetBuilder) -> None:
    r = lone(fleet, start=False)
    result = r.run("ipsecctl", "-m", "-sa")
    assert result.timed_out and result.stdout == IDLE


def test_stdin_config_and_macros(fleet: FleetBuilder) -> None:
    r = lone(fleet)
    text = 'peer_ip = "198.51.100.7"\n' + gre_rule("192.0.2.1", "$peer_ip")
    result = r.run("ipsecctl", "-D", "peer_ip=203.0.113.5", "-f", "-", stdin=text)
    assert (result.rc, result.stderr) == (0, "")
    assert list(connections(r)) == ["from-192.0.2.1=47-to-203.0.113.5=47"]
    bad = r.run("ipsecctl", "-D", "oops", "-nf", "-", stdin="")
    assert (bad.rc, bad.stderr) == (0, "ipsecctl: could not parse macro definition oops\n")


def test_fifo_commands_update_the_section_database(fleet: FleetBuilder) -> None:
    r = lone(fleet)

    def send(ctx: object) -> dict[str, object]:
        st = ctx.state  # type: ignore[attr-defined]
        isakmpd.apply_commands(
            st,
            [
                "C set [Sec]:Tag=one force",
                "C add [Phase 2]:Connections=a",
                "C add [Phase 2]:Connections=b",
                "C add [Phase 2]:Connections=a",
                "C rmv [Phase 2]:Connections=a",
                "C bogus",
                "x",
            ],
        )
        return st

    st = in_ctx(r.host, send)
    assert st["isakmpd_conf"]["sec"] == {"tag": "one"}
    assert st["isakmpd_conf"]["phase 2"] == {"connections": "b"}
    assert list(st["isakmpd"]["connections"]) == ["b"]
    assert 'ui_config: command "C bogus" malformed' in st["isakmpd_log"]
    assert "ui_handle_messages: unrecognized command: 'x'" in st["isakmpd_log"]


def test_a_text_checked_then_loaded_behaves_as_two_parses(fleet: FleetBuilder) -> None:
    """The agent's check-then-load parses a clean text once per process (_parse_once): what
    each command prints and does must stay what two parses give."""
    r = lone(fleet)
    good = gre_rule("192.0.2.1", "198.51.100.7")
    r.write("/tmp/check.conf", good)
    r.write("/etc/ipsec.conf", good)
    assert r.run("ipsecctl", "-n", "-f", "/tmp/check.conf").rc == 0
    assert connections(r) == {}  # -n loads nothing
    assert r.run("ipsecctl", "-f", "/etc/ipsec.conf").rc == 0
    assert len(connections(r)) == 1
    verbose = r.run("ipsecctl", "-nvf", "/etc/ipsec.conf")
    assert verbose.rc == 0 and verbose.stdout.startswith("C set [Phase 1]")  # -v still prints
    # an error names the file of each command, parsed every time
    bad = good.replace("aes-256", "aes-257", 1)
    for path in ("/tmp/one.conf", "/tmp/two.conf"):
        r.write(path, bad)
        result = r.run("ipsecctl", "-n", "-f", path)
        assert result.rc == 1
        assert result.stderr.startswith(f"{path}: 2: aes-257 not a valid transform\n")
    # an included file is read again by the next command
    r.write("/etc/ipsec.main", 'include "/etc/ipsec.part"\n')
    r.write("/etc/ipsec.part", good)
    assert r.run("ipsecctl", "-n", "-f", "/etc/ipsec.main").rc == 0
    r.write("/etc/ipsec.part", bad)
    assert r.run("ipsecctl", "-n", "-f", "/etc/ipsec.main").rc == 1


def test_sections_written_out_as_a_load_goes_end_as_if_held(
    fleet: FleetBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ipsecctl -f of many rules writes isakmpd's sections out as it goes (every
    isakmpd.HELD_SECTIONS): the store ends as when every section is held to the end."""
    rules = "".join(gre_rule("192.0.2.1", f"198.51.100.{n}") for n in range(1, 6))
    held, released = lone(fleet), fleet.router("rtr-b", "192.0.2.1")
    assert released.start_isakmpd()
    assert held.load(rules).rc == 0
    monkeypatch.setattr(isakmpd, "HELD_SECTIONS", 3)
    assert released.load(rules).rc == 0
    one, other = held.state(), released.state()
    assert len(one["isakmpd_conf"]) > 3 * 5
    assert other["isakmpd_conf"] == one["isakmpd_conf"]
    assert other["isakmpd"]["connections"] == one["isakmpd"]["connections"]
    assert other["isakmpd"]["generation"] == one["isakmpd"]["generation"]
