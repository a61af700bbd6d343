"""The peer's side for an OpenBSD router, rendered with the router's own templates (the
ipsec.conf rule and hostname.greN come from the same Jinja2 files as ours, mirrored)."""

from __future__ import annotations

import re

from agent.peer.mirror import PeerSide
from agent.router.render import get_template

# Sections of the exported text: "==> PATH (append|create[, mode 0NNN]) <==" or "==> commands <==".
SECTION_RE = re.compile(
    r"\A==> (?:(/\S+) \((append|create)(?:, mode (0[0-7]{3}))?\)|commands) <==\Z"
)


def openbsd_text(side: PeerSide, peer_asn: int, interface: str = "gre0") -> str:
    """Every file and command the peer needs, as `==> PATH (how) <==` sections."""
    p = side.view
    return str(
        get_template("peer-openbsd.j2").render(
            p=p,
            peer_asn=peer_asn,
            interface=interface,
            description=f"dn42 {p.peer} AS{p.asn}",
            peer_side=True,
        )
    )


def sections(text: str) -> list[tuple[str, str, int | None, str]]:
    """Split an exported text into (path or "commands", how, mode, body); comment lines before
    the first section are the reader's."""
    out: list[tuple[str, str, int | None, str]] = []
    body: list[str] = []
    for line in text.splitlines():
        m = SECTION_RE.match(line)
        if m:
            if out:
                out[-1] = (*out[-1][:3], "\n".join(body).strip("\n") + "\n")
            path, how, mode = m.group(1) or "commands", m.group(2) or "run", m.group(3)
            out.append((path, how, int(mode, 8) if mode else None, ""))
            body = []
        elif out:
            body.append(line)
    if out:
        out[-1] = (*out[-1][:3], "\n".join(body).strip("\n") + "\n")
    return out
