"""agent.sim.ike: flows and SAs between simulated routers and external peers."""

from __future__ import annotations

import re
from pathlib import Path

from agent.sim import ike
from sim.fleetkit import LOCAL_KEY, LOCAL_PUB, FleetBuilder, Router, gre_rule

A, B = "192.0.2.1", "198.51.100.7"
NAME_A = f"from-{A}=47-to-{B}=47"
SPI = re.compile(r" spi 0x([0-9a-f]{8})( |$)")


def show(router: Router, *flags: str) -> str:
    result = router.run("ipsecctl", *(flags or ("-sa",)))
    assert (result.rc, result.stderr) == (0, "")
    return result.stdout


def status(router: Router) -> dict[str, str]:
    return ike.observe(router.host.root, router.state()).status


def spis(text: str) -> list[int]:
    return [int(m.group(1), 16) for m in SPI.finditer(text)]


def sa_lines(text: str) -> list[str]:
    return text.split("SAD:\n", 1)[1].splitlines()


def test_pair_comes_up_with_the_a1_line_formats(fleet: FleetBuilder) -> None:
    a, b = fleet.pair(A, B)
    out_a, out_b = show(a), show(b)
    flows_a = out_a.split("\n\nSAD:\n")[0].splitlines()
    assert flows_a == [
        "FLOWS:",
        f"flow esp in proto gre from {B} to {A} peer {B} srcid {A}/32 dstid {B}/32 type require",
        f"flow esp out proto gre from {A} to {B} peer {B} srcid {A}/32 dstid {B}/32 type require",
    ]
    flows_b = out_b.split("\n\nSAD:\n")[0].splitlines()
    assert flows_b[1] == (
        f"flow esp in proto gre from {A} to {B} peer {A} srcid {B}/32 dstid {A}/32 type require"
    )
    # both ends hold the same two SAs, sorted by SPI
    assert sa_lines(out_a) == sa_lines(out_b)
    found = sa_lines(out_a)
    assert len(found) == 2 and spis(out_a) == sorted(spis(out_a))
    expected = {f"esp transport from {A} to {B}", f"esp transport from {B} to {A}"}
    assert {line.split(" spi ")[0] for line in found} == expected
    assert all(line.endswith(" auth hmac-sha2-256 enc aes-256") for line in found)
    assert show(a) == out_a  # stable until something restarts
    assert show(a, "-sf") == "\n".join(flows_a[1:]) + "\n"
    assert show(a, "-ss") == "\n".join(found) + "\n"
    assert status(a) == {NAME_A: "up"}


def test_restart_forgets_rules_and_changes_spis(fleet: FleetBuilder) -> None:
    a, b = fleet.pair(A, B)
    before = spis(show(a))
    b.stop_isakmpd()
    assert show(a) == show(b) == "FLOWS:\nNo flows\n\nSAD:\nNo entries\n"
    assert status(a) == {NAME_A: f"no router of the fleet holds the mirror of {NAME_A}"}
    assert b.start_isakmpd()
    assert sa_lines(show(a)) == ["No entries"]  # the restarted isakmpd has no rules
    assert b.run("ipsecctl", "-f", "/etc/ipsec.conf").rc == 0
    after = spis(show(a))
    assert len(after) == 2 and set(after).isdisjoint(before)
    assert sa_lines(show(a)) == sa_lines(show(b))


def test_flush_renegotiates_with_new_spis(fleet: FleetBuilder) -> None:
    a, b = fleet.pair(A, B)
    before = spis(show(a))
    flushed = a.run("ipsecctl", "-F", "-sa")
    assert flushed.stdout == "FLOWS:\nNo flows\n\nSAD:\nNo entries\n"
    after = spis(show(a))
    assert len(after) == 2 and set(after).isdisjoint(before)
    assert spis(show(b)) == after


