"""RSA public keys as peers send them, converted to the PEM isakmpd reads.

isakmpd (ike_auth.c) reads a peer key with PEM_read_RSA_PUBKEY (SubjectPublicKeyInfo,
`BEGIN PUBLIC KEY`) and falls back to PEM_read_RSAPublicKey (PKCS#1); only RSA is used by
IKEv1 signatures. peerops always installs SubjectPublicKeyInfo PEM, the form `openssl rsa
-pubout` writes for /etc/isakmpd/local.pub.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

MIN_BITS = 2048


class KeyError_(ValueError):
    """A key that cannot be used; the message never contains key material."""


@dataclass(frozen=True)
class PublicKey:
    pem: str  # SubjectPublicKeyInfo PEM, one trailing newline
    bits: int
    fingerprint: str  # SHA256:<base64 of the DER SPKI digest, unpadded>, as ssh-keygen prints


def parse_public_key(text: str, *, min_bits: int = MIN_BITS) -> PublicKey:
    """Return the RSA public key in text as SPKI PEM; raise KeyError_ saying what to do."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    stripped = text.strip()
    if "PRIVATE KEY" in stripped:
        raise KeyError_("this is a private key: remove it from the repo and rotate it")
    data = stripped.encode()
    try:
        if "BEGIN RSA PUBLIC KEY" in stripped or "BEGIN PUBLIC KEY" in stripped:
            key = serialization.load_pem_public_key(data)
        else:
            raise KeyError_("not a PEM public key (expected -----BEGIN PUBLIC KEY-----)")
    except ValueError as exc:
        if isinstance(exc, KeyError_):
            raise
        raise KeyError_("the PEM key is damaged or truncated") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyError_("not an RSA key: isakmpd's IKEv1 authentication needs RSA")
    if key.key_size < min_bits:
        raise KeyError_(f"RSA key has {key.key_size} bits; at least {min_bits} are required")
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PublicKey(pem.decode(), key.key_size, fingerprint(der))


def fingerprint(der: bytes) -> str:
    digest = base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"
