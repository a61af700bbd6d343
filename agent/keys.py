"""RSA public keys as peers send them, converted to the PEM isakmpd reads; our own key pair.

isakmpd (ike_auth.c) reads a peer key with PEM_read_RSA_PUBKEY (SubjectPublicKeyInfo,
`BEGIN PUBLIC KEY`) and falls back to PEM_read_RSAPublicKey (PKCS#1); only RSA is used by
IKEv1 signatures (shared/docs/openbsd-reference.md §5.2). peerops always installs
SubjectPublicKeyInfo PEM, the form `openssl rsa -pubout` writes for /etc/isakmpd/local.pub.

Accepted input formats (shared/docs/dn42-context.md §2, the formats pubkey-converter reads
plus the two it does not):

- ``pem``: PEM SubjectPublicKeyInfo, ``-----BEGIN PUBLIC KEY-----``;
- ``pkcs1``: PEM PKCS#1, ``-----BEGIN RSA PUBLIC KEY-----``;
- ``rfc3110``: ``0s`` + base64 of the RFC 3110 §2 RSA KEY RR public key field: the exponent
  length (one octet, or a zero octet and two octets when longer than 255), the exponent,
  then the modulus (strongSwan < 5, libreswan, racoon, VyOS/EdgeOS);
- ``der-hex``: DER (SubjectPublicKeyInfo or PKCS#1) as hex digits, any case, any whitespace
  (Cisco IOS ``key-string``);
- ``openssh``: one ``ssh-rsa AAAA… [comment]`` line.

Every refusal is a `PublicKeyError` whose message says what to do and never holds key material.
The fingerprint is ``SHA256:`` + unpadded base64 of SHA-256 over the DER SubjectPublicKeyInfo:
the SPKI digest of RFC 7469 §2.4 ("pin-sha256"), which anyone can recompute with
``openssl pkey -pubin -in local.pub -outform DER | openssl dgst -sha256 -binary | openssl
base64``. It is *not* ``ssh-keygen -l``'s number: that one hashes the SSH wire blob.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import re
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.atomic import write_atomic
from agent.errors import PeeropsError

MIN_BITS = 2048
MAX_BITS = 16384  # OPENSSL_RSA_MAX_MODULUS_BITS: OpenSSL and LibreSSL refuse larger moduli
FORMATS = ("pem", "pkcs1", "rfc3110", "der-hex", "openssh")

LOCAL_KEY = "/etc/isakmpd/private/local.key"
LOCAL_PUB = "/etc/isakmpd/local.pub"

PRIVATE = "this is a private key: remove it from the repo and rotate it"
_ACCEPTED = (
    "a PEM public key (-----BEGIN PUBLIC KEY----- or -----BEGIN RSA PUBLIC KEY-----), "
    "an RFC 3110 key (0s...), hex DER (Cisco key-string) or one OpenSSH ssh-rsa line"
)
_PRIVATE_MARKERS = re.compile(
    r"-----(?:BEGIN|END) [A-Z0-9 ]*PRIVATE KEY-----"  # PKCS#1, PKCS#8, EC, OpenSSH, PGP, ...
    r"|PuTTY-User-Key-File-"  # PuTTY .ppk
    r"|\bPrivateExponent\s*:"  # racoon / strongSwan < 5 ": RSA { ... }" secrets
)
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s*([A-Za-z0-9+/=\s]*?)\s*-----END \1-----")
_SSH_TYPES = re.compile(r"(?:ssh-\S+|ecdsa-sha2-\S+|sk-\S+)")
_HEX = re.compile(r"[0-9A-Fa-f\s]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")


class PublicKeyError(PeeropsError, ValueError):
    """A key that cannot be used; the message never contains key material."""


@dataclass(frozen=True)
class PublicKey:
    """A usable RSA public key, normalised to what isakmpd reads."""

    pem: str  # SubjectPublicKeyInfo PEM, one trailing newline
    bits: int
    fingerprint: str  # SHA256:<unpadded base64 of sha256(DER SPKI)> (RFC 7469 SPKI digest)
    format: str = "pem"  # the format the key was given in (one of FORMATS)

    def convert(self, fmt: str) -> str:
        """Return this key in fmt (one of FORMATS), ending in one newline."""
        return to_format(self, fmt)


# -- parsing --------------------------------------------------------------------------------


def parse_public_key(text: str, *, min_bits: int = MIN_BITS) -> PublicKey:
    """Return the RSA public key in text as SPKI PEM; raise PublicKeyError saying what to do.

    Ensures: RSA, min_bits <= size <= MAX_BITS, a plausible modulus (odd), never a private
    key, and no key material in any message."""
    stripped = text.strip()
    if _PRIVATE_MARKERS.search(stripped):
        raise PublicKeyError(PRIVATE)
    if not stripped:
        raise PublicKeyError(f"empty: paste the peer's RSA public key as {_ACCEPTED}")
    fmt, key = _load_any(stripped)
    return _checked(key, fmt, min_bits)


def _load_any(text: str) -> tuple[str, Any]:
    """Detect the format and load the key object (not yet checked for type or size)."""
    if text.startswith("-----BEGIN "):
        return _load_pem(text)
    if text.startswith("0s"):
        return "rfc3110", _load_rfc3110(text[2:])
    first = text.split(None, 1)[0]
    if _SSH_TYPES.fullmatch(first):
        return "openssh", _load_openssh(text, first)
    if text.startswith("---- BEGIN SSH2 PUBLIC KEY ----"):
        raise PublicKeyError(
            "an SSH2 (RFC 4716) public key: convert it to one ssh-rsa line with "
            "`ssh-keygen -i -f FILE`, or to PEM with `ssh-keygen -e -m PKCS8 -f FILE`"
        )
    if _HEX.fullmatch(text):
        return "der-hex", _load_hex(text)
    if _HEX.fullmatch(text.removesuffix("quit")):
        raise PublicKeyError("remove the `quit` line: give only the hex lines of the key-string")
    if _BASE64.fullmatch(text):
        _refuse_bare_base64(text)
    raise PublicKeyError(f"not a public key peerops can read: expected {_ACCEPTED}")


def _refuse_bare_base64(text: str) -> None:
    """A PEM body without its armour: say so (and refuse a private one as private)."""
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return
    _refuse_if_private_der(der)
    try:
        _load_der(der, "the text")
    except PublicKeyError:
        return
    raise PublicKeyError(
        "this is the inside of a PEM file without its -----BEGIN PUBLIC KEY----- "
        "and -----END PUBLIC KEY----- lines: paste the whole file"
    )


def _load_pem(text: str) -> tuple[str, Any]:
    blocks = list(_PEM.finditer(text))
    if not blocks:
        raise PublicKeyError(
            "the PEM key is damaged or truncated: copy the whole file again, "
            "from its -----BEGIN line to its -----END line"
        )
    if len(blocks) > 1 or text[blocks[0].end() :].strip():
        raise PublicKeyError("more than one PEM block: give exactly one public key")
    label, body = blocks[0].group(1), blocks[0].group(2)
    if label == "CERTIFICATE":
        raise PublicKeyError(
            "an X.509 certificate: isakmpd's pubkeys/ wants the bare key; extract it with "
            "`openssl x509 -in cert.pem -noout -pubkey`"
        )
    if label not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
        raise PublicKeyError(f"a PEM {label.lower()} block, not a public key: expected {_ACCEPTED}")
    der = _b64(body, "the PEM key")
    return ("pem" if label == "PUBLIC KEY" else "pkcs1"), _load_der(der, "the PEM key")


def _b64(body: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise PublicKeyError(
            f"{what} is damaged or truncated (its base64 does not decode): copy it whole again"
        ) from None


def _load_der(der: bytes, what: str) -> Any:
    """An SPKI or PKCS#1 DER public key; a private key here is refused as such."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        return load_der_public_key(der)
    except UnsupportedAlgorithm:
        raise PublicKeyError(_NOT_RSA) from None
    except ValueError:
        _refuse_if_private_der(der)
        raise PublicKeyError(f"{what} is damaged or truncated: copy it whole again") from None