def test_delete_on_one_side_takes_the_sas_down_on_both(fleet: FleetBuilder) -> None:
    a, b = fleet.pair(A, B)
    assert a.run("ipsecctl", "-d", "-f", "/etc/ipsec.conf").rc == 0
    assert sa_lines(show(a)) == sa_lines(show(b)) == ["No entries"]
    assert status(b) == {
        f"from-{B}=47-to-{A}=47": f"no router of the fleet holds the mirror of "
        f"from-{B}=47-to-{A}=47"
    }


def test_the_mirror_is_the_connection_with_the_swapped_ids(fleet: FleetBuilder) -> None:
    """Of two connections of B between the same two addresses, only the one whose IDs are A's
    swapped (proto gre) mirrors A's; B's udp one (first by name) has no mirror."""
    a, b = fleet.pair(A, B)
    udp = gre_rule(B, A).replace("proto gre", "proto udp")
    assert b.load(udp + gre_rule(B, A)).rc == 0
    assert status(a) == {NAME_A: "up"}
    udp_name = f"from-{B}=17-to-{A}=17"
    assert status(b) == {
        udp_name: f"no router of the fleet holds the mirror of {udp_name}",
        f"from-{B}=47-to-{A}=47": "up",
    }
    assert "proto udp" not in show(a) and "proto udp" not in show(b)


def test_missing_or_wrong_public_key(fleet: FleetBuilder) -> None:
    a, b = fleet.pair(A, B)
    b.host.remove_file(f"/etc/isakmpd/pubkeys/ipv4/{A}")
    assert sa_lines(show(a)) == ["No entries"]
    assert status(a)[NAME_A].endswith(f"no RSA public key in /etc/isakmpd/pubkeys/ipv4/{A}")
    b.trust(a, key=fleet.keys[3].public)  # somebody else's key
    assert sa_lines(show(a)) == ["No entries"]
    assert "is not the key of rtr-a" in status(a)[NAME_A]
    b.write(
        f"/etc/isakmpd/pubkeys/ipv4/{A}",
        a.key.public.decode().replace("BEGIN PUBLIC KEY", "BEGIN RSA PUBLIC KEY").encode(),
        mode=0o644,
    )
    assert sa_lines(show(a)) == ["No entries"]  # not PKCS#1 data under a PKCS#1 header
    b.trust(a)
    assert len(sa_lines(show(a))) == 2


def test_pkcs1_public_key_file_is_accepted(fleet: FleetBuilder) -> None:
    from cryptography.hazmat.primitives import serialization

    a, b = fleet.pair(A, B)
    key = serialization.load_pem_public_key(a.key.public)
    pkcs1 = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    b.trust(a, key=pkcs1)  # "BEGIN RSA PUBLIC KEY": PEM_read_RSAPublicKey
    assert status(a) == {NAME_A: "up"}


def test_private_key_secrecy_decides_authentication(fleet: FleetBuilder) -> None:
    a, b = fleet.pair(A, B)
    a.write(LOCAL_KEY, a.key.private, mode=0o640)
    assert sa_lines(show(b)) == ["No entries"]
    assert status(a)[NAME_A].endswith(f"not loading {LOCAL_KEY} - too open permissions")
    a.write(LOCAL_KEY, a.key.private, mode=0o600, uid=1000)
    assert status(a)[NAME_A].endswith(f"not loading {LOCAL_KEY} - file owner is not process user")
    a.write(LOCAL_KEY, b"not a key\n", mode=0o600)
    assert "not an RSA private key" in status(a)[NAME_A]
    a.write(LOCAL_KEY, a.key.private, mode=0o600)
    assert status(a) == {NAME_A: "up"}


