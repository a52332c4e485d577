"""Unit tests of the consensus core's parts and edge cases. Each names the property it checks."""

from __future__ import annotations

import hashlib

import pytest
from consensus_harness import CHAIN_ID, Cluster, node_key
from hypothesis import given
from hypothesis import strategies as st

from alliance import codec
from alliance.consensus import (
    NIL,
    BlockApplied,
    ConsensusConfig,
    ConsensusCore,
    DuplicateVoteEvidence,
    EvidencePool,
    Proposal,
    ProposalPayload,
    ProposalVerdict,
    QuorumRule,
    Start,
    StartState,
    Step,
    TimeoutFired,
    TimeoutStep,
    Vote,
    WalOwnMessage,
    WalPeerMessage,
    WalRecord,
    WalTimeout,
    WalVerdict,
    exceeds_one_third,
    exceeds_two_thirds,
    proposal_sign_bytes,
)
from alliance.consensus.messages import Message, vote_type_name
from alliance.consensus.votes import AddOutcome, VoteTally
from alliance.crypto.keys import verify_node_signature
from alliance.errors import InvariantViolation, UsageError
from alliance.ledger.block import (
    Block,
    CommitCertificate,
    CommitSig,
    Header,
    VoteType,
    tx_root,
    vote_sign_bytes,
)
from alliance.ledger.validators import Validator, ValidatorSet

H32 = hashlib.sha256(b"value").digest()
OTHER32 = hashlib.sha256(b"other").digest()


def signed_vote(index: int, vote_type: int, height: int, round_: int, value: bytes) -> Vote:
    key = node_key(index)
    sig = key.sign(vote_sign_bytes(CHAIN_ID, vote_type, height, round_, value))
    return Vote(vote_type, height, round_, value, key.node_id, sig)


def valset(n: int, powers: list[int] | None = None) -> ValidatorSet:
    powers = powers or [1] * n
    return ValidatorSet.of([Validator(node_id=node_key(i).node_id, power=powers[i]) for i in range(n)])


def make_core(
    index: int = 0, n: int = 4, config: ConsensusConfig | None = None, **kw: object
) -> ConsensusCore:
    vs = valset(n)
    core = ConsensusCore(
        config or ConsensusConfig(chain_id=CHAIN_ID),
        node_key(index),
        StartState(height=1, validators=vs, next_validators=vs),
        **kw,
    )  # type: ignore[arg-type]
    core.step(Start())
    return core


# --- quorum ------------------------------------------------------------------------------------------


def test_quorum_exactly_two_thirds_is_not_a_quorum_S1() -> None:
    assert not exceeds_two_thirds(2, 3)
    assert not exceeds_two_thirds(20, 30)
    assert exceeds_two_thirds(3, 4)
    assert exceeds_two_thirds(21, 30)
    assert not QuorumRule().is_quorum(2, 3)
    assert QuorumRule(inclusive=True).is_quorum(2, 3)  # the test-only broken variant
    assert not QuorumRule(inclusive=True).is_quorum(0, 0)


def test_blocking_set_is_more_than_one_third() -> None:
    assert not exceeds_one_third(1, 3)
    assert exceeds_one_third(2, 4)
    assert QuorumRule().is_blocking(2, 4)


@given(st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=10), st.integers(0, 500))
def test_quorums_intersect_in_more_than_one_third_S1(powers: list[int], split: int) -> None:
    total = sum(powers)
    for a in range(total + 1):
        b = total - a + (split % (total + 1))
        if exceeds_two_thirds(a, total) and exceeds_two_thirds(min(b, total), total):
            assert exceeds_one_third(a + min(b, total) - total, total)


# --- proposer: tests/consensus/test_proposer.py ----------------------------------------------------


# --- votes and evidence --------------------------------------------------------------------------------


