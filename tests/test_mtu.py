"""The tunnel MTU fits ESP: the default shrinks where a proposal needs it, and a written MTU
that cannot fit a 1500-byte path is refused at its line."""

from __future__ import annotations

from pathlib import Path

from agent.esp import tunnel_mtu_limit
from agent.repo.inventory import load_inventory
from tests.conftest import edit

BOB = "peers/rtr1/bob.yaml"
STRONG = "quick: {enc: aes-256, auth: hmac-sha2-512, group: modp3072}"


def _mtus(repo: Path) -> dict[tuple[str, str], int]:
    inventory, problems = load_inventory(repo)
    assert inventory is not None, problems
    return {(r, p.peer): p.mtu for r, ps in inventory.peerings.items() for p in ps}


def test_limits_follow_esp_output() -> None:
    assert tunnel_mtu_limit(4, "aes-128", "hmac-sha2-256") == 1418  # IPv4 + NAT-T
    assert tunnel_mtu_limit(6, "aes-128", "hmac-sha2-256") == 1402
    assert tunnel_mtu_limit(6, "aes-256", "hmac-sha2-512") == 1386
    assert tunnel_mtu_limit(4, "chacha20-poly1305", None) is None  # sizes unknown


def test_default_is_1400_or_what_the_proposal_fits(state_copy: Path) -> None:
    edit(state_copy / BOB, "quick: {enc: aes-128, group: modp3072}", STRONG)
    inventory, problems = load_inventory(state_copy)  # rtr1's explicit 1400 does not fit
    assert inventory is None
    assert [(p.file, p.field) for p in problems] == [(BOB, "gre")]
    assert "mtu 1400 (gre.mtu of routers/rtr1.yaml) does not fit" in problems[0].message
    edit(state_copy / "routers/rtr1.yaml", "gre:\n  mtu: 1400\n", "")
    mtus = _mtus(state_copy)
    assert mtus[("rtr1", "alice")] == 1400
    assert mtus[("rtr1", "bob")] == 1386  # hmac-sha2-512 over IPv6


def test_a_written_mtu_that_cannot_fit_is_refused_at_its_line(state_copy: Path) -> None:
    edit(state_copy / "routers/rtr1.yaml", "gre:\n  mtu: 1400\n", "")
    edit(state_copy / BOB, "quick: {enc: aes-128, group: modp3072}", STRONG)
    desc = "  description: dn42 peer bob"
    edit(state_copy / BOB, desc, f"{desc}\n  mtu: 1387")
    inventory, problems = load_inventory(state_copy)
    assert inventory is None
    (problem,) = problems
    text = str(problem)
    assert text.startswith(f"{BOB}:") and "gre.mtu" in text
    assert "mtu 1387 does not fit" in text and "use 1386 or less" in text
    edit(state_copy / BOB, "  mtu: 1387", "  mtu: 1386")
    assert _mtus(state_copy)[("rtr1", "bob")] == 1386
