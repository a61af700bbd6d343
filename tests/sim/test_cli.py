"""agent.sim.cli: `peerops sim`, init_root() and FreshRoot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.sim import host as simhost
from agent.sim import state as simstate
from agent.sim.cli import FreshRoot, init_root
from agent.sim.cli import main as sim_main
from agent.sim.host import SimHost, WouldBlock


def main(ctx: Any, args: list[str]) -> int:
    """This module doubles as the simulated command `hang` (host.COMMANDS maps argv[0] to a
    module's main): it would block for ever, like ipsecctl on a stale isakmpd FIFO."""
    raise WouldBlock


def test_init_and_run_writes_the_command_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "rtr1"
    rc = sim_main(["--root", str(root), "--init", "--address", "192.0.2.1", "--address",
               "2001:db8::1", "ifconfig", "em0"])
    captured = capsys.readouterr()
    assert (rc, captured.err) == (0, "")
    lines = captured.out.splitlines()
    assert lines[0] == "em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500"
    assert "\tinet 192.0.2.1 netmask 0xffffff00 broadcast 192.0.2.255" in lines
    assert "\tinet6 2001:db8::1 prefixlen 64" in lines
    assert simstate.read_host_info(root)["name"] == "rtr1"


def test_exit_codes_and_stderr_pass_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "r"
    assert sim_main(["sim", "--root", str(root), "--init"]) == 0
    capsys.readouterr()
    assert sim_main(["--root", str(root), "ifconfig", "gre0"]) == 1
    assert capsys.readouterr() == ("", "gre0: no such interface\n")
    assert sim_main(["--root", str(root), "pfctl", "-sr"]) == 127
    assert "command not simulated" in capsys.readouterr().err
    assert sim_main(["--root", str(root), "rcctl", "-f", "start", "bgpd"]) == 0
    assert capsys.readouterr().out == "bgpd(ok)\n"


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_main(["ifconfig"]) == 2
    assert "--root is required" in capsys.readouterr().err
    assert sim_main(["--root", str(tmp_path / "none"), "ifconfig"]) == 2
    assert "not a simulated router" in capsys.readouterr().err
    assert sim_main(["--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: peerops sim --root DIR")


def test_timeout_is_124(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(simhost.COMMANDS, "hang", __name__)
    root = tmp_path / "r"
    init_root(root, "r", [])
    assert sim_main(["--root", str(root), "--timeout", "5", "hang"]) == 124
    assert capsys.readouterr().err == (
        "peerops sim: hang: timed out after 5 s (it would block for ever on OpenBSD)\n")


def test_init_root_layout_is_minimal_and_idempotent(tmp_path: Path) -> None:
    root = tmp_path / "rtr"
    init_root(root, "rtr", ["198.51.100.7/28"])
    host = SimHost(root)
    assert host.list_dir("/etc/isakmpd/pubkeys") == ["fqdn", "ipv4", "ipv6", "ufqdn"]
    assert host.list_dir("/etc/isakmpd/private") == []  # no keys: provision.py makes them
    private = host.stat("/etc/isakmpd/private")
    assert private is not None and private.mode == 0o700
    state = simstate.load(root)
    assert {n: i["index"] for n, i in state["interfaces"].items()} == {
        "em0": 1, "enc0": 2, "lo0": 3, "pflog0": 4}
    assert state["interfaces"]["em0"]["inet"][0]["netmask"] == "255.255.255.240"
    assert "sshd" in state["daemons"] and "isakmpd" not in state["daemons"]
    host.run(["ifconfig", "gre0", "create"])
    init_root(root, "rtr", ["198.51.100.7/28"])  # an existing router is left alone
    assert "gre0" in simstate.load(root)["interfaces"]


def test_a_router_provisioned_from_a_template_is_the_booted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lab writes a peer router (fresh install, host.json, keys) from a FreshRoot in one
    go: the same files, modes, owners and store as booting it and installing its keys."""
    from agent.lab import keypool
    from agent.lab.provision import provision_router

    monkeypatch.setenv("PEEROPS_LAB_KEYS", str(tmp_path / "lab-keys.pem"))
    monkeypatch.setattr(keypool, "_pairs", None)
    monkeypatch.setattr(keypool, "_handed_out", 0)
    fleet = tmp_path / "fleet.json"
    booted, copied = tmp_path / "booted", tmp_path / "copied"
    pem = provision_router(booted, "peer7", ["198.51.100.9/28"], fleet)
    monkeypatch.setattr(keypool, "_handed_out", 0)  # the same pair once more
    template = FreshRoot.boot(tmp_path / "template")
    assert provision_router(copied, "peer7", ["198.51.100.9/28"], fleet, template) == pem
    assert simstate.load(copied) == simstate.load(booted)  # em0, the keys' owners
    assert _tree(copied) == _tree(booted)  # keys 0600/0644, host.json naming the fleet
    assert simstate.read_host_info(copied) == {"name": "peer7", "fleet": str(fleet)}
    key = SimHost(copied).stat("/etc/isakmpd/private/local.key")
    assert key is not None and (key.mode, key.uid, key.gid) == (0o600, 0, 0)


def _tree(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file of the router at root (on disk or in memory; but the store's files and
    mark) with its mode and a regular file's bytes."""
    return {
        path: (info.st_mode, data)
        for path, info, data in simstate.router_files(root).walk()
        if not path.rpartition("/")[2].startswith((simstate.STATE_FILE, simstate.MEMORY_MARK))
    }


def test_a_fresh_root_copy_is_what_init_root_makes(tmp_path: Path) -> None:
    template = FreshRoot.boot(tmp_path / "template")
    addresses = ["198.51.100.9/28", "2001:db8::9"]
    booted, copied, other = tmp_path / "booted", tmp_path / "copied", tmp_path / "other"
    init_root(booted, "peer7", addresses)
    template.copy(copied, "peer7", addresses)
    assert simstate.load(copied) == simstate.load(booted)
    assert _tree(copied) == _tree(booted)  # rc.conf, myname, host.json, modes (0700 private)
    assert simstate.read_host_info(copied)["name"] == "peer7"
    show = ["ifconfig", "em0"]  # name (MAC, EUI-64 link-local) and addresses are the copy's
    assert SimHost(copied).run(show) == SimHost(booted).run(show)
    assert "inet 198.51.100.9 netmask 0xfffffff0" in SimHost(copied).run(show).stdout
    template.copy(other, "peer8", ["198.51.100.10"])  # copies share nothing
    assert "198.51.100.9" not in SimHost(other).run(show).stdout
    assert "198.51.100.10" not in SimHost(copied).run(show).stdout
    with pytest.raises(FileExistsError):
        template.copy(copied, "peer7", addresses)  # never over an existing router
    # Files a copy shares with the template (hard links) become its own when it changes them.
    runfile, rc_conf = "/var/run/rc.d/sshd", "/etc/rc.conf"
    before = {r: _tree(r) for r in (other, tmp_path / "template")}
    SimHost(copied).write_file(rc_conf, b"# edited\n", mode=0o600)
    assert SimHost(copied).run(["rcctl", "stop", "sshd"]).rc == 0
    assert SimHost(copied).read_file(runfile) is None
    assert SimHost(copied).run(["rcctl", "start", "sshd"]).rc == 0
    assert {r: _tree(r) for r in before} == before
    assert SimHost(other).read_file(rc_conf) == SimHost(booted).read_file(rc_conf)
    mode = SimHost(other).stat(rc_conf)
    assert mode is not None and mode.mode == 0o644


@pytest.mark.parametrize("umask", [0o077, 0o027, 0o002, 0])
def test_a_copy_has_the_modes_of_a_boot_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """Files and directories are created with their mode; the umask takes bits from it
    (0o077: the directories would be 0700, rc.conf 0600) unless they are set again."""
    import os

    template = FreshRoot.boot(tmp_path / "template")
    booted, copied = tmp_path / "booted", tmp_path / "copied"
    init_root(booted, "peer7", [])
    keys = {"/etc/isakmpd/private/local.key": (b"key\n", 0o600),
            "/etc/isakmpd/local.pub": (b"pub\n", 0o644)}
    SimHost(booted).write_files(keys)
    before = os.umask(umask)
    try:
        template.copy(copied, "peer7", [], files=keys)
    finally:
        os.umask(before)
    assert _tree(copied) == _tree(booted)


@pytest.mark.disk_only
def test_fresh_roots_copied_in_memory_are_those_copied_on_disk(tmp_path: Path) -> None:
    """Inside simstate.in_memory (a simulation), the template still boots to a store file
    and each copy's store is that file in memory: the same state, no file of its own."""
    lab = tmp_path / "lab"
    addresses = ["198.51.100.9/28"]
    on_disk = tmp_path / "on-disk"
    FreshRoot.boot(tmp_path / "template").copy(on_disk, "peer7", addresses)
    with simstate.in_memory(lab):
        template = FreshRoot.boot(lab / "template")
        assert (lab / "template" / simstate.SIM_DIR / simstate.STATE_FILE).exists()
        template.copy(lab / "copied", "peer7", addresses)
        assert not (lab / "copied" / simstate.SIM_DIR / simstate.STATE_FILE).exists()
        assert simstate.router_files(lab / "copied").in_memory
        assert sorted(p.name for p in (lab / "copied").rglob("*")) == [
            simstate.SIM_DIR, simstate.MEMORY_MARK]  # on disk: only what finds it in memory
        assert simstate.load(lab / "copied") == simstate.load(on_disk)
        assert _tree(lab / "copied") == _tree(on_disk)
        show = ["ifconfig", "em0"]
        assert SimHost(lab / "copied").run(show) == SimHost(on_disk).run(show)