def test_vote_tally_keeps_one_vote_per_validator_and_type() -> None:
    tally = VoteTally()
    a = signed_vote(0, VoteType.PREVOTE, 1, 0, H32)
    assert tally.add(a, 1) == (AddOutcome.ADDED, None)
    assert tally.add(a, 1) == (AddOutcome.DUPLICATE, a)
    b = signed_vote(0, VoteType.PREVOTE, 1, 0, NIL)
    assert tally.add(b, 1) == (AddOutcome.CONFLICT, a)
    assert tally.power_voted == 1
    assert tally.power_for(H32) == 1
    assert tally.power_for(NIL) == 0


def test_equivocation_evidence_is_canonical_and_verifies() -> None:
    a = signed_vote(2, VoteType.PRECOMMIT, 3, 1, H32)
    b = signed_vote(2, VoteType.PRECOMMIT, 3, 1, OTHER32)
    e1, e2 = DuplicateVoteEvidence.of(a, b), DuplicateVoteEvidence.of(b, a)
    assert e1 == e2
    assert e1.hash() == e2.hash()
    assert e1.verify(CHAIN_ID)
    assert not e1.verify("another-chain")
    assert e1.node_id == node_key(2).node_id
    assert e1.height == 3
    assert codec.decode(DuplicateVoteEvidence, codec.encode(e1)) == e1
    with pytest.raises(UsageError):
        DuplicateVoteEvidence.of(a, a)
    with pytest.raises(UsageError):
        DuplicateVoteEvidence.of(a, signed_vote(1, VoteType.PRECOMMIT, 3, 1, OTHER32))


def test_evidence_pool_is_bounded_and_deduplicates() -> None:
    pool = EvidencePool(kept_max=2)
    evidence = [
        DuplicateVoteEvidence.of(
            signed_vote(i, VoteType.PREVOTE, 1, 0, H32), signed_vote(i, VoteType.PREVOTE, 1, 0, NIL)
        )
        for i in range(3)
    ]
    assert pool.add(evidence[0])
    assert not pool.add(evidence[0])
    assert pool.add(evidence[1])
    assert pool.add(evidence[2])
    assert len(pool) == 2
    assert pool.add(evidence[0])  # the oldest was forgotten


def test_evidence_surfaced_in_ready_is_bounded() -> None:
    core = make_core(0, n=4, config=ConsensusConfig(chain_id=CHAIN_ID, evidence_kept_max=1))
    for i in (1, 2):
        core.step(signed_vote(i, VoteType.PREVOTE, 1, 0, H32))
        core.step(signed_vote(i, VoteType.PREVOTE, 1, 0, OTHER32))
    assert len(core.ready().evidence) == 1


# --- messages, codec, WAL records ---------------------------------------------------------------------


def test_messages_and_wal_records_round_trip_canonically() -> None:
    vote = signed_vote(1, VoteType.PREVOTE, 1, 0, H32)
    assert codec.decode(Message, codec.encode(vote)) == vote  # type: ignore[arg-type]
    records: list[WalRecord] = [
        WalPeerMessage(vote),
        WalOwnMessage(vote),
        WalTimeout(1, 0, 2),
        WalVerdict(1, H32, True),
    ]
    for record in records:
        assert codec.decode(WalRecord, codec.encode(record)) == record  # type: ignore[arg-type]
    assert [r.must_sync for r in records] == [False, True, False, False]
    assert vote_type_name(VoteType.PRECOMMIT) == "precommit"
    assert vote_type_name(9) == "type9"


# --- input validation: peer faults are dropped, API misuse raises ---------------------------------------


def test_invalid_signature_is_dropped_S2() -> None:
    core = make_core(0)
    good = signed_vote(1, VoteType.PREVOTE, 1, 0, H32)
    bad = Vote(good.vote_type, good.height, good.round, good.block_hash, good.node_id, b"\x01" * 64)
    core.step(bad)
    assert core.status.dropped_messages == 1
    core.step(good)
    assert core.status.dropped_messages == 1


