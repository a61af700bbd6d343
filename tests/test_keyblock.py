"""Keys in state files are clean PEM literal blocks that the real openssl reads."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from agent.lab.demo import build_demo_fleet
from agent.repo.keyblock import set_key_block
from tests.conftest import EXAMPLE_STATE
from tests.gitkit import maintainer_clone


def openssl_reads(pem: str) -> bool:
    done = subprocess.run(
        ["openssl", "pkey", "-pubin", "-noout"], input=pem.encode(), capture_output=True,
        check=False,
    )  # fmt: skip
    return done.returncode == 0


def assert_clean(path: Path) -> None:
    text = path.read_text()
    assert "public_key: |\n  -----BEGIN PUBLIC KEY-----\n" in text, text
    pem = yaml.safe_load(text)["public_key"]
    assert openssl_reads(pem), path


@pytest.mark.parametrize("name", ["rtr1", "rtr2"])
def test_example_router_keys_are_literal_blocks_openssl_reads(name: str) -> None:
    assert_clean(EXAMPLE_STATE / "routers" / f"{name}.yaml")


def test_the_demo_writes_router_keys_as_literal_blocks_and_keeps_comments(
    tmp_path: Path,
) -> None:
    build_demo_fleet(tmp_path)
    work = maintainer_clone(tmp_path / "remote.git", tmp_path / "work")
    for name in ("rtr1", "rtr2"):
        path = work / "routers" / f"{name}.yaml"
        assert_clean(path)
        original = (EXAMPLE_STATE / "routers" / f"{name}.yaml").read_text()
        comments = [li for li in original.splitlines() if li.startswith("#")]
        assert [li for li in path.read_text().splitlines() if li.startswith("#")] == comments


def test_a_quoted_key_is_replaced_by_a_block(tmp_path: Path) -> None:
    pem = yaml.safe_load((EXAMPLE_STATE / "routers/rtr1.yaml").read_text())["public_key"]
    text = f"name: r\npublic_key: {yaml.safe_dump(pem).strip()}\nasn: 1\n"
    fixed = set_key_block(text, pem)
    assert fixed.startswith("name: r\npublic_key: |\n  -----BEGIN") and fixed.endswith("asn: 1\n")
    assert yaml.safe_load(fixed)["public_key"] == pem
