"""What the core hands to its runtime: ``Ready`` and the values inside it, plus ``Status``.

Theory of operation (etcd raft's Ready/Advance): after one or more ``step`` calls the runtime
takes ``ready()`` and does its parts *in this order*:

1. append ``wal_records`` to the WAL; if ``must_sync`` is set, fsync before anything leaves;
2. persist ``committed`` blocks (then hand them to the application to execute);
3. send ``messages`` (``to is None`` means every peer);
4. schedule ``timers``, pass ``requests`` to the application, act on ``evidence``;

and then calls ``advance()``. Each item appears in exactly one ``Ready``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from alliance.consensus.evidence import DuplicateVoteEvidence
from alliance.consensus.messages import Proposal, Vote
from alliance.consensus.timeouts import TimeoutStep
from alliance.consensus.wal import WalRecord
from alliance.ledger.block import Block, CommitCertificate


class Step(IntEnum):
    NEW_HEIGHT = 0
    """Waiting to start the height: before ``Start`` or until its validator set is known."""
    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3


@dataclass(frozen=True, slots=True)
class Outgoing:
    message: Proposal | Vote
    to: bytes | None = None
    """A peer's node id, or None to broadcast to every peer."""


@dataclass(frozen=True, slots=True)
class ScheduleTimer:
    height: int
    round: int
    step: TimeoutStep
    delay_ms: int


@dataclass(frozen=True, slots=True)
class PrepareProposal:
    """Ask the application for a block's contents; answer with ``ProposalPayload``."""

    height: int
    round: int
    prev_block_hash: bytes


@dataclass(frozen=True, slots=True)
class ProcessProposal:
    """Ask the application whether ``block`` may be voted for; answer with ``ProposalVerdict``."""

    height: int
    round: int
    block: Block
    block_hash: bytes


AppRequest = PrepareProposal | ProcessProposal


@dataclass(frozen=True, slots=True)
class CommittedBlock:
    """A decided block, this node's certificate for it, and the certificate its header names."""

    block: Block
    certificate: CommitCertificate
    prev_certificate: CommitCertificate | None

    @property
    def height(self) -> int:
        return self.block.header.height


@dataclass(frozen=True, slots=True)
class Ready:
    wal_records: tuple[WalRecord, ...] = ()
    messages: tuple[Outgoing, ...] = ()
    timers: tuple[ScheduleTimer, ...] = ()
    requests: tuple[AppRequest, ...] = ()
    committed: tuple[CommittedBlock, ...] = ()
    evidence: tuple[DuplicateVoteEvidence, ...] = ()

    @property
    def must_sync(self) -> bool:
        """True when the WAL must be fsynced before ``messages`` are sent."""
        return any(r.must_sync for r in self.wal_records)

    @property
    def is_empty(self) -> bool:
        return not (self.wal_records or self.messages or self.timers or self.requests
                    or self.committed or self.evidence)


@dataclass(frozen=True, slots=True)
class Status:
    """A read-only view of a core, for runtimes, the simulator and tests."""

    height: int
    round: int
    step: Step
    locked_round: int
    locked_value: bytes | None
    valid_round: int
    valid_value: bytes | None
    last_committed_height: int
    dropped_messages: int