def test_votes_from_non_validators_and_malformed_votes_are_dropped() -> None:
    core = make_core(0, n=4)
    core.step(signed_vote(7, VoteType.PREVOTE, 1, 0, H32))  # not a validator
    core.step(signed_vote(1, 9, 1, 0, H32))  # unknown vote type
    core.step(signed_vote(1, VoteType.PREVOTE, 1, 0, b"short"))  # not a hash
    core.step(signed_vote(7, VoteType.PREVOTE, 2, 0, H32))  # future height, not a validator
    assert core.status.dropped_messages == 4


def test_an_early_vote_must_be_well_formed_and_signed_to_hold_its_buffer_slot() -> None:
    """Messages for a later height wait in a bounded buffer, one per (height, round, kind, signer).
    A forged one would hold the signer's slot and shut its real message out."""
    core = make_core(0, n=4)
    real = signed_vote(1, VoteType.PREVOTE, 2, 0, H32)
    forged = Vote(real.vote_type, real.height, real.round, real.block_hash, real.node_id, b"\x01" * 64)
    core.step(forged)
    core.step(signed_vote(1, 9, 2, 0, H32))  # no such vote type
    assert core.status.dropped_messages == 2
    core.step(real)
    assert core.status.dropped_messages == 2
    assert list(core._future.values()) == [real]


def test_api_misuse_raises_usage_errors() -> None:
    vs = valset(4)
    start = StartState(height=1, validators=vs, next_validators=vs)
    core = ConsensusCore(ConsensusConfig(chain_id=CHAIN_ID), node_key(0), start)
    with pytest.raises(UsageError):
        core.step(signed_vote(1, VoteType.PREVOTE, 1, 0, H32))  # before Start
    with pytest.raises(UsageError):
        core.advance()  # without ready()
    core.step(Start())
    with pytest.raises(UsageError):
        core.step(Start())
    with pytest.raises(UsageError):
        core.restore([])
    with pytest.raises(UsageError):
        core.step("not an input")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        core.step(BlockApplied(5, H32))  # far ahead of what the core knows
    core.ready()
    core.advance()
    assert core.ready().is_empty


@pytest.mark.parametrize(
    "kwargs",
    [
        {"chain_id": ""},
        {"chain_id": "c", "timeout_propose_ms": -1},
        {"chain_id": "c", "timeout_retransmit_ms": 0},
        {"chain_id": "c", "rounds_ahead_max": 0},
        {"chain_id": "c", "future_messages_max": 0},
    ],
)
def test_config_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        ConsensusConfig(**kwargs)  # type: ignore[arg-type]


def test_start_state_validation() -> None:
    vs = valset(4)
    empty = ValidatorSet(validators=[])
    cert = CommitCertificate(height=1, round=0, block_hash=H32, signatures=[])
    with pytest.raises(UsageError):
        StartState(height=0, validators=vs, next_validators=vs)
    with pytest.raises(UsageError):
        StartState(height=1, validators=empty, next_validators=vs)
    with pytest.raises(UsageError):
        StartState(height=2, validators=vs, next_validators=vs, prev_block_hash=H32)
    with pytest.raises(UsageError):
        StartState(height=3, validators=vs, next_validators=vs, prev_block_hash=H32, last_commit=cert)


def test_timeouts_grow_linearly_with_the_round_L1() -> None:
    config = ConsensusConfig(
        chain_id="c",
        timeout_propose_ms=100,
        timeout_propose_delta_ms=10,
        timeout_prevote_ms=50,
        timeout_prevote_delta_ms=5,
        timeout_precommit_ms=70,
        timeout_precommit_delta_ms=7,
        timeout_retransmit_ms=9,
    )
    assert config.timeout_ms(TimeoutStep.PROPOSE, 3) == 130
    assert config.timeout_ms(TimeoutStep.PREVOTE, 2) == 60
    assert config.timeout_ms(TimeoutStep.PRECOMMIT, 1) == 77
    assert config.timeout_ms(TimeoutStep.RETRANSMIT, 5) == 9


# --- proposals ------------------------------------------------------------------------------------------


