"""Render one router's desired state from its peerings with the Jinja2 templates.

StrictUndefined turns a missing value into an error instead of an empty string in a config
that runs as root. Every value that reaches a template was validated by the inventory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

import jinja2

from agent.model import Peering
from agent.resources import templates_dir
from agent.router.desired import (
    GRE_ALLOW,
    ISAKMPD_FLAGS,
    MANAGED_DESCRIPTION,
    Desired,
    GreSpec,
    ManagedFile,
    hostname_path,
)
from agent.router.render_cache import RenderCache

IPSEC_CONF_MODE = 0o600  # ipsecctl refuses group-writable/world bits; 0600 passes every release
HOSTNAME_MODE = 0o640  # netstart "fixes" files with other bits or a non-root owner
PUBKEY_MODE = 0o644  # isakmpd does not check pubkey secrecy; public material


@dataclass(frozen=True)
class Held:
    """What stays applied for peers kept out of this run (agent.repo.gates)."""

    rules: Mapping[str, str] = field(default_factory=dict)  # peer -> rule block as loaded
    interfaces: Mapping[str, str] = field(default_factory=dict)  # peer -> greN
    keys: Mapping[str, str] = field(default_factory=dict)  # peer -> its key file


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,  # templates are part of the installed package: no stat per render
        autoescape=False,  # noqa: S701 - output is config text, not HTML; inputs are validated
    )


@cache
def get_template(name: str) -> jinja2.Template:
    """A template of templates/ in the agent's strict environment (also for `peer config`)."""
    return _env().get_template(name)


def description_for(p: Peering) -> str:
    """The interface description: marks it as peerops' and names the peer (IFDESCRSIZE 64)."""
    text = f"{MANAGED_DESCRIPTION} {p.peer}"
    return f"{text}: {p.description}" if p.description else text


# Peerings are frozen values: a daemon cycle renders again only the peerings that changed.
@lru_cache(maxsize=4096)
def render_rule(p: Peering) -> str:
    return get_template("ipsec-rule.j2").render(p=p).rstrip("\n") + "\n"


@lru_cache(maxsize=4096)
def render_hostname(p: Peering, interface: str) -> str:
    text = get_template("hostname.gre.j2").render(
        p=p, interface=interface, description=description_for(p)
    )
    return text.rstrip("\n") + "\n"


def render(
    router: str,
    peerings: Sequence[Peering],
    interfaces: Mapping[str, str],
    held: Held | None = None,
    cache: RenderCache | None = None,
) -> Desired:
    """Return the desired state for the peerings that have an interface assigned; held peers
    keep the rule, interface and key file applied for them before. With a cache, a text
    rendered by an earlier run from the same peering and interface is reused."""
    held = held or Held()
    active = [p for p in peerings if p.peer in interfaces]

    def rule(p: Peering) -> str:
        return cache.text("rule", p, "", lambda: render_rule(p)) if cache else render_rule(p)

    def hostname(p: Peering, iface: str) -> str:
        if cache is None:
            return render_hostname(p, iface)
        return cache.text("hostname", p, iface, lambda: render_hostname(p, iface))

    rules = {p.peer: rule(p) for p in active} | dict(held.rules)
    rules = dict(sorted(rules.items()))
    conf = get_template("ipsec.conf.j2").render(router=router, rules=list(rules.values()))
    hostname_files, gre = {}, {}
    for p in active:
        iface = interfaces[p.peer]
        hostname_files[iface] = ManagedFile(
            hostname_path(iface), hostname(p, iface).encode(), HOSTNAME_MODE
        )
        gre[iface] = gre_spec(p, iface)
    pubkeys = {
        p.remote_id.pubkey_path: ManagedFile(
            p.remote_id.pubkey_path, p.public_key.encode(), PUBKEY_MODE
        )
        for p in active
    }
    return Desired(
        router=router,
        ipsec_conf=ManagedFile("/etc/ipsec.conf", conf.encode(), IPSEC_CONF_MODE),
        rules=rules,
        pubkeys=pubkeys,
        hostname_files=hostname_files,
        gre=gre,
        interfaces={p.peer: interfaces[p.peer] for p in active} | dict(held.interfaces),
        sysctl={GRE_ALLOW: "1"},
        isakmpd_flags=ISAKMPD_FLAGS,
        ipsec_enabled=True,
        held_interfaces=frozenset(held.interfaces.values()),
        held_files=frozenset(held.keys.values()),
        peer_keys={p.peer: p.remote_id.pubkey_path for p in active} | dict(held.keys),
    )


def gre_spec(p: Peering, interface: str) -> GreSpec:
    inet6: tuple[tuple[str, int], ...] = ()
    if p.ipv6 and p.ipv6.router:
        inet6 = ((p.ipv6.router, p.ipv6.prefixlen),)
    return GreSpec(
        interface=interface,
        peer=p.peer,
        description=description_for(p),
        mtu=p.mtu,
        tunnel_src=p.local_endpoint,
        tunnel_dst=p.remote_endpoint,
        inet=(p.ipv4.router, p.ipv4.peer) if p.ipv4 else None,
        inet6=inet6,
        link_local=p.ipv6 is not None,
    )


def merge_sysctl_conf(current: bytes | None, settings: Mapping[str, str]) -> bytes:
    """Return sysctl.conf with each setting present once; other lines and comments are kept."""
    lines = (current or b"").decode(errors="replace").splitlines()
    out, done = [], set()
    for line in lines:
        # /etc/rc strips "#" comments (stripcom) before it hands each line to sysctl(8).
        name, _, value = line.split("#", 1)[0].partition("=")
        name = name.strip()
        if name in settings:
            if name not in done:
                same = value.strip() == settings[name]
                out.append(line if same else f"{name}={settings[name]}")
                done.add(name)
            continue
        out.append(line)
    out += [
        f"{k}={v}\t# peerops: GRE must be allowed for gre(4) tunnels"
        for k, v in settings.items()
        if k not in done
    ]
    return ("\n".join(out) + "\n").encode()
