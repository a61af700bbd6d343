"""Key material made once per test process by the REAL openssl, ssh-keygen and gpg.

The tools are required: CI installs them (Debian packages openssl, openssh-client, gnupg).
A missing tool fails the tests that need it loudly; nothing is skipped.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

TOOLS = {"openssl": "openssl", "ssh-keygen": "openssh-client", "gpg": "gnupg", "gpgconf": "gnupg"}


def run(argv: Sequence[str], stdin: bytes | None = None) -> bytes:
    """Run a real tool (argv list); its stdout, failing the test with stderr on error."""
    done = subprocess.run(list(argv), input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{argv[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done.stdout


def require_tools() -> None:
    missing = [f"{t} (package {pkg})" for t, pkg in TOOLS.items() if shutil.which(t) is None]
    if missing:
        pytest.fail("required tools are not installed: " + ", ".join(missing), pytrace=False)


@dataclass(frozen=True)
class Material:
    """Files and texts, all made by the real tools."""

    dir: Path
    rsa_private: Path  # openssl genrsa 2048 (PKCS#8 with OpenSSL 3)
    spki: str  # openssl rsa -pubout
    pkcs1: str  # openssl rsa -RSAPublicKey_out
    der: bytes  # openssl rsa -pubout -outform DER
    modulus_hex: str  # openssl rsa -noout -modulus
    exponent: int
    rsa1024_spki: str
    rsa_traditional_private: str  # openssl rsa -traditional (BEGIN RSA PRIVATE KEY)
    rsa_private_der: bytes
    ec_spki: str
    ec_private: str
    ed25519_spki: str
    ssh_rsa_pub: str  # ssh-keygen -t rsa -b 2048, the .pub line
    ssh_rsa_private: str
    ssh_rsa_spki: str  # ssh-keygen -e -m PKCS8
    ssh_rsa_pkcs1: str  # ssh-keygen -e -m PEM
    ssh_ed25519_pub: str
    ssh_signer: Path  # ed25519 private key that signs peer keys (allowed)
    ssh_signer_pub: str
    ssh_mallory: Path  # ed25519 private key nobody allowed
    gpg_signer: Path  # GNUPGHOME holding the signer's secret key
    gpg_mallory: Path  # GNUPGHOME of an untrusted signer
    gpg_trust: Path  # GNUPGHOME with only the signer's public key: keys.gpg_home
    gpg_signer_fpr: str


@functools.cache
def material() -> Material:
    """Generate everything once (the tools are slow); removed when the process exits."""
    require_tools()
    d = Path(tempfile.mkdtemp(prefix="pk-"))
    atexit.register(shutil.rmtree, d, True)
    return Material(d, **_openssl(d), **_ssh(d), **_gpg(d))


def _openssl(d: Path) -> dict[str, object]:
    key = d / "rsa.pem"
    run(["openssl", "genrsa", "-out", str(key), "2048"])
    weak = d / "rsa1024.pem"
    run(["openssl", "genrsa", "-out", str(weak), "1024"])
    ec = run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    ed = run(["openssl", "genpkey", "-algorithm", "ED25519"])
    modulus = run(["openssl", "rsa", "-in", str(key), "-noout", "-modulus"]).decode()
    text = run(["openssl", "rsa", "-in", str(key), "-noout", "-text"]).decode()
    exponent = next(ln for ln in text.splitlines() if ln.startswith("publicExponent:"))
    return {
        "rsa_private": key,
        "spki": run(["openssl", "rsa", "-in", str(key), "-pubout"]).decode(),
        "pkcs1": run(["openssl", "rsa", "-in", str(key), "-RSAPublicKey_out"]).decode(),
        "der": run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"]),
        "modulus_hex": modulus.strip().removeprefix("Modulus="),
        "exponent": int(exponent.split()[1]),
        "rsa1024_spki": run(["openssl", "rsa", "-in", str(weak), "-pubout"]).decode(),
        "rsa_traditional_private": run(
            ["openssl", "rsa", "-in", str(key), "-traditional"]
        ).decode(),
        "rsa_private_der": run(["openssl", "rsa", "-in", str(key), "-outform", "DER"]),
        "ec_spki": run(["openssl", "pkey", "-pubout"], stdin=ec).decode(),
        "ec_private": ec.decode(),
        "ed25519_spki": run(["openssl", "pkey", "-pubout"], stdin=ed).decode(),
    }


def _ssh(d: Path) -> dict[str, object]:
    paths = {}
    for name, kind in (
        ("id_rsa", "rsa"),
        ("id_ed", "ed25519"),
        ("signer", "ed25519"),
        ("mallory", "ed25519"),
    ):
        path = d / name
        extra = ["-b", "2048"] if kind == "rsa" else []
        run(["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-C", name, "-f", str(path)])
        paths[name] = path
    pub = paths["id_rsa"].with_suffix(".pub")
    return {
        "ssh_rsa_pub": pub.read_text(),
        "ssh_rsa_private": paths["id_rsa"].read_text(),
        "ssh_rsa_spki": run(["ssh-keygen", "-e", "-m", "PKCS8", "-f", str(pub)]).decode(),
        "ssh_rsa_pkcs1": run(["ssh-keygen", "-e", "-m", "PEM", "-f", str(pub)]).decode(),
        "ssh_ed25519_pub": paths["id_ed"].with_suffix(".pub").read_text(),
        "ssh_signer": paths["signer"],
        "ssh_signer_pub": paths["signer"].with_suffix(".pub").read_text(),
        "ssh_mallory": paths["mallory"],
    }


def gpg(home: Path, *args: str) -> list[str]:
    """argv of a non-interactive gpg on home."""
    return ["gpg", "--homedir", str(home), "--batch", *args]


def _gpg(d: Path) -> dict[str, object]:
    homes = {name: d / f"gpg-{name}" for name in ("signer", "mallory", "trust")}
    for home in homes.values():
        home.mkdir(mode=0o700)
        kill = ["gpgconf", "--homedir", str(home), "--kill", "all"]
        atexit.register(subprocess.run, kill, capture_output=True, check=False)
    for name in ("signer", "mallory"):
        uid = f"{name} <{name}@example.org>"
        run(
            gpg(homes[name], "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
        )
    exported = run(gpg(homes["signer"], "--armor", "--export"))
    run(gpg(homes["trust"], "--import"), stdin=exported)
    listing = run(gpg(homes["signer"], "--with-colons", "--list-keys")).decode()
    fpr = next(ln.split(":")[9] for ln in listing.splitlines() if ln.startswith("fpr:"))
    return {
        "gpg_signer": homes["signer"],
        "gpg_mallory": homes["mallory"],
        "gpg_trust": homes["trust"],
        "gpg_signer_fpr": fpr,
    }


def gpg_sign(home: Path, data: bytes, *, detached: bool = True) -> bytes:
    """`gpg -sb -a` (or an inline-signed `gpg -s -a` message) of data with home's key."""
    mode = "-sb" if detached else "-s"
    return run(gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", mode, "-a"), stdin=data)


def ssh_sign(key: Path, data: bytes, namespace: str = "peerops") -> bytes:
    """`ssh-keygen -Y sign -n namespace -f key` over data (read from stdin)."""
    return run(["ssh-keygen", "-Y", "sign", "-n", namespace, "-f", str(key)], stdin=data)


def rfc3110_from_openssl(m: Material) -> str:
    """The 0s… form built independently of agent.keys, from openssl's modulus and exponent."""
    import base64

    exp = m.exponent.to_bytes((m.exponent.bit_length() + 7) // 8, "big")
    mod = bytes.fromhex(m.modulus_hex)
    return "0s" + base64.b64encode(bytes([len(exp)]) + exp + mod).decode()


def openssl_fingerprint(spki_pem: str) -> str:
    """SHA256:… by `openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64`."""
    import base64

    der = run(["openssl", "pkey", "-pubin", "-outform", "DER"], stdin=spki_pem.encode())
    digest = run(["openssl", "dgst", "-sha256", "-binary"], stdin=der)
    b64 = run(["openssl", "base64", "-A"], stdin=digest).decode().strip()
    assert base64.b64decode(b64) == digest
    return "SHA256:" + b64.rstrip("=")