def header_for(core: ConsensusCore, proposer_index: int, **changes: object) -> Header:
    vs = core.validators_at(1)
    assert vs is not None
    fields: dict[str, object] = {
        "chain_id": CHAIN_ID,
        "height": 1,
        "time_ms": 1,
        "prev_block_hash": b"",
        "tx_root": tx_root([]),
        "app_hash": H32,
        "last_results_hash": H32,
        "validators_hash": vs.hash(),
        "proposer": node_key(proposer_index).node_id,
        "last_commit_hash": b"",
    }
    fields.update(changes)
    return Header(**fields)  # type: ignore[arg-type]


def signed_proposal(
    index: int,
    header: Header,
    round_: int = 0,
    valid_round: int = -1,
    last_commit: CommitCertificate | None = None,
    txs: list[bytes] | None = None,
    height: int = 1,
) -> Proposal:
    block = Block(header=header, txs=txs or [])
    key = node_key(index)
    sig = key.sign(proposal_sign_bytes(CHAIN_ID, height, round_, valid_round, block.hash()))
    return Proposal(height, round_, valid_round, block, last_commit, key.node_id, sig)


def proposer_index(core: ConsensusCore, height: int, round_: int) -> int:
    p = core.proposer_of(height, round_)
    return next(i for i in range(10) if node_key(i).node_id == p)


def prevotes_sent(core: ConsensusCore) -> list[Vote]:
    ready = core.ready()
    core.advance()
    return [
        o.message
        for o in ready.messages
        if isinstance(o.message, Vote) and o.message.vote_type == VoteType.PREVOTE
    ]


def test_proposal_from_the_wrong_proposer_or_badly_signed_is_dropped() -> None:
    core = make_core(proposer_index(make_core(0), 1, 1))  # a core that does not propose in round 0
    p0 = proposer_index(core, 1, 0)
    wrong = (p0 + 1) % 4
    core.step(signed_proposal(wrong, header_for(core, wrong)))
    good = signed_proposal(p0, header_for(core, p0))
    core.step(Proposal(1, 0, -1, good.block, None, good.proposer, b"\x02" * 64))
    core.step(signed_proposal(p0, header_for(core, p0), valid_round=0))  # valid_round must be < round
    core.step(signed_proposal(p0, header_for(core, p0, last_commit_hash=H32)))  # names a missing cert
    assert core.status.dropped_messages == 4
    core.step(good)
    core.step(good)  # a duplicate is ignored
    assert core.status.dropped_messages == 4
    requests = core.ready().requests
    assert len(requests) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"chain_id": "other"},
        {"height": 2},
        {"prev_block_hash": H32},
        {"validators_hash": H32},
        {"proposer": node_key(9).node_id},
        {"tx_root": H32},
    ],
)
def test_structurally_invalid_block_gets_a_nil_prevote_without_asking_the_app(
    change: dict[str, object],
) -> None:
    core = make_core(proposer_index(make_core(0), 1, 1))
    p0 = proposer_index(core, 1, 0)
    core.ready()
    core.advance()
    core.step(signed_proposal(p0, header_for(core, p0, **change)))
    ready = core.ready()
    assert not ready.requests
    votes = [o.message for o in ready.messages if isinstance(o.message, Vote)]
    assert [v.block_hash for v in votes] == [NIL]


def test_app_rejection_gives_a_nil_prevote_and_stale_verdicts_are_ignored() -> None:
    me = proposer_index(make_core(0), 1, 1)
    core = make_core(me)
    p0 = proposer_index(core, 1, 0)
    proposal = signed_proposal(p0, header_for(core, p0))
    core.step(proposal)
    core.step(ProposalVerdict(2, proposal.block.hash(), True))  # wrong height: ignored
    core.step(ProposalVerdict(1, H32, True))  # never asked: ignored
    assert prevotes_sent(core) == []
    core.step(ProposalVerdict(1, proposal.block.hash(), False))
    assert [v.block_hash for v in prevotes_sent(core)] == [NIL]


