"""The node driver: one node's consensus core, application, mempool and block sync, wired (sans-IO).

Theory of operation
-------------------
The consensus core decides blocks; the application executes them; the mempool holds what clients
sent; block sync fetches what the node missed. The driver is the one piece of code that connects
them, the same in a real node and in the simulator (TigerBeetle's replica, raft's ``Ready`` loop).
It does no I/O: everything it needs from the world goes through a ``Host`` (send a message, set a
timer, read a clock, hear about a commit), which the asyncio runtime (``node.runtime``) implements
over sockets, timers and files, and the simulator (``testing.sim``) over simulated time.

After every input the driver drains the core's ``Ready`` in the order ``consensus.ready``
prescribes: WAL records appended (synced when ``must_sync``) before any message leaves; committed
blocks executed and committed; messages sent; timers scheduled; the application's requests
answered; ``advance()``; answers stepped back in.

Applying a block (decided by consensus or fetched by sync) first checks its header against the
node's own state: the block's ``app_hash`` and ``last_results_hash`` must be the ones this node
computed for the block before. A mismatch means this node's state is not the chain's (a bug, a
corrupted store, or a member running different rules): the driver *halts*: it applies nothing
more, says so in one log line with the height and both hashes, keeps its data, and reports the
halt in its status for the API and the metrics. It never carries on from a state that differs.

Pacing: when the core asks for a proposal and the mempool is empty, the answer waits until a
transaction arrives or ``empty_block_interval_ms`` has passed since the last commit, so an idle
alliance commits about one block per interval instead of spinning.

Membership (``node.membership``) is reread after every commit; when it changed the host drops the
links that no longer pass. The mempool takes the chain parameters after every commit that changed
them, so admission follows governance at the block a change takes effect.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from alliance import codec
from alliance.abi.chain import VALIDATORS_KEY
from alliance.app.interface import AppInfo, Application, FinalizeResult
from alliance.consensus.core import ConsensusCore, Signer, Verifier
from alliance.consensus.evidence import DuplicateVoteEvidence
from alliance.consensus.inputs import (
    BlockApplied,
    Input,
    ProposalPayload,
    ProposalVerdict,
    Start,
    StartState,
    TimeoutFired,
)
from alliance.consensus.messages import Proposal, Vote
from alliance.consensus.ready import PrepareProposal, ProcessProposal, Ready
from alliance.consensus.timeouts import ConsensusConfig
from alliance.consensus.wal import WalRecord
from alliance.crypto.keys import verify_node_signature
from alliance.errors import NotFound, PeerFault
from alliance.ledger.block import (
    BLOCK_TIME_AHEAD_MS_MAX,
    Block,
    CommitCertificate,
    block_time_problem,
    next_block_time_ms,
)
from alliance.ledger.genesis import ChainParams, Genesis
from alliance.ledger.store import ChainStoreProtocol
from alliance.ledger.validators import ValidatorSet
from alliance.mempool.pool import Mempool
from alliance.node.membership import Membership
from alliance.node.sync import BlockSync, Chooser, SyncConfig
from alliance.node.wire import PeerHeight, SyncBlocks, SyncRequest, TxBatch, WireMessage
from alliance.types import invariant

logger = logging.getLogger("alliance.node")

DRAIN_ROUNDS_MAX = 10_000
GOSSIP_FRAME_BYTES_MAX = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PrepareDue:
    """The driver's own timer: a proposal that waited for transactions may be prepared now."""

    serial: int


Timer = TimeoutFired | PrepareDue


class Host(Protocol):
    """What the driver needs from its surroundings (module docstring)."""

    def send(self, peer: bytes, message: WireMessage) -> bool:
        """Queue ``message`` for ``peer``; False when there is no link to it."""
        ...

    def broadcast(self, message: WireMessage) -> None: ...

    def connected_peers(self) -> frozenset[bytes]: ...

    def schedule(self, delay_ms: float, timer: Timer) -> None:
        """Call ``driver.on_timer(timer)`` after ``delay_ms``."""
        ...

    def monotonic_ms(self) -> float:
        """A clock for intervals (pacing, sync timeouts); any origin."""
        ...

    def wall_ms(self) -> int:
        """This node's wall clock, for block times."""
        ...

    def block_committed(self, block: Block, result: FinalizeResult) -> None:
        """A block was executed and committed (wake waiters, feed checkers)."""
        ...

    def membership_changed(self) -> None: ...

    def evidence(self, evidence: DuplicateVoteEvidence) -> None: ...