def test_proposals_must_match(fleet: FleetBuilder) -> None:
    a = fleet.router("rtr-a", A)
    b = fleet.router("rtr-b", B)
    a.trust(b)
    b.trust(a)
    assert a.load(gre_rule(A, B)).rc == 0
    quick = "quick auth hmac-sha2-256 enc aes-128 group modp2048"
    assert b.load(gre_rule(B, A, quick=quick)).rc == 0
    assert sa_lines(show(a)) == ["No entries"]
    assert "no acceptable phase 2 proposal" in status(a)[NAME_A]
    main = "main auth hmac-sha1 enc aes-256 group modp2048"
    assert b.load(gre_rule(B, A, main=main)).rc == 0
    # phase 1 transforms are `C add`-ed (parse.y: "Transforms have ADD insted of SET"), so
    # the old matching one is still there until isakmpd restarts
    assert status(a) == {NAME_A: "up"}
    b.stop_isakmpd()
    assert b.start_isakmpd()
    assert b.run("ipsecctl", "-f", "/etc/ipsec.conf").rc == 0
    assert "no acceptable phase 1 proposal" in status(a)[NAME_A]


def test_enc_names_as_pfkdump_prints_them(fleet: FleetBuilder) -> None:
    a = fleet.router("rtr-a", A)
    b = fleet.router("rtr-b", B)
    a.trust(b)
    b.trust(a)
    for enc, shown in (
        ("aes-128", "auth hmac-sha1 enc aes"),
        ("aes", "auth hmac-sha1 enc aes"),
        ("3des", "auth hmac-sha1 enc 3des-cbc"),
        ("aes-192-ctr", "auth hmac-sha1 enc aes-192-ctr"),
    ):
        quick = f"quick auth hmac-sha1 enc {enc} group modp2048"
        assert a.load(gre_rule(A, B, quick=quick)).rc == 0
        assert b.load(gre_rule(B, A, quick=quick)).rc == 0
        assert all(line.endswith(shown) for line in sa_lines(show(a))), enc
    gcm = "quick enc aes-256-gcm group modp2048"
    assert a.load(gre_rule(A, B, quick=gcm)).rc == 0
    assert b.load(gre_rule(B, A, quick=gcm)).rc == 0
    assert all(
        line.endswith(" enc aes-256-gcm") and " auth " not in line for line in sa_lines(show(a))
    )


def test_ah_and_show_keys(fleet: FleetBuilder) -> None:
    a = fleet.router("rtr-a", A)
    b = fleet.router("rtr-b", B)
    a.trust(b)
    b.trust(a)
    assert a.load(f"ike ah transport proto gre from {A} to {B}\n").rc == 0
    assert b.load(f"ike ah transport proto gre from {B} to {A}\n").rc == 0
    lines = sa_lines(show(a))
    assert all(
        re.fullmatch(r"ah transport from \S+ to \S+ spi 0x[0-9a-f]{8} auth hmac-sha2-256", line)
        for line in lines
    )
    assert show(a, "-sf").startswith(f"flow ah in proto gre from {B} to {A} peer {B} ")
    assert a.load(gre_rule(A, B)).rc == 0
    assert b.load(gre_rule(B, A)).rc == 0
    keyed = show(a, "-k", "-ss")
    assert re.fullmatch(
        r"(esp transport from \S+ to \S+ spi 0x[0-9a-f]{8} auth hmac-sha2-256 enc aes-256 \\\n"
        r"\tauthkey 0x[0-9a-f]{64} \\\n\tenckey 0x[0-9a-f]{64}\n){2}",
        keyed,
    )


def test_one_passive_end_is_enough_both_passive_is_not(fleet: FleetBuilder) -> None:
    a = fleet.router("rtr-a", A)
    b = fleet.router("rtr-b", B)
    a.trust(b)
    b.trust(a)
    assert a.load(gre_rule(A, B).replace("ike active", "ike passive")).rc == 0
    assert b.load(gre_rule(B, A)).rc == 0
    assert status(a) == {NAME_A: "up"}
    assert b.load(gre_rule(B, A).replace("ike active", "ike passive")).rc == 0
    # -f adds the name to Passive-Connections but never removes it from Connections
    assert status(a) == {NAME_A: "up"}
    b.stop_isakmpd()
    assert b.start_isakmpd()
    assert b.run("ipsecctl", "-f", "/etc/ipsec.conf").rc == 0
    assert status(a)[NAME_A] == "rtr-a: passive; rtr-b: passive"


