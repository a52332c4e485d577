"""Property tests: random delivery order, loss, duplication, timeouts, crashes and one
equivocating validator across four cores. The harness checks S1 (agreement), S2 (certificates)
and S3 (no honest double-sign, also across restarts) on every step; after the faulty phase the
network heals and L1 (every height commits) is checked for a bounded number of steps.
"""

from __future__ import annotations

from consensus_harness import Cluster, Envelope, TimeoutStep
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance.ledger.block import VoteType

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["deliver"] * 10 + ["drop", "duplicate", "tick", "tick", "crash", "equivocate"]),
        st.integers(min_value=0, max_value=1_000),
    ),
    max_size=250,
)
ALL_STEPS = {TimeoutStep.PROPOSE, TimeoutStep.PREVOTE, TimeoutStep.PRECOMMIT, TimeoutStep.RETRANSMIT}
BYZANTINE = 3


def run_faulty_phase(cluster: Cluster, actions: list[tuple[str, int]]) -> None:
    for kind, n in actions:
        net = cluster.network
        if kind in ("deliver", "drop", "duplicate") and net:
            env = net[n % len(net)]
            if kind == "drop":
                net.remove(env)
            elif kind == "duplicate":
                net.append(Envelope(env.src, env.dst, env.message))
            else:
                net.remove(env)
                if cluster.nodes[env.dst].alive:
                    cluster._step(cluster.nodes[env.dst], env.message)
        elif kind == "tick":
            cluster.tick(cluster.nodes[n % 4], ALL_STEPS)
        elif kind == "crash":
            node = cluster.nodes[n % 3]  # honest nodes only; the Byzantine one keeps running
            if node.alive:
                cluster.crash(node)
            else:
                cluster.restart(node)
        elif kind == "equivocate":
            status = cluster.nodes[BYZANTINE].core.status
            vote_type = VoteType.PREVOTE if n % 2 else VoteType.PRECOMMIT
            cluster.equivocate(cluster.nodes[BYZANTINE], vote_type, status.height, status.round)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIONS)
def test_S1_agreement_under_random_delivery_loss_and_crashes(actions: list[tuple[str, int]]) -> None:
    cluster = Cluster(4)
    cluster.start()
    for node in cluster.nodes:
        node.hold_payloads = False
        cluster.release_payloads(node)
    run_faulty_phase(cluster, actions)
    # S1 is asserted by the harness on every commit; here the chains are also compared whole.
    chains = [[c.block.hash() for c in node.chain] for node in cluster.nodes]
    for a in chains:
        for b in chains:
            assert a[: min(len(a), len(b))] == b[: min(len(a), len(b))]
    # L1: after healing, every node commits a height beyond the best one seen so far.
    target = max(len(c) for c in chains) + 1
    for node in cluster.nodes:
        node.hold_payloads = True
    assert heal(cluster, target)


def heal(cluster: Cluster, target: int) -> bool:
    for node in cluster.nodes:
        if not node.alive:
            cluster.restart(node)
    for _ in range(60):
        for node in cluster.nodes:
            cluster.release_payloads(node)
        cluster.deliver({})  # ends once every proposer waits for its next payload
        for node in cluster.nodes:
            cluster.block_sync(node)
        if all(len(node.chain) >= target for node in cluster.nodes):
            return True
        for node in cluster.nodes:
            cluster.tick(node, ALL_STEPS)
    return False
