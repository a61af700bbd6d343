"""The peer's side for a Linux router: a strongSwan swanctl.conf connection (IKEv1, raw RSA
public keys, ESP transport for proto gre) and the iproute2 commands for the gre tunnel.

Algorithm names follow swanctl.conf(5) / strongSwan's proposal keywords; each ipsecctl name
of ours maps to exactly one keyword, so both ends propose the same transforms.
"""

from __future__ import annotations

from agent.model import Phase
from agent.peer.mirror import PeerConfigError, PeerSide

# ipsecctl (parse.y encxfs) -> strongSwan; bare "aes" is AES-128 in isakmpd's defaults.
ENC = {
    "3des-cbc": "3des",
    "aes": "aes128",
    "aes-128": "aes128",
    "aes-192": "aes192",
    "aes-256": "aes256",
    "aesctr": "aes128ctr",
    "aes-128-ctr": "aes128ctr",
    "aes-192-ctr": "aes192ctr",
    "aes-256-ctr": "aes256ctr",
    "aes-128-gcm": "aes128gcm16",
    "aes-192-gcm": "aes192gcm16",
    "aes-256-gcm": "aes256gcm16",
    "aes-128-gmac": "aes128gmac",
    "aes-192-gmac": "aes192gmac",
    "aes-256-gmac": "aes256gmac",
    "blowfish": "blowfish128",
    "cast128": "cast128",
    "chacha20-poly1305": "chacha20poly1305",
    "null": "null",
}
AUTH = {
    "hmac-md5": "md5",
    "hmac-sha1": "sha1",
    "hmac-sha2-256": "sha256",
    "hmac-sha2-384": "sha384",
    "hmac-sha2-512": "sha512",
}
GROUP = {
    "modp768": "modp768",
    "modp1024": "modp1024",
    "modp1536": "modp1536",
    "modp2048": "modp2048",
    "modp3072": "modp3072",
    "modp4096": "modp4096",
    "modp6144": "modp6144",
    "modp8192": "modp8192",
    "ecp256": "ecp256",
    "ecp384": "ecp384",
    "ecp521": "ecp521",
    "ecp224": "ecp224",
    "bp224": "ecp224bp",
    "bp256": "ecp256bp",
    "bp384": "ecp384bp",
    "bp512": "ecp512bp",
}
IFNAMSIZ = 16  # Linux interface names: at most 15 characters


def proposal(phase: Phase) -> str:
    """One strongSwan proposal string for a resolved phase (e.g. aes256-sha256-modp2048)."""
    parts = [ENC[phase.enc]]
    if phase.auth is not None:
        if phase.auth not in AUTH:
            raise PeerConfigError(f"strongSwan has no {phase.auth}: choose another auth")
        parts.append(AUTH[phase.auth])
    if phase.group != "none":
        parts.append(GROUP[phase.group])
    return "-".join(parts)


def linux_interface(router: str) -> str:
    return f"gre-{router}"[: IFNAMSIZ - 1]


def strongswan_text(side: PeerSide, interface: str | None = None) -> str:
    """The swanctl.conf file, both keys' places and the ip(8) commands, as one text."""
    p = side.view
    conn = f"dn42-{p.peer}"
    iface = interface or linux_interface(p.peer)
    ip = "ip" if p.family == 4 else "ip -6"
    mode = "gre" if p.family == 4 else "ip6gre"
    lines = [
        f"# {p.router}: your side of the peering with {p.peer} (AS{p.asn}), for strongSwan.",
        f"# From `peerops peer config {p.peer}/{p.router} --format strongswan`.",
        f"# Put {p.peer}'s key in /etc/swanctl/pubkey/{p.peer}.pem, your own public key in",
        f"# /etc/swanctl/pubkey/{p.router}.pem and its private key in /etc/swanctl/private/.",
        "",
        f"==> /etc/swanctl/pubkey/{p.peer}.pem (create, mode 0644) <==",
        p.public_key.strip(),
        "",
        f"==> /etc/swanctl/conf.d/{conn}.conf (create, mode 0600) <==",
        "connections {",
        f"    {conn} {{",
        "        version = 1",
        f"        local_addrs = {p.local_endpoint}",
        f"        remote_addrs = {p.remote_endpoint}",
        f"        proposals = {proposal(p.crypto.main)}",
        "        rekey_time = 0s  # IKEv1 renews the IKE SA by reauthentication",
        f"        reauth_time = {p.crypto.main.lifetime}s",
        "        local {",
        "            auth = pubkey",
        f"            pubkeys = {p.router}.pem",
        f"            id = {p.local_id.value}",
        "        }",
        "        remote {",
        "            auth = pubkey",
        f"            pubkeys = {p.peer}.pem",
        f"            id = {p.remote_id.value}",
        "        }",
        "        children {",
        "            gre {",
        "                mode = transport",
        "                local_ts = dynamic[gre]",
        "                remote_ts = dynamic[gre]",
        f"                esp_proposals = {proposal(p.crypto.quick)}",
        f"                rekey_time = {p.crypto.quick.lifetime}s",
        "                start_action = start",
        "            }",
        "        }",
        "    }",
        "}",
        "",
        "==> commands <==",
        f"{ip} tunnel add {iface} mode {mode} local {p.local_endpoint} "
        f"remote {p.remote_endpoint} ttl 255",
        f"ip link set {iface} mtu {p.mtu} up",
    ]
    if p.ipv4:
        lines.append(f"ip addr add {p.ipv4.router}/32 peer {p.ipv4.peer}/32 dev {iface}")
    if p.ipv6 and p.ipv6.router:
        lines.append(f"ip -6 addr add {p.ipv6.router}/{p.ipv6.prefixlen} dev {iface}")
    elif p.ipv6:
        lines.append(f"# IPv6: the kernel gives {iface} a link-local address (eui64 on our side)")
    lines += ["swanctl --load-all", f"swanctl --initiate --child gre --ike {conn}"]
    return "\n".join(lines) + "\n"