def test_fqdn_ids_and_remote_id_checks(fleet: FleetBuilder) -> None:
    a = fleet.router("rtr-a", A)
    b = fleet.router("rtr-b", B)
    a.trust(b)
    b.trust(a, "fqdn", "a.example.org")  # B expects A's FQDN
    assert a.load(gre_rule(A, B, extra="srcid a.example.org")).rc == 0
    assert b.load(gre_rule(B, A, extra="dstid a.example.org")).rc == 0
    flows = show(a, "-sf").splitlines()
    assert flows[0].endswith(f"peer {B} srcid a.example.org dstid {B}/32 type require")
    assert show(b, "-sf").splitlines()[0].endswith(f"srcid {B}/32 dstid a.example.org type require")
    assert b.load(gre_rule(B, A, extra="dstid z.example.org")).rc == 0
    assert status(a)[NAME_A].endswith("received remote ID other than expected z.example.org")


def test_ipv6_pair_uses_compressed_ids(fleet: FleetBuilder) -> None:
    a, b = fleet.pair("2001:db8::1", "2001:db8:0:1::2")
    flows = show(a, "-sf").splitlines()
    assert flows == [
        "flow esp in proto gre from 2001:db8:0:1::2 to 2001:db8::1 peer 2001:db8:0:1::2 "
        "srcid 2001:db8::1/128 dstid 2001:db8:0:1::2/128 type require",
        "flow esp out proto gre from 2001:db8::1 to 2001:db8:0:1::2 peer 2001:db8:0:1::2 "
        "srcid 2001:db8::1/128 dstid 2001:db8:0:1::2/128 type require",
    ]
    assert b.host.read_file("/etc/isakmpd/pubkeys/ipv6/2001:db8::1") is not None


def test_peer_without_minus_k_never_comes_up(fleet: FleetBuilder) -> None:
    a, b = fleet.pair(A, B)
    b.stop_isakmpd()
    b.write("/etc/isakmpd/isakmpd.policy", "KeyNote-Version: 2\n", mode=0o600)
    assert b.start_isakmpd(["-v"])
    assert b.run("ipsecctl", "-f", "/etc/ipsec.conf").rc == 0
    assert sa_lines(show(a)) == ["No entries"]
    assert "runs without -K" in status(a)[NAME_A]


def external_entry(fleet: FleetBuilder, router: Router, **changes: object) -> None:
    entry: dict[str, object] = {
        "endpoint": B,
        "local_endpoint": A,
        "identity": {"type": "fqdn", "value": "alice.example.org"},
        "expects_identity": {"type": "ipv4", "value": A},
        "public_key": fleet.keys[2].public.decode(),
        "main": {"auth": "hmac-sha2-256", "enc": "aes-256", "group": "modp2048", "lifetime": 28800},
        "quick": {"auth": "hmac-sha2-256", "enc": "aes-256", "group": "modp2048", "lifetime": 3600},
        "state": "up",
        "gre": {"inet": {"local": "172.20.1.2", "remote": "172.20.1.1"}, "inet6": None},
    }
    entry.update(changes)
    fleet.external(router, "alice", **entry)


