"""A simulated node: the real consensus core and the real executor, wired by a tiny runtime.

The runtime here does what the node runtime does on a real host, in the same order: WAL records
first (synced when the ``Ready`` says so), then committed blocks are executed and committed, then
messages leave, timers are set, the application's requests are answered, and ``advance`` is
called; answers are fed back as inputs. A crash loses the mempool, the core's memory and the
WAL's unsynced tail; the chain store survives (its commits are atomic and durable). A restart
rebuilds everything from the store and replays the WAL.

Validator sets come from state, as in the runtime: the set that votes at height H is the one in
state version max(0, H - 2), so the core's start state, block sync's certificate checks and the
``validator_updates`` of ``BlockApplied`` all follow the sets the chain itself wrote (through
``valset.SimValsetModule``). A node that is not in a height's set still runs a core (without
voting power it only follows), which is how observers and removed validators keep up.
"""

from __future__ import annotations

from collections.abc import Callable

from alliance import codec
from alliance.consensus.core import ConsensusCore
from alliance.consensus.inputs import BlockApplied, Input, ProposalPayload, ProposalVerdict, Start, StartState
from alliance.consensus.ready import CommittedBlock, PrepareProposal, ProcessProposal, Ready
from alliance.consensus.timeouts import ConsensusConfig
from alliance.consensus.wal import WalRecord
from alliance.crypto.keys import NodeKey, NodeSigner
from alliance.crypto.sigcache import SignatureCache
from alliance.errors import PeerFault
from alliance.execution.executor import VALIDATORS_KEY, Executor
from alliance.ledger.block import Block, CommitCertificate, Receipt, block_time_problem, next_block_time_ms
from alliance.ledger.genesis import Genesis
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.ledger.validators import ValidatorSet
from alliance.mempool.pool import Mempool
from alliance.mempool.verifier import BatchVerifier
from alliance.testing.sim.disk import SimWal
from alliance.testing.sim.memstore import MemoryChainStore
from alliance.testing.sim.valset import SimValsetModule, ValsetHistory
from alliance.types import invariant

DRAIN_ROUNDS_MAX = 10_000
PROPOSAL_TXS_MAX = 200
# A validator that holds a quorum by itself (a set can shrink to that) decides without any message,
# so without pacing it would build heights forever within one simulated instant. Its second
# proposal at one instant waits this long, as the runtime's empty-block pacing makes a real one
# wait. Nothing else proposes twice at one instant: a decision with peers takes network delay.
SOLE_QUORUM_PROPOSAL_DELAY_MS = 100