def _refuse_if_private_der(der: bytes) -> None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
    except TypeError:  # an encrypted private key (it needs a password): still private
        pass
    except (ValueError, UnsupportedAlgorithm):
        return
    raise PublicKeyError(PRIVATE)


def _load_hex(text: str) -> Any:
    digits = "".join(text.split())
    if len(digits) % 2:
        raise PublicKeyError(
            "the hex DER key has an odd number of digits (damaged or truncated): "
            "copy every line of the key-string again"
        )
    return _load_der(bytes.fromhex(digits), "the hex DER key")


def _load_rfc3110(body: str) -> Any:
    """RFC 3110 §2: exponent length (1 octet, or 0 then 2 octets), exponent, modulus."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    data = _b64(body, "the RFC 3110 (0s...) key")
    damaged = "the RFC 3110 (0s...) key is damaged or truncated: copy the whole value again"
    if len(data) < 3:
        raise PublicKeyError(damaged)
    elen, offset = (data[0], 1) if data[0] else (int.from_bytes(data[1:3], "big"), 3)
    modulus = data[offset + elen :]
    if elen == 0 or not modulus:
        raise PublicKeyError(damaged)
    e = int.from_bytes(data[offset : offset + elen], "big")
    n = int.from_bytes(modulus, "big")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError:
        raise PublicKeyError(damaged) from None


def _load_openssh(text: str, keytype: str) -> Any:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    if len(text.splitlines()) > 1:
        raise PublicKeyError("more than one line: give exactly one ssh-rsa public key line")
    if keytype != "ssh-rsa":
        if "-cert-" in keytype:
            raise PublicKeyError("an OpenSSH certificate: give the plain ssh-rsa key line")
        raise PublicKeyError(_NOT_RSA)
    try:
        return load_ssh_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise PublicKeyError(
            "the ssh-rsa key is damaged or truncated: copy the whole line of the .pub file again"
        ) from None


_NOT_RSA = (
    "not an RSA key: isakmpd's IKEv1 authentication needs RSA; make one with "
    "`openssl genrsa 2048` (as /etc/rc does) and send its public half"
)


def _checked(key: Any, fmt: str, min_bits: int) -> PublicKey:
    """Type, size and modulus checks; the normalised PublicKey."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not isinstance(key, rsa.RSAPublicKey):
        raise PublicKeyError(_NOT_RSA)
    bits = key.key_size
    if bits < min_bits:
        raise PublicKeyError(
            f"RSA key has {bits} bits; at least {min_bits} are required: generate a new key "
            f"pair (`openssl genrsa {max(min_bits, MIN_BITS)}`) and send its public half"
        )
    if bits > MAX_BITS:
        raise PublicKeyError(
            f"RSA key has {bits} bits; OpenSSL and LibreSSL refuse moduli over {MAX_BITS} bits"
        )
    if key.public_numbers().n % 2 == 0:
        raise PublicKeyError(f"the {fmt} key is damaged or truncated (even modulus): copy it again")
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PublicKey(pem.decode(), bits, fingerprint(der), fmt)


