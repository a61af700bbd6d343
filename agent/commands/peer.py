"""peerops peer new|config: the outside peer's commands (scaffold the file; export their side)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "for a peer: write your peer file (peer new) or print your side's config (peer config)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = sub.add_parser(
        "new",
        help="write peers/ROUTER/NAME.yaml, commented, with free transfer addresses",
        description="Write peers/ROUTER/NAME.yaml with every field commented, the key "
        "normalised to PEM, transfer addresses from the router's transfer_pools and the "
        "interface left to the router; then validate the repo.",
    )
    new.add_argument("--repo", default=".", help="state repo directory (default: .)")
    new.add_argument("--router", required=True, help="the router to peer with")
    new.add_argument("--name", required=True, help="your peering's name (the file name)")
    new.add_argument("--asn", required=True, type=int, help="your AS number")
    new.add_argument("--endpoint", required=True, help="your public IPv4 or IPv6 address")
    new.add_argument("--key", required=True, metavar="FILE",
                     help="your RSA public key in any accepted format (- for stdin)")
    new.add_argument("--identity", metavar="[TYPE:]VALUE",
                     help="the IKE ID you present, if not your endpoint address")
    new.add_argument("--ipv4", metavar="ROUTER,PEER", help="IPv4 transfer pair (default: pool)")
    new.add_argument("--ipv6", metavar="ROUTER,PEER|eui64",
                     help="IPv6 transfer pair or eui64 (default: pool)")
    new.add_argument("--description", help="interface description text")
    new.add_argument("--key-file", action="store_true",
                     help="write the key to NAME.pub (public_key_file), e.g. to sign it")
    cfg = sub.add_parser(
        "config",
        help="print what the peer puts on its own router",
        description="Print the configuration the peer of ROUTER/NAME puts on its own router: "
        "files with their paths and modes, then the commands to run.",
    )
    cfg.add_argument("peering", metavar="PEERING", help="ROUTER/NAME, e.g. rtr1/alice")
    cfg.add_argument("--repo", default=".", help="state repo directory (default: .)")
    cfg.add_argument("--format", choices=("openbsd", "strongswan"), default="openbsd",
                     help="the peer's platform (default: openbsd)")
    cfg.add_argument("--interface", help="the tunnel interface on the peer's router "
                     "(default: gre0 on OpenBSD, gre-ROUTER on Linux)")


def run(args: argparse.Namespace) -> int:
    return _new(args) if args.action == "new" else _config(args)


def _pair(text: str | None, option: str) -> tuple[str, str] | str | None:
    if text is None or text == "eui64":
        return text
    ours, sep, theirs = text.partition(",")
    if not sep:
        raise SystemExit(f"peerops: {option}: expected ROUTER,PEER (two addresses)")
    return ours.strip(), theirs.strip()


def _new(args: argparse.Namespace) -> int:
    from agent.output import problems_text
    from agent.peer.scaffold import NewPeer, ScaffoldError, scaffold
    from agent.repo.inventory import load_inventory

    repo = Path(args.repo)
    inventory, problems = load_inventory(repo)
    if inventory is None:
        sys.stdout.write(problems_text(problems))
        print("peerops: the repo is invalid before the new file: fix the above first")
        return 1
    key_text = sys.stdin.read() if args.key == "-" else Path(args.key).read_text()
    ipv4 = _pair(args.ipv4, "--ipv4")
    if ipv4 == "eui64":
        raise SystemExit("peerops: --ipv4: eui64 is an IPv6 form")
    new = NewPeer(
        router=args.router, name=args.name, asn=args.asn, endpoint=args.endpoint,
        key_text=key_text, identity=args.identity, ipv4=ipv4,  # type: ignore[arg-type]
        ipv6=_pair(args.ipv6, "--ipv6"), description=args.description, key_file=args.key_file,
    )
    try:
        written = scaffold(inventory, repo, new)
    except ScaffoldError as exc:
        print(f"peerops: {exc}", file=sys.stderr)
        return 1
    _, problems = load_inventory(repo)
    if problems:
        sys.stdout.write(problems_text(problems))
        for path in written:
            path.unlink()
        print("peerops: the new file does not validate (shown above); nothing was kept")
        return 1
    for path in written:
        print(f"wrote {path.relative_to(repo).as_posix()}")
    print(f"{args.repo}: ok. Next: commit it, open the pull request, then run "
          f"`peerops peer config {args.router}/{args.name}` for your side.")
    return 0


def _config(args: argparse.Namespace) -> int:
    from agent.output import problems_text
    from agent.peer.mirror import PeerConfigError, peer_side
    from agent.peer.openbsd import openbsd_text
    from agent.peer.strongswan import strongswan_text
    from agent.repo.inventory import load_inventory

    router, sep, name = args.peering.partition("/")
    if not sep:
        print("peerops: expected ROUTER/NAME, e.g. rtr1/alice", file=sys.stderr)
        return 1
    repo = Path(args.repo)
    inventory, problems = load_inventory(repo)
    if inventory is None:
        sys.stdout.write(problems_text(problems))
        return 1
    try:
        side = peer_side(inventory, repo, router, name)
        peer_asn = next(p.asn for p in inventory.for_router(router) if p.peer == name)
        if args.format == "openbsd":
            text = openbsd_text(side, peer_asn, args.interface or "gre0")
        else:
            text = strongswan_text(side, args.interface)
    except PeerConfigError as exc:
        print(f"peerops: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0
