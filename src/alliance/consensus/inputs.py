"""Inputs of the consensus core: everything ``ConsensusCore.step`` accepts.

Theory of operation: the core changes state only in ``step(input)``. Peer messages
(``Proposal``, ``Vote``) come from the network; ``TimeoutFired`` comes from the runtime's clock
after a ``ScheduleTimer``; ``ProposalPayload`` and ``ProposalVerdict`` answer the core's
``PrepareProposal`` and ``ProcessProposal`` requests; ``BlockApplied`` tells the core that the
application executed a committed height. Time reaches the core only through these inputs (a timer
firing, the block time chosen by the application), which keeps it deterministic.

Validator-set updates returned when height ``h`` is applied take effect at height ``h + 2``
(as in CometBFT): when height ``h + 1`` is decided the core already knows who votes at ``h + 2``,
while the execution of ``h`` can overlap the agreement on ``h + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

from alliance.consensus.messages import Proposal, Vote
from alliance.consensus.timeouts import TimeoutStep
from alliance.errors import UsageError
from alliance.ledger.block import CommitCertificate
from alliance.ledger.validators import Validator, ValidatorSet


@dataclass(frozen=True, slots=True)
class Start:
    """Begin (or, after ``restore``, resume) consensus at the start state's height."""


@dataclass(frozen=True, slots=True)
class TimeoutFired:
    height: int
    round: int
    step: TimeoutStep


@dataclass(frozen=True, slots=True)
class ProposalPayload:
    """The application's contents for the block the core asked for in ``PrepareProposal``.

    The core fills in the header fields it owns (chain id, height, previous block hash, tx root,
    validators hash, proposer, last commit hash).
    """

    height: int
    round: int
    txs: tuple[bytes, ...]
    app_hash: bytes
    last_results_hash: bytes
    time_ms: int


@dataclass(frozen=True, slots=True)
class ProposalVerdict:
    """The application's answer to ``ProcessProposal``: may this block be voted for?"""

    height: int
    block_hash: bytes
    accept: bool


@dataclass(frozen=True, slots=True)
class BlockApplied:
    """The application executed committed ``height``; its validator updates act at ``height + 2``."""

    height: int
    app_hash: bytes
    validator_updates: tuple[Validator, ...] = ()


Input = Start | Proposal | Vote | TimeoutFired | ProposalPayload | ProposalVerdict | BlockApplied


@dataclass(frozen=True, slots=True)
class StartState:
    """Where a core starts: the next height to decide and what it needs to know about the past.

    ``validators`` vote at ``height``, ``next_validators`` at ``height + 1``. Past the first height,
    ``prev_block_hash`` is the hash of block ``height - 1``, ``last_commit`` this node's
    certificate for it (carried in the next proposal) and ``last_validators`` the set that signed it.
    """

    height: int
    validators: ValidatorSet
    next_validators: ValidatorSet
    prev_block_hash: bytes = b""
    last_commit: CommitCertificate | None = None
    last_validators: ValidatorSet | None = None

    def __post_init__(self) -> None:
        if self.height < 1:
            raise UsageError("heights start at 1")
        if not self.validators.validators or not self.next_validators.validators:
            raise UsageError("a validator set must not be empty")
        if (self.prev_block_hash == b"") != (self.last_commit is None):
            raise UsageError("prev_block_hash and last_commit are given together (or neither, at genesis)")
        if self.last_commit is not None and self.last_commit.height != self.height - 1:
            raise UsageError("last_commit must certify height - 1")