def test_payload_validation_and_stale_payloads() -> None:
    p0 = proposer_index(make_core(0), 1, 0)
    core = make_core(p0)
    with pytest.raises(UsageError):
        core.step(ProposalPayload(1, 0, (), b"short", H32, 1))
    with pytest.raises(UsageError):
        core.step(ProposalPayload(1, 0, (), H32, H32, -1))
    core.step(ProposalPayload(1, 5, (), H32, H32, 1))  # not what was asked for: ignored
    assert not list(core.ready().messages)
    core.step(ProposalPayload(1, 0, (b"tx",), H32, H32, 1))
    assert len(core.ready().messages) == 2  # proposal and prevote


# --- rounds, heights, bounds ------------------------------------------------------------------------------


def test_f_plus_one_votes_from_a_far_round_skip_to_it_L55() -> None:
    core = make_core(0)
    core.step(signed_vote(1, VoteType.PREVOTE, 1, 40, NIL))
    core.step(signed_vote(1, VoteType.PRECOMMIT, 1, 30, NIL))  # older than what n1 already showed
    assert core.status.round == 0  # one validator of four is not f+1
    core.step(signed_vote(2, VoteType.PREVOTE, 1, 50, NIL))
    assert core.status.round == 40  # two of four (> 1/3) are at round 40 or beyond


def test_f_plus_one_votes_in_a_near_round_skip_to_it_L55() -> None:
    core = make_core(0)
    core.step(signed_vote(1, VoteType.PREVOTE, 1, 2, NIL))
    core.step(signed_vote(2, VoteType.PRECOMMIT, 1, 2, NIL))
    assert core.status.round == 2
    assert core.status.step == Step.PROPOSE


def test_stale_timeouts_are_ignored() -> None:
    core = make_core(0)
    core.step(TimeoutFired(1, 3, TimeoutStep.PROPOSE))
    core.step(TimeoutFired(2, 0, TimeoutStep.PROPOSE))
    core.step(TimeoutFired(1, 0, TimeoutStep.PREVOTE))  # not in the prevote step
    assert core.status.step == Step.PROPOSE


def test_old_rounds_are_pruned_and_their_messages_ignored() -> None:
    core = make_core(0, config=ConsensusConfig(chain_id=CHAIN_ID, rounds_kept_max=1))
    for round_ in range(4):
        core.step(TimeoutFired(1, round_, TimeoutStep.PRECOMMIT))
    assert core.status.round == 4
    core.step(signed_vote(1, VoteType.PREVOTE, 1, 0, NIL))
    core.step(signed_proposal(proposer_index(core, 1, 0), header_for(core, proposer_index(core, 1, 0))))
    assert core.status.dropped_messages == 0


def test_future_messages_are_buffered_within_bounds() -> None:
    core = make_core(
        0, config=ConsensusConfig(chain_id=CHAIN_ID, future_messages_max=1, future_heights_max=1)
    )
    core.step(signed_vote(1, VoteType.PREVOTE, 2, 0, NIL))
    core.step(signed_vote(1, VoteType.PREVOTE, 2, 0, NIL))  # same key: kept once
    core.step(signed_vote(2, VoteType.PREVOTE, 2, 0, NIL))  # over the count bound
    core.step(signed_vote(2, VoteType.PREVOTE, 3, 0, NIL))  # over the height window
    core.step(signed_vote(2, VoteType.PREVOTE, 2, 99, NIL))  # a far round of a future height
    assert core.status.dropped_messages == 0
    assert len(core._future) == 1


def test_a_far_ahead_proposal_is_ignored() -> None:
    core = make_core(0)
    p = proposer_index(core, 1, 20)
    core.step(signed_proposal(p, header_for(core, p), round_=20))
    assert core.status.round == 0
    assert core.status.dropped_messages == 0


