"""The Tendermint consensus core: a pure, sans-IO state machine.

Theory of operation: this is Algorithm 1 of Buchman, Kwon and Milosevic, "The latest gossip on BFT
consensus" (arXiv:1807.04938), driven like etcd's raft. ``step(input)`` folds one input into the
state, then ``_evaluate`` fires the paper's upon-rules until none applies; every effect (WAL
record, message, timer, application request, decision, evidence) is queued and handed out by
``ready()``; ``advance()`` acknowledges it. Values are block hashes; the paper's ``valid(v)`` is the
core's own structural check of the block plus the application's ``ProposalVerdict``, asked for
once per block hash and cached. Rules that need ``valid(v)`` simply wait for the verdict.

Rule names (paper line numbers) and where they live:

* StartRound (11) ``_start_round``; a proposer re-proposes ``validValue`` or asks the app.
* L22 proposal with vr = -1 in propose step, L28 proposal with vr >= 0 and a polka at vr:
  ``_rule_prevote_on_proposal``.
* L34 first 2f+1 prevotes of any kind: ``_rule_prevote_timer``.
* L36 polka for a valid proposal: lock, precommit, set validValue: ``_rule_polka_value``.
* L44 polka for nil: ``_rule_polka_nil``. L47 first 2f+1 precommits: ``_rule_precommit_timer``.
* L49 2f+1 precommits for a known valid block in any round: decide: ``_rule_decide``.
* L55 f+1 power heard from in a higher round: skip to it: ``_rule_skip_round``.
* L57/L61/L65 timeouts: ``_on_timeout``.

"2f+1" and "f+1" are by voting power (``quorum.py``). Heights move on by a decision; the next
height starts once its validator set is known (``BlockApplied`` of height h sets height h + 2).
Signing goes through a guard keyed by (height, round, type) that the WAL replay pre-fills, so the
core never signs two values for one slot (S3). All state lives in this object, every container
is bounded (see ``ConsensusConfig``) and iteration only walks insertion-ordered dicts, so a run is
a deterministic function of its inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

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
from alliance.consensus.messages import NIL, VOTE_TYPES, Proposal, Vote, proposal_sign_bytes
from alliance.consensus.quorum import QuorumRule
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
from alliance.consensus.valset import ValidatorIndex
from alliance.consensus.votes import AddOutcome, RoundVotes
from alliance.consensus.wal import (
    WalOwnMessage,
    WalPeerMessage,
    WalRecord,
    WalTimeout,
    WalVerdict,
    record_height,
)
from alliance.crypto.keys import verify_node_signature
from alliance.errors import InvalidMessage, UsageError
from alliance.ledger.block import (
    BLOCK_TXS_MAX,
    Block,
    CommitCertificate,
    CommitSig,
    Header,
    VoteType,
    tx_root,
    vote_sign_bytes,
)
from alliance.ledger.validators import ValidatorSet
from alliance.types import HASH_SIZE_BYTES, fail_invariant, invariant

Verifier = Callable[[bytes, bytes, bytes], bool]
"""``verify(node_id, message, signature) -> bool``; injectable so a simulator may cache it."""


class Signer(Protocol):
    """What the core needs of a node key (``alliance.crypto.keys.NodeKey`` is one)."""

    @property
    def node_id(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(slots=True)
class _BlockEntry:
    block: Block
    last_commit: CommitCertificate | None
    proposal: Proposal
    """The first proposal that carried the block: re-sent to peers that lag one height."""


@dataclass(slots=True)
class _RoundState:
    votes: RoundVotes = field(default_factory=RoundVotes)
    proposal: Proposal | None = None
    proposal_hash: bytes = b""
    prevote_timer_done: bool = False
    precommit_timer_done: bool = False
    polka_done: bool = False


class ConsensusCore:
    """One validator's (or observer's, when ``signer`` is None) Tendermint state machine."""

    def __init__(
        self,
        config: ConsensusConfig,
        signer: Signer | None,
        start: StartState,
        *,
        verify: Verifier = verify_node_signature,
    ) -> None:
        self._config = config
        self._signer = signer
        self._own_id: bytes | None = signer.node_id if signer is not None else None
        self._verify = verify
        self._rule = QuorumRule(inclusive=config.unsafe_quorum_inclusive)
        self._valsets: dict[int, ValidatorIndex] = {
            start.height: ValidatorIndex(start.validators),
            start.height + 1: ValidatorIndex(start.next_validators),
        }
        if start.last_validators is not None:
            self._valsets[start.height - 1] = ValidatorIndex(start.last_validators)
        self._height = start.height
        self._round = 0
        self._step = Step.NEW_HEIGHT
        self._prev_block_hash = start.prev_block_hash
        self._last_commit = start.last_commit
        self._last_committed_height = start.height - 1
        self._last_decision: tuple[Proposal, tuple[Vote, ...]] | None = None
        self._reset_height_state()
        self._signed_votes: dict[tuple[int, int, int], Vote] = {}
        self._signed_proposals: dict[tuple[int, int], Proposal] = {}
        self._future: dict[tuple[int, int, int, bytes], Proposal | Vote] = {}
        self._evidence_pool = EvidencePool(config.evidence_kept_max)
        self._dropped_messages = 0
        self._started = False
        self._restored = False
        self._replaying = False
        # The outbox: what the next ready() hands out. _handed counts what the last one did.
        self._out_wal: list[WalRecord] = []
        self._out_messages: list[Outgoing] = []
        self._out_timers: list[ScheduleTimer] = []
        self._out_requests: list[AppRequest] = []
        self._out_committed: list[CommittedBlock] = []
        self._out_evidence: list[DuplicateVoteEvidence] = []
        self._handed: tuple[int, int, int, int, int, int] | None = None

    def _reset_height_state(self) -> None:
        self._rounds: dict[int, _RoundState] = {}
        self._blocks: dict[bytes, _BlockEntry] = {}
        self._verdicts: dict[bytes, bool] = {}
        self._pending_verdicts: dict[bytes, ProcessProposal] = {}
        self._certs_checked: dict[bytes, bool] = {}
        self._far_rounds: dict[bytes, int] = {}
        self._far_target = -1
        self._lagging_peers: dict[bytes, None] = {}
        self._awaiting_payload: tuple[int, int] | None = None
        self._locked_value: bytes | None = None
        self._locked_round = -1
        self._valid_value: bytes | None = None
        self._valid_round = -1

    # --- public interface -------------------------------------------------------------------------

    @property
    def node_id(self) -> bytes | None:
        return self._own_id

    @property
    def status(self) -> Status:
        return Status(
            height=self._height,
            round=self._round,
            step=self._step,
            locked_round=self._locked_round,
            locked_value=self._locked_value,
            valid_round=self._valid_round,
            valid_value=self._valid_value,
            last_committed_height=self._last_committed_height,
            dropped_messages=self._dropped_messages,
        )

    def validators_at(self, height: int) -> ValidatorSet | None:
        """The validator set of ``height`` if the core knows it (heights h-1 .. h+2)."""
        index = self._valsets.get(height)
        return index.validator_set if index is not None else None

    def proposer_of(self, height: int, round_: int) -> bytes | None:
        index = self._valsets.get(height)
        return index.proposer(height, round_) if index is not None else None

    def step(self, event: Input) -> None:
        """Fold one input into the state. Peer faults are dropped and counted, never raised."""
        if isinstance(event, Start):
            self._on_start()
        else:
            if not self._started:
                raise UsageError("step() before Start()")
            self._dispatch(event)
        self._evaluate()

    def ready(self) -> Ready:
        """Everything produced since the last ``advance()``; call ``advance()`` once it is done."""
        self._handed = (
            len(self._out_wal), len(self._out_messages), len(self._out_timers),
            len(self._out_requests), len(self._out_committed), len(self._out_evidence),
        )
        return Ready(
            wal_records=tuple(self._out_wal),
            messages=tuple(self._out_messages),
            timers=tuple(self._out_timers),
            requests=tuple(self._out_requests),
            committed=tuple(self._out_committed),
            evidence=tuple(self._out_evidence),
        )

    def advance(self) -> None:
        """Acknowledge the last ``ready()``: its items are never handed out again."""
        if self._handed is None:
            raise UsageError("advance() without a preceding ready()")
        wal, messages, timers, requests, committed, evidence = self._handed
        del self._out_wal[:wal]
        del self._out_messages[:messages]
        del self._out_timers[:timers]
        del self._out_requests[:requests]
        del self._out_committed[:committed]
        del self._out_evidence[:evidence]
        self._handed = None

    def check_invariants(self) -> None:
        """Raise ``InvariantViolation`` if the state breaks one of its invariants. The simulator and
        the consensus tests call it after every step (the runtime does not: it is a few
        microseconds a step for a set of 4, linear in the kept messages). What holds between
        steps: the height follows the last committed one; the lock and the valid value are both
        set or both unset and never from a later round; kept rounds lie within the window the
        config bounds (``rounds_kept_max`` below, ``rounds_ahead_max`` above), and the current one
        is kept once the height started; no round counts more voting power than the set has;
        buffered messages are for heights this one to ``future_heights_max`` ahead, within their
        count bound; own signed messages are of this height and of no later round; evidence and
        hand-over counts within their bounds."""
        config = self._config
        height, round_ = self._height, self._round
        invariant(height >= 1, f"height {height} below 1")
        invariant(self._last_committed_height == height - 1, "the height does not follow the last commit")
        invariant(round_ >= 0, f"round {round_} below 0")
        invariant(
            (self._locked_value is None) == (self._locked_round == -1), "lock value and lock round disagree"
        )
        invariant((self._valid_value is None) == (self._valid_round == -1), "valid value and round disagree")
        invariant(
            -1 <= self._locked_round <= round_, f"locked round {self._locked_round} after round {round_}"
        )
        invariant(-1 <= self._valid_round <= round_, f"valid round {self._valid_round} after round {round_}")
        floor, top = round_ - config.rounds_kept_max, round_ + config.rounds_ahead_max
        invariant(all(floor <= r <= top for r in self._rounds), f"a kept round outside {floor}..{top}")
        if self._step != Step.NEW_HEIGHT:
            invariant(round_ in self._rounds, f"round {round_} has no state")
        if height in self._valsets:
            total = self._total_power()
            for kept, rs in self._rounds.items():
                votes = rs.votes
                invariant(
                    votes.prevotes.power_voted <= total and votes.precommits.power_voted <= total,
                    f"round {kept} counts more power than the set's {total}",
                )
        invariant(len(self._future) <= config.future_messages_max, "more buffered messages than the bound")
        last_buffered = height + config.future_heights_max
        invariant(
            all(height <= key[0] <= last_buffered for key in self._future), "a buffered message out of range"
        )
        invariant(
            all(h == height and r <= round_ for h, r, _ in self._signed_votes),
            "an own vote of another height",
        )
        invariant(
            all(h == height and r <= round_ for h, r in self._signed_proposals),
            "an own proposal of another height",
        )
        invariant(len(self._evidence_pool) <= config.evidence_kept_max, "more evidence kept than the bound")
        if self._handed is not None:
            lengths = (
                len(self._out_wal), len(self._out_messages), len(self._out_timers),
                len(self._out_requests), len(self._out_committed), len(self._out_evidence),
            )
            invariant(
                all(n <= length for n, length in zip(self._handed, lengths, strict=True)),
                "handed more than was produced",
            )

    def restore(self, records: Iterable[WalRecord]) -> None:
        """Replay a WAL after a restart, before ``Start``. See ``wal.py`` for why this is safe."""
        if self._started or self._restored:
            raise UsageError("restore() only once, before Start()")
        kept = [r for r in records if record_height(r) >= self._height]
        for record in kept:
            if isinstance(record, WalOwnMessage):
                self._guard_seed(record.message)
        self._started = True
        self._replaying = True
        self._enter_height()
        self._evaluate()
        for record in kept:
            self._replay(record)
            self._evaluate()
        self._replaying = False
        self._started = False
        self._restored = True

    # --- dispatch ---------------------------------------------------------------------------------

    def _dispatch(self, event: Input) -> None:
        try:
            if isinstance(event, Vote):
                self._on_vote(event, own=False)
            elif isinstance(event, Proposal):
                self._on_proposal(event, own=False)
            elif isinstance(event, TimeoutFired):
                self._on_timeout(event)
            elif isinstance(event, ProposalPayload):
                self._on_payload(event)
            elif isinstance(event, ProposalVerdict):
                self._on_verdict(event)
            elif isinstance(event, BlockApplied):
                self._on_block_applied(event)
            else:
                raise UsageError(f"not a consensus input: {type(event).__name__}")
        except InvalidMessage:
            # A peer fault: the message is dropped; the runtime may penalise the peer by counting.
            self._dropped_messages += 1

    def _replay(self, record: WalRecord) -> None:
        if isinstance(record, WalPeerMessage):
            self._dispatch(record.message)
        elif isinstance(record, WalOwnMessage):
            message = record.message
            if isinstance(message, Vote):
                self._on_vote(message, own=True)
            else:
                self._on_proposal(message, own=True)
        elif isinstance(record, WalTimeout):
            self._on_timeout(TimeoutFired(record.height, record.round, TimeoutStep(record.step)))
        else:
            self._on_verdict(ProposalVerdict(record.height, record.block_hash, record.accept))

    def _on_start(self) -> None:
        if self._started:
            raise UsageError("Start() given twice")
        self._started = True
        if self._restored:
            self._resume()
        else:
            self._enter_height()

    def _resume(self) -> None:
        """Re-issue what a replayed state is waiting on: timers, requests, own messages."""
        if self._step == Step.NEW_HEIGHT:
            return
        rs = self._rounds[self._round]
        if self._step == Step.PROPOSE:
            self._schedule(TimeoutStep.PROPOSE)
        if self._step == Step.PREVOTE and rs.prevote_timer_done:
            self._schedule(TimeoutStep.PREVOTE)
        if rs.precommit_timer_done:
            self._schedule(TimeoutStep.PRECOMMIT)
        if self._awaiting_payload is not None:
            self._request(PrepareProposal(self._height, self._round, self._prev_block_hash))
        for request in self._pending_verdicts.values():
            self._request(request)
        self._retransmit()

    # --- peer messages ----------------------------------------------------------------------------

    def _on_vote(self, vote: Vote, *, own: bool) -> None:
        if vote.height < self._height:
            self._note_lagging(vote)
            return
        # Checked before buffering too: a vote of no type must not take a slot of the buffer.
        if vote.vote_type not in VOTE_TYPES or len(vote.block_hash) not in (0, HASH_SIZE_BYTES):
            raise InvalidMessage("malformed vote")
        if vote.height > self._height or self._step == Step.NEW_HEIGHT:
            self._buffer(vote, vote.node_id, vote.vote_type)
            return
        index = self._valsets[self._height]
        power = index.power_of(vote.node_id)
        if power == 0:
            raise InvalidMessage("vote from a non-validator")
        if vote.round > self._round + self._config.rounds_ahead_max:
            self._check_vote_signature(vote, own)
            self._note_far_round(vote.node_id, vote.round, index)
            self._record_peer(vote, own)
            return
        rs = self._round_state(vote.round)
        if rs is None:
            return  # below the kept rounds: too old to matter
        tally = rs.votes.tally(vote.vote_type)
        if tally.holds(vote):
            return  # an exact duplicate: skip the signature check
        self._check_vote_signature(vote, own)
        # An equivocator's second vote still counts for its value when that value is one a polka
        # could matter for (nil or a proposed block): the paper counts messages per value, and a
        # node must be able to see a polka that others saw (votes.py explains why S1 holds).
        countable = vote.block_hash == NIL or vote.block_hash in self._blocks
        outcome, prior = tally.add(vote, power, count_conflict=countable)
        if outcome is AddOutcome.CONFLICT:
            invariant(prior is not None, "a conflict reports the vote it conflicts with")
            if prior is not None:
                self._surface_evidence(prior, vote)
            self._record_peer(vote, own)
            return
        rs.votes.heard_from(vote.node_id, power)
        self._lagging_peers.pop(vote.node_id, None)
        self._record_peer(vote, own)

    def _check_vote_signature(self, vote: Vote, own: bool) -> None:
        if not own and not self._verify(vote.node_id, vote.sign_bytes(self._config.chain_id), vote.signature):
            raise InvalidMessage("bad vote signature")

    def _record_peer(self, message: Proposal | Vote, own: bool) -> None:
        if not own:
            self._record(WalPeerMessage(message))

    def _on_proposal(self, proposal: Proposal, *, own: bool) -> None:
        if proposal.height < self._height:
            return
        if proposal.height > self._height or self._step == Step.NEW_HEIGHT:
            self._buffer(proposal, proposal.proposer, 0)
            return
        if proposal.round > self._round + self._config.rounds_ahead_max:
            return  # the round-skip rule counts votes; a lone proposal far ahead is not evidence
        rs = self._round_state(proposal.round)
        if rs is None or rs.proposal is not None:
            return  # too old, a duplicate, or the proposer's second value (the first one stands)
        index = self._valsets[self._height]
        if proposal.proposer != index.proposer(self._height, proposal.round):
            raise InvalidMessage("proposal from a validator that is not the round's proposer")
        if not -1 <= proposal.valid_round < proposal.round:
            raise InvalidMessage("proposal valid_round must be -1 or below its round")
        cert_hash = proposal.last_commit.hash() if proposal.last_commit is not None else b""
        if cert_hash != proposal.block.header.last_commit_hash:
            raise InvalidMessage("proposal carries a certificate its header does not name")
        block_hash = proposal.block.hash()
        if not own and not self._verify(
            proposal.proposer, proposal.sign_bytes(self._config.chain_id, block_hash), proposal.signature
        ):
            raise InvalidMessage("bad proposal signature")
        rs.proposal = proposal
        rs.proposal_hash = block_hash
        rs.votes.heard_from(proposal.proposer, index.power_of(proposal.proposer))
        self._record_peer(proposal, own)
        if block_hash not in self._blocks:
            self._blocks[block_hash] = _BlockEntry(proposal.block, proposal.last_commit, proposal)
        if block_hash in self._verdicts or block_hash in self._pending_verdicts:
            return
        if own:
            self._verdicts[block_hash] = True  # the application built it
            return
        if self._block_problem(proposal.block, proposal.last_commit) is not None:
            self._verdicts[block_hash] = False
            return
        request = ProcessProposal(self._height, proposal.round, proposal.block, block_hash)
        self._pending_verdicts[block_hash] = request
        self._request(request)

    def _block_problem(self, block: Block, last_commit: CommitCertificate | None) -> str | None:
        """Why ``block`` cannot be decided at this height, as far as consensus can tell; else None."""
        header = block.header
        index = self._valsets[self._height]
        problem = None
        if header.chain_id != self._config.chain_id:
            problem = "wrong chain id"
        elif header.height != self._height:
            problem = "wrong height"
        elif header.prev_block_hash != self._prev_block_hash:
            problem = "does not extend the last decided block"
        elif header.validators_hash != index.hash:
            problem = "wrong validators hash"
        elif index.power_of(header.proposer) == 0:
            problem = "proposer is not a validator"
        elif len(block.txs) > BLOCK_TXS_MAX or not block.txs_match_root():
            problem = "transactions do not match the tx root"
        elif last_commit is None:
            problem = None if self._prev_block_hash == b"" else "no certificate for the previous block"
        elif last_commit.height != self._height - 1 or last_commit.block_hash != self._prev_block_hash:
            problem = "certificate is not for the previous block"
        elif not self._certificate_ok(last_commit):
            problem = "certificate of the previous block lacks a quorum"
        return problem

    def _certificate_ok(self, cert: CommitCertificate) -> bool:
        key = cert.hash()
        known = self._certs_checked.get(key)
        if known is not None:
            return known
        index = self._valsets.get(cert.height)
        if index is None:
            ok = True  # no set to check against (a restart without last_validators): trust the header
        else:
            message = vote_sign_bytes(self._config.chain_id, VoteType.PRECOMMIT, cert.height, cert.round,
                                      cert.block_hash)
            seen: dict[bytes, None] = {}
            power = 0
            for sig in cert.signatures:
                if sig.node_id in seen:
                    continue
                seen[sig.node_id] = None  # before the check: one verification per validator at most
                p = index.power_of(sig.node_id)
                if p and self._verify(sig.node_id, message, sig.signature):
                    power += p
            ok = self._rule.is_quorum(power, index.total_power)
        self._certs_checked[key] = ok
        return ok

    def _buffer(self, message: Proposal | Vote, node_id: bytes, kind: int) -> None:
        """Keep a message for a later height (or this one, before it starts), within bounds."""
        config = self._config
        too_far = message.height > self._height + config.future_heights_max
        if too_far or message.round > config.rounds_ahead_max:
            return
        index = self._valsets.get(message.height) or self._valsets[max(self._valsets)]
        if index.power_of(node_id) == 0:
            raise InvalidMessage("message from a non-validator")
        key = (message.height, message.round, kind, node_id)
        if key in self._future or len(self._future) >= config.future_messages_max:
            return
        # The first message for a key holds its slot, so it must be the signer's own: a forged one
        # would shut out the validator's real message until a retransmission. The check is
        # repeated at dispatch; only messages that arrive early pay it twice.
        chain_id = self._config.chain_id
        if isinstance(message, Vote):
            signed_bytes = message.sign_bytes(chain_id)
        else:
            signed_bytes = message.sign_bytes(chain_id, message.block.hash())
        if not self._verify(node_id, signed_bytes, message.signature):
            raise InvalidMessage("bad signature on a message for a later height")
        self._future[key] = message

    def _drain_future(self) -> None:
        ready = [m for key, m in self._future.items() if key[0] == self._height]
        self._future = {key: m for key, m in self._future.items() if key[0] > self._height}
        for message in ready:
            self._dispatch(message)

    def _note_lagging(self, vote: Vote) -> None:
        """Remember a peer one height behind; the next retransmit sends it our decision."""
        if vote.height != self._height - 1 or self._last_decision is None or vote.node_id == self._own_id:
            return
        index = self._valsets.get(vote.height)
        if index is None or index.power_of(vote.node_id) == 0:
            return
        if vote.node_id not in self._lagging_peers:
            self._check_vote_signature(vote, own=False)  # only signed votes can make us send a block
            self._lagging_peers[vote.node_id] = None

    def _note_far_round(self, node_id: bytes, round_: int, index: ValidatorIndex) -> None:
        """Track the highest far-ahead round per validator: O(validators) memory for rule L55."""
        if self._far_rounds.get(node_id, -1) >= round_:
            return
        self._far_rounds[node_id] = round_
        self._far_target = -1
        power = 0
        for node, far_round in sorted(self._far_rounds.items(), key=lambda item: (-item[1], item[0])):
            power += index.power_of(node)
            if self._rule.is_blocking(power, index.total_power):
                # f+1 power is at this round or beyond: at least one honest validator got there.
                self._far_target = far_round
                break

    # --- inputs from the runtime and the application --------------------------------------------

    def _on_timeout(self, event: TimeoutFired) -> None:
        if event.height != self._height or event.round != self._round or self._step == Step.NEW_HEIGHT:
            return  # stale: timers are never cancelled, only ignored
        if event.step == TimeoutStep.RETRANSMIT:
            self._retransmit()
            return
        if event.step == TimeoutStep.PROPOSE and self._step == Step.PROPOSE:  # L57
            self._record(WalTimeout(event.height, event.round, int(event.step)))
            self._cast_vote(VoteType.PREVOTE, NIL)
            self._step = Step.PREVOTE
        elif event.step == TimeoutStep.PREVOTE and self._step == Step.PREVOTE:  # L61
            self._record(WalTimeout(event.height, event.round, int(event.step)))
            self._cast_vote(VoteType.PRECOMMIT, NIL)
            self._step = Step.PRECOMMIT
        elif event.step == TimeoutStep.PRECOMMIT:  # L65
            self._record(WalTimeout(event.height, event.round, int(event.step)))
            self._start_round(self._round + 1)

    def _on_payload(self, payload: ProposalPayload) -> None:
        if self._awaiting_payload != (payload.height, payload.round) or self._step != Step.PROPOSE:
            return  # the round moved on while the application worked
        if len(payload.app_hash) != HASH_SIZE_BYTES or len(payload.last_results_hash) != HASH_SIZE_BYTES:
            raise UsageError("a payload's app_hash and last_results_hash are 32 bytes")
        if payload.time_ms < 0 or len(payload.txs) > BLOCK_TXS_MAX:
            raise UsageError("a payload's time is non-negative and its txs within BLOCK_TXS_MAX")
        self._awaiting_payload = None
        own = self._own_id
        if own is None:
            fail_invariant("only a validator asks for a payload")
        header = Header(
            chain_id=self._config.chain_id,
            height=self._height,
            time_ms=payload.time_ms,
            prev_block_hash=self._prev_block_hash,
            tx_root=tx_root(list(payload.txs)),
            app_hash=payload.app_hash,
            last_results_hash=payload.last_results_hash,
            validators_hash=self._valsets[self._height].hash,
            proposer=own,
            last_commit_hash=self._last_commit.hash() if self._last_commit is not None else b"",
        )
        self._sign_proposal(Block(header=header, txs=list(payload.txs)), -1, self._last_commit)

    def _on_verdict(self, verdict: ProposalVerdict) -> None:
        if verdict.height != self._height or verdict.block_hash not in self._pending_verdicts:
            return
        del self._pending_verdicts[verdict.block_hash]
        self._verdicts[verdict.block_hash] = verdict.accept
        self._record(WalVerdict(verdict.height, verdict.block_hash, verdict.accept))

    def _on_block_applied(self, event: BlockApplied) -> None:
        target = event.height + 2
        base = self._valsets.get(event.height + 1)
        if base is None:
            if target < self._height:
                return  # re-applied after a restart: the sets it decides are already in use
            raise UsageError(f"BlockApplied({event.height}) before the validator set of {event.height + 1}")
        new_set = base.validator_set.apply_updates(list(event.validator_updates))
        if not new_set.validators:
            raise UsageError(f"validator updates at height {event.height} leave no validators")
        known = self._valsets.get(target)
        if known is not None:
            invariant(known.hash == new_set.hash(), f"BlockApplied({event.height}) contradicts a known set")
            return
        self._valsets[target] = ValidatorIndex(new_set)
        if self._step == Step.NEW_HEIGHT and self._started and self._height in self._valsets:
            self._enter_height()

    # --- the paper's procedures -------------------------------------------------------------------

    def _enter_height(self) -> None:
        if self._height not in self._valsets:
            self._step = Step.NEW_HEIGHT
            return
        self._start_round(0)
        self._drain_future()

    def _start_round(self, round_: int) -> None:
        """StartRound (L11)."""
        self._round = round_
        self._step = Step.PROPOSE
        self._awaiting_payload = None
        self._round_state(round_)
        self._prune_rounds()
        ahead = self._round + self._config.rounds_ahead_max
        self._far_rounds = {node: r for node, r in self._far_rounds.items() if r > ahead}
        if self._far_target <= ahead:
            self._far_target = -1
        self._schedule(TimeoutStep.PROPOSE)
        self._schedule(TimeoutStep.RETRANSMIT)
        if self._own_id is not None and self.proposer_of(self._height, round_) == self._own_id:
            self._propose()

    def _propose(self) -> None:
        signed = self._signed_proposals.get((self._height, self._round))
        if signed is not None:
            self._sign_proposal(signed.block, signed.valid_round, signed.last_commit)
        elif self._valid_value is not None:
            entry = self._blocks[self._valid_value]
            self._sign_proposal(entry.block, self._valid_round, entry.last_commit)
        else:
            self._awaiting_payload = (self._height, self._round)
            self._request(PrepareProposal(self._height, self._round, self._prev_block_hash))

    def _sign_proposal(self, block: Block, valid_round: int, last_commit: CommitCertificate | None) -> None:
        key = (self._height, self._round)
        proposal = self._signed_proposals.get(key)
        if proposal is None:
            signer, own = self._signer, self._own_id
            if signer is None or own is None:
                fail_invariant("only a validator proposes")
            sign_bytes = proposal_sign_bytes(self._config.chain_id, self._height, self._round, valid_round,
                                             block.hash())
            proposal = Proposal(
                height=self._height, round=self._round, valid_round=valid_round, block=block,
                last_commit=last_commit, proposer=own, signature=signer.sign(sign_bytes),
            )
            self._signed_proposals[key] = proposal
            self._record(WalOwnMessage(proposal))
        self._send(proposal)
        self._send_polka(proposal)
        self._on_proposal(proposal, own=True)

    def _send_polka(self, proposal: Proposal) -> None:
        """With a re-proposal, forward the prevotes of its valid round that we hold.

        L28 makes the others wait for 2f+1 prevotes at ``valid_round``; the paper's gossip
        eventually delivers them, a lossy network does not. Without this, validators locked on
        a value and validators that never saw its polka can wait for each other forever (found
        by the property test). Forwarded votes carry their signers' signatures.
        """
        rs = self._rounds.get(proposal.valid_round) if proposal.valid_round >= 0 else None
        if rs is None:
            return
        for vote in rs.votes.prevotes.votes_for(proposal.block.hash()):
            if vote.node_id != self._own_id:
                self._send(vote)

    def _cast_vote(self, vote_type: int, value: bytes) -> None:
        """Sign (once per slot, through the guard) and broadcast a vote, and count it."""
        own = self._own_id
        if own is None or self._signer is None or self._valsets[self._height].power_of(own) == 0:
            return  # an observer follows the protocol without voting
        key = (self._height, self._round, vote_type)
        vote = self._signed_votes.get(key)
        if vote is None:
            signature = self._signer.sign(
                vote_sign_bytes(self._config.chain_id, vote_type, self._height, self._round, value)
            )
            vote = Vote(vote_type, self._height, self._round, value, own, signature)
            self._signed_votes[key] = vote
            self._record(WalOwnMessage(vote))
        if vote_type == VoteType.PRECOMMIT and vote.block_hash != NIL:
            # The lock always follows what we precommitted, even if the guard overrode the rules.
            self._locked_value = vote.block_hash
            self._locked_round = self._round
        self._send(vote)
        self._on_vote(vote, own=True)

    def _decide(self, round_: int, value: bytes) -> None:
        h = self._height
        entry = self._blocks[value]
        votes = self._rounds[round_].votes.precommits.votes_for(value)
        index = self._valsets[h]
        invariant(
            self._rule.is_quorum(sum(index.power_of(v.node_id) for v in votes), index.total_power),
            "a decision needs a quorum of precommits",
        )
        certificate = CommitCertificate(
            height=h, round=round_, block_hash=value,
            signatures=[CommitSig(node_id=v.node_id, signature=v.signature) for v in votes],
        )
        self._out_committed.append(CommittedBlock(entry.block, certificate, entry.last_commit))
        self._last_decision = (entry.proposal, tuple(votes))
        self._prev_block_hash = value
        self._last_commit = certificate
        self._last_committed_height = h
        self._height = h + 1
        self._round = 0
        self._reset_height_state()
        self._signed_votes = {k: v for k, v in self._signed_votes.items() if k[0] > h}
        self._signed_proposals = {k: p for k, p in self._signed_proposals.items() if k[0] > h}
        self._valsets = {k: v for k, v in self._valsets.items() if k >= h}
        self._enter_height()

    def _retransmit(self) -> None:
        """Re-send our own messages of this height's recent rounds and help peers a height behind.

        Not only this round's: a peer still in an earlier round may be waiting for exactly the
        precommit we sent there (lost on the way) to start its own precommit timeout, while we
        wait for its messages of our round; re-sending only the current round deadlocks both
        (found by the simulator). Rounds further back than ``rounds_kept_max`` are left to the
        f+1 round-skip rule."""
        h, r = self._height, self._round
        oldest = max(0, r - self._config.rounds_kept_max)
        for (ph, pr), proposal in self._signed_proposals.items():
            if ph == h and pr >= oldest:
                self._send(proposal)
                self._send_polka(proposal)
        for (vh, vr, _), vote in self._signed_votes.items():
            if vh == h and vr >= oldest:
                self._send(vote)
        # Relay the others' votes we hold for these rounds too. The paper's gossip hands every
        # correct process what one of them received; without relaying, a Byzantine validator that
        # sends its precommit to some validators and withholds it from the rest can leave the rest
        # one vote short of 2f+1 in a round that the others have left, and neither side moves
        # (found by the simulator: seed 100281 with validator-set changes). Votes carry their
        # signers' signatures, and receivers check them as any other.
        own = self._own_id
        for vr, rs in self._rounds.items():
            if vr >= oldest:
                for tally in (rs.votes.prevotes, rs.votes.precommits):
                    for vote in tally.votes.values():
                        if vote.node_id != own:
                            self._send(vote)
        if self._last_decision is not None:
            decided, precommits = self._last_decision
            for peer in self._lagging_peers:
                self._send(decided, to=peer)
                for vote in precommits:
                    self._send(vote, to=peer)
        self._lagging_peers.clear()
        self._schedule(TimeoutStep.RETRANSMIT)

    # --- the upon-rules ---------------------------------------------------------------------------

    def _evaluate(self) -> None:
        while self._started and self._step != Step.NEW_HEIGHT and (
            self._rule_decide()
            or self._rule_skip_round()
            or self._rule_prevote_on_proposal()
            or self._rule_prevote_timer()
            or self._rule_polka_value()
            or self._rule_polka_nil()
            or self._rule_precommit_timer()
        ):
            pass

    def _total_power(self) -> int:
        return self._valsets[self._height].total_power

    def _rule_decide(self) -> bool:
        """L49: 2f+1 precommits for v in any round, v known and valid: decide."""
        total = self._total_power()
        for round_, rs in self._rounds.items():
            value = rs.votes.precommits.quorum_value(self._rule, total)
            if value and value in self._blocks and self._verdicts.get(value) is True:
                self._decide(round_, value)
                return True
        return False

    def _rule_skip_round(self) -> bool:
        """L55: f+1 power heard from in a round above ours: start that round."""
        total = self._total_power()
        target = self._far_target
        for round_, rs in self._rounds.items():
            if round_ > max(target, self._round) and self._rule.is_blocking(rs.votes.sender_power, total):
                target = round_
        if target > self._round:
            self._start_round(target)
            return True
        return False

    def _rule_prevote_on_proposal(self) -> bool:
        """L22 (vr = -1) and L28 (vr >= 0 with a polka at vr), in the propose step."""
        if self._step != Step.PROPOSE:
            return False
        rs = self._rounds[self._round]
        proposal = rs.proposal
        if proposal is None:
            return False
        value = rs.proposal_hash
        verdict = self._verdicts.get(value)
        if verdict is None:
            return False  # valid(v) is not known yet: wait for the application (or the timeout)
        vr = proposal.valid_round
        unlocked = self._locked_round == -1 or self._config.unsafe_ignore_lock
        if vr >= 0:
            polka_rs = self._rounds.get(vr)
            if polka_rs is None or not self._rule.is_quorum(
                polka_rs.votes.prevotes.power_for(value), self._total_power()
            ):
                return False
            unlocked = unlocked or self._locked_round <= vr
        acceptable = verdict and (unlocked or self._locked_value == value)
        self._cast_vote(VoteType.PREVOTE, value if acceptable else NIL)
        self._step = Step.PREVOTE
        return True

    def _rule_prevote_timer(self) -> bool:
        """L34: the first 2f+1 prevotes of any kind in the prevote step arm timeoutPrevote."""
        rs = self._rounds[self._round]
        if self._step != Step.PREVOTE or rs.prevote_timer_done:
            return False
        if not self._rule.is_quorum(rs.votes.prevotes.power_voted, self._total_power()):
            return False
        rs.prevote_timer_done = True
        self._schedule(TimeoutStep.PREVOTE)
        return True

    def _rule_polka_value(self) -> bool:
        """L36: 2f+1 prevotes for a known valid v, step >= prevote, first time: lock and precommit."""
        rs = self._rounds[self._round]
        if rs.polka_done or self._step == Step.PROPOSE:
            return False
        value = rs.votes.prevotes.quorum_value(self._rule, self._total_power())
        if not value or value not in self._blocks or self._verdicts.get(value) is not True:
            return False
        rs.polka_done = True
        if self._step == Step.PREVOTE:
            self._locked_value = value
            self._locked_round = self._round
            self._cast_vote(VoteType.PRECOMMIT, value)
            self._step = Step.PRECOMMIT
        self._valid_value = value
        self._valid_round = self._round
        return True

    def _rule_polka_nil(self) -> bool:
        """L44: 2f+1 prevotes for nil in the prevote step: precommit nil."""
        rs = self._rounds[self._round]
        if self._step != Step.PREVOTE or not rs.votes.has_nil_quorum(self._rule, self._total_power()):
            return False
        self._cast_vote(VoteType.PRECOMMIT, NIL)
        self._step = Step.PRECOMMIT
        return True

    def _rule_precommit_timer(self) -> bool:
        """L47: the first 2f+1 precommits of any kind arm timeoutPrecommit."""
        rs = self._rounds[self._round]
        if rs.precommit_timer_done:
            return False
        if not self._rule.is_quorum(rs.votes.precommits.power_voted, self._total_power()):
            return False
        rs.precommit_timer_done = True
        self._schedule(TimeoutStep.PRECOMMIT)
        return True

    # --- bounded bookkeeping ----------------------------------------------------------------------

    def _round_state(self, round_: int) -> _RoundState | None:
        rs = self._rounds.get(round_)
        if rs is None:
            if round_ < self._round - self._config.rounds_kept_max:
                return None
            rs = _RoundState()
            self._rounds[round_] = rs
        return rs

    def _prune_rounds(self) -> None:
        floor = self._round - self._config.rounds_kept_max
        if all(r >= floor for r in self._rounds):
            return
        self._rounds = {r: rs for r, rs in self._rounds.items() if r >= floor}
        keep = {rs.proposal_hash for rs in self._rounds.values()}
        keep.update(v for v in (self._valid_value, self._locked_value) if v is not None)
        self._blocks = {h: e for h, e in self._blocks.items() if h in keep}
        self._verdicts = {h: v for h, v in self._verdicts.items() if h in keep}
        self._pending_verdicts = {h: p for h, p in self._pending_verdicts.items() if h in keep}

    def _guard_seed(self, message: Proposal | Vote) -> None:
        if isinstance(message, Vote):
            vote_key = (message.height, message.round, message.vote_type)
            prior_vote = self._signed_votes.setdefault(vote_key, message)
            invariant(prior_vote == message, f"the WAL holds two own votes for {vote_key}")
        else:
            proposal_key = (message.height, message.round)
            prior = self._signed_proposals.setdefault(proposal_key, message)
            invariant(prior == message, f"the WAL holds two own proposals for {proposal_key}")

    def _surface_evidence(self, first: Vote, second: Vote) -> None:
        evidence = DuplicateVoteEvidence.of(first, second)
        if self._evidence_pool.add(evidence) and len(self._out_evidence) < self._config.evidence_kept_max:
            self._out_evidence.append(evidence)

    # --- the outbox (replay suppresses everything but decisions and evidence) --------------------

    def _record(self, record: WalRecord) -> None:
        if not self._replaying:
            self._out_wal.append(record)

    def _send(self, message: Proposal | Vote, to: bytes | None = None) -> None:
        if not self._replaying:
            self._out_messages.append(Outgoing(message, to))

    def _schedule(self, step: TimeoutStep) -> None:
        if not self._replaying:
            delay_ms = self._config.timeout_ms(step, self._round)
            self._out_timers.append(ScheduleTimer(self._height, self._round, step, delay_ms))

    def _request(self, request: AppRequest) -> None:
        if not self._replaying:
            self._out_requests.append(request)

