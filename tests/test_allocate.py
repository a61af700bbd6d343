"""Interface allocation never renumbers an existing tunnel and never takes a foreign one."""

from __future__ import annotations

from agent.model import DEFAULT_CRYPTO, Identity, Ipv4Pair, Peering
from agent.router.allocate import allocate


def peering(name: str, interface: str | None = None) -> Peering:
    return Peering(
        router="rtr1",
        peer=name,
        asn=4242420000,
        internal=False,
        local_endpoint="192.0.2.1",
        remote_endpoint="198.51.100.1",
        local_id=Identity("ipv4", "192.0.2.1"),
        remote_id=Identity("ipv4", "198.51.100.1"),
        public_key="",
        crypto=DEFAULT_CRYPTO,
        interface=interface,
        mtu=1400,
        ipv4=Ipv4Pair(router="172.20.0.1", peer="172.20.0.2"),
        ipv6=None,
        description=None,
        source="x",
    )


def test_fresh_router_gets_lowest_units_in_peer_order() -> None:
    result, errors = allocate([peering("bob"), peering("alice")], {}, {}, ())
    assert result == {"alice": "gre0", "bob": "gre1"}
    assert errors == {}


def test_adding_a_peer_that_sorts_first_does_not_renumber_others() -> None:
    recorded = {"bob": "gre0", "carol": "gre1"}
    result, _ = allocate([peering("alice"), peering("bob"), peering("carol")], recorded, {}, ())
    assert result == {"alice": "gre2", "bob": "gre0", "carol": "gre1"}


def test_removed_peer_frees_its_unit_without_moving_others() -> None:
    recorded = {"alice": "gre0", "bob": "gre1", "carol": "gre2"}
    result, _ = allocate([peering("alice"), peering("carol")], recorded, {}, ())
    assert result == {"alice": "gre0", "carol": "gre2"}


def test_unmanaged_live_interfaces_are_skipped() -> None:
    result, _ = allocate([peering("alice")], {}, {"gre0": None, "gre1": None}, ())
    assert result == {"alice": "gre2"}


def test_lost_record_is_recovered_from_owned_interfaces() -> None:
    result, _ = allocate([peering("alice"), peering("bob")], {}, {"gre7": "bob"}, ())
    assert result == {"alice": "gre0", "bob": "gre7"}


def test_explicit_interface_on_a_foreign_tunnel_is_an_error_for_that_peer_only() -> None:
    result, errors = allocate([peering("alice", "gre3"), peering("bob")], {}, {"gre3": None}, ())
    assert "alice" not in result
    assert "gre3 exists and is not managed by peerops" in errors["alice"]
    assert result == {"bob": "gre0"}


def test_explicit_interface_wins_over_a_recorded_one() -> None:
    recorded = {"bob": "gre1"}
    result, _ = allocate([peering("alice", "gre1"), peering("bob")], recorded, {"gre1": "bob"}, ())
    assert result["alice"] == "gre1"
    assert result["bob"] == "gre0"
