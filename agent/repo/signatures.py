"""Detached signatures on peers' key files, verified with the real gpg and ssh-keygen.

Convention (state/README.md, "Key files and signatures"): an external peer whose key is in
`peers/<router>/<peer>.pub` (`public_key_file: <peer>.pub`) may sign that file's exact bytes:

- `<peer>.pub.asc`: `gpg -sb -a <peer>.pub`, checked against the keyring in keys.gpg_home;
- `<peer>.pub.sig`: `ssh-keygen -Y sign -n peerops -f KEY <peer>.pub`, checked against
  keys.allowed_signers with the identity `<peer>@<asn>` (e.g. `alice@4242421234`); the
  principals of an allowed_signers line are patterns, so `*@4242421234` or `*` work too.

An inline `public_key` cannot carry a signature: a YAML block scalar is not the bytes anyone
signed. Verification runs on the agent's machine (subprocess, argv lists, never a shell), not
on the router, so it does not go through the Host seam.

The gate (`key_signature_gate`, registered in agent.repo.gates): every signature that is present
must verify (a wrong signature is worse than none); under keys.require_signatures an external
peer also needs at least one. Internal links are exempt: their keys come from routers/*.yaml,
which the repo's own commit trust (TrustConfig) covers. A gated peer is held, not torn down.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.keys import PublicKeyError, parse_public_key

if TYPE_CHECKING:
    from agent.config import AgentConfig, KeyPolicy
    from agent.model import Peering

NAMESPACE = "peerops"  # ssh-keygen -Y sign -n peerops
_SOURCE_RE = re.compile(r"peers/[a-z][a-z0-9-]{0,30}/[a-z][a-z0-9-]{0,30}\.yaml")
_GPG_STATUS = "[GNUPG:] "


@dataclass(frozen=True)
class Verdict:
    """One signature's result: ok, and either the signer (ok) or why not."""

    ok: bool
    detail: str  # the signer's fingerprint / principal when ok, else the reason


def ssh_identity(peering: Peering) -> str:
    """The identity a peer's SSH signature must be allowed for: <peer>@<asn>."""
    return f"{peering.peer}@{peering.asn}"


# -- running the tools -----------------------------------------------------------------------


class ToolTimedOut(Exception):
    """A verification tool did not finish within the agent's command_timeout."""


