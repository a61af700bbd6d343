"""`peerops config check` (like sshd -t) and `peerops config sample`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet

TOP = Path(__file__).resolve().parent.parent


@pytest.fixture
def cfg(tmp_path: Path) -> AgentConfig:
    return build_demo_fleet(tmp_path / "fleet")["rtr1"]


def _check(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["config", "check", "-c", str(config), *extra])
    return code, capsys.readouterr().err


def _set(config: Path, line: str) -> None:
    key = line.split(":", 1)[0]
    text = config.read_text()
    pattern = rf"(?m)^{re.escape(key)}:.*$"
    config.write_text(re.sub(pattern, line, text) if re.search(pattern, text) else text + line
                      + "\n")


def test_a_working_configuration_passes_silently(
    cfg: AgentConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check(Path(cfg.source), capsys) == (0, "")


def test_every_problem_is_named_with_the_file_and_setting(
    cfg: AgentConfig, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = Path(cfg.source)
    (cfg.repo / "routers" / "rtr1.yaml").rename(tmp_path / "rtr1.yaml")
    config.chmod(0o666)
    _set(config, "trust: {require_signed: true, allowed_signers: /nonexistent/signers}")
    assert cfg.remote
    shutil.move(cfg.remote, tmp_path / "away.git")
    code, err = _check(config, capsys)
    assert code == 1
    lines = err.splitlines()
    assert all(line.startswith(f"peerops: {config}: ") for line in lines), err
    assert any("mode 0666: others may change" in line and "chmod 600" in line for line in lines)
    assert any("trust.allowed_signers: /nonexistent/signers: no such file" in ln for ln in lines)
    assert any("router: rtr1: no routers/rtr1.yaml in the checkout" in line for line in lines)
    assert any(re.search(r"remote: git ls-remote .* failed: fatal: ", ln) for ln in lines), err
    assert main(["config", "check", "--offline", "-c", str(config)]) == 1
    assert "ls-remote" not in capsys.readouterr().err


def test_host_kind_against_this_machine(
    cfg: AgentConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    config = Path(cfg.source)
    _set(config, "host: openbsd")
    _set(config, "root: /")
    code, err = _check(config, capsys, "--offline")
    assert code == 1 and "host: openbsd refuses to run on Linux" in err
    _set(config, "host: simulated")
    _set(config, f"root: {cfg.root.parent / 'nowhere'}")
    code, err = _check(config, capsys, "--offline")
    assert code == 1 and "is not a simulated router" in err


def test_credentials_must_be_root_only(
    cfg: AgentConfig, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    creds = tmp_path / "git-credentials"
    creds.write_text("https://bot:token@git.example.net\n")
    creds.chmod(0o644)
    config = Path(cfg.source)
    config.chmod(0o600)
    _set(config, f"git: {{http_credentials: {creds}}}")
    code, err = _check(config, capsys, "--offline")
    assert code == 1 and f"git.http_credentials: {creds}: mode 0644" in err
    creds.chmod(0o600)
    assert _check(config, capsys, "--offline") == (0, "")


def test_config_sample_prints_the_shipped_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "sample"]) == 0
    assert capsys.readouterr().out == (TOP / "packaging" / "peerops.yaml.sample").read_text()


def test_a_missing_file_points_at_init_and_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _check(tmp_path / "peerops.yaml", capsys)
    assert code == 1 and "peerops init" in err and "peerops config sample" in err