def fingerprint(der: bytes) -> str:
    """SHA256:<unpadded base64 of sha256(der)>, der being the DER SubjectPublicKeyInfo."""
    digest = base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def fingerprint_of(text: str) -> str | None:
    """The fingerprint of any accepted key text (no size policy), or None when unusable."""
    try:
        return parse_public_key(text, min_bits=0).fingerprint
    except PublicKeyError:
        return None


_SPKI_PEM = re.compile(
    r"-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/\n]+={0,2}\n)-----END PUBLIC KEY-----\n"
)


def loaded_fingerprint(pem: str) -> str | None:
    """The fingerprint of a key the loader already accepted (a Peering's public_key: the
    SPKI PEM that cryptography wrote), from its DER without parsing the key again (a run
    reports a thousand of them); any other text is parsed as fingerprint_of does."""
    match = _SPKI_PEM.fullmatch(pem)
    if match is None:
        return fingerprint_of(pem)
    try:
        return fingerprint(base64.b64decode(match.group(1).replace("\n", ""), validate=True))
    except binascii.Error:
        return fingerprint_of(pem)


# -- output ---------------------------------------------------------------------------------


def to_format(key: PublicKey, fmt: str) -> str:
    """Return key in fmt (one of FORMATS), ending in one newline."""
    from cryptography.hazmat.primitives import serialization

    if fmt not in FORMATS:
        raise ValueError(f"unknown key format {fmt!r} (one of {', '.join(FORMATS)})")
    rsa_key: Any = serialization.load_pem_public_key(key.pem.encode())
    enc, pub = serialization.Encoding, serialization.PublicFormat
    if fmt == "pem":
        return key.pem
    if fmt == "pkcs1":
        return rsa_key.public_bytes(enc.PEM, pub.PKCS1).decode()
    if fmt == "openssh":
        return rsa_key.public_bytes(enc.OpenSSH, pub.OpenSSH).decode() + "\n"
    if fmt == "der-hex":
        return _hex_lines(rsa_key.public_bytes(enc.DER, pub.SubjectPublicKeyInfo))
    numbers = rsa_key.public_numbers()
    return "0s" + base64.b64encode(rfc3110_bytes(numbers.e, numbers.n)).decode() + "\n"


