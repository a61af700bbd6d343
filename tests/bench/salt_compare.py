"""peerops beside Salt, nothing to do: `python tests/bench/salt_compare.py --salt-call PATH`.

Salt is not a dependency of peerops: install it where you like (e.g. `python3 -m venv
/tmp/salt && /tmp/salt/bin/pip install salt`) and pass its `salt-call`. For each N this
builds the benchmark's router (one managed router, N external peers), converges it with
`peerops apply`, and gives masterless Salt (`salt-call --local`) the same job as the lean
script: the peers' YAML as pillar, a state that renders and manages per peer a key file and
a hostname.greN plus one ipsec.conf (into a directory of its own), applied once to converge.
Then the no-op runs of both, in A/B pairs: CPU (process and children), wall, peak RSS.
Not part of the test suite; the numbers go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.generate import key_pool
from tests.bench.measure import Case, ab_pairs
from tests.benchmark import Size, peerops

STATE = """{% set target = pillar['target'] %}
{% for p in pillar['peers'] %}
key-{{ p['name'] }}:
  file.managed:
    - name: {{ target }}/pubkeys/ipv4/{{ p['endpoint'] }}
    - contents: {{ p['public_key'] | yaml_encode }}
    - mode: '0644'
    - makedirs: True
gre-{{ loop.index0 }}:
  file.managed:
    - name: {{ target }}/hostname.gre{{ loop.index0 }}
    - mode: '0640'
    - contents: |
        # managed by salt (peer {{ p['name'] }}, AS{{ p['asn'] }})
        description "{{ p['gre']['description'] }}"
        mtu 1400
        tunnel 192.0.2.1 {{ p['endpoint'] }}
        inet {{ p['gre']['ipv4']['router'] }} 255.255.255.255
        dest {{ p['gre']['ipv4']['peer'] }}
        up
{% endfor %}
ipsec:
  file.managed:
    - name: {{ target }}/ipsec.conf
    - mode: '0600'
    - contents: |
{%- for p in pillar['peers'] %}
        # peer {{ p['name'] }} (AS{{ p['asn'] }})
        ike active esp transport proto gre from 192.0.2.1 to {{ p['endpoint'] }} peer {{ p['endpoint'] }} main auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 28800 quick auth hmac-sha2-256 enc aes-256 group modp2048 lifetime 3600 rsa
{%- endfor %}
"""  # noqa: E501 - one ipsec.conf rule per line


def salt_setup(base: Path, peers_dir: Path) -> list[str]:
    """A masterless minion under base whose `state.apply peers` manages the files of the
    peers in peers_dir; return the argv of that run."""
    import yaml

    states, pillar, target = base / "states", base / "pillar", base / "target"
    for d in (states, pillar, target):
        d.mkdir(parents=True)
    peers = [yaml.safe_load(p.read_text()) for p in sorted(peers_dir.glob("*.yaml"))]
    (pillar / "top.sls").write_text("base:\n  '*':\n    - peers\n")
    (pillar / "peers.sls").write_text(json.dumps({"peers": peers, "target": str(target)}))
    (states / "peers.sls").write_text(STATE)
    conf = base / "conf"
    conf.mkdir()
    (conf / "minion").write_text(json.dumps({
        "id": "bench", "file_client": "local", "root_dir": str(base / "root"),
        "file_roots": {"base": [str(states)]}, "pillar_roots": {"base": [str(pillar)]},
        "log_level": "quiet", "log_level_logfile": "quiet",
    }))
    return ["--local", "-c", str(conf), "--retcode-passthrough", "--out=quiet",
            "state.apply", "peers"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--salt-call", default=shutil.which("salt-call") or "salt-call")
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if shutil.which(args.salt_call) is None:
        raise SystemExit(f"salt-call not found: {args.salt_call} (see this script's docstring)")
    sizes = [int(n) for n in args.sizes.split(",") if n]
    keys = key_pool(Path(tempfile.gettempdir()) / "peerops-bench-keys.pem", max(sizes) + 1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="peerops-salt-") as tmp:
        for n in sizes:
            size = Size(Path(tmp) / f"n{n}", n, keys)
            cfg = ["-c", size.config]
            subprocess.run(peerops("apply", *cfg), capture_output=True, check=False)
            salt = [args.salt_call, *salt_setup(Path(tmp) / f"salt{n}",
                                                size.router / "repo" / "peers" / "r00")]
            first = subprocess.run(salt, capture_output=True, text=True, check=False)
            if first.returncode != 0:
                raise SystemExit(f"salt-call failed (exit {first.returncode}):\n"
                                 f"{first.stdout[-2000:]}{first.stderr[-2000:]}")
            ours, theirs = ab_pairs(Case("peerops apply", peerops("apply", *cfg)),
                                    Case("salt-call", salt), args.repeat)
            rows.append((n, ours, theirs))
            print(f"N={n:<5} peerops apply {ours.cpu:6.2f} s cpu {ours.rss_mib:4.0f} MiB   "
                  f"salt-call {theirs.cpu:6.2f} s cpu {theirs.rss_mib:4.0f} MiB", flush=True)
    print("\n| nothing to do (CPU, median) | " + " | ".join(f"N={n}" for n, _, _ in rows) + " |")
    print("|---" * (len(rows) + 1) + "|")
    print("| `peerops apply` | " + " | ".join(f"{o.cpu:.2f} s" for _, o, _ in rows) + " |")
    print("| `salt-call --local state.apply` | "
          + " | ".join(f"{t.cpu:.2f} s" for _, _, t in rows) + " |")
    print("| Salt ÷ peerops | " + " | ".join(f"{t.cpu / o.cpu:.1f}x" for _, o, t in rows) + " |")


if __name__ == "__main__":
    main()