def test_external_peer(fleet: FleetBuilder) -> None:
    a = fleet.router("rtr-a", A)
    a.write("/etc/isakmpd/pubkeys/fqdn/alice.example.org", fleet.keys[2].public, mode=0o644)
    assert a.load(gre_rule(A, B, extra="dstid alice.example.org")).rc == 0
    external_entry(fleet, a)
    assert show(a, "-sf").splitlines()[1] == (
        f"flow esp out proto gre from {A} to {B} peer {B} srcid {A}/32 "
        "dstid alice.example.org type require"
    )
    assert len(sa_lines(show(a))) == 2
    for state in ("down", "mismatch"):
        external_entry(fleet, a, state=state)
        assert status(a) == {NAME_A: f"external peer alice is {state}"}
    external_entry(fleet, a, quick={"enc": "aes-128-gcm", "group": "modp2048"})
    assert "no acceptable phase 2 proposal" in status(a)[NAME_A]
    external_entry(fleet, a, expects_identity={"type": "fqdn", "value": "rtr-a.example.org"})
    assert "received remote ID other than expected" in status(a)[NAME_A]
    external_entry(fleet, a)
    a.write(LOCAL_PUB, fleet.keys[3].public, mode=0o644)  # the peer trusts local.pub
    assert status(a)[NAME_A].endswith(f"{LOCAL_PUB} is not the public half of {LOCAL_KEY}")


def test_external_peer_with_aead(fleet: FleetBuilder) -> None:
    a = fleet.router("rtr-a", A)
    a.write("/etc/isakmpd/pubkeys/fqdn/alice.example.org", fleet.keys[2].public, mode=0o644)
    quick = "quick enc aes-128-gcm group modp2048"
    assert a.load(gre_rule(A, B, quick=quick)).rc == 0
    external_entry(fleet, a, quick={"enc": "aes-128-gcm", "group": "modp2048"})
    assert all(line.endswith(" enc aes-128-gcm") for line in sa_lines(show(a)))


def test_fifty_router_hub_shows_every_peer(fleet: FleetBuilder) -> None:
    key = fleet.keys[0]
    hub = fleet.router("hub", "10.0.0.1", key=key)
    rules = []
    for n in range(1, 50):
        addr = f"10.0.1.{n}"
        spoke = fleet.router(f"spoke{n:02d}", addr, key=key)
        spoke.trust(hub)
        hub.trust(spoke)
        assert spoke.load(gre_rule(addr, "10.0.0.1")).rc == 0
        rules.append(gre_rule("10.0.0.1", addr))
    assert hub.load("".join(rules)).rc == 0
    out = show(hub)
    assert show(hub) == out  # stable SPIs: observing twice changes nothing
    assert out.count("\nflow esp ") + out.startswith("flow") == 98
    assert len(sa_lines(out)) == 98
    assert len(sa_lines(show(fleet.routers["spoke07"]))) == 2


def test_reference_rule_with_ids_and_tag_between_routers(fleet: FleetBuilder) -> None:
    a = fleet.router("rtr-a", A)
    b = fleet.router("rtr-b", B)
    a.trust(b)
    b.trust(a)
    assert a.load(gre_rule(A, B, extra=f'srcid {A} dstid {B} tag "dn42"')).rc == 0
    assert b.load(gre_rule(B, A, extra=f'srcid {B} dstid {A} tag "dn42"')).rc == 0
    assert show(a, "-sf") == (
        f"flow esp in proto gre from {B} to {A} peer {B} srcid {A}/32 dstid {B}/32 type require\n"
        f"flow esp out proto gre from {A} to {B} peer {B} srcid {A}/32 dstid {B}/32 type require\n"
    )
    # -c prints every address as a { list } (isakmpd flows have a peer, so none collapse)
    assert show(a, "-c", "-sf").splitlines()[0] == (
        f"flow esp in proto gre from {{ {B} }} to {{ {A} }} peer {B} srcid {A}/32 "
        f"dstid {B}/32 type require"
    )
    # -vv numbers the flows read back from the kernel
    assert show(a, "-vv", "-sf").splitlines()[1].startswith("@1 flow esp out ")


def test_a_fleet_root_is_the_router_the_path_leads_to(tmp_path: Path) -> None:
    (tmp_path / "routers" / "r1").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "routers")
    assert ike.fleet_root(str(tmp_path / "link" / "r1")) == (tmp_path / "routers" / "r1").resolve()
    assert ike.fleet_root(str(tmp_path / "routers" / ".." / "routers" / "r1")) == ike.fleet_root(
        str(tmp_path / "link" / "r1"))