def test_observer_follows_without_voting() -> None:
    vs = valset(4)
    observer = ConsensusCore(
        ConsensusConfig(chain_id=CHAIN_ID), None, StartState(height=1, validators=vs, next_validators=vs)
    )
    observer.step(Start())
    observer.step(TimeoutFired(1, 0, TimeoutStep.PROPOSE))
    assert observer.status.step == Step.PREVOTE
    assert observer.node_id is None
    assert not list(observer.ready().messages)


# --- the application boundary: validator sets per height ---------------------------------------------------


def test_block_applied_sets_the_validator_set_two_heights_later() -> None:
    core = make_core(0)
    joiner = Validator(node_id=node_key(4).node_id, power=5)
    core.step(BlockApplied(1, H32, (joiner,)))
    vs3 = core.validators_at(3)
    assert vs3 is not None
    assert vs3.power_of(joiner.node_id) == 5
    core.step(BlockApplied(1, H32, (joiner,)))  # again: consistent, ignored
    with pytest.raises(InvariantViolation):
        core.step(BlockApplied(1, H32, ()))  # a different answer for the same height
    with pytest.raises(UsageError):
        core.step(
            BlockApplied(2, H32, tuple(Validator(node_id=node_key(i).node_id, power=0) for i in range(5)))
        )
    assert core.validators_at(9) is None
    assert core.proposer_of(9, 0) is None


def test_core_waits_for_the_validator_set_of_the_next_height() -> None:
    cluster = Cluster(4)
    cluster.start()
    for node in cluster.nodes:
        node.hold_applied = True  # the application is slow to execute
    for _height in (1, 2):
        for node in cluster.nodes:
            cluster.release_payloads(node)
        cluster.deliver({})
    # Height 3's set depends on BlockApplied(1), which has not arrived: the cores wait.
    assert [n.core.status.height for n in cluster.nodes] == [3, 3, 3, 3]
    assert all(n.core.status.step == Step.NEW_HEIGHT for n in cluster.nodes)
    first = cluster.nodes[0]
    cluster.release_applied(first)
    assert first.core.status.step == Step.PROPOSE
    for node in cluster.nodes:
        cluster.release_applied(node)
        cluster.release_payloads(node)
    cluster.deliver({})
    assert all(len(n.chain) == 3 for n in cluster.nodes)


def test_unsafe_variants_are_off_by_default() -> None:
    config = ConsensusConfig(chain_id=CHAIN_ID)
    assert not config.unsafe_ignore_lock
    assert not config.unsafe_quorum_inclusive


def test_commit_certificate_of_a_decision_verifies_S2() -> None:
    cluster = Cluster(4)
    cluster.start()
    for node in cluster.nodes:
        cluster.release_payloads(node)
    cluster.deliver({})
    for node in cluster.nodes:
        cert = node.chain[0].certificate
        assert cert.verify(CHAIN_ID, cluster.valsets[1])
        assert all(isinstance(s, CommitSig) for s in cert.signatures)


def test_conflicting_votes_count_for_their_values_up_to_a_bound_S1() -> None:
    """An equivocating validator's extra votes count for the values they name (so honest nodes can
    see a polka others saw), at most CONFLICTING_VOTES_MAX per validator; the rest is ignored."""
    from alliance.consensus.votes import CONFLICTING_VOTES_MAX

    tally = VoteTally()
    values = [bytes([i]) * 32 for i in range(CONFLICTING_VOTES_MAX + 2)]
    first = signed_vote(0, VoteType.PREVOTE, 1, 0, values[0])
    assert tally.add(first, 1) == (AddOutcome.ADDED, None)
    for value in values[1:]:
        outcome, prior = tally.add(signed_vote(0, VoteType.PREVOTE, 1, 0, value), 1, count_conflict=True)
        assert (outcome, prior) == (AddOutcome.CONFLICT, first)
    counted = [v for v in values if tally.power_for(v) == 1]
    assert counted == values[: CONFLICTING_VOTES_MAX + 1]
    assert tally.power_voted == 1
    assert [v.block_hash for v in tally.votes_for(values[1])] == [values[1]]
    assert tally.votes_for(values[-1]) == []


