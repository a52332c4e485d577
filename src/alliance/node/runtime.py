"""The node runtime: the asyncio adapter around the node driver, and the node's facade for the API.

Theory of operation
-------------------
Everything that decides (consensus, execution, block sync, pacing, membership) is in the sans-IO
``node.driver.NodeDriver``, the same code the simulator runs. This module only connects it to the
world, on one asyncio event loop, and implements the driver's ``Host`` over it:

- an inbox of driver inputs (peers' proposals, votes and sync answers; fired timers), drained by
  one task. It is bounded in items and in bytes (a proposal may be ~16 MiB): an overrun drops the
  input and counts a peer fault, which is safe because consensus retransmits;
- admission: transactions from clients (``submit``) and from peers (``TxBatch``) enter the mempool
  in slices, yielding to the loop between slices so consensus keeps its pace under load; a client's
  transactions are gossiped to every peer once by the driver;
- housekeeping once a second: the driver's ``tick`` (heights to peers, block sync);
- timers (``loop.call_later``), the clocks (``time``), the transport and the WAL files.

Clients see the committed store only (``NodeFacade``): reads never observe a half-applied block.
Waiters for a transaction's commit and block subscribers are woken after each commit; both are
bounded, so open connections cannot grow the node's memory without limit. The account index (when
the node keeps one) is fed after commits, in slices of ``INDEX_SLICE_TXS`` transactions with a turn
of the loop between them; while the node has work waiting (transactions to admit or propose,
consensus inputs) each slice is followed by a pause of ``INDEX_BUSY_PAUSE_FACTOR`` times its own
length, so indexing takes at most a sixth of the loop under load and catches up when it eases.
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

import msgspec
from cryptography import x509

from alliance import codec
from alliance.abi.accounts import BalanceQuery
from alliance.abi.chain import VALIDATORS_KEY
from alliance.app.interface import FinalizeResult, QueryResult
from alliance.codec import Struct
from alliance.consensus.evidence import DuplicateVoteEvidence
from alliance.consensus.inputs import Input
from alliance.consensus.messages import Proposal, Vote
from alliance.consensus.timeouts import ConsensusConfig
from alliance.crypto.keys import NodeKey, NodeSigner
from alliance.errors import InvariantViolation, NotFound, OperationalError, StoreFull
from alliance.execution.executor import Executor, ModuleAnswer
from alliance.ledger.block import Block, CommitCertificate, Header, Receipt
from alliance.ledger.genesis import Genesis
from alliance.ledger.validators import ValidatorSet
from alliance.mempool.pool import Accepted, AdmitResult, Mempool, PendingAdmission
from alliance.node.account_index import AccountIndexer
from alliance.node.driver import DriverConfig, DriverStatistics, NodeDriver, Timer
from alliance.node.facade import AccountTx, AccountTxs, BlockHead, CommittedTx, NodeStatus, PeerStatus
from alliance.node.membership import ConfiguredPeer, Membership
from alliance.node.wire import PeerHeight, SyncBlocks, SyncRequest, TxBatch, WireMessage, decode_wire
from alliance.storage.account_index import AccountIndex
from alliance.storage.lmdb_store import ChainStore
from alliance.storage.wal import FileWal
from alliance.types import invariant

logger = logging.getLogger("alliance.node")

ADMIT_SLICE_TXS = 2048
INBOX_ITEMS_MAX = 100_000
INBOX_BYTES_MAX = 256 * 1024 * 1024
"""A proposal is up to ~16 MiB: a count bound alone would let 100,000 of them in (1.6 TB)."""
PEER_BACKLOG_TXS_MAX = 200_000
# Also in bytes: transactions may be up to 64 KiB, so 200,000 of them could be 12.8 GiB.
PEER_BACKLOG_BYTES_MAX = 128 * 1024 * 1024
HOUSEKEEPING_INTERVAL_S = 1.0
INBOX_BATCH_MAX = 1000
WAITERS_MAX = 100_000
"""Open waits for a transaction's commit, over every connection; beyond it a wait is refused (503)."""
BLOCK_SUBSCRIBERS_MAX = 1_000
INDEX_SLICE_TXS = 2_000
INDEX_BUSY_PAUSE_FACTOR = 5.0


