"""The example state repo (state/) is the format contract: its schemas, its data and its rules.

Every example file must validate against its JSON Schema (Draft 2020-12, formats asserted),
typical mistakes must be rejected for the reason a reader would expect, every public key must
be a real 2048-bit RSA key, and no private key may ever be committed under state/.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

STATE = Path(__file__).resolve().parent.parent / "state"
ROUTER_FILES = sorted((STATE / "routers").glob("*.yaml"))
PEER_FILES = sorted((STATE / "peers").glob("*/*.yaml"))
MODELINE = {
    "router": "# yaml-language-server: $schema=../schema/router.schema.json",
    "peer": "# yaml-language-server: $schema=../../schema/peer.schema.json",
}
Validator = jsonschema.Draft202012Validator


@cache
def schema(kind: str) -> dict[str, Any]:
    return json.loads((STATE / "schema" / f"{kind}.schema.json").read_text())


@cache
def validator(kind: str) -> jsonschema.protocols.Validator:
    return Validator(schema(kind), format_checker=Validator.FORMAT_CHECKER)


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def example(rel: str) -> dict[str, Any]:
    """A deep copy of an example document, free to mutate."""
    return copy.deepcopy(load(STATE / rel))


def all_errors(doc: dict[str, Any], kind: str) -> list[jsonschema.ValidationError]:
    """Every error, including those inside oneOf/anyOf branches (their `context`)."""

    def walk(errors: Any) -> Iterator[jsonschema.ValidationError]:
        for error in errors:
            yield error
            yield from walk(error.context)

    return list(walk(validator(kind).iter_errors(doc)))


def kind_of(path: Path) -> str:
    return "router" if path.parent.name == "routers" else "peer"


def rel(path: Path) -> str:
    return path.relative_to(STATE).as_posix()


# -- the schemas themselves -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["router", "peer"])
def test_schema_is_valid_draft_2020_12(kind: str) -> None:
    doc = schema(kind)
    Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"].endswith(f"/{kind}.schema.json")


@pytest.mark.parametrize("kind", ["router", "peer"])
def test_every_object_forbids_unknown_fields_and_every_property_is_documented(kind: str) -> None:
    """Editors show title and description on hover; unknown keys are always an error."""
    problems = []

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "additionalProperties" not in node:
                problems.append(f"{where}: object without additionalProperties")
            # Only real object definitions: if/then clauses and the oneOf discriminators
            # (forbidden fields) also carry "properties" but define no fields.
            fields = node.get("properties", {}) if node.get("type") == "object" else {}
            for name, sub in fields.items():
                target = sub
                if "$ref" in sub and ("title" not in sub or "description" not in sub):
                    target = resolve(sub["$ref"])
                if "title" not in target or "description" not in target:
                    problems.append(f"{where}.{name}: missing title or description")
            for key, sub in node.items():
                visit(sub, f"{where}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                visit(sub, f"{where}[{i}]")

    def resolve(ref: str) -> dict[str, Any]:
        assert ref.startswith("#/$defs/"), ref
        return schema(kind)["$defs"][ref.removeprefix("#/$defs/")]

    visit(schema(kind), kind)
    assert problems == []


def test_shared_definitions_are_identical_in_both_schemas() -> None:
    """The schemas are self-contained (no cross-file $ref), so shared $defs must not drift."""
    router_defs, peer_defs = schema("router")["$defs"], schema("peer")["$defs"]
    shared = set(router_defs) & set(peer_defs)
    assert {
        "name",
        "asn",
        "identity",
        "publicKey",
        "crypto",
        "mainProposal",
        "quickProposal",
        "lifetime",
        "mtu",
        "ipv4Address",
        "ipv6Address",
    } <= shared
    assert [k for k in sorted(shared) if router_defs[k] != peer_defs[k]] == []


# -- the example data ---------------------------------------------------------------------------


def test_example_data_is_complete() -> None:
    assert [rel(p) for p in ROUTER_FILES] == ["routers/rtr1.yaml", "routers/rtr2.yaml"]
    assert {rel(p) for p in PEER_FILES} >= {
        "peers/rtr1/alice.yaml",
        "peers/rtr1/bob.yaml",
        "peers/rtr1/rtr2.yaml",
        "peers/rtr2/carol.yaml",
    }


@pytest.mark.parametrize("path", ROUTER_FILES + PEER_FILES, ids=rel)
def test_example_file_validates(path: Path) -> None:
    kind = kind_of(path)
    assert path.read_text().splitlines()[0] == MODELINE[kind]
    doc = load(path)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(kind).iter_errors(doc)]
    assert errors == []
    assert doc["name"] == path.stem


@pytest.mark.parametrize("path", PEER_FILES, ids=rel)
def test_peer_directories_and_internal_links_name_routers(path: Path) -> None:
    routers = {p.stem for p in ROUTER_FILES}
    assert path.parent.name in routers
    doc = load(path)
    if "router" in doc:
        assert doc["router"] == doc["name"] != path.parent.name
        assert doc["router"] in routers
        # written once: the other router's directory has no file for the reverse direction
        assert not (STATE / "peers" / doc["router"] / f"{path.parent.name}.yaml").exists()


def test_example_values_match_the_documented_scenario() -> None:
    rtr1, rtr2 = example("routers/rtr1.yaml"), example("routers/rtr2.yaml")
    assert (rtr1["asn"], rtr1["endpoints"]) == (
        4242420001,
        {"ipv4": "192.0.2.1", "ipv6": "2001:db8:1::1"},
    )
    assert (rtr2["asn"], rtr2["endpoints"]) == (4242420002, {"ipv4": "192.0.2.2"})
    assert rtr2["identity"] == {"type": "fqdn", "value": "rtr2.example.net"}
    link = example("peers/rtr1/rtr2.yaml")
    assert link["gre"]["ipv4"] == {"router": "172.20.0.1", "peer": "172.20.0.2"}
    assert all(a.startswith("fe80:") for a in link["gre"]["ipv6"].values())
    alice = example("peers/rtr1/alice.yaml")
    assert (alice["endpoint"], alice["identity"]["value"], alice["gre"]["ipv6"]) == (
        "198.51.100.7",
        "alice.example.org",
        "eui64",
    )
    bob = example("peers/rtr1/bob.yaml")
    assert bob["endpoint"] == "2001:db8:b0b::7" and "crypto" in bob
    assert bob["gre"]["ipv6"] == {"router": "fd42:4242:b0b::", "peer": "fd42:4242:b0b::1"}
    carol = example("peers/rtr2/carol.yaml")
    assert (carol["endpoint"], carol["gre"]["interface"]) == ("203.0.113.9", "gre5")


# -- mistakes are rejected for the right reason --------------------------------------------------


def test_external_peer_without_public_key_is_rejected() -> None:
    doc = example("peers/rtr1/alice.yaml")
    del doc["public_key"]
    errors = all_errors(doc, "peer")
    assert errors[0].validator == "oneOf"
    assert any(e.validator == "required" and "'public_key'" in e.message for e in errors)


def test_internal_link_with_endpoint_is_rejected() -> None:
    doc = example("peers/rtr1/rtr2.yaml")
    doc["endpoint"] = "192.0.2.2"
    errors = all_errors(doc, "peer")
    assert errors[0].validator == "oneOf"
    # the internal-link branch says exactly this (the external branch misses asn, public_key)
    assert any(list(e.absolute_path) == ["endpoint"] and e.validator == "not" for e in errors)


@pytest.mark.parametrize("field", ["asn", "identity", "public_key"])
def test_internal_link_forbids_fields_taken_from_the_router(field: str) -> None:
    doc = example("peers/rtr1/rtr2.yaml")
    doc[field] = example("peers/rtr1/alice.yaml")[field]
    assert any(
        list(e.absolute_path) == [field] and e.validator == "not" for e in all_errors(doc, "peer")
    )


def test_external_peer_cannot_carry_peer_interface_or_router() -> None:
    doc = example("peers/rtr1/alice.yaml")
    doc["gre"]["peer_interface"] = "gre3"
    errors = all_errors(doc, "peer")
    assert any(
        list(e.absolute_path) == ["gre", "peer_interface"] and e.validator == "not" for e in errors
    )
    doc = example("peers/rtr1/alice.yaml")
    doc["router"] = "rtr2"
    assert any(
        list(e.absolute_path) == ["router"] and e.validator == "not"
        for e in all_errors(doc, "peer")
    )


@pytest.mark.parametrize(
    "text", ["dn42 $(reboot)", "a `b`", 'say "hi"', "back\\slash", "tab\there", "x" * 49, ""]
)
def test_unsafe_or_long_description_is_rejected(text: str) -> None:
    doc = example("peers/rtr1/alice.yaml")
    doc["gre"]["description"] = text
    errors = all_errors(doc, "peer")
    assert errors, text
    assert all(list(e.absolute_path) == ["gre", "description"] for e in errors)
    assert {e.validator for e in errors} <= {"pattern", "maxLength", "minLength"}


def test_main_mode_rejects_phase2_only_transforms() -> None:
    for field, value in (
        ("enc", "aes-128-gcm"),
        ("enc", "aes-256-ctr"),
        ("auth", "hmac-ripemd160"),
        ("group", "none"),
    ):
        doc = example("peers/rtr1/alice.yaml")
        doc["crypto"] = {"main": {field: value}}
        errors = all_errors(doc, "peer")
        assert [(list(e.absolute_path), e.validator) for e in errors] == [
            (["crypto", "main", field], "enum")
        ], value
        doc["crypto"] = {"quick": {field: value}}  # all of these are fine in quick mode
        assert all_errors(doc, "peer") == [], value


def test_quick_mode_aead_cipher_with_explicit_auth_is_rejected() -> None:
    doc = example("peers/rtr1/alice.yaml")
    doc["crypto"] = {"quick": {"enc": "aes-256-gcm"}}
    assert all_errors(doc, "peer") == []
    doc["crypto"]["quick"]["auth"] = "hmac-sha2-256"
    errors = all_errors(doc, "peer")
    assert [list(e.absolute_path) for e in errors] == [["crypto", "quick", "auth"]]


@pytest.mark.parametrize("lifetime", [30, 59, 86401, "3600", 3600.5, True])
def test_lifetime_outside_isakmpd_range_or_not_an_integer_is_rejected(lifetime: object) -> None:
    doc = example("routers/rtr2.yaml")
    doc["crypto"]["quick"]["lifetime"] = lifetime
    errors = all_errors(doc, "router")
    assert [list(e.absolute_path) for e in errors] == [["crypto", "quick", "lifetime"]]
    assert errors[0].validator in {"minimum", "maximum", "type"}


def test_lifetime_30_in_main_mode_is_rejected_by_minimum() -> None:
    doc = example("peers/rtr1/alice.yaml")
    doc["crypto"] = {"main": {"lifetime": 30}}
    errors = all_errors(doc, "peer")
    assert [(list(e.absolute_path), e.validator) for e in errors] == [
        (["crypto", "main", "lifetime"], "minimum")
    ]


@pytest.mark.parametrize(
    ("rel_path", "where"),
    [
        ("peers/rtr1/alice.yaml", ()),
        ("peers/rtr1/alice.yaml", ("gre",)),
        ("peers/rtr1/alice.yaml", ("gre", "ipv4")),
        ("peers/rtr1/alice.yaml", ("identity",)),
        ("peers/rtr1/bob.yaml", ("crypto", "quick")),
        ("peers/rtr1/rtr2.yaml", ()),
        ("routers/rtr1.yaml", ()),
        ("routers/rtr1.yaml", ("endpoints",)),
        ("routers/rtr1.yaml", ("gre",)),
        ("routers/rtr2.yaml", ("crypto",)),
    ],
)
def test_unknown_field_is_rejected(rel_path: str, where: tuple[str, ...]) -> None:
    doc = example(rel_path)
    target = doc
    for key in where:
        target = target[key]
    target["colour"] = "blue"
    kind = "router" if rel_path.startswith("routers/") else "peer"
    errors = all_errors(doc, kind)
    assert [(tuple(e.absolute_path), e.validator) for e in errors] == [
        (where, "additionalProperties")
    ]
    assert "'colour'" in errors[0].message


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.__setitem__("endpoint", "198.51.100.300"), ["endpoint"]),
        (
            lambda d: d.__setitem__("endpoint", "1:2:3"),
            ["endpoint"],
        ),  # passes the pattern: format must catch it
        (lambda d: d.__setitem__("name", "Alice"), ["name"]),
        (lambda d: d.__setitem__("asn", 0), ["asn"]),
        (lambda d: d.__setitem__("asn", 4294967296), ["asn"]),
        (lambda d: d["gre"].__setitem__("interface", "gre01"), ["gre", "interface"]),
        (lambda d: d["gre"].__setitem__("interface", "tun0"), ["gre", "interface"]),
        (lambda d: d["gre"].__setitem__("mtu", 576), ["gre", "mtu"]),
        (lambda d: d["gre"].__setitem__("mtu", 9001), ["gre", "mtu"]),
        (lambda d: d["gre"].__setitem__("ipv6", "auto"), ["gre", "ipv6"]),
        (
            lambda d: d["gre"].__setitem__(
                "ipv6", {"router": "2001:db8::1", "peer": "2001:db8::2"}
            ),
            ["gre", "ipv6"],
        ),
        (
            lambda d: d["gre"].__setitem__("ipv6", {"router": "fe80::1", "peer": "fd42::1"}),
            ["gre", "ipv6", "peer"],
        ),
        (lambda d: d["gre"]["ipv4"].pop("peer"), ["gre", "ipv4"]),
        (
            lambda d: d.__setitem__("identity", {"type": "fqdn", "value": "192.0.2.7"}),
            ["identity", "value"],
        ),
        (
            lambda d: d.__setitem__(
                "identity", {"type": "fqdn", "value": "../../private/local.key"}
            ),
            ["identity", "value"],
        ),
        (
            lambda d: d.__setitem__("identity", {"type": "ipv4", "value": "alice.example.org"}),
            ["identity", "value"],
        ),
        (
            lambda d: d.__setitem__("identity", {"type": "ufqdn", "value": "alice.example.org"}),
            ["identity", "value"],
        ),
        # the schema admits every key form the loader reads (ssh-rsa among them), not others
        (lambda d: d.__setitem__("public_key", "ssh-ed25519 AAAAC3NzaC1lZDI1 a"), ["public_key"]),
        (
            lambda d: d.update(public_key_file="../alice.pub") or d.pop("public_key"),
            ["public_key_file"],
        ),
    ],
)
def test_invalid_external_peer_values_are_rejected_at_their_field(
    mutate: Any, path: list[str]
) -> None:
    doc = example("peers/rtr1/alice.yaml")
    mutate(doc)
    errors = all_errors(doc, "peer")
    assert errors
    assert all(list(e.absolute_path)[: len(path)] == path for e in errors), [
        (list(e.absolute_path), e.message) for e in errors
    ]


def test_tunnel_needs_ipv4_or_ipv6() -> None:
    doc = example("peers/rtr2/carol.yaml")
    del doc["gre"]["ipv4"]
    errors = all_errors(doc, "peer")
    assert [(list(e.absolute_path), e.validator) for e in errors] == [(["gre"], "required")]
    assert "'ipv6'" in errors[0].message


def test_router_needs_an_endpoint() -> None:
    doc = example("routers/rtr2.yaml")
    doc["endpoints"] = {}
    errors = all_errors(doc, "router")
    assert [(list(e.absolute_path), e.validator) for e in errors] == [
        (["endpoints"], "minProperties")
    ]


def test_private_key_in_public_key_field_is_rejected() -> None:
    doc = example("routers/rtr1.yaml")
    header = "-----BEGIN " + "PRIVATE KEY-----"  # split so this file never holds a PEM header
    footer = "-----END " + "PRIVATE KEY-----"
    doc["public_key"] = f"{header}\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n{footer}\n"
    assert [list(e.absolute_path) for e in all_errors(doc, "router")] == [["public_key"]]


# -- keys -----------------------------------------------------------------------------------------


def public_keys() -> list[tuple[str, str]]:
    keys = []
    for path in ROUTER_FILES + PEER_FILES:
        doc = load(path)
        if "public_key" in doc:
            keys.append((rel(path), doc["public_key"]))
    return keys


def test_every_router_and_external_peer_has_a_key() -> None:
    owners = {owner for owner, _ in public_keys()}
    assert owners == {rel(p) for p in ROUTER_FILES} | {
        rel(p) for p in PEER_FILES if "router" not in load(p)
    }


@pytest.mark.parametrize(("owner", "pem"), public_keys(), ids=[o for o, _ in public_keys()])
def test_public_key_is_2048_bit_rsa(owner: str, pem: str) -> None:
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey), owner
    assert key.key_size == 2048, owner
    assert key.public_numbers().e == 65537, owner


def test_public_keys_are_distinct() -> None:
    pems = [pem for _, pem in public_keys()]
    assert len(set(pems)) == len(pems)


PRIVATE_MARKERS = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"  # PKCS#1, PKCS#8, EC, OpenSSH, encrypted
    r"|PRIVATE KEY"
    r"|MII[A-Za-z0-9+/]{1,3}IBADAN"  # base64 DER of a PKCS#8 private key without its PEM header
    r"|MII[A-Za-z0-9+/]{1,3}IBAAKC",  # base64 DER of a PKCS#1 RSA private key without its header
)


def test_no_private_key_anywhere_under_state() -> None:
    offenders = []
    for path in sorted(STATE.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            offenders += [f"{rel(path)}: {m.group(0)}" for m in PRIVATE_MARKERS.finditer(text)]
    assert offenders == []


def test_the_peer_walkthrough_fits_ten_lines_and_names_real_commands() -> None:
    from agent.commands import COMMANDS

    text = (STATE / "README.md").read_text()
    walk = text.split("<!-- peer-walkthrough")[1].split("<!-- /peer-walkthrough -->")[0]
    lines = [line for line in walk.splitlines()[1:] if line.strip()]
    assert 3 <= len(lines) <= 10, lines
    used = re.findall(r"`peerops ([a-z-]+)", walk)
    assert {"peer", "check-pr"} <= set(used) and set(used) <= set(COMMANDS), used
    assert "keys/rtr1.pub" in walk  # the router's key comes from the status branch
