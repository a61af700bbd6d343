"""The outside peer's path: `peer new` writes the file, the router applies it, and the peer's
own simulated OpenBSD router, set up only from `peer config`, brings the link up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agent.config import AgentConfig
from agent.lab.demo import build_demo_fleet
from agent.lab.peer_router import apply_export, provision_peer
from agent.repo.source import GitSource
from agent.run.converge import apply_router, plan_router
from agent.sim.host import SimHost
from tests.gitkit import commit_all, maintainer_clone, push

ERIN = "198.51.100.50"


def peerops(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        input=stdin,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """rtr1 and rtr2 converged; erin onboarded by peer new, checked by check-pr, merged,
    erin's router configured from peer config, then each router's `peerops run` (twice on
    rtr1)."""
    base = tmp_path_factory.mktemp("fleet")
    configs = build_demo_fleet(base)
    for cfg in configs.values():  # the fleet in service, converged before the pull request
        apply_router(cfg)
    erin_root = base / "erin" / "root"
    erin_pub = provision_peer(erin_root, "erin", ERIN, base / "fleet.json")
    key = base / "erin.pub"
    key.write_text(erin_pub)
    work = maintainer_clone(base / "remote.git", base / "work")
    new = peerops(
        "peer", "new", "--repo", str(work), "--router", "rtr1", "--name", "erin",
        "--asn", "4242421999", "--endpoint", ERIN, "--key", str(key),
    )  # fmt: skip
    assert new.returncode == 0, new.stdout + new.stderr
    commit_all(work, "peer erin")
    review = peerops("check-pr", "--base", "origin/main", "--format", "markdown", str(work))
    assert review.returncode == 0, review.stdout + review.stderr  # the reviewer's check passes
    assert "| rtr1/erin | added |" in review.stdout
    push(work)  # merged
    # erin sets up her side from the merged repo, then each router's scheduled `peerops run`
    # pulls, applies, verifies (erin's link among them) and pushes its status report.
    exported = peerops("peer", "config", "rtr1/erin", "--repo", str(work))
    assert exported.returncode == 0, exported.stderr
    apply_export(erin_root, exported.stdout)
    reports = {}
    for name, cfg in configs.items():
        run = peerops("run", "--json", "-c", cfg.source)
        # Puppet-style: 2 = changed and healthy (rtr1 adds erin), 0 = nothing to do (rtr2).
        assert run.returncode == (2 if name == "rtr1" else 0), run.stdout + run.stderr
        reports[name] = json.loads(run.stdout)
    again = peerops("run", "--json", "-c", configs["rtr1"].source)
    assert again.returncode == 0, again.stdout + again.stderr  # the second run does nothing
    return {"rtr1": configs["rtr1"], "erin": erin_root, "work": work,
            "text": exported.stdout, "report": reports["rtr1"], "again": json.loads(again.stdout)}


def test_peer_new_writes_a_commented_file_with_pool_addresses(onboarded: dict) -> None:
    text = (onboarded["work"] / "peers/rtr1/erin.yaml").read_text()  # type: ignore[operator]
    doc = yaml.safe_load(text)
    # rtr1's pool 172.20.1.0/26 minus alice's .1/.2; fd42:4242:1::/64 is unused.
    assert doc["gre"]["ipv4"] == {"router": "172.20.1.4", "peer": "172.20.1.5"}
    assert doc["gre"]["ipv6"] == {"router": "fd42:4242:1::", "peer": "fd42:4242:1::1"}
    assert "interface" not in doc["gre"]  # left to the allocator
    assert doc["public_key"].startswith("-----BEGIN PUBLIC KEY-----\n")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../../schema/peer.schema.json"
    for field in ("name:", "asn:", "endpoint:", "public_key:", "gre:"):
        line = next(li for li in text.splitlines() if li.startswith(field))
        assert "# " in line, f"{field} has no comment"


def test_the_link_comes_up_against_the_peer_router_built_from_peer_config(
    onboarded: dict,
) -> None:
    rtr1: AgentConfig = onboarded["rtr1"]  # type: ignore[assignment]
    outcome = plan_router(rtr1)
    health = {h.peer: h for h in outcome.health}
    assert health["erin"].state == "up", health["erin"]
    assert outcome.plan == []  # converged: the second look plans nothing
    erin = SimHost(onboarded["erin"])  # type: ignore[arg-type]
    flows = erin.run(["ipsecctl", "-s", "flow"]).stdout
    assert "proto gre" in flows and "192.0.2.1" in flows
    assert "inet 172.20.1.5 --> 172.20.1.4" in erin.run(["ifconfig", "gre0"]).stdout
    ping = erin.run(["ping", "-c", "1", "172.20.1.4"])
    assert ping.rc == 0, ping.stdout + ping.stderr
    back = SimHost(rtr1.root).run(["ping", "-c", "1", "172.20.1.5"])  # and rtr1 reaches erin
    assert back.rc == 0, back.stdout + back.stderr


def test_the_routers_run_reports_the_new_link_up_and_the_next_run_does_nothing(
    onboarded: dict,
) -> None:
    report, again = onboarded["report"], onboarded["again"]
    states = {p["peer"]: p["state"] for p in report["peers"]}
    assert states["erin"] == "up" and set(states.values()) == {"up"}, states
    assert report["result"] == "changed" and report["commit"] == again["commit"]
    assert again["result"] == "converged" and again["changes"] == [], again["changes"]


def test_the_export_names_the_key_path_and_mirrors_the_rule(onboarded: dict) -> None:
    text: str = onboarded["text"]  # type: ignore[assignment]
    assert "==> /etc/isakmpd/pubkeys/ipv4/192.0.2.1 (create, mode 0644) <==" in text
    assert "from 198.51.100.50 to 192.0.2.1 peer 192.0.2.1" in text
    assert "inet 172.20.1.5 255.255.255.255\ndest 172.20.1.4" in text
    assert "inet6 fd42:4242:1::1 127" in text


def test_a_peer_router_that_skips_the_key_stays_down(tmp_path: Path) -> None:
    """The export is what is tested: without the key file it tells the peer to install, the
    peer cannot verify us and the link stays down."""
    configs = build_demo_fleet(tmp_path)
    rtr1 = configs["rtr1"]
    alice_root = tmp_path / "alice" / "root"
    provision_peer(alice_root, "alice", "198.51.100.7", tmp_path / "fleet.json")
    # alice's key in the repo must be her router's: swap it in the remote.
    work = maintainer_clone(tmp_path / "remote.git", tmp_path / "work")
    pem = SimHost(alice_root).read_file("/etc/isakmpd/local.pub")
    assert pem is not None
    doc = (work / "peers/rtr1/alice.yaml").read_text()
    start, end = doc.index("public_key: |\n"), doc.index("gre:\n")
    indented = "".join(f"  {li}\n" for li in pem.decode().splitlines())
    (work / "peers/rtr1/alice.yaml").write_text(
        doc[:start] + "public_key: |\n" + indented + doc[end:]
    )
    commit_all(work, "alice's real key")
    push(work)
    GitSource(rtr1).sync()
    apply_router(rtr1)
    text = peerops("peer", "config", "rtr1/alice", "--repo", str(rtr1.repo)).stdout
    # The peer installs our key under a wrong name: isakmpd finds no key for our ID.
    apply_export(alice_root, text.replace("/etc/isakmpd/pubkeys/ipv4/192.0.2.1", "/etc/unused"))
    assert {h.peer: h.state for h in plan_router(rtr1).health}["alice"] != "up"
    apply_export(alice_root, text)
    assert {h.peer: h.state for h in plan_router(rtr1).health}["alice"] == "up"


def test_peer_new_refuses_bad_values_and_writes_nothing(state_copy: Path, tmp_path: Path) -> None:
    key = tmp_path / "k.pub"
    alice = yaml.safe_load((state_copy / "peers/rtr1/alice.yaml").read_text())
    key.write_text(alice["public_key"])
    base = ["peer", "new", "--repo", str(state_copy), "--router", "rtr1", "--asn", "4242421999",
            "--key", str(key)]  # fmt: skip
    bad_name = peerops(*base, "--name", "../../etc", "--endpoint", "198.51.100.60")
    assert bad_name.returncode == 1 and "--name" in bad_name.stderr
    taken = peerops(*base, "--name", "erin", "--endpoint", "198.51.100.7")  # alice's endpoint
    assert taken.returncode == 1 and "endpoint 198.51.100.7 is also used by alice" in taken.stdout
    assert not (state_copy / "peers/rtr1/erin.yaml").exists()
    assert sorted(p.name for p in (state_copy / "peers/rtr1").iterdir()) == [
        "alice.yaml", "bob.yaml", "rtr2.yaml"
    ]  # fmt: skip


def test_internal_link_has_no_peer_config(state_copy: Path) -> None:
    result = peerops("peer", "config", "rtr1/rtr2", "--repo", str(state_copy))
    assert result.returncode == 1 and "internal link" in result.stderr


def test_strongswan_proposals_follow_the_resolved_crypto() -> None:
    from agent.model import Phase
    from agent.peer.mirror import PeerConfigError
    from agent.peer.strongswan import proposal

    assert proposal(Phase("hmac-sha2-256", "aes-128", "modp3072", 3600)) == "aes128-sha256-modp3072"
    assert proposal(Phase(None, "aes-256-gcm", "none", 3600)) == "aes256gcm16"  # AEAD, no PFS
    assert proposal(Phase("hmac-sha1", "aes", "bp256", 60)) == "aes128-sha1-ecp256bp"
    with pytest.raises(PeerConfigError, match="hmac-ripemd160"):
        proposal(Phase("hmac-ripemd160", "aes-256", "modp2048", 3600))


def test_strongswan_export_for_an_ipv6_peer(state_copy: Path) -> None:
    result = peerops("peer", "config", "rtr1/bob", "--repo", str(state_copy), "--format",
                     "strongswan")  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "local_addrs = 2001:db8:b0b::7\n" in text and "remote_addrs = 2001:db8:1::1\n" in text
    assert "esp_proposals = aes128-sha256-modp3072\n" in text  # bob's quick override
    assert "mode = transport" in text and "local_ts = dynamic[gre]" in text
    assert "ip -6 tunnel add gre-rtr1 mode ip6gre local 2001:db8:b0b::7 remote 2001:db8:1::1" in (
        text
    )
    assert "ip -6 addr add fd42:4242:b0b::1/127 dev gre-rtr1" in text


def test_an_exported_text_is_applied_in_order_files_then_commands(tmp_path: Path) -> None:
    """apply_export: created files with their modes (root:wheel), appends onto the router's
    file and onto what the text wrote before, then the commands; a failing command is named
    and the files before it are written."""
    from agent.lab.peer_router import PeerSetupError
    from agent.sim.cli import init_root

    root = tmp_path / "peer"
    init_root(root, "peer", ["198.51.100.9"])
    host = SimHost(root)
    host.write_file("/etc/sysctl.conf", b"ddb.panic=0\n", mode=0o644)
    text = (
        "# a comment for the reader\n"
        "==> /etc/hostname.gre0 (create, mode 0640) <==\nup\n\n"
        "==> /etc/sysctl.conf (append) <==\nnet.inet.gre.allow=1\n\n"
        "==> /etc/sysctl.conf (append) <==\nnet.inet.esp.enable=1\n\n"
        "==> commands <==\nsysctl net.inet.gre.allow=1\nrcctl start nosuchd\n"
    )
    with pytest.raises(PeerSetupError, match=r"\Arcctl start nosuchd: exit 2: "):
        apply_export(root, text)
    assert host.read_file("/etc/sysctl.conf") == (
        b"ddb.panic=0\nnet.inet.gre.allow=1\nnet.inet.esp.enable=1\n")
    gre = host.stat("/etc/hostname.gre0")
    assert gre is not None and (gre.mode, gre.uid, gre.gid) == (0o640, 0, 0)
    assert host.read_file("/etc/hostname.gre0") == b"up\n"
    assert host.run(["sysctl", "net.inet.gre.allow"]).stdout == "net.inet.gre.allow=1\n"
