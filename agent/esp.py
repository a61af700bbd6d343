"""ESP transport-mode arithmetic: how many bytes a gre packet takes on the wire, and the
largest gre MTU that still fits a path (sys/netinet/ip_esp.c esp_output; sizes from
sys/crypto/xform.c). The tunnel MTU default, its validation and the doctor's MTU check all
use it.
"""

from __future__ import annotations

from functools import cache

# sys/crypto/xform.c: (blocksize, ivsize) of each enc_xform, keyed by the names ipsecctl -ss
# prints and ipsec.conf(5) accepts; AEAD ciphers carry their ICV (the GMAC hash, authsize 16).
ENC_SIZES: dict[str, tuple[int, int, int]] = {
    **dict.fromkeys(("aes", "aes-128", "aes-192", "aes-256"), (16, 16, 0)),
    **dict.fromkeys(("aesctr", "aes-128-ctr", "aes-192-ctr", "aes-256-ctr"), (16, 8, 0)),
    **dict.fromkeys(("aes-128-gcm", "aes-192-gcm", "aes-256-gcm"), (1, 8, 16)),
    **dict.fromkeys(("aes-128-gmac", "aes-192-gmac", "aes-256-gmac"), (1, 8, 16)),
    **dict.fromkeys(("3des-cbc", "3des", "blowfish", "cast128", "cast"), (8, 8, 0)),
    "null": (4, 0, 0),
}
# sys/crypto/xform.c auth_hash authsize: the truncated HMAC ESP carries.
AUTH_SIZES = {
    "hmac-md5": 12, "hmac-sha1": 12, "hmac-ripemd160": 12,
    "hmac-sha2-256": 16, "hmac-sha2-384": 24, "hmac-sha2-512": 32,
}
GRE_HEADER = 4  # struct gre_header: flags and protocol, no key, checksum or sequence
ESP_HEADER = 8  # SPI and sequence number (2 * sizeof(u_int32_t))


def esp_size(mtu: int, outer: int, enc: str, auth: str | None) -> int | None:
    """Bytes on the wire for a full-size packet of a gre interface with this mtu, in ESP
    transport mode (esp_output's arithmetic); None for an unknown algorithm."""
    sizes = ENC_SIZES.get(enc)
    if sizes is None or (auth is not None and sizes[2] == 0 and auth not in AUTH_SIZES):
        return None
    block, iv, aead_icv = sizes
    icv = aead_icv or (AUTH_SIZES[auth] if auth else 0)
    rlen = GRE_HEADER + mtu
    blks = max(block, 4)
    padding = ((blks - ((rlen + 2) % blks)) % blks) + 2
    return outer + ESP_HEADER + iv + rlen + padding + icv


def largest_mtu(limit: int, outer: int, enc: str, auth: str | None) -> int | None:
    """The largest gre mtu whose ESP packets still fit into `limit` bytes (576 at least)."""
    for mtu in range(limit, 575, -1):
        size = esp_size(mtu, outer, enc, auth)
        if size is None:
            return None
        if size <= limit:
            return mtu
    return None


PATH_MTU = 1500  # the internet's usual path; DN42 tunnels cross it
DEFAULT_MTU = 1400  # the tunnel MTU when neither the router nor the peer file sets one
# Outer headers: IPv4 20 + 8 of UDP when NAT-T encapsulates ESP (udpencap, port 4500); IPv6 40.
OUTER = {4: 20 + 8, 6: 40}


@cache  # a handful of proposals serve every peer: count down from 1500 once per proposal
def tunnel_mtu_limit(family: int, enc: str, auth: str | None) -> int | None:
    """The largest gre MTU whose ESP packets fit a 1500-byte path over this underlay family
    (with NAT-T on IPv4); None for an algorithm whose sizes are unknown."""
    return largest_mtu(PATH_MTU, OUTER[family], enc, auth)