def _run(argv: Sequence[str], timeout: float, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run argv (no shell) in the C locale; (rc, stdout, stderr). Raises OSError if absent,
    ToolTimedOut when it runs longer than timeout (it is killed: a hung gpg must not hold
    the agent)."""
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise ToolTimedOut(
            f"{argv[0]} did not finish within command_timeout ({timeout:g} s)"
        ) from None
    return (
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


# -- gpg -------------------------------------------------------------------------------------


def verify_gpg(data: Path, signature: Path, gpg_home: Path, timeout: float) -> Verdict:
    """Verify an ASCII-armoured detached signature of data against the keyring in gpg_home.

    Ensures ok only when gpg exits 0, its status output (--status-fd, doc/DETAILS) has a
    GOODSIG and a VALIDSIG, no BADSIG/EXPSIG/EXPKEYSIG/REVKEYSIG/ERRSIG, no PLAINTEXT (the
    .asc carried its own data: not a detached signature), and the signing primary key's
    fingerprint is one of the keyring's own primary keys."""
    try:
        return _verify_gpg(data, signature, gpg_home, timeout)
    except OSError:
        return Verdict(False, "gpg is not installed on the agent's machine (package gnupg)")
    except ToolTimedOut as exc:
        return Verdict(False, str(exc))


def _verify_gpg(data: Path, signature: Path, gpg_home: Path, timeout: float) -> Verdict:
    verify = ["--no-auto-key-retrieve", "--trust-model", "always", "--status-fd", "1", "--verify"]
    argv = [*_gpg(gpg_home), *verify, "--", str(signature), str(data)]
    rc, out, _err = _run(argv, timeout)
    status = _gpg_status(out)
    problem = _gpg_problem(status)
    if problem:
        return Verdict(False, problem)
    valid = status.get("VALIDSIG", [])
    if rc != 0 or "GOODSIG" not in status or not valid:
        return Verdict(
            False,
            f"gpg could not verify the signature (exit {rc}): it must be a detached signature "
            "of this exact file (gpg -sb -a <peer>.pub)",
        )
    primary = (valid[9] if len(valid) >= 10 else valid[0]).upper()
    if primary not in gpg_keyring_fingerprints(gpg_home, timeout):
        return Verdict(False, f"signed by {primary}, which is not a key of {gpg_home}")
    return Verdict(True, primary)


def _gpg(gpg_home: Path) -> list[str]:
    """gpg on the trust keyring, never interactive."""
    return ["gpg", "--homedir", str(gpg_home), "--batch", "--no-tty"]


def _gpg_status(out: str) -> dict[str, list[str]]:
    """Status keyword -> its arguments (the last line of each keyword)."""
    status: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith(_GPG_STATUS):
            keyword, *args = line[len(_GPG_STATUS) :].split()
            status[keyword] = args
    return status


def _gpg_problem(status: dict[str, list[str]]) -> str | None:
    """The first reason in gpg's status lines that makes a signature unacceptable."""
    if "PLAINTEXT" in status:
        return "not a detached signature (the .asc carries data of its own): use gpg -sb -a"
    if "BADSIG" in status:
        return "BAD signature: the key file is not what was signed (changed or wrong file)"
    for keyword, why in (
        ("EXPSIG", "the signature has expired"),
        ("EXPKEYSIG", "signed by an expired key"),
        ("REVKEYSIG", "signed by a revoked key"),
    ):
        if keyword in status:
            return why
    if "ERRSIG" in status or "NO_PUBKEY" in status:
        keyid = (status.get("ERRSIG") or status.get("NO_PUBKEY") or ["?"])[0]
        return f"signed by key {keyid}, which is not in the keyring (keys.gpg_home)"
    if "NODATA" in status:
        return "not an OpenPGP signature: make it with gpg -sb -a <peer>.pub"
    return None


def gpg_keyring_fingerprints(gpg_home: Path, timeout: float) -> set[str]:
    """Fingerprints of the primary keys in gpg_home's public keyring; none when gpg fails.

    In --with-colons output (doc/DETAILS) a key's fingerprint is the `fpr` record right
    after its `pub` record; `sub` records (subkeys) may have one too (with-subkey-fingerprint
    in the keyring's gpg.conf), which is not a primary key's."""
    argv = [*_gpg(gpg_home), "--with-colons", "--fixed-list-mode", "--list-keys"]
    rc, out, _err = _run(argv, timeout)
    found: set[str] = set()
    after_pub = False
    for line in out.splitlines() if rc == 0 else []:
        fields = line.split(":")
        if after_pub and fields[0] == "fpr" and len(fields) > 9:
            found.add(fields[9].upper())
        after_pub = fields[0] == "pub"
    return found


# -- ssh-keygen ------------------------------------------------------------------------------


def verify_ssh(
    data: Path, signature: Path, allowed_signers: Path, identity: str, timeout: float
) -> Verdict:
    """Verify an SSH signature (namespace peerops) of data by a key allowed for identity.

    Ensures ok only when `ssh-keygen -Y verify` exits 0 and says `Good "peerops" signature
    for <identity>`; otherwise `-Y check-novalidate` tells an untrusted signer (the signature
    itself is sound) from a bad signature."""
    if not allowed_signers.is_file():
        return Verdict(False, f"keys.allowed_signers {allowed_signers} does not exist")
    try:
        return _verify_ssh(data, signature, allowed_signers, identity, timeout)
    except OSError:
        return Verdict(False, "ssh-keygen is not installed on the agent's machine (openssh)")
    except ToolTimedOut as exc:
        return Verdict(False, str(exc))


def _verify_ssh(
    data: Path, signature: Path, allowed_signers: Path, identity: str, timeout: float
) -> Verdict:
    body = data.read_bytes()
    who = ["-f", str(allowed_signers), "-I", identity]
    argv = ["ssh-keygen", "-Y", "verify", *who, "-n", NAMESPACE, "-s", str(signature)]
    rc, out, _err = _run(argv, timeout, stdin=body)
    if rc == 0 and out.startswith(f'Good "{NAMESPACE}" signature for {identity} '):
        return Verdict(True, identity)
    check = ["ssh-keygen", "-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(signature)]
    rc2, _out, _err = _run(check, timeout, stdin=body)
    if rc2 == 0:
        return Verdict(
            False, f"signed by a key that keys.allowed_signers does not allow for {identity}"
        )
    return Verdict(
        False,
        "BAD signature: not a valid `ssh-keygen -Y sign -n peerops` signature of the key file",
    )


# -- the gate --------------------------------------------------------------------------------


def key_signature_gate(cfg: AgentConfig, peerings: Sequence[Peering]) -> dict[str, str]:
    """Peer -> reason for every external peer whose key signatures do not pass cfg.keys."""
    reasons: dict[str, str] = {}
    listed: dict[str, frozenset[str]] = {}  # peer directory -> its names, listed once
    for p in peerings:
        if p.internal:
            continue
        if not cfg.keys.require_signatures and _SOURCE_RE.fullmatch(p.source):
            # No key file and no signature beside the peer file: nothing to check (the
            # common inline key), known from one listing of the directory, not 3 stats a peer.
            directory = p.source.rsplit("/", 1)[0]
            if directory not in listed:
                try:
                    listed[directory] = frozenset(os.listdir(Path(cfg.repo) / directory))
                except OSError:
                    listed[directory] = frozenset()
            names = (f"{p.peer}.pub", f"{p.peer}.pub.asc", f"{p.peer}.pub.sig")
            if listed[directory].isdisjoint(names):
                continue
        why = peer_signature_problem(Path(cfg.repo), p, cfg.keys, cfg.command_timeout)
        if why:
            reasons[p.peer] = why
    return reasons


def peer_signature_problem(
    repo: Path, p: Peering, policy: KeyPolicy, timeout: float
) -> str | None:
    """Why this peer's key may not be used under policy, or None when it may."""
    if not _SOURCE_RE.fullmatch(p.source):
        return f"{p.source}: not a peer file path; cannot locate its key file"
    keyfile = repo / p.source.rsplit("/", 1)[0] / f"{p.peer}.pub"
    rel = f"{p.source.rsplit('/', 1)[0]}/{p.peer}.pub"
    present = [s for s in (_sibling(keyfile, ".asc"), _sibling(keyfile, ".sig")) if s.is_file()]
    if not keyfile.is_file() or keyfile.is_symlink():
        if policy.require_signatures:
            return (
                f"keys.require_signatures: {p.peer}'s key has no signature; move it to {rel} "
                f"(public_key_file: {p.peer}.pub) and add {p.peer}.pub.asc (gpg -sb -a) or "
                f"{p.peer}.pub.sig (ssh-keygen -Y sign -n {NAMESPACE})"
            )
        return None
    if not _same_key(keyfile, p.public_key):
        return f"{rel} is not the key this peering uses"
    if not present:
        if policy.require_signatures:
            return (
                f"keys.require_signatures: {rel} has no signature; add {p.peer}.pub.asc "
                f"(gpg -sb -a) or {p.peer}.pub.sig (ssh-keygen -Y sign -n {NAMESPACE})"
            )
        return None
    return _check_signatures(keyfile, present, p, policy, timeout)


def _sibling(keyfile: Path, suffix: str) -> Path:
    return keyfile.with_name(keyfile.name + suffix)


def _same_key(keyfile: Path, pem: str) -> bool:
    try:
        return parse_public_key(keyfile.read_text(), min_bits=0).pem == pem
    except (PublicKeyError, OSError, UnicodeDecodeError):
        return False


def _check_signatures(
    keyfile: Path, present: list[Path], p: Peering, policy: KeyPolicy, timeout: float
) -> str | None:
    """Every present signature must verify; unverifiable (no trust root) ones only pass
    when signatures are not required. (Under keys.require_signatures each of them has
    verified when this returns None, and present is never empty: at least one did.)"""
    for sig in present:
        if sig.suffix == ".asc":
            root, setting = policy.gpg_home, "keys.gpg_home"
        else:
            root, setting = policy.allowed_signers, "keys.allowed_signers"
        if root is None:
            if policy.require_signatures:
                return f"{sig.name}: cannot verify it, {setting} is not configured"
            continue
        if sig.suffix == ".asc":
            verdict = verify_gpg(keyfile, sig, root, timeout)
        else:
            verdict = verify_ssh(keyfile, sig, root, ssh_identity(p), timeout)
        if not verdict.ok:
            return f"{sig.name}: {verdict.detail}"
    return None