def rfc3110_bytes(e: int, n: int) -> bytes:
    """The RFC 3110 §2 public key field: exponent length, exponent, modulus (no leading 0s)."""
    exp = e.to_bytes((e.bit_length() + 7) // 8, "big")
    mod = n.to_bytes((n.bit_length() + 7) // 8, "big")
    length = bytes([len(exp)]) if len(exp) <= 255 else b"\0" + len(exp).to_bytes(2, "big")
    return length + exp + mod


def _hex_lines(der: bytes) -> str:
    """Uppercase hex in groups of 8 digits, 8 groups a line: Cisco IOS / pubkey-converter -d."""
    digits = der.hex().upper()
    groups = [digits[i : i + 8] for i in range(0, len(digits), 8)]
    return "".join(" ".join(groups[i : i + 8]) + "\n" for i in range(0, len(groups), 8))


# -- our own key (through the Host protocol) ------------------------------------------------


def published_key(
    host: Any, parse: Callable[[str], PublicKey] | None = None
) -> tuple[str, str] | None:
    """(SPKI PEM, fingerprint) of the router's local.pub for keys/<router>.pub, or None when
    it is missing or unusable. Reads local.pub only, never the private key. parse as for
    local_key_report."""
    data = host.read_file(LOCAL_PUB)
    if data is None:
        return None
    try:
        key = (parse or _parse_any_bits)(data.decode("utf-8", errors="replace"))
    except PublicKeyError:
        return None
    return key.pem, key.fingerprint


def local_key_report(
    host: Any, *, min_bits: int = MIN_BITS, read_private: bool = True,
    parse: Callable[[str], PublicKey] | None = None,
) -> dict[str, Any]:
    """What isakmpd will make of our key pair: fingerprint, bits and each problem with its fix.

    Ensures: "ok" is True only when local.key is a root-owned 0600 (no group/other bit) RSA
    private key whose public half is local.pub, and local.pub has at least min_bits. With
    read_private=False (the unattended run) local.key is only stat()ed, never opened: its
    presence, owner and mode are checked, not its content. parse reads local.pub's text
    (default: parse_public_key with no floor; the run passes a remembered_parse)."""
    problems: list[dict[str, str]] = []
    public, pub_problem = _local_pub(host, min_bits, parse or _parse_any_bits)
    if pub_problem:
        problems.append(pub_problem)
    private_numbers = _local_key(host, problems, read_private)
    if public is not None and private_numbers is not None:
        from cryptography.hazmat.primitives import serialization

        pub_numbers: Any = serialization.load_pem_public_key(public.pem.encode())
        if pub_numbers.public_numbers() != private_numbers:
            problems.append(
                _problem(
                    LOCAL_PUB,
                    "is not the public half of local.key: peers that installed it cannot "
                    "authenticate this router",
                    f"openssl rsa -in {LOCAL_KEY} -pubout -out {LOCAL_PUB}, then publish it",
                )
            )
    return {
        "local_pub": LOCAL_PUB,
        "private_key": LOCAL_KEY,
        "fingerprint": public.fingerprint if public else None,
        "bits": public.bits if public else None,
        "ok": not problems,
        "problems": problems,
    }


def _problem(path: str, problem: str, fix: str) -> dict[str, str]:
    return {"path": path, "problem": problem, "fix": fix}


def _parse_any_bits(text: str) -> PublicKey:
    return parse_public_key(text, min_bits=0)


def remembered_parse(cache: Path) -> Callable[[str], PublicKey]:
    """parse_public_key(text, min_bits=0) that keeps its last result in the file cache by
    the sha256 of text: the run looks at local.pub every cycle, and parsing a key loads
    cryptography's bindings (6 MiB) into a process that otherwise needs none of it. A
    missing, damaged or foreign cache file only costs the parse (and is written again)."""

    def parse(text: str) -> PublicKey:
        digest = hashlib.sha256(text.encode()).hexdigest()
        try:
            kept = json.loads(cache.read_bytes())
            if kept["sha256"] == digest:
                return PublicKey(**kept["key"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        key = _parse_any_bits(text)  # raises for a bad key: nothing is kept then
        with contextlib.suppress(OSError):
            write_atomic(cache, json.dumps({"sha256": digest, "key": asdict(key)}).encode())
        return key

    return parse


def _local_pub(
    host: Any, min_bits: int, parse: Callable[[str], PublicKey]
) -> tuple[PublicKey | None, dict[str, str] | None]:
    data = host.read_file(LOCAL_PUB)
    derive = f"openssl rsa -in {LOCAL_KEY} -pubout -out {LOCAL_PUB}"
    if data is None:
        return None, _problem(LOCAL_PUB, "missing: peers have no key to install", derive)
    try:
        key = parse(data.decode("utf-8", errors="replace"))
    except PublicKeyError as exc:
        return None, _problem(LOCAL_PUB, str(exc), derive)
    if key.bits < min_bits:
        return key, _problem(
            LOCAL_PUB,
            f"RSA key has {key.bits} bits; the policy wants at least {min_bits}",
            "peerops key generate --force, then give every peer the new local.pub",
        )
    return key, None


def local_key_problems(st: Any) -> list[tuple[str, str, str]]:
    """What isakmpd's check_file_secrecy_fd (sbin/isakmpd/util.c) refuses in local.key's
    stat: [(isakmpd's own complaint, our words, the one fix)]; empty when it would load it.
    Used by `key show`, the report and the doctor alike."""
    if st is None:
        return [(
            "no such file",
            "missing: isakmpd cannot authenticate with RSA",
            "peerops key generate",
        )]
    found = []
    if st.uid != 0:
        found.append((
            f"not loading {LOCAL_KEY} - file owner is not process user",
            f"owned by uid {st.uid}: isakmpd refuses it (file owner is not process user)",
            f"chown root:wheel {LOCAL_KEY}",
        ))
    if st.mode & (stat.S_IRWXG | stat.S_IRWXO):
        found.append((
            f"not loading {LOCAL_KEY} - too open permissions",
            f"mode {st.mode:04o}: isakmpd refuses it (too open permissions)",
            f"chmod 600 {LOCAL_KEY}",
        ))
    return found


def _local_key(host: Any, problems: list[dict[str, str]], read_private: bool = True) -> Any:
    """Check local.key as isakmpd's check_file_secrecy_fd does; its public numbers or None."""
    st = host.stat(LOCAL_KEY)
    for _, problem, fix in local_key_problems(st):
        if st is None:
            fix += " (as /etc/rc make_keys does at first boot), then publish the new local.pub"
        problems.append(_problem(LOCAL_KEY, problem, fix))
    if st is None or not read_private:
        return None
    return _private_numbers(host.read_file(LOCAL_KEY), problems)


def _private_numbers(data: bytes | None, problems: list[dict[str, str]]) -> Any:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(data or b"", password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        problems.append(
            _problem(
                LOCAL_KEY,
                "not an unencrypted RSA PEM private key: isakmpd cannot load it",
                "peerops key generate --force, then give every peer the new local.pub",
            )
        )
        return None
    return key.public_key().public_numbers()


def generate_key_pair(bits: int = MIN_BITS) -> tuple[bytes, bytes]:
    """(private PEM, public PEM) like /etc/rc make_keys: `openssl genrsa 2048` writes a PKCS#1
    `BEGIN RSA PRIVATE KEY` (LibreSSL) and `openssl rsa -pubout` the SPKI local.pub."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def install_key_pair(
    host: Any, *, force: bool = False, pair: tuple[bytes, bytes] | None = None
) -> PublicKey:
    """Create local.key (0600 root:wheel) and local.pub (0644) through host.write_file (a
    new pair, or `pair`: (private PEM, public PEM) made elsewhere, e.g. agent.lab.keypool).

    Ensures: an existing local.key or local.pub is never replaced unless force is set."""
    existing = [p for p in (LOCAL_KEY, LOCAL_PUB) if host.stat(p) is not None]
    if existing and not force:
        raise PublicKeyError(
            f"{' and '.join(existing)} already exist(s): keeping them. --force replaces the "
            "pair, and every peer must then install the new local.pub"
        )
    private, public = pair or generate_key_pair()
    host.write_file(LOCAL_KEY, private, mode=0o600, uid=0, gid=0)
    host.write_file(LOCAL_PUB, public, mode=0o644, uid=0, gid=0)
    return parse_public_key(public.decode())
