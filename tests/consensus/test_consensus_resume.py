"""Resuming after a restart (S3, L1): the replayed core re-issues what it was waiting on.

After ``restore`` and ``Start`` the core must ask again for what the crash lost: the proposal
payload it was waiting for, the verdicts the application had not given, and the timers of its
step, or it would wait forever.
"""

from __future__ import annotations

from consensus_harness import Cluster

from alliance.consensus import ConsensusCore, PrepareProposal, ProcessProposal, Start
from alliance.consensus.messages import Proposal
from alliance.consensus.timeouts import TimeoutStep
from alliance.consensus.wal import WalPeerMessage


def test_a_restarted_proposer_asks_again_for_its_payload_and_sets_its_propose_timer() -> None:
    cluster = Cluster(4)
    proposer = next(n for n in cluster.nodes if n.core.proposer_of(1, 0) == n.key.node_id)
    cluster.start()
    assert proposer.held, "the proposer waits for the application's payload"
    cluster.crash(proposer)
    cluster.restart(proposer)
    assert [type(r) for r in proposer.held] == [PrepareProposal]
    assert any(t.step == TimeoutStep.PROPOSE for t in proposer.timers)


def test_a_restarted_validator_asks_again_for_a_verdict_it_never_got() -> None:
    cluster = Cluster(4)
    proposer = next(n for n in cluster.nodes if n.core.proposer_of(1, 0) == n.key.node_id)
    cluster.start()
    cluster.release_payloads(proposer)
    proposal = next(e.message for e in cluster.network if isinstance(e.message, Proposal))
    other = next(n for n in cluster.nodes if n is not proposer)
    start = cluster._start_state_for([])
    core = ConsensusCore(cluster.config, other.key, start)
    core.restore([WalPeerMessage(proposal)])  # the verdict record was lost with the crash
    core.step(Start())
    ready = core.ready()
    wanted = proposal.block.hash()
    assert any(isinstance(r, ProcessProposal) and r.block_hash == wanted for r in ready.requests)


def test_a_restarted_validator_past_a_vote_quorum_sets_its_vote_timers_again() -> None:
    cluster = Cluster(4)
    proposer = next(n for n in cluster.nodes if n.core.proposer_of(1, 0) == n.key.node_id)
    for node in cluster.nodes:
        node.reject_proposals = True  # everyone prevotes nil: a nil polka, then nil precommits
    cluster.start()
    cluster.release_payloads(proposer)
    cluster.deliver({})
    cluster.deliver({})
    target = next(n for n in cluster.nodes if n is not proposer)
    steps_before = {t.step for t in target.timers}
    assert TimeoutStep.PRECOMMIT in steps_before
    target.wal_durable = len(target.wal)  # the crash comes after a sync of everything received
    cluster.crash(target)
    cluster.restart(target)
    assert TimeoutStep.PRECOMMIT in {t.step for t in target.timers}
