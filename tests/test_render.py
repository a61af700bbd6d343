"""Rendering: the forms ipsecctl and netstart accept, from validated peerings only."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jinja2
import pytest

from agent.model import Peering
from agent.repo.inventory import load_inventory
from agent.router.desired import Desired
from agent.router.render import _env, render, render_hostname, render_rule
from agent.router.render_cache import CACHE_FILE, RenderCache
from tests.conftest import edit


def peering(repo: Path, router: str, peer: str) -> Peering:
    inventory, problems = load_inventory(repo)
    assert inventory is not None, problems
    return next(p for p in inventory.for_router(router) if p.peer == peer)


def test_rule_writes_every_parameter_and_the_ids_it_needs(state_copy: Path) -> None:
    alice = render_rule(peering(state_copy, "rtr1", "alice"))
    assert alice.splitlines()[1:] == [
        "ike active esp transport proto gre from 192.0.2.1 to 198.51.100.7 peer 198.51.100.7 \\",
        "\tmain auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 28800 \\",
        "\tquick auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 3600 \\",
        "\tdstid alice.example.org rsa",
    ]
    # rtr2 presents an FQDN: its side of the internal link needs srcid, and no dstid
    assert (
        render_rule(peering(state_copy, "rtr2", "rtr1")).splitlines()[-1]
        == "\tsrcid rtr2.example.net rsa"
    )
    # bob uses default (address) identities on both sides: neither srcid nor dstid
    assert render_rule(peering(state_copy, "rtr1", "bob")).splitlines()[-1] == "\trsa"


def test_aead_quick_cipher_drops_inherited_auth(state_copy: Path) -> None:
    edit(state_copy / "peers/rtr1/bob.yaml", "enc: aes-128", "enc: aes-256-gcm")
    rule = render_rule(peering(state_copy, "rtr1", "bob"))
    assert "\tquick enc aes-256-gcm group modp3072 lifetime 3600 \\" in rule.splitlines()


def test_hostname_uses_netstart_forms(state_copy: Path) -> None:
    lines = render_hostname(peering(state_copy, "rtr1", "alice"), "gre1").splitlines()
    assert lines[0].startswith("# managed by peerops")
    assert 'description "peerops alice: dn42 peer alice"' in lines
    # the wiki's "inet A B" would make B the netmask (openbsd-reference §4.1): never written
    assert lines[lines.index("inet 172.20.1.1 255.255.255.255") + 1] == "dest 172.20.1.2"
    assert lines[-1] == "up"
    link = render_hostname(peering(state_copy, "rtr2", "rtr1"), "gre0").splitlines()
    assert "inet6 fe80::42:2%gre0 64" in link and "tunnel 192.0.2.2 192.0.2.1" in link


def test_desired_state_modes_and_paths(state_copy: Path) -> None:
    inventory, _ = load_inventory(state_copy)
    assert inventory is not None
    desired = render(
        "rtr1", inventory.for_router("rtr1"), {"rtr2": "gre0", "alice": "gre1", "bob": "gre2"}
    )
    assert desired.ipsec_conf.mode == 0o600 and desired.hostname_files["gre1"].mode == 0o640
    assert sorted(desired.pubkeys) == [
        "/etc/isakmpd/pubkeys/fqdn/alice.example.org",
        "/etc/isakmpd/pubkeys/fqdn/rtr2.example.net",
        "/etc/isakmpd/pubkeys/ipv6/2001:db8:b0b::7",
    ]
    assert desired.ipsec_conf.content.decode().count("\nike active esp transport proto gre") == 3


def test_templates_refuse_missing_values() -> None:
    with pytest.raises(jinja2.UndefinedError):
        _env().get_template("ipsec-rule.j2").render(p={})


def test_description_too_long_for_the_kernel(state_copy: Path) -> None:
    alice = state_copy / "peers/rtr1/alice.yaml"
    edit(alice, "description: dn42 peer alice", "description: " + "x" * 48)
    edit(alice, "name: alice", "name: alice-the-second")
    alice.rename(alice.with_name("alice-the-second.yaml"))
    _, problems = load_inventory(state_copy)
    assert any(p.field == "gre.description" and "IFDESCRSIZE" in p.message for p in problems)


# -- the render cache: texts of the last run, reused only for the same inputs -----------------

IFACES = {"rtr2": "gre0", "alice": "gre1", "bob": "gre2"}


def _render(repo: Path, state_dir: Path, ifaces: dict[str, str] = IFACES) -> Desired:
    inventory, _ = load_inventory(repo)
    assert inventory is not None
    texts = RenderCache(state_dir)
    desired = render("rtr1", inventory.for_router("rtr1"), ifaces, cache=texts)
    texts.save()
    return desired


def test_a_cached_render_equals_a_fresh_one(state_copy: Path, tmp_path: Path) -> None:
    inventory, _ = load_inventory(state_copy)
    assert inventory is not None
    fresh = render("rtr1", inventory.for_router("rtr1"), IFACES)
    assert _render(state_copy, tmp_path) == fresh  # the first: rendered, then kept
    assert (tmp_path / CACHE_FILE).exists()
    assert _render(state_copy, tmp_path) == fresh  # the second: from the file


def test_a_changed_peering_or_interface_renders_again(state_copy: Path, tmp_path: Path) -> None:
    _render(state_copy, tmp_path)
    edit(state_copy / "peers/rtr1/alice.yaml", "dn42 peer alice", "dn42 peer alice, moved")
    desired = _render(state_copy, tmp_path, {**IFACES, "alice": "gre7"})
    text = desired.hostname_files["gre7"].content.decode()
    assert 'description "peerops alice: dn42 peer alice, moved"' in text
    edit(state_copy / "peers/rtr1/alice.yaml", "endpoint: 198.51.100.7", "endpoint: 198.51.100.9")
    assert "to 198.51.100.9 peer 198.51.100.9" in _render(state_copy, tmp_path).rules["alice"]


def test_a_cache_file_from_other_templates_or_edited_is_ignored(
    state_copy: Path, tmp_path: Path
) -> None:
    good = _render(state_copy, tmp_path)
    path = tmp_path / CACHE_FILE
    data = json.loads(path.read_bytes().partition(b"\n")[2])
    data["texts"] = {key: "# forged\n" for key in data["texts"]}
    for salt in (data["salt"], "other templates"):
        body = json.dumps({**data, "salt": salt}).encode()
        digest = hashlib.sha256(body).hexdigest().encode()
        signed = digest + b"\n" + body
        forged = signed if salt != data["salt"] else signed.replace(b"forged", b"edited")
        path.write_bytes(forged)  # a foreign salt, or a body its digest does not match
        assert _render(state_copy, tmp_path) == good
