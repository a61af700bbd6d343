"""Differential tests: the simulated ipsecctl against OpenBSD's own grammar (parse.y, ike.c).

Every ipsec.conf the product renders for the example state (both routers, as the demo fleet
loads them) and a generated corpus of variants run through both, in `-n -f`, `-nv -f` and
`-f`; stdout, stderr (the errno text after an err() message aside) and the exit status must
be identical, and `-f` must leave isakmpd with the same configuration.
"""

from __future__ import annotations

import pytest

from agent.peer.mirror import peer_side
from agent.repo.inventory import load_inventory
from agent.router.render import render, render_rule
from tests.conftest import EXAMPLE_STATE
from tests.sim.oracle.corpus import generated
from tests.sim.oracle.harness import Case, Oracle, SimRouter, compare


def rendered() -> list[Case]:
    """What the agent writes to /etc/ipsec.conf for each router of the example state, each
    of its rules alone (what the proposal-mismatch scenario loads), and the rule `peerops
    peer config` gives each external peer for its own OpenBSD router."""
    inventory, problems = load_inventory(EXAMPLE_STATE)
    assert inventory is not None, problems
    cases = []
    for router in sorted(inventory.routers):
        peerings = inventory.for_router(router)
        interfaces = {p.peer: f"gre{i}" for i, p in enumerate(peerings)}
        conf = render(router, peerings, interfaces).ipsec_conf.content.decode()
        cases.append(Case(f"rendered-{router}", conf))
        cases += [Case(f"rendered-{router}-{p.peer}", render_rule(p)) for p in peerings]
        cases += [Case(f"peer-config-{p.peer}-{router}",
                       render_rule(peer_side(inventory, EXAMPLE_STATE, router, p.peer).view))
                  for p in peerings if not p.internal]
    return cases


def test_rendered_configs_match_openbsd(oracle: Oracle, sim_router: SimRouter) -> None:
    cases = rendered()
    assert len(cases) >= 8 and all("ike active esp transport" in c.text for c in cases)
    problems = compare(oracle, sim_router, cases)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("group", ["crypto", "lifetimes", "identities", "rules", "syntax"])
def test_generated_corpus_matches_openbsd(
    oracle: Oracle, sim_router: SimRouter, group: str
) -> None:
    cases = generated()[group]
    problems = compare(oracle, sim_router, cases)
    assert not problems, f"{len(problems)} differences:\n\n" + "\n\n".join(problems)
