"""Helpers for the simulated ipsecctl/isakmpd tests: keys, routers and fleets under tmp_path."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.host import CommandResult
from agent.sim import daemons
from agent.sim import state as simstate
from agent.sim.host import Ctx, SimHost

LOCAL_KEY = "/etc/isakmpd/private/local.key"
LOCAL_PUB = "/etc/isakmpd/local.pub"


@dataclass(frozen=True)
class KeyPair:
    """An RSA key as /etc/rc make_keys leaves it: PKCS#1 private PEM, SPKI public PEM."""

    private: bytes
    public: bytes


def make_keys(count: int) -> list[KeyPair]:
    """RSA 2048 keys (slow to make: the session fixture makes them once)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    keys = []
    for _ in range(count):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        keys.append(
            KeyPair(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                ),
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            )
        )
    return keys


def in_ctx(host: SimHost, action: Callable[[Ctx], Any]) -> Any:
    """Run `action(ctx)` inside a transaction of the router, as a command would."""
    with simstate.transaction(host.root) as st:
        return action(Ctx(host, st, host.files(create=True), "test", 30.0))


@dataclass
class Router:
    """One simulated router of a test fleet."""

    host: SimHost
    name: str
    addr: str
    key: KeyPair
    extra: dict[str, Any] = field(default_factory=dict)

    def run(self, *argv: str, stdin: str | None = None) -> CommandResult:
        return self.host.run(list(argv), stdin=stdin)

    def start_isakmpd(self, flags: list[str] | None = None) -> bool:
        return bool(in_ctx(self.host, lambda ctx: daemons.start(ctx, "isakmpd", flags or ["-K"])))

    def stop_isakmpd(self) -> None:
        in_ctx(self.host, lambda ctx: daemons.stop(ctx, "isakmpd"))

    def kill_isakmpd(self) -> None:
        """SIGKILL, as after a crash: no cleanup runs."""
        in_ctx(self.host, lambda ctx: daemons.kill(ctx, "isakmpd"))

    def state(self) -> dict[str, Any]:
        return simstate.load(self.host.root)

    def write(self, path: str, data: str | bytes, mode: int = 0o600, uid: int = 0) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.host.write_file(path, raw, mode=mode, uid=uid)

    def trust(
        self, other: Router, kind: str = "ipv4", ident: str | None = None, key: bytes | None = None
    ) -> None:
        """Put other's public key where isakmpd looks for it: pubkeys/<kind>/<id>."""
        self.write(
            f"/etc/isakmpd/pubkeys/{kind}/{ident or other.addr}",
            key if key is not None else other.key.public,
            mode=0o644,
        )

    def load(self, text: str, path: str = "/etc/ipsec.conf") -> CommandResult:
        """Write an ipsec.conf (0600 root) and `ipsecctl -f` it."""
        self.write(path, text)
        return self.run("ipsecctl", "-f", path)


def gre_rule(local: str, peer: str, extra: str = "", main: str = "", quick: str = "") -> str:
    """The team's rule shape: ESP transport protecting GRE between two routers."""
    main = main or "main auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 28800"
    quick = quick or "quick auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 3600"
    return (
        f"ike active esp transport proto gre from {local} to {peer} peer {peer} \\\n"
        f"    {main} \\\n    {quick}{(' ' + extra) if extra else ''}\n"
    )


class FleetBuilder:
    """Routers under tmp_path sharing one fleet file."""

    def __init__(self, base: Path, keys: list[KeyPair]) -> None:
        self.base = base
        self.keys = keys
        self.path = base / "fleet.json"
        self.fleet: dict[str, Any] = {"routers": {}, "external": {}}
        self.routers: dict[str, Router] = {}

    def save(self) -> None:
        self.path.write_text(json.dumps(self.fleet, indent=1, sort_keys=True))

    def router(
        self, name: str, addr: str, key: KeyPair | None = None, start: bool = True
    ) -> Router:
        root = self.base / name
        root.mkdir(parents=True, exist_ok=True)
        simstate.write_host_info(root, name, str(self.path))
        self.fleet["routers"][name] = str(root)
        self.save()
        chosen = key or self.keys[len(self.routers) % len(self.keys)]
        router = Router(SimHost(root), name, addr, chosen)
        router.write(LOCAL_KEY, chosen.private, mode=0o600)
        router.write(LOCAL_PUB, chosen.public, mode=0o644)
        if start:
            assert router.start_isakmpd()
        self.routers[name] = router
        return router

    def external(self, router: Router, name: str, **entry: Any) -> None:
        self.fleet["external"].setdefault(router.name, {})[name] = {"name": name, **entry}
        self.save()

    def pair(
        self, a_addr: str = "192.0.2.1", b_addr: str = "198.51.100.7"
    ) -> tuple[Router, Router]:
        """Two routers that trust each other's key and load mirror GRE rules."""
        a = self.router("rtr-a", a_addr)
        b = self.router("rtr-b", b_addr)
        a.trust(b, "ipv6" if ":" in b_addr else "ipv4")
        b.trust(a, "ipv6" if ":" in a_addr else "ipv4")
        assert a.load(gre_rule(a_addr, b_addr)).rc == 0
        assert b.load(gre_rule(b_addr, a_addr)).rc == 0
        return a, b
