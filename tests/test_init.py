"""`peerops init` against a local bare repo on a simulated root, then a working `peerops run`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from agent.cli import main
from agent.lab.demo import build_demo_fleet
from agent.sim.cli import init_root
from agent.sim.host import SimHost
from tests.gitkit import git

TOP = Path(__file__).resolve().parent.parent


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """The demo fleet's bare state repo (routers rtr1, rtr2; peers alice, bob, carol)."""
    cfg = build_demo_fleet(tmp_path / "fleet")["rtr1"]
    assert cfg.remote
    return Path(cfg.remote)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A freshly installed simulated router with rtr1's public addresses and no keys."""
    path = tmp_path / "rtr1"
    init_root(path, "rtr1", ["192.0.2.1/24", "2001:db8:1::1/64"])
    return path


def _init(remote: Path, root: Path, *extra: str) -> int:
    return main(["init", "--remote", str(remote), "--router", "rtr1", "--root", str(root),
                 *extra])


def test_init_then_run_converges(
    remote: Path, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = root / "etc" / "peerops.yaml"
    # as pkg_add leaves it: the untouched sample, which init replaces
    config.write_text((TOP / "packaging" / "peerops.yaml.sample").read_text())
    assert _init(remote, root, "--generate-key") == 0
    out = capsys.readouterr().out
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    settings = yaml.safe_load(config.read_text())
    assert settings["router"] == "rtr1" and settings["remote"] == str(remote)
    assert settings["host"] == "simulated" and settings["root"] == str(root)
    assert "# /etc/peerops.yaml: the peerops agent's configuration." in config.read_text()
    host = SimHost(root)
    pub = host.read_file("/etc/isakmpd/local.pub")
    assert pub and host.read_file("/etc/isakmpd/private/local.key")
    # the public key is on the status branch for the peers, and shown for routers/rtr1.yaml
    assert git(remote, "show", "status:keys/rtr1.pub") == pub.decode().strip()
    assert "routers/rtr1.yaml public_key differs" in out
    # a plan, not an apply: nothing of the router's config is written yet
    assert "nothing was applied" in out and "sh /etc/netstart gre0" in out
    assert host.read_file("/etc/ipsec.conf") is None
    assert "rcctl enable peerops" in out and "rcctl start peerops" in out
    assert main(["config", "check", "-c", str(config)]) == 0
    assert main(["run", "-c", str(config)]) == 2  # changes applied
    assert host.read_file("/etc/ipsec.conf") is not None
    assert main(["run", "-c", str(config)]) == 0  # the second run plans nothing


def test_init_keeps_an_existing_configuration(
    remote: Path, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = root / "etc" / "peerops.yaml"
    config.write_text("# mine\n")
    assert _init(remote, root, "--generate-key") == 1
    assert config.read_text() == "# mine\n"
    assert "--force" in capsys.readouterr().err


def test_init_stops_at_the_first_failing_step(
    remote: Path, root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _init(tmp_path / "nowhere.git", root) == 1
    assert "cannot clone" in capsys.readouterr().err
    assert main(["init", "--remote", str(remote), "--router", "rtr9", "--root", str(root),
                 "--force"]) == 1
    assert "no routers/rtr9.yaml" in capsys.readouterr().err
    assert _init(remote, root, "--force") == 1  # no key pair, and not asked to make one
    err = capsys.readouterr().err
    assert "--generate-key" in err
    assert SimHost(root).read_file("/etc/isakmpd/local.pub") is None
    assert "keys/rtr1.pub" not in git(remote, "ls-tree", "-r", "--name-only", "main")
