"""A simulated node: the real consensus core and the real executor, wired by a tiny runtime.

The runtime here does what the node runtime does on a real host, in the same order: WAL records
first (synced when the ``Ready`` says so), then committed blocks are executed and committed, then
messages leave, timers are set, the application's requests are answered, and ``advance`` is
called; answers are fed back as inputs. A crash loses the mempool, the core's memory and the
WAL's unsynced tail; the chain store survives (its commits are atomic and durable). A restart
rebuilds everything from the store and replays the WAL.
"""

from __future__ import annotations

from alliance import codec
from alliance.consensus.core import ConsensusCore
from alliance.consensus.inputs import BlockApplied, Input, ProposalPayload, ProposalVerdict, Start, StartState
from alliance.consensus.ready import CommittedBlock, PrepareProposal, ProcessProposal, Ready
from alliance.consensus.timeouts import ConsensusConfig
from alliance.consensus.wal import WalRecord
from alliance.crypto.keys import NodeKey, NodeSigner
from alliance.crypto.sigcache import SignatureCache
from alliance.errors import PeerFault
from alliance.execution.executor import Executor
from alliance.ledger.block import Block, CommitCertificate, Receipt
from alliance.ledger.genesis import Genesis
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.mempool.pool import Mempool
from alliance.mempool.verifier import BatchVerifier
from alliance.testing.sim.disk import SimWal
from alliance.testing.sim.memstore import MemoryChainStore
from alliance.types import invariant

DRAIN_ROUNDS_MAX = 10_000
PROPOSAL_TXS_MAX = 200


class SimNode:
    def __init__(
        self,
        index: int,
        key: NodeKey,
        genesis: Genesis,
        config: ConsensusConfig,
        host: NodeHost,
        verifier: BatchVerifier,
    ) -> None:
        self.index = index
        self.key = key
        self.node_id = key.node_id
        self.signer = NodeSigner(key)
        self.genesis = genesis
        self.config = config
        self.host = host
        self.verifier = verifier
        self.store = MemoryChainStore()
        self.wal = SimWal()
        self.up = False
        self.incarnation = 0
        self.restarts = 0
        self.peer_faults = 0
        self.executor: Executor
        self.mempool: Mempool
        self.core: ConsensusCore

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.incarnation += 1
        self.executor = Executor(self.store, sigcache=SignatureCache(100_000))
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

    def _build_core(self, wal_records: list[WalRecord]) -> None:
        height = (self.store.last_height() or 0) + 1
        validators = self.genesis.validators
        prev_hash = b""
        last_commit = None
        if height > 1:
            prev_hash = self.store.block_hashes[height - 1]
            last_commit = codec.decode_trusted(CommitCertificate, self.store.certificate(height - 1))
        start = StartState(
            height=height,
            validators=validators,
            next_validators=validators,
            prev_block_hash=prev_hash,
            last_commit=last_commit,
            last_validators=validators if height > 1 else None,
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
        answers.extend(self._answer(request) for request in ready.requests)
        for evidence in ready.evidence:
            self.host.record_evidence(self, evidence)
        self.core.advance()
        for answer in answers:
            try:
                self.core.step(answer)
            except PeerFault:
                self.peer_faults += 1

    def _apply(self, committed: CommittedBlock) -> BlockApplied:
        result = self.apply_block(committed.block, committed.certificate)
        return BlockApplied(height=result[0], app_hash=result[1])

    def apply_block(self, block: Block, certificate: CommitCertificate) -> tuple[int, bytes]:
        """Execute and commit a decided block (from consensus or from block sync)."""
        executor = self.executor
        result = executor.finalize_block(block, certificate)
        executor.commit()
        height = block.header.height
        hashes = [tx_hash_of_canonical(raw) for raw in block.txs]
        self.mempool.update(height, hashes)
        self.wal.truncate_below(height)
        self.host.on_commit(self, block, result.receipts, hashes)
        return height, result.app_hash

    def _answer(self, request: PrepareProposal | ProcessProposal) -> Input:
        executor = self.executor
        if isinstance(request, PrepareProposal):
            params = executor.params
            candidates = self.mempool.reap(PROPOSAL_TXS_MAX, params.block_bytes_max, params.block_gas_max)
            prepared = executor.prepare_proposal(request.height, candidates)
            return ProposalPayload(
                height=request.height,
                round=request.round,
                txs=tuple(prepared.txs),
                app_hash=prepared.app_hash,
                last_results_hash=prepared.last_results_hash,
                time_ms=self.host.local_time_ms(self),
            )
        accept = request.height == self.height + 1 and executor.process_proposal(request.block)
        return ProposalVerdict(height=request.height, block_hash=request.block_hash, accept=accept)

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
            if not cert.verify(self.genesis.chain_id, self.genesis.validators):
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

    def verify_signature(self, node_id: bytes, message: bytes, signature: bytes) -> bool:
        raise NotImplementedError
