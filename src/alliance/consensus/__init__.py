"""Tendermint BFT consensus as a pure sans-IO state machine.

A runtime drives one ``ConsensusCore`` per node::

    core = ConsensusCore(config, node_key, start_state)
    core.restore(wal_records)          # after a restart, before Start
    core.step(Start())
    loop:
        ready = core.ready()
        write ready.wal_records (fsync if ready.must_sync); store ready.committed;
        send ready.messages; schedule ready.timers; answer ready.requests; report ready.evidence
        core.advance()
        core.step(next input: a peer Proposal/Vote, TimeoutFired, ProposalPayload,
                  ProposalVerdict, BlockApplied)

The protocol, the interface and the properties it keeps are in ``spec/consensus.md``.
"""

from alliance.consensus.core import ConsensusCore, Signer, Verifier
from alliance.consensus.evidence import DuplicateVoteEvidence, EvidencePool
from alliance.consensus.inputs import (
    BlockApplied,
    Input,
    ProposalPayload,
    ProposalVerdict,
    Start,
    StartState,
    TimeoutFired,
)
from alliance.consensus.messages import NIL, Message, Proposal, Vote, proposal_sign_bytes
from alliance.consensus.proposer import ProposerSchedule, proposer_for
from alliance.consensus.quorum import QuorumRule, exceeds_one_third, exceeds_two_thirds
from alliance.consensus.ready import (
    AppRequest,
    CommittedBlock,
    Outgoing,
    PrepareProposal,
    ProcessProposal,
    Ready,
    ScheduleTimer,
    Status,
    Step,
)
from alliance.consensus.timeouts import ConsensusConfig, TimeoutStep
from alliance.consensus.wal import WalOwnMessage, WalPeerMessage, WalRecord, WalTimeout, WalVerdict

__all__ = [
    "NIL",
    "AppRequest",
    "BlockApplied",
    "CommittedBlock",
    "ConsensusConfig",
    "ConsensusCore",
    "DuplicateVoteEvidence",
    "EvidencePool",
    "Input",
    "Message",
    "Outgoing",
    "PrepareProposal",
    "ProcessProposal",
    "Proposal",
    "ProposalPayload",
    "ProposalVerdict",
    "ProposerSchedule",
    "QuorumRule",
    "Ready",
    "ScheduleTimer",
    "Signer",
    "Start",
    "StartState",
    "Status",
    "Step",
    "TimeoutFired",
    "TimeoutStep",
    "Verifier",
    "Vote",
    "WalOwnMessage",
    "WalPeerMessage",
    "WalRecord",
    "WalTimeout",
    "WalVerdict",
    "exceeds_one_third",
    "exceeds_two_thirds",
    "proposal_sign_bytes",
    "proposer_for",
]