class SimNode:
    def __init__(
        self,
        index: int,
        key: NodeKey,
        genesis: Genesis,
        config: ConsensusConfig,
        host: NodeHost,
        verifier: BatchVerifier,
        valset_admin: bytes,
    ) -> None:
        self.index = index
        self.key = key
        self.node_id = key.node_id
        self.signer = NodeSigner(key)
        self.genesis = genesis
        self.config = config
        self.host = host
        self.verifier = verifier
        self.valset_admin = valset_admin
        self.store = MemoryChainStore()
        # Durable like the store: the sets this node's state held, for the checkers (old state
        # versions are pruned, but every certificate is judged against its own height's set).
        self.valset_history = ValsetHistory(genesis.validators)
        self.wal = SimWal()
        self.up = False
        self.incarnation = 0
        self.restarts = 0
        self.peer_faults = 0
        self.executor: Executor
        self.mempool: Mempool
        self.core: ConsensusCore
        self._last_prepared_ms = -1.0

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.incarnation += 1
        self.executor = Executor(
            self.store, sigcache=SignatureCache(100_000), modules=[SimValsetModule(self.valset_admin)]
        )
        if self.store.genesis() is None:
            self.executor.init_chain(self.genesis)
        self.mempool = Mempool(
            chain_id=self.genesis.chain_id,
            params=self.executor.params,
            verifier=self.verifier,
            sigcache=self.executor.sigcache,
            is_committed=self.store.has_tx,
        )
        self._build_core(self.wal.replay())
        self.up = True
        self.drain()

    def crash(self, lose_unsynced: bool, torn: float, rng: object) -> None:
        self.up = False
        self.incarnation += 1
        self.restarts += 1
        self.wal.crash(rng, lose_unsynced, torn)  # type: ignore[arg-type]

    def validators_at(self, height: int) -> ValidatorSet:
        """The set that votes at ``height``: state version max(0, height - 2), read as the runtime does.

        Unlike the runtime there is no fallback to the latest set when the version is gone: the
        versions read here (last committed height and the two before) are always kept, and a run
        that read another one should fail loudly rather than vote with a wrong set.
        """
        raw = self.executor.query(VALIDATORS_KEY, height=max(0, height - 2)).value
        invariant(raw is not None, "the validator set is always in state")
        return codec.decode_trusted(ValidatorSet, raw)  # type: ignore[arg-type]

    def _build_core(self, wal_records: list[WalRecord]) -> None:
        height = (self.store.last_height() or 0) + 1
        prev_hash = b""
        last_commit = None
        last_validators = None
        if height > 1:
            prev_hash = self.store.block_hashes[height - 1]
            last_commit = codec.decode_trusted(CommitCertificate, self.store.certificate(height - 1))
            last_validators = self.validators_at(height - 1)
        start = StartState(
            height=height,
            validators=self.validators_at(height),
            next_validators=self.validators_at(height + 1),
            prev_block_hash=prev_hash,
            last_commit=last_commit,
            last_validators=last_validators,
        )
        self.core = ConsensusCore(self.config, self.signer, start, verify=self.host.verify_signature)
        self.core.restore(wal_records)
        self.core.step(Start())

    @property
    def height(self) -> int:
        return self.store.last_height() or 0

    # --- inputs -------------------------------------------------------------------------------

    def receive(self, message: object) -> None:
        if not self.up:
            return
        self.step(message)  # type: ignore[arg-type]

    def step(self, event: Input) -> None:
        try:
            self.core.step(event)
        except PeerFault:
            self.peer_faults += 1
            return
        self.drain()

    def submit(self, raws: list[bytes]) -> None:
        if self.up:
            self.mempool.admit_batch(raws, self.height)

    # --- the runtime loop ---------------------------------------------------------------------

    def drain(self) -> None:
        for _ in range(DRAIN_ROUNDS_MAX):
            ready = self.core.ready()
            if ready.is_empty:
                return
            self._handle(ready)
        invariant(False, "a core kept producing work without end")

    def _handle(self, ready: Ready) -> None:
        if ready.wal_records:
            self.wal.append(ready.wal_records, sync=ready.must_sync)
        answers: list[Input] = [self._apply(committed) for committed in ready.committed]
        for outgoing in ready.messages:
            self.host.send(self, outgoing)
        for timer in ready.timers:
            self.host.schedule_timer(self, timer)
        for request in ready.requests:
            answer = self._answer(request)
            if answer is not None:
                answers.append(answer)
        for evidence in ready.evidence:
            self.host.record_evidence(self, evidence)
        self.core.advance()
        for answer in answers:
            try:
                self.core.step(answer)
            except PeerFault:
                self.peer_faults += 1

    def _apply(self, committed: CommittedBlock) -> BlockApplied:
        return self.apply_block(committed.block, committed.certificate)

    def apply_block(self, block: Block, certificate: CommitCertificate) -> BlockApplied:
        """Execute and commit a decided block (from consensus or from block sync)."""
        executor = self.executor
        result = executor.finalize_block(block, certificate)
        executor.commit()
        height = block.header.height
        if result.validator_updates:
            # Read back what state now holds (not the core's arithmetic): that is what an auditor sees.
            self.valset_history.record(height, self.validators_at(height + 2))
        self.mempool.update(height, result.tx_hashes)  # as the node runtime does
        self.wal.truncate_below(height)
        hashes = [tx_hash_of_canonical(raw) for raw in block.txs]  # one per receipt, for the checkers
        self.host.on_commit(self, block, result.receipts, hashes)
        updates = tuple(result.validator_updates)
        return BlockApplied(height=height, app_hash=result.app_hash, validator_updates=updates)

    def _answer(self, request: PrepareProposal | ProcessProposal) -> Input | None:
        executor = self.executor
        if isinstance(request, PrepareProposal):
            now_ms = self.host.now_ms()
            if now_ms == self._last_prepared_ms:
                self.host.call_later(
                    self, SOLE_QUORUM_PROPOSAL_DELAY_MS, lambda: self._prepare_later(request)
                )
                return None
            self._last_prepared_ms = now_ms
            params = executor.params
            candidates = self.mempool.reap(PROPOSAL_TXS_MAX, params.block_bytes_max, params.block_gas_max)
            prepared = executor.prepare_proposal(request.height, candidates)
            return ProposalPayload(
                height=request.height,
                round=request.round,
                txs=tuple(prepared.txs),
                app_hash=prepared.app_hash,
                last_results_hash=prepared.last_results_hash,
                time_ms=next_block_time_ms(self.host.local_time_ms(self), self._parent_time_ms()),
            )
        # The block time's lower bound only: a simulated clock models a timer's drifting rate, so
        # clocks part by far more than real, synchronised ones (the runtime checks the upper bound).
        accept = (
            request.height == self.height + 1
            and block_time_problem(request.block.header.time_ms, self._parent_time_ms(), None) is None
            and executor.process_proposal(request.block)
        )
        return ProposalVerdict(height=request.height, block_hash=request.block_hash, accept=accept)

    def _parent_time_ms(self) -> int:
        height = self.height
        if height == 0:
            return self.genesis.genesis_time_ms
        return codec.decode_trusted(Block, self.store.block(height)).header.time_ms

    def _prepare_later(self, request: PrepareProposal) -> None:
        """A paced ``PrepareProposal``; the core ignores the answer if its round moved on."""
        if request.height == self.height + 1:
            answer = self._answer(request)
            if answer is not None:
                self.step(answer)

    # --- block sync ---------------------------------------------------------------------------

    def blocks_from(self, height: int, count_max: int) -> list[tuple[bytes, bytes]]:
        last = min(self.height, height + count_max - 1)
        return [(self.store.block(h), self.store.certificate(h)) for h in range(height, last + 1)]

    def accept_synced(self, blocks: list[tuple[bytes, bytes]]) -> int:
        """Apply blocks a peer sent, each checked against its certificate; rebuild the core after."""
        applied = 0
        for raw_block, raw_cert in blocks:
            block = codec.decode(Block, raw_block)
            cert = codec.decode(CommitCertificate, raw_cert)
            height = block.header.height
            if height != self.height + 1:
                continue
            if cert.block_hash != block.hash() or cert.height != height:
                self.peer_faults += 1
                break
            if not block.txs_match_root():
                self.peer_faults += 1
                break
            # The height's own set (state version height - 2, which this node has executed).
            if not cert.verify(self.genesis.chain_id, self.validators_at(height)):
                self.peer_faults += 1
                break
            expected_prev = self.store.block_hashes.get(height - 1, b"")
            if block.header.prev_block_hash != expected_prev:
                self.peer_faults += 1
                break
            self.apply_block(block, cert)
            applied += 1
        if applied:
            self._build_core(self.wal.replay())
            self.drain()
        return applied


class NodeHost:
    """What a node needs from the simulation around it (implemented by ``Simulation``)."""

    def send(self, node: SimNode, outgoing: object) -> None:
        raise NotImplementedError

    def schedule_timer(self, node: SimNode, timer: object) -> None:
        raise NotImplementedError

    def record_evidence(self, node: SimNode, evidence: object) -> None:
        raise NotImplementedError

    def on_commit(self, node: SimNode, block: Block, receipts: list[Receipt], hashes: list[bytes]) -> None:
        raise NotImplementedError

    def local_time_ms(self, node: SimNode) -> int:
        raise NotImplementedError

    def now_ms(self) -> float:
        """The simulation's own time (not a node's drifting clock)."""
        raise NotImplementedError

    def call_later(self, node: SimNode, delay_ms: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``delay_ms`` if ``node`` has not crashed or restarted meanwhile."""
        raise NotImplementedError

    def verify_signature(self, node_id: bytes, message: bytes, signature: bytes) -> bool:
        raise NotImplementedError
