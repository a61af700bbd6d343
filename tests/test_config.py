"""The agent's configuration file: defaults, relative paths, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError

SAMPLE = Path(__file__).resolve().parent.parent / "packaging" / "peerops.yaml.sample"


def test_sample_config_loads() -> None:
    cfg = load_config(SAMPLE)
    assert cfg.router == "rtr1" and cfg.remote == "https://git.example.net/dn42/peerings.git"
    # nothing in the sample names a file that a fresh install lacks (config check passes)
    assert cfg.schedule.interval == 300 and cfg.trust.allowed_signers is None
    assert cfg.lock_path == Path("/var/db/peerops/state/peerops.lock")
    assert cfg.safety.confirm_within == 300  # the suggested value; the default is off


def test_relative_paths_follow_the_file(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "router: rtr1\nrepo: repo\nremote: ../remote.git\nhost: openbsd\n"
    )
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.repo == tmp_path / "repo" and cfg.remote == str(tmp_path.parent / "remote.git")
    assert cfg.host == "openbsd" and cfg.root == Path("/")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("router: rtr1\n", "repo: required"),
        ("router: RTR 1\nrepo: r\n", "is not a router name"),
        ('router: "rtr1\\n"\nrepo: r\nhost: simulated\n', "is not a router name"),
        ("router: 12\nrepo: r\nhost: simulated\n", "is not a router name"),
        ("router: rtr1\nrepo: r\nhost: linux\n", "host: required, one of openbsd, simulated"),
        ("router: rtr1\nrepo: r\n", "host: required"),
        ("router: rtr1\nrepo: r\nhost: openbsd\nroot: /tmp/x\n", "a real router's root is /"),
        (
            "router: rtr1\nrepo: r\nhost: simulated\nsafety: {max_removals: 1.5}\n",
            "safety.max_removals: must be a whole number",
        ),
        (
            "router: rtr1\nrepo: r\nhost: simulated\nsafety: {max_removals: '150%'}\n",
            "safety.max_removals: must be a whole number",
        ),
        (
            "router: rtr1\nrepo: r\nhost: simulated\nsafety: {allow_removals: true}\n",
            "safety.allow_removals: must be a whole number",
        ),
        (
            "router: rtr1\nrepo: r\nhost: simulated\npolicy: {min_crypto: weak}\n",
            "policy.min_crypto: must be one of default, legacy",
        ),
        (
            "router: rtr1\nrepo: r\nhost: simulated\nschedule: {intervall: 5}\n",
            "unknown setting(s): schedule.intervall",
        ),
        (
            "router: rtr1\nrepo: r\nhost: simulated\ntrust: {require_signed: 'yes'}\n",
            "trust.require_signed: must be",
        ),
        (
            "router: rtr1\nrepo: r\nhost: simulated\nschedule: {interval: -1}\n",
            "schedule.interval: must be",
        ),
        (
            "router: rtr1\nrepo: r\nhost: simulated\nsafety: {confirm_within: 300}\n",
            "safety.confirm_within: needs a remote",
        ),
        (
            "router: rtr1\nrepo: r\nhost: simulated\nremote: x\nsafety: {confirm_within: soon}\n",
            "safety.confirm_within: must be a non-negative number",
        ),
        ("router: [\n", "not valid YAML"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(tmp_path / "c.yaml")
