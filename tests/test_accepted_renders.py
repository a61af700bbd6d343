"""Whatever `validate` accepts, OpenBSD accepts (issue 8, class 4).

One state repo holds a peer for every value a field may take at its edges (every transform
of both phases, every group and alias, lifetimes at both ends, identity forms, MTU bounds,
the longest description with every allowed character, the highest interface number, each
IPv6 mode). It must validate (with the legacy crypto floor, the widest the agent allows),
and what it renders must pass the simulated OpenBSD: the whole ipsec.conf through
`ipsecctl -n -f`, and every hostname.greN through `sh /etc/netstart -n greN`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from agent.repo import fields
from agent.repo.inventory import load_inventory
from agent.router.render import render_hostname, render_rule
from agent.sim import if_gre
from agent.sim import state as simstate
from agent.sim.host import SimHost
from tests.conftest import EXAMPLE_STATE

KEY = yaml.safe_load((EXAMPLE_STATE / "peers/rtr1/alice.yaml").read_text())["public_key"]


def _variants() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    quick_enc = [e for e in fields.ENC if e not in fields.QUICK_ENC_WITHOUT_TRANSFORM]
    out += [{"crypto": {"quick": {"enc": e}}} for e in quick_enc]
    out += [{"crypto": {"quick": {"enc": "aes-256", "auth": a}}} for a in fields.AUTH]
    out += [{"crypto": {"quick": {"group": g}}} for g in fields.GROUPS]
    out += [{"crypto": {"main": {"enc": e}}} for e in fields.MAIN_ENC]
    out += [{"crypto": {"main": {"auth": a}}} for a in fields.MAIN_AUTH]
    out += [{"crypto": {"main": {"group": g}}} for g in fields.GROUPS if g != "none"]
    for life in (fields.LIFETIME_MIN, fields.LIFETIME_MAX):
        out.append({"crypto": {"main": {"lifetime": life}, "quick": {"lifetime": life}}})
    for kind, value in (
        ("fqdn", "a"), ("fqdn", "x-1.example.org"), ("fqdn", "Peer.EXAMPLE"),
        ("fqdn", ("a" * 63 + ".") * 3 + "b" * 61), ("fqdn", "rsa.example"),
        ("ufqdn", "a_b+c.d@x.example"), ("ufqdn", "_x@y.example"), ("ufqdn", "9@z.example"),
        ("ipv4", "198.18.0.1"),
    ):
        out.append({"identity": {"type": kind, "value": value}})
    out += [{"gre": {"mtu": 1280}}, {"gre": {"mtu": 1418}}, {"gre": {"interface": "gre9999"}}]
    allowed = "Az09 _.,:/@+-"
    out.append({"gre": {"description": (allowed * 4)[: fields.DESCRIPTION_MAX - 10]}})
    out += [{"gre": {"ipv6": "eui64"}}, {"gre": {"ipv6": "link-local"}}, {"gre": {"ipv6": "ula"}}]
    return out


def _peer_file(i: int, variant: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": f"v{i}",
        "asn": 4242421234,  # alice's AS: one operator may use its one key on every link
        "endpoint": f"203.0.{113 + i // 200}.{1 + i % 200}",
        "public_key": KEY,
        "gre": {"ipv4": {"router": f"172.21.{i}.1", "peer": f"172.21.{i}.2"}},
    }
    for key, value in variant.items():
        if key == "gre":
            doc["gre"].update(value)
        else:
            doc[key] = value
    ipv6 = doc["gre"].get("ipv6")
    if ipv6 == "link-local":
        doc["gre"]["ipv6"] = {"router": f"fe80::{i}:1", "peer": f"fe80::{i}:2"}
    elif ipv6 == "ula":
        doc["gre"]["ipv6"] = {"router": f"fd42:{i}::", "peer": f"fd42:{i}::1"}
    if "identity" in doc and doc["identity"]["type"] == "ipv4":
        doc["identity"]["value"] = doc["endpoint"]
    return doc


def test_every_accepted_value_renders_to_what_openbsd_accepts(tmp_path: Path) -> None:
    repo = tmp_path / "state"
    shutil.copytree(EXAMPLE_STATE, repo)
    variants = _variants()
    for i, variant in enumerate(variants):
        (repo / "peers/rtr1" / f"v{i}.yaml").write_text(yaml.safe_dump(_peer_file(i, variant)))
    inventory, problems = load_inventory(repo, min_crypto="legacy")
    assert inventory is not None, "\n".join(map(str, problems))
    peerings = [p for p in inventory.for_router("rtr1") if p.peer.startswith("v")]
    assert len(peerings) == len(variants)

    state = simstate.new_state()
    if_gre.add_physical(state, "em0", inet=[("192.0.2.1", 24)], mac="00:21:28:f9:c1:d8")
    if_gre.add_physical(state, "lo0")
    simstate.save(tmp_path / "rtr1", state)
    host = SimHost(tmp_path / "rtr1")
    conf = "".join(render_rule(p) + "\n" for p in peerings)
    host.write_file("/etc/ipsec.test.conf", conf.encode(), mode=0o600)
    checked = host.run(["ipsecctl", "-n", "-f", "/etc/ipsec.test.conf"])
    assert (checked.rc, checked.stderr) == (0, ""), checked.stderr

    for n, p in enumerate(peerings):
        iface = p.interface or f"gre{n}"
        host.write_file(f"/etc/hostname.{iface}", render_hostname(p, iface).encode(), mode=0o640)
        dry = host.run(["sh", "/etc/netstart", "-n", iface])
        assert (dry.rc, dry.stderr) == (0, ""), (p.peer, dry.stderr)
        assert f"ifconfig {iface} mtu {p.mtu}" in dry.stdout.splitlines(), dry.stdout
