"""The node runtime: the one place where the consensus core meets the network, the disk and the clock.

Theory of operation
-------------------
Everything runs on one asyncio event loop, and every part the runtime drives (core, executor,
mempool, store, WAL) is called from it synchronously, so none of them needs a lock. Three kinds of
work feed the core:

- an inbox of core inputs (peer proposals and votes, fired timers, the application's answers,
  blocks from sync), drained by one task: it steps the core with everything waiting, then handles
  each ``Ready`` in the order ``consensus.ready`` prescribes: WAL records appended (fsynced when
  ``must_sync``) before any message leaves, committed blocks executed and committed to the store,
  messages sent, timers scheduled, application requests answered, ``advance()``, answers stepped;
- admission: transactions from clients (``submit``) and from peers (``TxBatch``) enter the mempool
  in slices, yielding to the loop between slices so consensus keeps its pace under load;
  transactions a client gave this node are forwarded once to every peer;
- housekeeping every second: tell peers our height, and ask the highest peer for blocks when we
  are behind (block sync). Synced blocks are checked against their commit certificates and the
  validator set of their height before they are applied; the core is then rebuilt at the new
  height (its WAL for heights below is obsolete).

Empty blocks: when the core asks for a proposal and the mempool is empty, the answer waits until a
transaction arrives or ``empty_block_interval_ms`` has passed since the last commit, so an idle
alliance commits about one block per interval instead of spinning.

Clients see the store only (``NodeFacade``): reads never observe a half-applied block. Waiters for
a transaction's commit and block subscribers are woken after each commit.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509

from alliance import codec
from alliance.app.interface import QueryResult
from alliance.consensus.core import ConsensusCore
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
from alliance.consensus.ready import CommittedBlock, PrepareProposal, ProcessProposal, Ready
from alliance.consensus.timeouts import ConsensusConfig
from alliance.crypto.keys import NodeKey, NodeSigner, verify_node_signature
from alliance.errors import DecodeError, NotFound, PeerFault
from alliance.execution.executor import VALIDATORS_KEY, Executor
from alliance.execution.modules import governance as gov
from alliance.execution.modules.accounts import Account, account_key
from alliance.ledger.block import Block, CommitCertificate, Receipt, block_time_problem, next_block_time_ms
from alliance.ledger.genesis import Genesis
from alliance.ledger.validators import ValidatorSet
from alliance.mempool.pool import Accepted, AdmitResult, Mempool, PendingAdmission
from alliance.node.facade import AccountInfo, CommittedTx, GovernanceView, NodeStatus, PeerStatus
from alliance.node.wire import (
    SYNC_BLOCKS_MAX,
    PeerHeight,
    SyncBlocks,
    SyncedBlock,
    SyncRequest,
    TxBatch,
    decode_wire,
)
from alliance.storage.lmdb_store import ChainStore
from alliance.storage.wal import FileWal
from alliance.types import invariant

logger = logging.getLogger("alliance.node")

ADMIT_SLICE_TXS = 2048
GOSSIP_FRAME_BYTES_MAX = 1024 * 1024
INBOX_ITEMS_MAX = 100_000
PEER_BACKLOG_TXS_MAX = 200_000
# Also in bytes: transactions may be up to 64 KiB, so 200,000 of them could be 12.8 GiB.
PEER_BACKLOG_BYTES_MAX = 128 * 1024 * 1024
SYNC_RESPONSE_BYTES_MAX = 8 * 1024 * 1024
SYNC_REQUEST_TIMEOUT_S = 3.0
SYNC_STALL_S = 3.0
# A peer that let a block-sync request time out, or answered with nothing we could use, is asked
# again only when no other peer is ahead, for this long: one peer claiming a height it does not
# have would otherwise draw every request, and a lagging node would never catch up.
SYNC_PEER_PENALTY_S = 30.0
# What this node sends one peer in block-sync answers, as a token bucket (burst and rate per
# second): a 12-byte request can ask for an 8 MiB answer, so requests alone must not set the pace.
# An honest node asks once at a time and executes what it got before it asks again; 8 MiB a second
# is ~4 full blocks, more than it executes in that time.
SYNC_ANSWER_BYTES_PER_S = SYNC_RESPONSE_BYTES_MAX
HOUSEKEEPING_INTERVAL_S = 1.0
WAL_ROTATE_EVERY_BLOCKS = 16
DRAIN_ROUNDS_MAX = 10_000


@dataclass(slots=True)
class _Synced:
    """Blocks a peer sent in answer to our ``SyncRequest``: a core input of the runtime's own."""

    peer: bytes
    blocks: list[SyncedBlock]