def test_block_applied_again_after_a_restart_is_ignored() -> None:
    cluster = Cluster(4)
    for node in cluster.nodes:
        node.hold_payloads = False
    cluster.start()
    for _ in range(2000):  # one message at a time: with payloads released the chain never stops
        if all(len(n.chain) >= 3 for n in cluster.nodes) or not cluster.deliver({}, count=1):
            break
    node = cluster.nodes[0]
    assert len(node.chain) >= 3
    height = node.core.status.height
    node.core.step(BlockApplied(1, b"\x00" * 32))  # sets the set of height 3, long in use
    assert node.core.status.height == height



def test_a_certificate_repeating_a_validator_costs_one_check_per_validator_and_lacks_a_quorum() -> None:
    """A proposal's certificate of the previous block may list a validator many times with bad
    signatures: each validator is checked once, and the block is refused without asking the app."""
    vs = valset(4)

    def precommit(index: int) -> CommitSig:
        key = node_key(index)
        return CommitSig(key.node_id, key.sign(vote_sign_bytes(CHAIN_ID, VoteType.PRECOMMIT, 1, 0, H32)))

    good = CommitCertificate(height=1, round=0, block_hash=H32, signatures=[precommit(i) for i in range(4)])
    checked: list[bytes] = []

    def counting_verify(node_id: bytes, message: bytes, signature: bytes) -> bool:
        checked.append(node_id)
        return verify_node_signature(node_id, message, signature)

    def core_of(index: int) -> ConsensusCore:
        start = StartState(
            height=2, validators=vs, next_validators=vs, prev_block_hash=H32, last_commit=good,
            last_validators=vs,
        )  # fmt: skip
        config = ConsensusConfig(chain_id=CHAIN_ID)
        core = ConsensusCore(config, node_key(index), start, verify=counting_verify)
        core.step(Start())
        core.ready()
        core.advance()
        return core

    proposer = proposer_index(core_of(0), 2, 0)
    core = core_of((proposer + 1) % 4)
    repeated = [CommitSig(node_key(1).node_id, bytes([i]) * 64) for i in range(50)]
    bad = CommitCertificate(height=1, round=0, block_hash=H32, signatures=[precommit(0), *repeated])
    header = header_for(core, proposer, height=2, prev_block_hash=H32, last_commit_hash=bad.hash())
    checked.clear()
    core.step(signed_proposal(proposer, header, last_commit=bad, height=2))
    ready = core.ready()
    assert not ready.requests  # refused by consensus itself: the app is not asked
    assert [o.message.block_hash for o in ready.messages if isinstance(o.message, Vote)] == [b""]  # nil
    cert_checks = [node_id for node_id in checked if node_id != node_key(proposer).node_id]
    assert len(cert_checks) == 2, f"{len(cert_checks)} checks for a certificate naming 2 validators"


@pytest.mark.parametrize(
    ("corruption", "message"),
    [
        (lambda core: setattr(core, "_last_committed_height", 5), "follow the last commit"),
        (lambda core: setattr(core, "_locked_round", 0), "lock value and lock round disagree"),
        (lambda core: setattr(core, "_valid_value", b"\x01" * 32), "valid value and round disagree"),
        (lambda core: core._rounds.pop(core._round), "has no state"),
        (lambda core: core._rounds.__setitem__(10**6, core._rounds[core._round]), "a kept round outside"),
        (lambda core: setattr(core, "_round", -1), "below 0"),
    ],
)
def test_check_invariants_names_a_corrupted_state(corruption: object, message: str) -> None:
    cluster = Cluster(4)
    cluster.start()  # the harness checks after every step: a started core holds every invariant
    core = cluster.nodes[0].core
    core.check_invariants()
    corruption(core)  # type: ignore[operator]
    with pytest.raises(InvariantViolation, match=message):
        core.check_invariants()