class _BlockHead(Struct):
    """A stored block read for its header only: the transactions stay one undecoded msgpack array."""

    header: Header
    txs: msgspec.Raw


def _array_length(raw: bytes) -> int:
    """The item count of the msgpack array ``raw`` starts with."""
    first = raw[0]
    if 0x90 <= first <= 0x9F:
        return first & 0x0F
    if first == 0xDC:
        return int.from_bytes(raw[1:3], "big")
    if first == 0xDD:
        return int.from_bytes(raw[1:5], "big")
    raise InvariantViolation(f"a stored block's transactions are not a msgpack array (0x{first:02x})")


class PeerNetwork(Protocol):
    """What the runtime needs from the transport (``alliance.p2p.transport.Transport``)."""

    def send(self, node_id: bytes, payload: bytes) -> bool: ...

    def broadcast(self, payload: bytes) -> int: ...

    def connected_peers(self) -> frozenset[bytes]: ...

    def refresh_membership(self) -> list[bytes]: ...


@dataclass(slots=True)
class _PeerInput:
    peer: bytes
    message: Proposal | Vote | SyncBlocks


_InboxItem = Input | Timer | _PeerInput


class TooManyWaiters(OperationalError):
    code = "too_many_waiters"


class NodeRuntime:
    """Drives one node on asyncio. Implements ``alliance.node.facade.NodeFacade`` and the driver's
    ``Host``."""

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
        peers: dict[bytes, ConfiguredPeer],
        driver_config: DriverConfig | None = None,
        account_index: AccountIndex | None = None,
    ) -> None:
        self.name = name
        self.org = org
        self.genesis = genesis
        self.genesis_hash = genesis.hash()
        self.node_id = node_key.node_id
        self.store = store
        self.wal = wal
        self.executor = executor
        executor.init_chain(genesis)  # stores genesis, or checks that the stored one is this one
        self.indexer = (
            None if account_index is None else AccountIndexer(store, account_index, self.genesis_hash)
        )
        self._index_wake = asyncio.Event()
        self._index_stopped: str | None = None
        self.mempool = mempool_factory(executor)
        self.network: PeerNetwork | None = None
        self.membership = Membership(self.node_id, peers)
        self._inbox: deque[tuple[_InboxItem, int]] = deque()  # each item with its size in bytes
        self._inbox_bytes = 0
        self._inbox_wake = asyncio.Event()
        self._peer_txs: deque[tuple[list[bytes], int]] = deque()  # each batch with its size in bytes
        self._peer_txs_count = 0
        self._peer_txs_bytes = 0
        self._peer_txs_wake = asyncio.Event()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        """Pending timers by a serial number; each leaves when it fires."""
        self._timer_serial = 0
        self._waiters: dict[bytes, list[asyncio.Future[None]]] = {}
        self._waiters_count = 0
        self._block_events: list[asyncio.Event] = []
        self._closed = False
        self.driver = NodeDriver(
            name=name,
            genesis=genesis,
            signer=NodeSigner(node_key),
            consensus=consensus,
            store=store,
            wal=wal,
            application=executor,
            mempool=self.mempool,
            membership=self.membership,
            host=self,
            chooser=random.Random(),
            config=driver_config,
        )

    # --- membership, for the transport ------------------------------------------------------------

    @property
    def governed(self) -> bool:
        return self.membership.governed

    def is_member(self, node_id: bytes, org: str) -> bool:
        """The transport's admission rule (``node.membership``); a refusal is logged there."""
        return self.membership.is_member(node_id, org)

    @property
    def org_ca_certificates(self) -> dict[str, x509.Certificate]:
        return self.membership.org_ca_certificates

    # --- the loops --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled: the driver's inputs, peer admission and housekeeping."""
        self.driver.start()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._inbox_loop(), name=f"{self.name}.consensus")
                group.create_task(self._peer_admission_loop(), name=f"{self.name}.admission")
                group.create_task(self._housekeeping_loop(), name=f"{self.name}.housekeeping")
                if self.indexer is not None:
                    group.create_task(self._index_loop(self.indexer), name=f"{self.name}.index")
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()
        for event in self._block_events:
            event.set()

    def _push(self, item: _InboxItem, size_bytes: int = 0) -> None:
        if len(self._inbox) >= INBOX_ITEMS_MAX or self._inbox_bytes + size_bytes > INBOX_BYTES_MAX:
            self.driver.count_peer_fault()  # we are overrun; dropping is safe (peers retransmit)
            return
        self._inbox.append((item, size_bytes))
        self._inbox_bytes += size_bytes
        self._inbox_wake.set()

    async def _inbox_loop(self) -> None:
        driver = self.driver
        while True:
            await self._inbox_wake.wait()
            self._inbox_wake.clear()
            handled = 0
            while self._inbox and handled < INBOX_BATCH_MAX:
                item, size = self._inbox.popleft()
                self._inbox_bytes -= size
                handled += 1
                if isinstance(item, _PeerInput):
                    driver.receive(item.peer, item.message)
                elif isinstance(item, Timer):
                    driver.on_timer(item)
                else:
                    driver.step(item)
            if self._inbox:
                self._inbox_wake.set()
                await asyncio.sleep(0)

    def _busy(self) -> bool:
        return bool(self._inbox or self._peer_txs or len(self.mempool))

    async def _index_loop(self, indexer: AccountIndexer) -> None:
        self._index_wake.set()  # catch up with what was committed before this start
        while True:
            await self._index_wake.wait()
            self._index_wake.clear()
            while True:
                started = time.perf_counter()
                try:
                    done = indexer.step(INDEX_SLICE_TXS)
                except StoreFull as exc:
                    self._index_stopped = exc.message
                    logger.error("node %s stopped indexing accounts: %s", self.name, exc.message)
                    return
                if not done:
                    break
                pause_s = (time.perf_counter() - started) * INDEX_BUSY_PAUSE_FACTOR if self._busy() else 0.0
                await asyncio.sleep(pause_s)

    async def _housekeeping_loop(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
            self.driver.tick()

    # --- Host ---------------------------------------------------------------------------------------

    def send(self, peer: bytes, message: WireMessage) -> bool:
        return self.network.send(peer, codec.encode(message)) if self.network is not None else False

    def broadcast(self, message: WireMessage) -> None:
        if self.network is not None:
            self.network.broadcast(codec.encode(message))

    def connected_peers(self) -> frozenset[bytes]:
        return self.network.connected_peers() if self.network is not None else frozenset()

    def schedule(self, delay_ms: float, timer: Timer) -> None:
        if self._closed:
            return
        self._timer_serial += 1
        serial = self._timer_serial
        loop = asyncio.get_running_loop()
        self._timers[serial] = loop.call_later(delay_ms / 1000, self._fire, serial, timer)

    def _fire(self, serial: int, timer: Timer) -> None:
        # A fired handle stays "not cancelled", so only its own removal keeps the map to the
        # timers still pending (a few per height), not every timer since the node started.
        self._timers.pop(serial, None)
        self._push(timer)

    def monotonic_ms(self) -> float:
        return time.monotonic() * 1000

    def wall_ms(self) -> int:
        return int(time.time() * 1000)

    def block_committed(self, block: Block, result: FinalizeResult) -> None:
        waiters = self._waiters
        if waiters:
            for tx_hash in result.tx_hashes:
                for future in waiters.pop(tx_hash, ()):
                    self._waiters_count -= 1
                    if not future.done():
                        future.set_result(None)
        for event in self._block_events:
            event.set()
        self._index_wake.set()

    def membership_changed(self) -> None:
        if self.network is not None:
            self.network.refresh_membership()

    def evidence(self, evidence: DuplicateVoteEvidence) -> None:
        logger.warning("evidence of a double vote: %r", evidence)

    # --- peers --------------------------------------------------------------------------------------

    def on_peer_message(self, peer: bytes, payload: bytes) -> None:
        """The transport's callback for each frame. A ``PeerFault`` raised here closes that link."""
        message = decode_wire(payload)
        if isinstance(message, TxBatch):
            self._queue_peer_txs(message.txs)
        elif isinstance(message, PeerHeight | SyncRequest):
            self.driver.receive(peer, message)  # cheap, and order with consensus does not matter
        else:
            self._push(_PeerInput(peer, message), len(payload))

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
                results = await self._admit(txs)
                accepted = [raw for raw, r in zip(txs, results, strict=True) if isinstance(r, Accepted)]
                self.driver.transactions_admitted(accepted, gossip=False)

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
                begun.append(self.mempool.begin_admission(raws[start : start + ADMIT_SLICE_TXS], self.height))
                await asyncio.sleep(0)
                if len(begun) > 1:
                    results.extend(self.mempool.finish_admission(begun.popleft()))
        finally:
            # Also when cancelled: an admission begun is always finished (its room and hashes).
            while begun:
                results.extend(self.mempool.finish_admission(begun.popleft()))
        return results

    # --- NodeFacade ----------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self.driver.height

    def validators_at(self, height: int) -> ValidatorSet:
        return self.driver.validators_at(height)

    def statistics(self) -> DriverStatistics:
        return self.driver.statistics()

    @property
    def peer_faults(self) -> int:
        return self.driver.statistics().peer_faults

    @property
    def sync_requests_unanswered(self) -> int:
        return self.driver.statistics().sync_requests_unanswered

    def status(self) -> NodeStatus:
        driver = self.driver
        last = driver.last_block
        validators = driver.validators_at(last.height + 1)
        connected = self.connected_peers()
        names = dict(self.membership.node_names)
        names[self.node_id] = self.name
        stats = driver.statistics()
        peers = [
            PeerStatus(names.get(node_id, node_id.hex()[:12]), node_id, node_id in connected, state.height)
            for node_id, state in sorted(driver.sync.peers.items())
        ]
        listed = {p.node_id for p in peers}
        peers += [
            PeerStatus(p.name, node_id, node_id in connected, None)
            for node_id, p in sorted(self.membership.configured.items())
            if node_id not in listed and node_id != self.node_id
        ]
        return NodeStatus(
            name=self.name,
            org=self.org,
            node_id=self.node_id,
            chain_id=self.genesis.chain_id,
            genesis_hash=self.genesis_hash,
            height=last.height,
            block_hash=last.block_hash,
            app_hash=self.executor.info().last_app_hash,
            time_ms=last.time_ms,
            validators=validators,
            validator_names=names,
            is_validator=validators.power_of(self.node_id) > 0,
            consensus_round=driver.core.status.round,
            peers=peers,
            mempool_txs=len(self.mempool),
            mempool_bytes=self.mempool.size_bytes,
            tx_window_blocks=self.executor.params.tx_window_blocks,
            syncing=driver.sync.in_flight is not None,
            txs_committed=stats.committed_txs_total,
            blocks_applied=stats.blocks_applied,
            block_execute_s_total=stats.block_execute_ms_total / 1000,
            block_commit_s_total=stats.block_commit_ms_total / 1000,
            halted=None if driver.halted is None else driver.halted.describe(),
            peer_faults=stats.peer_faults,
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

    def block_head(self, height: int) -> BlockHead:
        if height < 1 or height > self.height:
            raise NotFound(f"no block at height {height}; the last committed height is {self.height}")
        head = codec.decode_trusted(_BlockHead, self.store.block(height))
        cert = codec.decode_trusted(CommitCertificate, self.store.certificate(height))
        return BlockHead(head.header, _array_length(bytes(head.txs)), cert)

    def block_by_hash(self, block_hash: bytes) -> tuple[Block, CommitCertificate | None]:
        height = self.store.height_of(block_hash)
        if height > self.height:  # not expected: the index and the height are written together
            raise NotFound(f"no committed block {block_hash.hex()}")
        return self.block(height)

    def tx_location(self, tx_hash: bytes) -> tuple[int, int]:
        return self.store.tx_location(tx_hash)

    def emitted_in(self, height: int, emitter: str) -> bool:
        if height < 1 or height > self.height:
            raise NotFound(f"no block at height {height}; the last committed height is {self.height}")
        # The account index knows who emitted in each block it indexed whole; for the others, a
        # block whose receipts do not even contain the emitter's name (msgpack text) has none.
        if self.indexer is not None and self._index_stopped is None:
            emitters = self.indexer.index.emitters(height)
            if emitters is not None:
                return emitter in emitters
        return codec.encode(emitter) in self.store.receipts(height)

    def validator_set(self, height: int) -> ValidatorSet:
        if height < 1 or height > self.height + 1:
            raise NotFound(
                f"no validator set for height {height}: heights 1 to {self.height + 1} "
                "(the next block) have one"
            )
        version = max(0, height - 2)  # the set written by block h - 2 votes at h (docs/architecture.md)
        raw = self.store.validators_at(version)
        if raw is None:  # a version before the store kept the history: the state, while it keeps it
            raw = self.executor.query(VALIDATORS_KEY, height=version).value
        invariant(raw is not None, "the validator set is always in state")
        return codec.decode_trusted(ValidatorSet, raw)  # type: ignore[arg-type]

    def account_txs(self, address: bytes, before: tuple[int, int] | None, limit: int) -> AccountTxs:
        if self.indexer is None:
            raise NotFound("this node keeps no index of transactions by account (account_index = false)")
        if self._index_stopped is not None:
            raise NotFound(f"this node stopped indexing transactions by account: {self._index_stopped}")
        rows = self.indexer.index.page(address, before, limit)
        return AccountTxs(
            indexed_height=self.indexer.indexed_height,
            txs=[
                AccountTx(height, index, r.tx_hash, r.target, r.method, r.status, r.sent)
                for height, index, r in rows
            ],
        )

    def committed_tx(self, tx_hash: bytes) -> CommittedTx:
        height, index = self.store.tx_location(tx_hash)
        block = codec.decode_trusted(Block, self.store.block(height))
        receipts = self.receipts(height)
        return CommittedTx(
            tx_hash=tx_hash, height=height, index=index, raw=block.txs[index], receipt=receipts[index]
        )

    def balance(self, address: bytes) -> int:
        """The native balance of ``address`` in the last committed state (through the module)."""
        answer = self.query_module("accounts", "balance", codec.encode(BalanceQuery(address)))
        return answer.value.balance  # type: ignore[attr-defined, no-any-return]

    def pending_tx(self, tx_hash: bytes) -> bytes | None:
        return self.mempool.get(tx_hash)

    def query(self, key: bytes, *, height: int | None = None, prove: bool = False) -> QueryResult:
        return self.executor.query(key, height=height, prove=prove)

    def query_module(
        self, module: str, query: str, args: bytes, *, height: int | None = None
    ) -> ModuleAnswer:
        return self.executor.query_module(module, query, args, height=height)

    async def submit(self, raws: list[bytes]) -> list[AdmitResult]:
        results = await self._admit(raws)
        accepted = [raw for raw, result in zip(raws, results, strict=True) if isinstance(result, Accepted)]
        self.driver.transactions_admitted(accepted, gossip=True)
        return results

    async def wait_committed(self, tx_hash: bytes, timeout_ms: int) -> CommittedTx | None:
        if not self.store.has_tx(tx_hash):
            if self._waiters_count >= WAITERS_MAX:
                raise TooManyWaiters(f"this node already holds {WAITERS_MAX} waits; try again later")
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(tx_hash, []).append(future)
            self._waiters_count += 1
            try:
                await asyncio.wait_for(future, timeout_ms / 1000)
            except TimeoutError:
                return None
            finally:
                futures = self._waiters.get(tx_hash)
                if futures is not None and future in futures:
                    futures.remove(future)
                    self._waiters_count -= 1
                    if not futures:
                        del self._waiters[tx_hash]
        try:
            return self.committed_tx(tx_hash)
        except NotFound:
            return None  # not expected: waiters wake only for the transactions a block indexed

    async def blocks_from(self, height: int) -> AsyncIterator[int]:
        """Heights from ``height`` on; stored ones first, then each as it commits. A slow reader
        loses nothing (it reads the store); it only lags."""
        if len(self._block_events) >= BLOCK_SUBSCRIBERS_MAX:
            raise TooManyWaiters(f"this node already streams blocks to {BLOCK_SUBSCRIBERS_MAX} subscribers")
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