class PeerNetwork(Protocol):
    """What the runtime needs from the transport (``alliance.p2p.transport.Transport``)."""

    def send(self, node_id: bytes, payload: bytes) -> bool: ...

    def broadcast(self, payload: bytes) -> int: ...

    def connected_peers(self) -> frozenset[bytes]: ...

    def refresh_membership(self) -> list[bytes]: ...


@dataclass(slots=True)
class _Peer:
    name: str
    height: int | None = None
    sync_failed_at: float | None = None  # monotonic time of its last failed block-sync request
    sync_budget_bytes: float = SYNC_ANSWER_BYTES_PER_S  # what it may still be sent in sync answers
    sync_budget_at: float = 0.0  # monotonic time the budget was last brought up to date


class NodeRuntime:
    """Drives one node. Implements ``alliance.node.facade.NodeFacade``."""

    def __init__(
        self,
        *,
        name: str,
        org: str,
        genesis: Genesis,
        node_key: NodeKey,
        store: ChainStore,
        wal: FileWal,
        mempool_factory: Callable[[Executor], Mempool],
        executor: Executor,
        consensus: ConsensusConfig,
        peers: dict[bytes, str],
        empty_block_interval_ms: int = 1000,
    ) -> None:
        self.name = name
        self.org = org
        self.genesis = genesis
        self.genesis_hash = genesis.hash()
        self.node_id = node_key.node_id
        self._signer = NodeSigner(node_key)
        self.store = store
        self.wal = wal
        self.executor = executor
        executor.init_chain(genesis)  # stores genesis, or checks that the stored one is this one
        self.mempool = mempool_factory(executor)
        self.consensus_config = consensus
        self._peers = {node_id: _Peer(peer_name) for node_id, peer_name in peers.items()}
        self._empty_block_interval_s = empty_block_interval_ms / 1000
        self.network: PeerNetwork | None = None
        self._rng = random.Random()
        self._inbox: deque[Input | _Synced] = deque()
        self._inbox_wake = asyncio.Event()
        self._peer_txs: deque[tuple[list[bytes], int]] = deque()  # each batch with its size in bytes
        self._peer_txs_count = 0
        self._peer_txs_bytes = 0
        self._peer_txs_wake = asyncio.Event()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        """The core's pending timeouts by a serial number; each leaves when it fires."""
        self._timer_serial = 0
        self._waiters: dict[bytes, list[asyncio.Future[None]]] = {}
        self._block_events: list[asyncio.Event] = []
        self._pending_prepare: PrepareProposal | None = None
        self._prepare_timer: asyncio.TimerHandle | None = None
        self._last_commit_at = time.monotonic()
        self._last_progress_at = time.monotonic()
        self._sync_in_flight: tuple[bytes, float, int] | None = None  # peer, asked at, from height
        self.sync_requests_unanswered = 0  # peers' block-sync requests over their answer budget
        self.committed_txs_total = 0
        self.blocks_applied = 0
        self.block_execute_s_total = 0.0
        self.block_commit_s_total = 0.0
        self.peer_faults = 0
        self._closed = False
        self._last_header = self._load_last_header()
        self._configured_peers = frozenset(peers)
        self.org_ca_certificates: dict[str, x509.Certificate] = {}
        self._members_raw: bytes | None = None
        self._nodes_raw: bytes | None = None
        self._load_membership()
        self.core = self._build_core()

    # --- membership ------------------------------------------------------------------------------

    @property
    def governed(self) -> bool:
        """True when the ledger records member organisations (then they decide who may connect)."""
        return self._members_raw is not None

    def is_member(self, node_id: bytes, org: str) -> bool:
        """The transport's admission rule: a node of a current member organisation (whose recorded
        CA certificate the transport also checks), or, on a chain without governance, a configured peer."""
        if self._members_raw is None:
            return node_id in self._configured_peers
        return org in self.org_ca_certificates

    def _load_membership(self) -> bool:
        """Reread members and nodes from committed state; True when the members changed."""
        nodes_raw = self.executor.query(gov.NODES_KEY).value
        if nodes_raw != self._nodes_raw:
            self._nodes_raw = nodes_raw
            for record in gov.read_nodes(nodes_raw).nodes:
                if record.node_id != self.node_id:
                    self._peers.setdefault(record.node_id, _Peer(record.name)).name = record.name
        raw = self.executor.query(gov.MEMBERS_KEY).value
        if raw == self._members_raw:
            return False
        self._members_raw = raw
        certificates: dict[str, x509.Certificate] = {}
        for member in gov.read_members(raw).members:
            try:
                certificates[member.org] = x509.load_der_x509_certificate(member.ca_certificate)
            except ValueError:
                logger.warning("member %s has an unreadable CA certificate: nodes refused", member.org)
        self.org_ca_certificates.clear()  # in place: the transport holds this mapping
        self.org_ca_certificates.update(certificates)
        return True

    # --- core construction ----------------------------------------------------------------------

    def _load_last_header(self) -> tuple[int, bytes, int]:
        height = self.store.last_height() or 0
        if height == 0:
            return 0, b"", self.genesis.genesis_time_ms
        block = codec.decode_trusted(Block, self.store.block(height))
        return height, block.hash(), block.header.time_ms

    def validators_at(self, height: int) -> ValidatorSet:
        """The set that votes at ``height``: the state after block ``height - 2`` (updates act at h+2).

        Past the last committed state the latest set is the best known. A pruned version is not
        answered with another height's set (a certificate judged against the wrong set): nodes keep
        at least two versions back (``[state] versions_kept``), which covers every height consensus
        and block sync ask about, so ``VersionPruned`` here is a fault and propagates."""
        version = max(0, height - 2)
        try:
            raw = self.executor.query(VALIDATORS_KEY, height=version).value
        except NotFound:
            raw = self.executor.query(VALIDATORS_KEY).value
        invariant(raw is not None, "the validator set is always in state")
        return codec.decode_trusted(ValidatorSet, raw)  # type: ignore[arg-type]

    def _build_core(self) -> ConsensusCore:
        height = (self.store.last_height() or 0) + 1
        prev_hash = b""
        last_commit = None
        last_validators = None
        if height > 1:
            prev_hash = self._last_header[1]
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
        core = ConsensusCore(self.consensus_config, self._signer, start, verify=verify_node_signature)
        core.restore(self.wal.replay(height))
        core.step(Start())
        return core

    # --- the loops --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled: the consensus loop, peer admission and housekeeping."""
        self._drain()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._consensus_loop(), name=f"{self.name}.consensus")
                group.create_task(self._peer_admission_loop(), name=f"{self.name}.admission")
                group.create_task(self._housekeeping_loop(), name=f"{self.name}.housekeeping")
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self._prepare_timer is not None:
            self._prepare_timer.cancel()
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()
        for event in self._block_events:
            event.set()

    def _push(self, item: Input | _Synced) -> None:
        if len(self._inbox) >= INBOX_ITEMS_MAX:
            self.peer_faults += 1  # we are overrun; dropping is safe (peers retransmit)
            return
        self._inbox.append(item)
        self._inbox_wake.set()

    async def _consensus_loop(self) -> None:
        while True:
            await self._inbox_wake.wait()
            self._inbox_wake.clear()
            handled = 0
            while self._inbox and handled < 1000:
                item = self._inbox.popleft()
                handled += 1
                if isinstance(item, _Synced):
                    self._accept_synced(item)
                else:
                    self._step(item)
                self._drain()
            if self._inbox:
                self._inbox_wake.set()
                await asyncio.sleep(0)

    def _step(self, event: Input) -> None:
        try:
            self.core.step(event)
        except PeerFault as exc:
            self.peer_faults += 1
            logger.debug("dropped a consensus input: %s", exc.message)

    def _drain(self) -> None:
        for _ in range(DRAIN_ROUNDS_MAX):
            ready = self.core.ready()
            if ready.is_empty:
                return
            self._handle(ready)
        invariant(False, "the consensus core kept producing work without end")

    def _handle(self, ready: Ready) -> None:
        if ready.wal_records:
            self.wal.append(ready.wal_records, sync=ready.must_sync)
        answers: list[Input] = [self._apply_committed(committed) for committed in ready.committed]
        for outgoing in ready.messages:
            payload = codec.encode(outgoing.message)
            if outgoing.to is None:
                self._broadcast(payload)
            else:
                self._send(outgoing.to, payload)
        loop = asyncio.get_running_loop()
        for timer in ready.timers:
            event = TimeoutFired(timer.height, timer.round, timer.step)
            self._timer_serial += 1
            serial = self._timer_serial
            self._timers[serial] = loop.call_later(timer.delay_ms / 1000, self._fire, serial, event)
        for request in ready.requests:
            answer = self._answer(request)
            if answer is not None:
                answers.append(answer)
        for evidence in ready.evidence:
            logger.warning("evidence of a double vote: %r", evidence)
        self.core.advance()
        for answer in answers:
            self._step(answer)

    def _fire(self, serial: int, event: TimeoutFired) -> None:
        # A fired handle stays "not cancelled", so only its own removal keeps the map to the
        # timeouts still pending (a few per height), not every timeout since the node started.
        self._timers.pop(serial, None)
        self._push(event)

    # --- applying blocks ----------------------------------------------------------------------------

    def _apply_committed(self, committed: CommittedBlock) -> BlockApplied:
        return self._apply_block(committed.block, committed.certificate)

    def _apply_block(self, block: Block, certificate: CommitCertificate) -> BlockApplied:
        started = time.perf_counter()
        result = self.executor.finalize_block(block, certificate)
        executed = time.perf_counter()
        self.executor.commit()
        stored = time.perf_counter()
        height = block.header.height
        hashes = result.tx_hashes
        self.mempool.update(height, hashes)
        if height % WAL_ROTATE_EVERY_BLOCKS == 0:
            self.wal.rotate(height + 1)
        self._last_header = (height, block.hash(), block.header.time_ms)
        now = time.monotonic()
        self._last_commit_at = now
        self._last_progress_at = now
        self.committed_txs_total += len(hashes)
        self.blocks_applied += 1
        self.block_execute_s_total += executed - started
        self.block_commit_s_total += stored - executed
        if self._load_membership() and self.network is not None:
            members = ", ".join(sorted(self.org_ca_certificates))
            logger.info("membership changed at height %d: members %s", height, members)
            self.network.refresh_membership()
        logger.info(
            "committed %d: %d txs, app hash %s (executed in %.1f ms, committed in %.1f ms)",
            height,
            len(hashes),
            result.app_hash.hex()[:16],
            (executed - started) * 1000,
            (stored - executed) * 1000,
        )
        self._notify(height, hashes)
        updates = tuple(result.validator_updates)
        return BlockApplied(height=height, app_hash=result.app_hash, validator_updates=updates)

    def _notify(self, height: int, hashes: list[bytes]) -> None:
        waiters = self._waiters
        if waiters:
            for tx_hash in hashes:
                for future in waiters.pop(tx_hash, ()):
                    if not future.done():
                        future.set_result(None)
        for event in self._block_events:
            event.set()

    # --- answering the core's requests ---------------------------------------------------------------

    def _answer(self, request: PrepareProposal | ProcessProposal) -> Input | None:
        if isinstance(request, ProcessProposal):
            height = self.store.last_height() or 0
            accept = (
                request.height == height + 1
                and self._block_time_ok(request.block)
                and self.executor.process_proposal(request.block)
            )
            return ProposalVerdict(height=request.height, block_hash=request.block_hash, accept=accept)
        self._pending_prepare = request
        return self._try_prepare()

    def _block_time_ok(self, block: Block) -> bool:
        now_ms = int(time.time() * 1000)
        problem = block_time_problem(block.header.time_ms, self._last_header[2], now_ms)
        if problem is not None:
            proposer, height = self._peer_name(block.header.proposer), block.header.height
            logger.warning("refused the proposal of %s for height %d: %s", proposer, height, problem)
        return problem is None

    def _try_prepare(self, *, waited_enough: bool = False) -> ProposalPayload | None:
        request = self._pending_prepare
        if request is None:
            return None
        if request.height != self.height + 1:
            # The chain moved past it while it waited for transactions: the others decided that
            # height without our proposal (a restarted node catching up, or a slow round).
            self._drop_pending_prepare()
            return None
        waited_s = time.monotonic() - self._last_commit_at
        if len(self.mempool) == 0 and not waited_enough and waited_s < self._empty_block_interval_s:
            if self._prepare_timer is None:
                delay_s = self._empty_block_interval_s - waited_s
                self._prepare_timer = asyncio.get_running_loop().call_later(delay_s, self._prepare_due)
            return None
        self._drop_pending_prepare()
        executor = self.executor
        params = executor.params
        candidates = self.mempool.reap(params.block_txs_max, params.block_bytes_max, params.block_gas_max)
        prepared = executor.prepare_proposal(request.height, candidates)
        time_ms = next_block_time_ms(int(time.time() * 1000), self._last_header[2])
        return ProposalPayload(
            height=request.height,
            round=request.round,
            txs=tuple(prepared.txs),
            app_hash=prepared.app_hash,
            last_results_hash=prepared.last_results_hash,
            time_ms=time_ms,
        )

    def _drop_pending_prepare(self) -> None:
        self._pending_prepare = None
        if self._prepare_timer is not None:
            self._prepare_timer.cancel()
            self._prepare_timer = None

    def _prepare_due(self) -> None:
        self._prepare_timer = None
        payload = self._try_prepare(waited_enough=True)
        if payload is not None:
            self._push(payload)

    def _on_new_transactions(self) -> None:
        if self._pending_prepare is not None:
            payload = self._try_prepare()
            if payload is not None:
                self._push(payload)

    # --- peers ---------------------------------------------------------------------------------------

    def _send(self, node_id: bytes, payload: bytes) -> bool:
        return self.network.send(node_id, payload) if self.network is not None else False

    def _broadcast(self, payload: bytes) -> int:
        return self.network.broadcast(payload) if self.network is not None else 0

    def _connected(self) -> frozenset[bytes]:
        return self.network.connected_peers() if self.network is not None else frozenset()

    def on_peer_message(self, peer: bytes, payload: bytes) -> None:
        """The transport's callback for each frame. A ``PeerFault`` raised here closes that link."""
        message = decode_wire(payload)
        if isinstance(message, Proposal | Vote):
            self._push(message)
        elif isinstance(message, TxBatch):
            self._queue_peer_txs(message.txs)
        elif isinstance(message, PeerHeight):
            self._peers.setdefault(peer, _Peer(peer.hex()[:12])).height = message.height
            if message.height > self.height + 1 or not self._is_validator():
                self._maybe_request_sync()  # behind: ask now rather than at the next housekeeping tick
        elif isinstance(message, SyncRequest):
            self._answer_sync(peer, message)
        else:
            self._push(_Synced(peer, message.blocks))

    def _queue_peer_txs(self, txs: list[bytes]) -> None:
        size = sum(map(len, txs))
        full = self._peer_txs_count + len(txs) > PEER_BACKLOG_TXS_MAX
        if full or self._peer_txs_bytes + size > PEER_BACKLOG_BYTES_MAX:
            return  # overloaded: the sender's own node keeps them and proposes them itself
        self._peer_txs.append((txs, size))
        self._peer_txs_count += len(txs)
        self._peer_txs_bytes += size
        self._peer_txs_wake.set()

    async def _peer_admission_loop(self) -> None:
        while True:
            await self._peer_txs_wake.wait()
            self._peer_txs_wake.clear()
            while self._peer_txs:
                txs, size = self._peer_txs.popleft()
                self._peer_txs_count -= len(txs)
                self._peer_txs_bytes -= size
                await self._admit(txs)

    async def _admit(self, raws: list[bytes]) -> list[AdmitResult]:
        """Admit in slices, each begun (screened, its signatures handed to the workers) before the
        one before it is finished, so the workers never wait for the next slice; a turn of the
        event loop between slices lets consensus run. Finishing waits for the workers' answers
        in the loop's thread: measured with ``alliance bench`` (4 nodes on 2 cores), waking the
        loop every millisecond to poll for them instead cost a fifth of the throughput."""
        results: list[AdmitResult] = []
        begun: deque[PendingAdmission] = deque()
        try:
            for start in range(0, len(raws), ADMIT_SLICE_TXS):
                height = self.store.last_height() or 0
                begun.append(self.mempool.begin_admission(raws[start : start + ADMIT_SLICE_TXS], height))
                await asyncio.sleep(0)
                if len(begun) > 1:
                    results.extend(self.mempool.finish_admission(begun.popleft()))
        finally:
            # Also when cancelled: an admission begun is always finished (its room and hashes).
            while begun:
                results.extend(self.mempool.finish_admission(begun.popleft()))
        self._on_new_transactions()
        return results

    def _gossip(self, raws: list[bytes]) -> None:
        batch: list[bytes] = []
        size = 0
        for raw in raws:
            if batch and size + len(raw) > GOSSIP_FRAME_BYTES_MAX:
                self._broadcast(codec.encode(TxBatch(txs=batch)))
                batch, size = [], 0
            batch.append(raw)
            size += len(raw)
        if batch:
            self._broadcast(codec.encode(TxBatch(txs=batch)))

    # --- block sync ----------------------------------------------------------------------------------

    async def _housekeeping_loop(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
            self._broadcast(codec.encode(PeerHeight(height=self.height)))
            self._maybe_request_sync()

    def _maybe_request_sync(self) -> None:
        now = time.monotonic()
        if self._sync_in_flight is not None:
            asked, asked_at, _ = self._sync_in_flight
            if now - asked_at < SYNC_REQUEST_TIMEOUT_S:
                return
            self._sync_in_flight = None
            self._sync_failed(asked, now, "did not answer a block-sync request in time")
        own = self.height
        connected = self._connected()
        ahead = [
            (peer.height, node_id)
            for node_id, peer in self._peers.items()
            if peer.height is not None and peer.height > own and node_id in connected
        ]
        in_good_standing = [(h, node_id) for h, node_id in ahead if self._sync_trusted(node_id, now)]
        ahead = in_good_standing or ahead  # a failed peer still beats none
        if not ahead:
            return
        best = max(height for height, _ in ahead)
        stalled = now - self._last_progress_at > SYNC_STALL_S
        if best <= own + 1 and not stalled and self._is_validator():
            # One behind: a validator takes part in that height and consensus hands it the decision.
            # An observer only follows, so it fetches the block as soon as a peer has it.
            return
        target = self._rng.choice([node_id for height, node_id in ahead if height == best])
        count = min(SYNC_BLOCKS_MAX, best - own)
        if self._send(target, codec.encode(SyncRequest(from_height=own + 1, count_max=count))):
            self._sync_in_flight = (target, now, own + 1)

    def _is_validator(self) -> bool:
        return self.validators_at(self.height + 1).power_of(self.node_id) > 0

    def _sync_trusted(self, peer: bytes, now: float) -> bool:
        failed_at = self._peers[peer].sync_failed_at
        return failed_at is None or now - failed_at > SYNC_PEER_PENALTY_S

    def _sync_failed(self, peer: bytes, now: float, reason: str) -> None:
        state = self._peers.get(peer)
        if state is not None:
            state.sync_failed_at = now
            logger.info("block sync: peer %s %s; asking others first for %.0f s", state.name, reason,
                        SYNC_PEER_PENALTY_S)

    def _answer_sync(self, peer: bytes, request: SyncRequest) -> None:
        state = self._peers.setdefault(peer, _Peer(peer.hex()[:12]))
        now = time.monotonic()
        refill = (now - state.sync_budget_at) * SYNC_ANSWER_BYTES_PER_S
        budget = min(SYNC_ANSWER_BYTES_PER_S, state.sync_budget_bytes + refill)
        state.sync_budget_at = now
        state.sync_budget_bytes = budget
        if budget <= 0:
            self.sync_requests_unanswered += 1  # the requester times out and asks another peer
            return
        size_max = min(SYNC_RESPONSE_BYTES_MAX, budget)
        last = min(self.height, request.from_height + request.count_max - 1)
        blocks: list[SyncedBlock] = []
        size = 0
        for height in range(request.from_height, last + 1):
            raw_block = self.store.block(height)
            raw_cert = self.store.certificate(height)
            if blocks and size + len(raw_block) + len(raw_cert) > size_max:
                break  # a shorter answer: the requester asks again from where it ends
            blocks.append(SyncedBlock(block=raw_block, certificate=raw_cert))
            size += len(raw_block) + len(raw_cert)
        if blocks:
            state.sync_budget_bytes = budget - size
            self._send(peer, codec.encode(SyncBlocks(blocks=blocks)))

    def _accept_synced(self, synced: _Synced) -> None:
        in_flight = self._sync_in_flight
        asked_from = in_flight[2] if in_flight is not None and in_flight[0] == synced.peer else None
        if asked_from is not None:
            self._sync_in_flight = None
        applied = 0
        known = 0  # blocks asked for that consensus decided meanwhile: an honest, late answer
        chain_id = self.genesis.chain_id
        for item in synced.blocks:
            try:
                block = codec.decode(Block, item.block, size_bytes_max=16 * 1024 * 1024)
                cert = codec.decode(CommitCertificate, item.certificate)
            except DecodeError as exc:
                self._peer_misbehaved(synced.peer, f"sent an undecodable block: {exc.message}")
                break
            height = block.header.height
            if height <= self.height:
                if asked_from is not None and height >= asked_from:
                    known += 1
                continue
            if height != self.height + 1:
                break
            reason = self._synced_block_fault(block, cert, chain_id)
            if reason is not None:
                self._peer_misbehaved(synced.peer, reason)
                break
            self._apply_block(block, cert)
            applied += 1
        if asked_from is not None and not applied and not known:
            reason = "answered a block-sync request with no block we could use"
            self._sync_failed(synced.peer, time.monotonic(), reason)
        if applied:
            peer_name = self._peer_name(synced.peer)
            logger.info("block sync: applied %d blocks from %s, now at %d", applied, peer_name, self.height)
            self.core = self._build_core()
            self._drop_pending_prepare()
            self._drain()
            self._maybe_request_sync_now()

    def _maybe_request_sync_now(self) -> None:
        self._sync_in_flight = None
        self._maybe_request_sync()

    def _synced_block_fault(self, block: Block, cert: CommitCertificate, chain_id: str) -> str | None:
        height = block.header.height
        if cert.height != height or cert.block_hash != block.hash():
            return f"sent a certificate that does not match block {height}"
        if block.header.prev_block_hash != self._last_header[1]:
            return f"sent block {height} that does not extend our block {height - 1}"
        if not block.txs_match_root():
            return f"sent block {height} whose transactions do not match its root"
        if not cert.verify(chain_id, self.validators_at(height)):
            return f"sent block {height} without a quorum certificate"
        return None

    def _peer_misbehaved(self, peer: bytes, reason: str) -> None:
        self.peer_faults += 1
        logger.warning("peer %s %s", self._peer_name(peer), reason)

    def _peer_name(self, node_id: bytes) -> str:
        peer = self._peers.get(node_id)
        return peer.name if peer is not None else node_id.hex()[:12]

    # --- NodeFacade ----------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self._last_header[0]

    def status(self) -> NodeStatus:
        height, block_hash, time_ms = self._last_header
        validators = self.validators_at(height + 1)
        connected = self._connected()
        names = {node_id: peer.name for node_id, peer in self._peers.items()}
        names[self.node_id] = self.name
        info = self.executor.info()
        return NodeStatus(
            name=self.name,
            org=self.org,
            node_id=self.node_id,
            chain_id=self.genesis.chain_id,
            genesis_hash=self.genesis_hash,
            height=height,
            block_hash=block_hash,
            app_hash=info.last_app_hash,
            time_ms=time_ms,
            validators=validators,
            validator_names=names,
            is_validator=validators.power_of(self.node_id) > 0,
            consensus_round=self.core.status.round,
            peers=[
                PeerStatus(peer.name, node_id, node_id in connected, peer.height)
                for node_id, peer in self._peers.items()
            ],
            mempool_txs=len(self.mempool),
            mempool_bytes=self.mempool.size_bytes,
            tx_window_blocks=self.executor.params.tx_window_blocks,
            syncing=self._sync_in_flight is not None,
            txs_committed=self.committed_txs_total,
            blocks_applied=self.blocks_applied,
            block_execute_s_total=self.block_execute_s_total,
            block_commit_s_total=self.block_commit_s_total,
        )

    def block(self, height: int) -> tuple[Block, CommitCertificate | None]:
        if height < 1 or height > self.height:
            raise NotFound(f"no block at height {height}; the last committed height is {self.height}")
        block = codec.decode_trusted(Block, self.store.block(height))
        cert = codec.decode_trusted(CommitCertificate, self.store.certificate(height))
        return block, cert

    def receipts(self, height: int) -> list[Receipt]:
        if height < 1 or height > self.height:
            raise NotFound(f"no receipts at height {height}; the last committed height is {self.height}")
        return codec.decode_trusted(list[Receipt], self.store.receipts(height))

    def committed_tx(self, tx_hash: bytes) -> CommittedTx:
        height, index = self.store.tx_location(tx_hash)
        block = codec.decode_trusted(Block, self.store.block(height))
        receipts = self.receipts(height)
        return CommittedTx(
            tx_hash=tx_hash, height=height, index=index, raw=block.txs[index], receipt=receipts[index]
        )

    def pending_tx(self, tx_hash: bytes) -> bytes | None:
        return self.mempool.get(tx_hash)

    def balance(self, address: bytes) -> int:
        raw = self.executor.query(account_key(address)).value
        return 0 if raw is None else codec.decode_trusted(Account, raw).balance

    def query(self, key: bytes, *, height: int | None = None, prove: bool = False) -> QueryResult:
        return self.executor.query(key, height=height, prove=prove)

    def account(self, address: bytes) -> AccountInfo:
        record = gov.read_account(self.executor.query(gov.account_record_key(address)).value)
        frozen = gov.read_frozen(self.executor.query(gov.FROZEN_KEY).value)
        entry = next((f for f in frozen.accounts if f.address == address), None)
        return AccountInfo(address, self.balance(address), record.org, list(record.roles), entry)

    def governance(self) -> GovernanceView:
        read = self.executor.query
        next_raw = read(gov.NEXT_PROPOSAL_KEY).value
        return GovernanceView(
            members=gov.read_members(read(gov.MEMBERS_KEY).value).members,
            nodes=gov.read_nodes(read(gov.NODES_KEY).value).nodes,
            access=gov.read_acl(read(gov.ACL_KEY).value).rules,
            frozen=gov.read_frozen(read(gov.FROZEN_KEY).value).accounts,
            proposals_count=0 if next_raw is None else codec.decode_trusted(int, next_raw) - 1,
        )

    def proposal(self, proposal_id: int) -> tuple[gov.Proposal, str]:
        raw = self.executor.query(gov.proposal_key(proposal_id)).value if proposal_id >= 1 else None
        if raw is None:
            raise NotFound(f"there is no proposal {proposal_id}")
        proposal = codec.decode_trusted(gov.Proposal, raw)
        return proposal, proposal.status_at(self.height + 1)

    def proposals(self, *, from_id: int = 1, count_max: int = 100) -> list[tuple[gov.Proposal, str]]:
        last = self.governance().proposals_count
        return [self.proposal(i) for i in range(max(1, from_id), min(last, from_id + count_max - 1) + 1)]

    async def submit(self, raws: list[bytes]) -> list[AdmitResult]:
        results = await self._admit(raws)
        accepted = [raw for raw, result in zip(raws, results, strict=True) if isinstance(result, Accepted)]
        if accepted:
            self._gossip(accepted)
        return results

    async def wait_committed(self, tx_hash: bytes, timeout_ms: int) -> CommittedTx | None:
        if not self.store.has_tx(tx_hash):
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(tx_hash, []).append(future)
            try:
                await asyncio.wait_for(future, timeout_ms / 1000)
            except TimeoutError:
                return None
            finally:
                futures = self._waiters.get(tx_hash)
                if futures is not None and future in futures:
                    futures.remove(future)
                    if not futures:
                        del self._waiters[tx_hash]
        try:
            return self.committed_tx(tx_hash)
        except NotFound:
            return None  # not expected: waiters wake only for the transactions a block indexed

    async def blocks_from(self, height: int) -> AsyncIterator[int]:
        """Heights from ``height`` on; stored ones first, then each as it commits. A slow reader
        loses nothing (it reads the store); it only lags."""
        wake = asyncio.Event()
        self._block_events.append(wake)
        try:
            next_height = max(1, height)
            while not self._closed:
                wake.clear()
                while next_height <= self.height:
                    yield next_height
                    next_height += 1
                if next_height > self.height and not self._closed:
                    await wake.wait()
        finally:
            self._block_events.remove(wake)
