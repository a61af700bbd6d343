"""`peerops facts`: the JSON contract from captured text or the host, parse errors by line,
and --capture for bug reports."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from agent import __version__
from agent.cli import main
from agent.config import AgentConfig
from agent.sim.host import SimHost
from tests.simfleet import clone

CAPTURES = Path(__file__).parent / "facts" / "captures"


def capture_text(name: str) -> str:
    """A shared capture without its console prompt line (`# ipsecctl -sa`, `$ ifconfig gre0`)."""
    return (CAPTURES / name).read_text().split("\n", 1)[1]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AgentConfig]:
    return clone(tmp_path_factory, tmp_path_factory.mktemp("facts") / "fleet")


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["facts", "--json", *argv]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_ipsecctl_capture_gives_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sa.txt"
    path.write_text(capture_text("A1_ipsecctl_sa.txt"))
    facts = run_json(capsys, "--ipsecctl", str(path))
    assert list(facts) == ["ipsec"]  # only the part that was given
    ipsec = facts["ipsec"]
    # A1: `flow esp in proto gre from 1.3.3.7 to 3.4.5.6 peer 1.3.3.7 srcid 3.4.5.6/32
    #      dstid 1.3.3.7/32 type use` and `esp transport from 1.3.3.7 to 3.4.5.6
    #      spi 0xdeadbeef auth hmac-sha1 enc aes`
    assert ipsec["flows"][0] == {
        "satype": "esp", "direction": "in", "proto": "gre", "src": "1.3.3.7", "src_port": None,
        "dst": "3.4.5.6", "dst_port": None, "local": None, "peer": "1.3.3.7",
        "srcid": "3.4.5.6/32", "dstid": "1.3.3.7/32", "type": "use",
    }
    assert [f["type"] for f in ipsec["flows"]] == ["use", "require"]
    assert ipsec["sas"][0] == {
        "satype": "esp", "mode": "transport", "src": "1.3.3.7", "dst": "3.4.5.6",
        "spi": "0xdeadbeef", "auth": "hmac-sha1", "enc": "aes", "comp": None,
    }


def test_ifconfig_from_stdin_gives_the_contract(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = capture_text("B1_ifconfig_gre0.txt").encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    facts = run_json(capsys, "--ifconfig", "-")
    assert list(facts) == ["interfaces"]
    (gre0,) = facts["interfaces"]
    # B1: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1476, index 22, groups: gre,
    # tunnel: inet6 2001:db8::a --> 2001:db9::d ttl 64 nodf ecn, two inet6 lines
    assert {k: gre0[k] for k in ("name", "flags", "up", "mtu", "index", "description", "groups",
                                 "keepalive", "status")} == {
        "name": "gre0", "flags": ["UP", "POINTOPOINT", "RUNNING", "MULTICAST"], "up": True,
        "mtu": 1476, "index": 22, "description": None, "groups": ["gre"], "keepalive": None,
        "status": None,
    }
    assert gre0["tunnel"] == {"family": "inet6", "src": "2001:db8::a", "dst": "2001:db9::d",
                              "ttl": 64, "df": False, "ecn": True}
    assert gre0["inet"] == []
    assert gre0["inet6"] == [
        {"address": "fe80::221:28ff:fef9:c1d8", "scope": "gre0", "dest": None, "prefixlen": 64,
         "flags": []},
        {"address": "fd42::", "scope": None, "dest": None, "prefixlen": 127, "flags": []},
    ]


@pytest.mark.parametrize(
    ("option", "text", "line"),
    [
        ("--ipsecctl", "FLOWS:\nflow esp sideways proto gre from 1.2.3.4 to 5.6.7.8\n", 2),
        ("--ifconfig", "gre0: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1400\n"
                       "\ttunnel: inet 192.0.2.1 ==> 192.0.2.2\n", 2),
        ("--ipsecctl", (CAPTURES / "A1_ipsecctl_sa.txt").read_text(), 1),  # prompt included
    ],
)
def test_garbage_is_a_parse_error_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, text: str, line: int
) -> None:
    path = tmp_path / "capture.txt"
    path.write_text(text)
    assert main(["facts", "--json", option, str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"peerops facts: parse error: {path}: line {line}: ")
    assert "Traceback" not in err


def test_unreadable_input_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["facts", "--ipsecctl", str(tmp_path / "missing.txt")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["facts", "--ipsecctl", "-", "--ifconfig", "-"]) == 1
    assert "only one of --ipsecctl and --ifconfig can read stdin" in capsys.readouterr().err


def test_host_facts_match_the_parsed_capture_of_the_same_host(
    fleet: dict[str, AgentConfig], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fleet["rtr1"].source
    live = run_json(capsys, "-c", config)
    names = [i["name"] for i in live["interfaces"]]
    assert names == ["gre0", "gre1", "gre2"]
    assert len(live["ipsec"]["flows"]) == 6
    target = tmp_path / "report"
    assert main(["facts", "--capture", str(target), "-c", config]) == 0
    capsys.readouterr()
    # a person sends DIR; `ifconfig -a` lists em0, lo0, ...: only the gre ones are kept
    parsed = run_json(capsys, "--ipsecctl", str(target / "ipsecctl-sa.txt"),
                      "--ifconfig", str(target / "ifconfig-a.txt"))
    assert parsed == live


def test_capture_saves_raw_outputs_version_and_manifest(
    fleet: dict[str, AgentConfig], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = fleet["rtr1"]
    target = tmp_path / "report"
    assert main(["facts", "--capture", str(target), "-c", cfg.source]) == 0
    host = SimHost(cfg.root)
    assert (target / "ipsecctl-sa.txt").read_text() == host.run(["ipsecctl", "-sa"]).stdout
    assert (target / "uname-a.txt").read_text() == "OpenBSD rtr1 7.7 GENERIC.MP#0 amd64\n"
    assert (target / "sysctl-net.inet.gre.allow.txt").read_text() == "net.inet.gre.allow=1\n"
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["peerops_version"] == __version__ and manifest["host"] == "simulated"
    commands = {c["name"]: c for c in manifest["commands"]}
    assert commands["ipsecctl-sa"]["argv"] == ["ipsecctl", "-sa"]
    # the simulator refuses kern.* (not modelled); the refusal is kept as evidence
    kern = commands["sysctl-kern.version"]
    assert kern["rc"] == 1 and "not simulated" in (target / kern["stderr"]).read_text()
    assert not list(target.glob("*.key"))
    capsys.readouterr()
    assert main(["facts", "--capture", str(target), "-c", cfg.source]) == 1  # never mixes
    assert "not empty" in capsys.readouterr().err
