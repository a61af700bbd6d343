"""peerops key convert|fingerprint|show|generate: RSA keys for isakmpd (pubkey-converter's job).

- `convert --to FORMAT [FILE|-]`: any accepted form in, FORMAT out (pem, pkcs1, rfc3110,
  der-hex, openssh); the key is checked like a peer's key in the repo.
- `fingerprint [FILE|-]`: SHA256:<SPKI digest>, the fingerprint plan, validate and the status
  report show.
- `show [-c CONFIG]`: this router's /etc/isakmpd/local.pub (through the configured host) with
  its fingerprint and every format, and any problem of the key pair with its fix.
- `generate [-c CONFIG] [--force]`: a new pair as /etc/rc make_keys makes it.

Errors go to stderr, exit 1, and name the input; nothing is written on a refusal.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

HELP = "convert, fingerprint, show or generate isakmpd RSA keys"
EXIT_ERROR = 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    from agent.keys import FORMATS

    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    convert = sub.add_parser(
        "convert", help="convert a public key to another format", description=HELP
    )
    convert.add_argument("--to", required=True, choices=FORMATS, help="output format")
    convert.add_argument("file", nargs="?", default="-", help="key file, - for stdin (default)")
    finger = sub.add_parser("fingerprint", help="print a public key's SHA-256 fingerprint")
    finger.add_argument("file", nargs="?", default="-", help="key file, - for stdin (default)")
    show = sub.add_parser("show", help="this router's local.pub: fingerprint and every format")
    generate = sub.add_parser(
        "generate", help="create local.key and local.pub as /etc/rc make_keys does"
    )
    generate.add_argument(
        "--force", action="store_true", help="replace an existing key pair (a key rotation)"
    )
    for command in (show, generate):
        command.add_argument(
            "-c", "--config", default="/etc/peerops.yaml", help="agent configuration file"
        )


def run(args: argparse.Namespace) -> int:
    action = {"convert": _convert, "fingerprint": _fingerprint, "show": _show}
    return int(action.get(args.action, _generate)(args))


def _fail(message: str) -> int:
    print(f"peerops key: {message}", file=sys.stderr)
    return EXIT_ERROR


def _read(name: str) -> tuple[str | None, str]:
    """(text, label) of FILE or stdin; text None with the reason as label when unreadable."""
    if name == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        with open(name, encoding="utf-8") as fh:
            return fh.read(65536), name
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not text"
        return None, f"{name}: {reason}"


def _parse(name: str) -> Any:
    """The checked PublicKey of FILE, or an int exit code after printing why not."""
    from agent.keys import PublicKeyError, parse_public_key

    text, label = _read(name)
    if text is None:
        return _fail(label)
    try:
        return parse_public_key(text)
    except PublicKeyError as exc:
        return _fail(f"{label}: {exc}")


def _convert(args: argparse.Namespace) -> int:
    key = _parse(args.file)
    if isinstance(key, int):
        return key
    sys.stdout.write(key.convert(args.to))
    return 0


def _fingerprint(args: argparse.Namespace) -> int:
    key = _parse(args.file)
    if isinstance(key, int):
        return key
    print(key.fingerprint)
    return 0


def _show(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.keys import FORMATS, LOCAL_PUB, local_key_report, parse_public_key

    cfg = load_config(args.config)
    host = cfg.make_host()
    report = local_key_report(host, min_bits=cfg.keys.min_bits)
    if report["fingerprint"]:
        data = host.read_file(LOCAL_PUB) or b""
        key = parse_public_key(data.decode("utf-8", "replace"), min_bits=0)
        print(f"{LOCAL_PUB}: RSA {key.bits} bits, {key.fingerprint}")
        for fmt in FORMATS:
            print(f"\n# {fmt}")
            sys.stdout.write(key.convert(fmt))
    for problem in report["problems"]:
        print(
            f"peerops key: {problem['path']}: {problem['problem']}; fix: {problem['fix']}",
            file=sys.stderr,
        )
    return 0 if report["ok"] else EXIT_ERROR


def _generate(args: argparse.Namespace) -> int:
    from agent.config import load_config
    from agent.keys import LOCAL_KEY, LOCAL_PUB, PublicKeyError, install_key_pair, published_key

    cfg = load_config(args.config)
    host = cfg.make_host()
    before = published_key(host)
    try:
        key = install_key_pair(host, force=args.force)
    except PublicKeyError as exc:
        return _fail(str(exc))
    print(f"{LOCAL_KEY}: new RSA {key.bits}-bit private key (0600 root:wheel)")
    print(f"{LOCAL_PUB}: {key.fingerprint}")
    if before is not None:
        print(
            f"rotated: the old key was {before[1]}. Every peer must install the new local.pub, "
            f"and routers/{cfg.router}.yaml public_key must be replaced with it."
        )
    return 0