class ConsensusWal(Protocol):
    """The consensus write-ahead log (``storage.wal.FileWal``; the simulator's ``SimWal``)."""

    def append(self, records: Sequence[WalRecord], sync: bool) -> None: ...

    def replay(self, from_height: int) -> list[WalRecord]: ...

    def rotate(self, height: int) -> None:
        """Records below ``height`` are obsolete (their heights are committed)."""
        ...


class DrivenApplication(Application, Protocol):
    """The application as the driver uses it: the ABCI-like protocol plus its chain parameters."""

    @property
    def params(self) -> ChainParams: ...


@dataclass(frozen=True, slots=True)
class DriverConfig:
    empty_block_interval_ms: int = 1000
    block_time_ahead_ms_max: int | None = BLOCK_TIME_AHEAD_MS_MAX
    """None: check only that a block's time is after its parent's (the simulator, whose clocks
    model drifting timers, so they part by far more than synchronised real clocks)."""
    proposal_txs_max: int | None = None
    """A node-local cap on a proposal's transactions below the governed ``block_txs_max``."""
    wal_rotate_every_blocks: int = 16
    sync: SyncConfig = field(default_factory=SyncConfig)
    check_invariants: bool = False
    """Check the consensus core's invariants after every step (the simulator: a few microseconds
    a step that a node's hot path does without)."""

    def __post_init__(self) -> None:
        invariant(self.empty_block_interval_ms >= 0, "empty_block_interval_ms is not negative")
        invariant(self.wal_rotate_every_blocks >= 1, "wal_rotate_every_blocks is positive")


@dataclass(frozen=True, slots=True)
class Halt:
    """Why the driver stopped applying blocks: its state differs from the chain's at ``height``."""

    height: int
    what: str  # "app hash" or "results hash"
    chain: bytes  # what the block's header says
    ours: bytes  # what this node computed

    def describe(self) -> str:
        return (
            f"halted at height {self.height}: the block's {self.what} is {self.chain.hex()}, this node "
            f"computed {self.ours.hex()}; its state differs from the chain's (it applies no more blocks; "
            "its data is kept)"
        )


@dataclass(frozen=True, slots=True)
class DriverStatistics:
    """One immutable snapshot of the driver's counters."""

    committed_txs_total: int
    blocks_applied: int
    block_execute_ms_total: float
    block_commit_ms_total: float
    peer_faults: int
    sync_requests_unanswered: int
    sync_answers_unsolicited: int
    sync_blocks_applied: int


@dataclass(slots=True)
class _Counters:
    committed_txs_total: int = 0
    blocks_applied: int = 0
    block_execute_ms_total: float = 0.0
    block_commit_ms_total: float = 0.0
    peer_faults: int = 0


@dataclass(frozen=True, slots=True)
class LastBlock:
    """The node's last committed block: height 0 is genesis (no hash)."""

    height: int
    block_hash: bytes
    time_ms: int


