"""A month of a fleet's status branch, made fast: hourly cycles of many routers with flapping
peers, without running cycles.

Each router's report for each hour is built directly (tests/reportkit.py), and the agent's
own rule decides whether that cycle commits (agent.status.report.decide: the state changed, or
a heartbeat is due); what is committed is the agent's canonical YAML (serialize) with the
agent's commit message, one router's report per commit, as the publisher writes it. The
commits are written with one `git fast-import` stream instead of one publish per commit, so a
month of 20 routers takes seconds.
"""

from __future__ import annotations

import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agent.status.report import decide, serialize, state_digest
from tests.reportkit import report

HOUR = 3600.0
START = 1_790_000_000.0  # a fixed clock: the branch is the same bytes every run


@dataclass(frozen=True)
class Growth:
    commits: int
    transitions: int  # peer state changes (what history must find)
    cycles: int


def simulate_month(
    remote: Path, *, routers: int = 20, peers: int = 6, flappy: int = 2, days: int = 30,
    flap: float = 0.04, seed: int = 42,
) -> Growth:
    """Write the status branch of `routers` routers running hourly for `days` days into the
    bare repository remote; on each router, `flappy` of its peers go down for 1-3 hours with
    probability flap per hour (the others stay up)."""
    remote = remote.resolve()
    rng = random.Random(seed)
    names = [f"r{i:02d}" for i in range(routers)]
    peer_names = [f"p{j}" for j in range(peers)]
    down_until = {(r, p): 0 for r in names for p in peer_names}
    published: dict[str, dict] = {r: {} for r in names}
    stream: list[bytes] = [b"feature done\n"]
    commits = transitions = cycles = 0
    templates: dict[tuple, tuple[bytes, bytes]] = {}
    checked: set[tuple] = set()
    last_state: dict[tuple[str, str], str] = {}
    for hour in range(days * 24):
        now = START + hour * HOUR
        for r in names:
            cycles += 1
            states = {}
            for p in peer_names:
                flaps = peer_names.index(p) < flappy
                if flaps and down_until[(r, p)] <= hour and rng.random() < flap:
                    down_until[(r, p)] = hour + rng.randint(1, 3)
                states[p] = "down" if down_until[(r, p)] > hour else "up"
                if last_state.get((r, p)) not in (None, states[p]):
                    transitions += 1
                last_state[(r, p)] = states[p]
            doc = report(r, states, commit="c" * 40, finished=now + 30, interval=HOUR)
            previous = published[r]
            decision = decide(r, doc, previous, now, heartbeat=86400.0)
            if not decision.commit:
                continue
            commits += 1
            data = _serialize(doc, templates, checked)
            message = decision.message.encode() + b"\n"
            stamp = f"{int(now)} +0000"
            stream += [
                f"commit refs/heads/status\nauthor peerops {r} <peerops@{r}.invalid> {stamp}\n"
                f"committer peerops {r} <peerops@{r}.invalid> {stamp}\n"
                f"data {len(message)}\n".encode(),
                message,
                f"M 100644 inline reports/{r}.yaml\ndata {len(data)}\n".encode(),
                data,
                b"\n",
            ]
            published[r] = {
                "digest": state_digest(doc),
                "committed_at": now,
                "commit": doc["commit"],
                "peers": {v["peer"]: v["state"] for v in doc["peers"]},
            }
    stream.append(b"done\n")
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=remote,
                   input=b"".join(stream), check=True, env={**os.environ, "GIT_DIR": str(remote)})
    return Growth(commits, transitions, cycles)


def _serialize(doc: dict, templates: dict, checked: set) -> bytes:
    """serialize(doc), made once per router state with the run's time put in afterwards (the
    time is the only thing that differs, a fixed-width scalar); the first two uses of every
    template are compared with the real serialize."""
    key = (doc["router"], tuple((p["peer"], p["state"]) for p in doc["peers"]), doc["result"])
    stamp = doc["run"]["finished"].encode()
    if key not in templates:
        templates[key] = (serialize(doc), stamp)
    template, old = templates[key]
    data = template.replace(old, stamp)
    if key not in checked:
        assert data == serialize(doc)
        if template.count(old) == 2 and old != stamp:
            checked.add(key)
    return data


def packed_size(remote: Path) -> int:
    """Bytes of the repository's pack after `git gc` (what a clone transfers, roughly)."""
    remote = remote.resolve()
    env = {**os.environ, "GIT_DIR": str(remote)}
    subprocess.run(["git", "gc", "-q"], cwd=remote, check=True, env=env)
    out = subprocess.run(["git", "count-objects", "-v"], cwd=remote, check=True,
                         capture_output=True, text=True, env=env).stdout
    fields = dict(line.split(": ") for line in out.splitlines())
    return int(fields["size-pack"]) * 1024