class NodeDriver:
    """Drives one node's parts (module docstring). Not thread-safe: one caller at a time."""

    def __init__(
        self,
        *,
        name: str,
        genesis: Genesis,
        signer: Signer,
        consensus: ConsensusConfig,
        store: ChainStoreProtocol,
        wal: ConsensusWal,
        application: DrivenApplication,
        mempool: Mempool,
        membership: Membership,
        host: Host,
        chooser: Chooser,
        config: DriverConfig | None = None,
        verify_signature: Verifier = verify_node_signature,
    ) -> None:
        self.name = name
        self.genesis = genesis
        self.signer = signer
        self.node_id: bytes = signer.node_id
        self.consensus_config = consensus
        self.store = store
        self.wal = wal
        self.app = application
        self.mempool = mempool
        self.membership = membership
        self.host = host
        self.chooser = chooser
        self.config = config if config is not None else DriverConfig()
        self._verify_signature = verify_signature
        self.sync = BlockSync(self.config.sync)
        self.halted: Halt | None = None
        self._counters = _Counters()
        self._pending_prepare: PrepareProposal | None = None
        self._prepare_serial = 0
        self._prepare_timer_set = False
        now = host.monotonic_ms()
        self._last_commit_ms = now
        self._last_progress_ms = now
        self.last_block = self._load_last_block()
        self.membership.reload(self._read_state)
        self.core = self._build_core()

    # --- construction ------------------------------------------------------------------------------

    def _load_last_block(self) -> LastBlock:
        height = self.store.last_height() or 0
        if height == 0:
            return LastBlock(0, b"", self.genesis.genesis_time_ms)
        block = codec.decode_trusted(Block, self.store.block(height))
        invariant(block.header.height == height, "the stored last block is at its own height")
        return LastBlock(height, block.hash(), block.header.time_ms)

    def _read_state(self, key: bytes) -> bytes | None:
        return self.app.query(key).value

    def validators_at(self, height: int) -> ValidatorSet:
        """The set that votes at ``height``: the state after block ``height - 2`` (updates act at
        h+2). Past the last committed state the latest set is the best known. A pruned version is
        never answered with another height's set: nodes keep at least two versions back, which
        covers every height consensus and block sync ask about."""
        version = max(0, height - 2)
        try:
            raw = self.app.query(VALIDATORS_KEY, height=version).value
        except NotFound:
            raw = self.app.query(VALIDATORS_KEY).value
        invariant(raw is not None, "the validator set is always in state")
        return codec.decode_trusted(ValidatorSet, raw)  # type: ignore[arg-type]

    def _build_core(self) -> ConsensusCore:
        height = self.last_block.height + 1
        last_commit = None
        last_validators = None
        if height > 1:
            last_commit = codec.decode_trusted(CommitCertificate, self.store.certificate(height - 1))
            last_validators = self.validators_at(height - 1)
        start = StartState(
            height=height,
            validators=self.validators_at(height),
            next_validators=self.validators_at(height + 1),
            prev_block_hash=self.last_block.block_hash,
            last_commit=last_commit,
            last_validators=last_validators,
        )
        core = ConsensusCore(self.consensus_config, self.signer, start, verify=self._verify_signature)
        core.restore(self.wal.replay(height))
        core.step(Start())
        return core

    # --- inputs ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Hand out what the core did while starting (its first timers, a resumed proposal)."""
        self._drain()

    def step(self, event: Input) -> None:
        """One consensus input (a peer's proposal or vote, an answer of the application)."""
        if self.halted is not None:
            return
        try:
            self.core.step(event)
        except PeerFault as exc:
            self._counters.peer_faults += 1
            logger.debug("dropped a consensus input: %s", exc.message)
        self._drain()

    def on_timer(self, timer: Timer) -> None:
        if isinstance(timer, PrepareDue):
            if timer.serial == self._prepare_serial:
                self._prepare_timer_set = False
                self._offer_proposal(waited_enough=True)
        else:
            self.step(timer)

    def receive(self, peer: bytes, message: WireMessage) -> None:
        """A peer's message, except ``TxBatch`` (admission is the host's: it may take its time)."""
        if isinstance(message, Proposal | Vote):
            self.step(message)
        elif isinstance(message, PeerHeight):
            self.sync.peer_height(peer, message.height)
            if message.height > self.height + 1 or not self.takes_part():
                self.request_sync()  # behind: ask now rather than at the next tick
        elif isinstance(message, SyncRequest):
            now = self.host.monotonic_ms()
            answer = self.sync.answer(peer, message, now, self.height, self._stored_block)
            if answer is not None:
                self.host.send(peer, answer)
        elif isinstance(message, SyncBlocks):
            self._accept_synced(peer, message)
        else:
            invariant(isinstance(message, TxBatch), "every wire message has a handler")

    def tick(self) -> None:
        """Housekeeping, about once a second: tell peers our height, fetch blocks if behind."""
        self.host.broadcast(PeerHeight(height=self.height))
        self.request_sync()

    def transactions_admitted(self, raws: Sequence[bytes], *, gossip: bool) -> None:
        """New transactions entered the mempool: forward a client's to every peer (once: the
        validators form a full mesh), and prepare a proposal that waited for them."""
        if gossip and raws:
            self._gossip(raws)
        if self._pending_prepare is not None:
            self._offer_proposal()

    # --- the Ready loop ----------------------------------------------------------------------------

    def _drain(self) -> None:
        for _ in range(DRAIN_ROUNDS_MAX):
            if self.halted is not None:
                return
            ready = self.core.ready()
            if ready.is_empty:
                if self.config.check_invariants:
                    self.core.check_invariants()
                return
            self._handle(ready)
        invariant(False, "the consensus core kept producing work without end")

    def _handle(self, ready: Ready) -> None:
        if ready.wal_records:
            self.wal.append(ready.wal_records, sync=ready.must_sync)
        answers: list[Input] = []
        for committed in ready.committed:
            applied = self._apply_block(committed.block, committed.certificate)
            if applied is None:
                return  # halted: nothing of this Ready leaves, the core is not advanced
            answers.append(applied)
        for outgoing in ready.messages:
            if outgoing.to is None:
                self.host.broadcast(outgoing.message)
            else:
                self.host.send(outgoing.to, outgoing.message)
        for timer in ready.timers:
            self.host.schedule(timer.delay_ms, TimeoutFired(timer.height, timer.round, timer.step))
        for request in ready.requests:
            answer = self._answer(request)
            if answer is not None:
                answers.append(answer)
        for evidence in ready.evidence:
            self.host.evidence(evidence)
        self.core.advance()
        for answer in answers:
            try:
                self.core.step(answer)
            except PeerFault as exc:
                self._counters.peer_faults += 1
                logger.debug("dropped an answer: %s", exc.message)

    # --- applying blocks ---------------------------------------------------------------------------

    def _header_matches_state(self, block: Block) -> bool:
        """The block's header against this node's own results for the block before (module doc)."""
        info: AppInfo = self.app.info()
        header = block.header
        mismatch = None
        if header.app_hash != info.last_app_hash:
            mismatch = ("app hash", header.app_hash, info.last_app_hash)
        elif header.last_results_hash != info.last_results_hash:
            mismatch = ("results hash", header.last_results_hash, info.last_results_hash)
        if mismatch is None:
            return True
        self.halted = Halt(header.height, *mismatch)
        logger.error("node %s %s", self.name, self.halted.describe())
        self._drop_pending_prepare()
        return False

    def _apply_block(self, block: Block, certificate: CommitCertificate) -> BlockApplied | None:
        """Execute and commit a decided block; None when the node halted instead."""
        if self.halted is not None or not self._header_matches_state(block):
            return None
        host = self.host
        started = host.monotonic_ms()
        result = self.app.finalize_block(block, certificate)
        executed = host.monotonic_ms()
        self.app.commit()
        stored = host.monotonic_ms()
        height = block.header.height
        hashes = result.tx_hashes
        if self.mempool.params is not self.app.params:
            self.mempool.params = self.app.params  # governance changed them: admission follows
        self.mempool.update(height, hashes)
        if height % self.config.wal_rotate_every_blocks == 0:
            self.wal.rotate(height + 1)
        self.last_block = LastBlock(height, block.hash(), block.header.time_ms)
        self._last_commit_ms = self._last_progress_ms = stored
        counters = self._counters
        counters.committed_txs_total += len(hashes)
        counters.blocks_applied += 1
        counters.block_execute_ms_total += executed - started
        counters.block_commit_ms_total += stored - executed
        if self.membership.reload(self._read_state):
            members = ", ".join(sorted(self.membership.org_ca_certificates))
            logger.info("membership changed at height %d: members %s", height, members)
            host.membership_changed()
        logger.info(
            "committed %d: %d txs, app hash %s (executed in %.1f ms, committed in %.1f ms)",
            height, len(hashes), result.app_hash.hex()[:16], executed - started, stored - executed,
        )
        host.block_committed(block, result)
        updates = tuple(result.validator_updates)
        return BlockApplied(height=height, app_hash=result.app_hash, validator_updates=updates)

    # --- answering the core's requests --------------------------------------------------------------

    def _answer(self, request: PrepareProposal | ProcessProposal) -> Input | None:
        if isinstance(request, ProcessProposal):
            accept = (
                request.height == self.height + 1
                and self._block_time_ok(request.block)
                and self.app.process_proposal(request.block)
            )
            return ProposalVerdict(height=request.height, block_hash=request.block_hash, accept=accept)
        self._pending_prepare = request
        return self._try_prepare(waited_enough=False)

    def _block_time_ok(self, block: Block) -> bool:
        bound = self.config.block_time_ahead_ms_max
        now_ms = None if bound is None else self.host.wall_ms()
        problem = block_time_problem(block.header.time_ms, self.last_block.time_ms, now_ms)
        if problem is not None:
            proposer = self.membership.name_of(block.header.proposer)
            height = block.header.height
            logger.warning("refused the proposal of %s for height %d: %s", proposer, height, problem)
        return problem is None

    def _try_prepare(self, *, waited_enough: bool) -> ProposalPayload | None:
        request = self._pending_prepare
        if request is None:
            return None
        if request.height != self.height + 1:
            # The chain moved past it while it waited: the others decided that height without us.
            self._drop_pending_prepare()
            return None
        waited_ms = self.host.monotonic_ms() - self._last_commit_ms
        interval_ms = self.config.empty_block_interval_ms
        if len(self.mempool) == 0 and not waited_enough and waited_ms < interval_ms:
            if not self._prepare_timer_set:
                self._prepare_timer_set = True
                self.host.schedule(interval_ms - waited_ms, PrepareDue(self._prepare_serial))
            return None
        self._drop_pending_prepare()
        params = self.app.params
        txs_max = params.block_txs_max
        if self.config.proposal_txs_max is not None:
            txs_max = min(txs_max, self.config.proposal_txs_max)
        candidates = self.mempool.reap(txs_max, params.block_bytes_max, params.block_gas_max)
        prepared = self.app.prepare_proposal(request.height, candidates)
        return ProposalPayload(
            height=request.height,
            round=request.round,
            txs=tuple(prepared.txs),
            app_hash=prepared.app_hash,
            last_results_hash=prepared.last_results_hash,
            time_ms=next_block_time_ms(self.host.wall_ms(), self.last_block.time_ms),
        )

    def _offer_proposal(self, *, waited_enough: bool = False) -> None:
        payload = self._try_prepare(waited_enough=waited_enough)
        if payload is not None:
            self.step(payload)

    def _drop_pending_prepare(self) -> None:
        self._pending_prepare = None
        self._prepare_serial += 1  # a timer already set for it is ignored when it fires
        self._prepare_timer_set = False

    # --- peers -----------------------------------------------------------------------------------------

    def _gossip(self, raws: Sequence[bytes]) -> None:
        batch: list[bytes] = []
        size = 0
        for raw in raws:
            if batch and size + len(raw) > GOSSIP_FRAME_BYTES_MAX:
                self.host.broadcast(TxBatch(txs=batch))
                batch, size = [], 0
            batch.append(raw)
            size += len(raw)
        if batch:
            self.host.broadcast(TxBatch(txs=batch))

    # --- block sync ----------------------------------------------------------------------------------

    def takes_part(self) -> bool:
        """Whether this node votes at the next height (then consensus hands it the decision)."""
        return self.validators_at(self.height + 1).power_of(self.node_id) > 0

    def request_sync(self) -> None:
        if self.halted is not None:
            return
        now = self.host.monotonic_ms()
        request = self.sync.next_request(
            now,
            self.height,
            self.host.connected_peers(),
            takes_part=self.takes_part(),
            last_progress_ms=self._last_progress_ms,
            chooser=self.chooser,
        )
        if request is not None and self.host.send(*request):
            self.sync.sent(request[0], request[1], now)

    def _stored_block(self, height: int) -> tuple[bytes, bytes]:
        return self.store.block(height), self.store.certificate(height)

    def _accept_synced(self, peer: bytes, message: SyncBlocks) -> None:
        if self.halted is not None:
            return
        outcome = self.sync.accept(peer, message.blocks, self.host.monotonic_ms(), self)
        if outcome.fault is not None:
            logger.warning("peer %s %s", self.membership.name_of(peer), outcome.fault)
        if outcome.applied:
            logger.info(
                "block sync: applied %d blocks from %s, now at %d",
                outcome.applied, self.membership.name_of(peer), self.height,
            )
            # The core's WAL for heights below is obsolete: start it afresh at the new height.
            self.core = self._build_core()
            self._drop_pending_prepare()
            self._drain()
            self.request_sync()

    # --- SyncTarget ----------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self.last_block.height

    @property
    def last_block_hash(self) -> bytes:
        return self.last_block.block_hash

    @property
    def chain_id(self) -> str:
        return self.genesis.chain_id

    def apply_synced(self, block: Block, certificate: CommitCertificate) -> bool:
        return self._apply_block(block, certificate) is not None

    # --- status --------------------------------------------------------------------------------------

    def statistics(self) -> DriverStatistics:
        c = self._counters
        sync = self.sync.stats
        return DriverStatistics(
            committed_txs_total=c.committed_txs_total,
            blocks_applied=c.blocks_applied,
            block_execute_ms_total=c.block_execute_ms_total,
            block_commit_ms_total=c.block_commit_ms_total,
            peer_faults=c.peer_faults + sync.faults,
            sync_requests_unanswered=sync.requests_unanswered,
            sync_answers_unsolicited=sync.answers_unsolicited,
            sync_blocks_applied=sync.blocks_applied,
        )

    def count_peer_fault(self) -> None:
        """A fault the host saw itself (an overrun inbox, an undecodable frame)."""
        self._counters.peer_faults += 1
