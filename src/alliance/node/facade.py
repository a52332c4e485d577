"""What a running node offers the layers above it (the REST API, tests, tools).

Theory of operation: the API never reaches into the runtime's parts; it talks to a ``NodeFacade``,
which answers with the ledger's own types (blocks, receipts, validator sets) and typed errors. The
API turns those into its schemas. Reads come from the committed store only, so they never see a
half-applied block. Everything runs on the node's event loop: the synchronous methods return at
once, the ``async`` ones wait without blocking the loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from alliance.app.interface import QueryResult
from alliance.execution.executor import ModuleAnswer
from alliance.ledger.block import Block, CommitCertificate, Header, Receipt
from alliance.ledger.validators import ValidatorSet
from alliance.mempool.pool import AdmitResult


@dataclass(frozen=True, slots=True)
class PeerStatus:
    name: str
    node_id: bytes
    connected: bool
    height: int | None  # the last height it told us it has, if any


@dataclass(frozen=True, slots=True)
class NodeStatus:
    name: str
    org: str
    node_id: bytes
    chain_id: str
    genesis_hash: bytes
    height: int  # last committed height (0: only genesis)
    block_hash: bytes  # hash of block ``height`` (empty at 0)
    app_hash: bytes  # state root after block ``height``
    time_ms: int  # block ``height``'s time (genesis time at 0)
    validators: ValidatorSet  # the set that votes at ``height + 1``
    validator_names: dict[bytes, str]  # node id -> name, for the ones this node knows
    is_validator: bool
    consensus_round: int
    peers: list[PeerStatus]
    mempool_txs: int
    mempool_bytes: int
    tx_window_blocks: int  # how far ahead ``valid_until`` may be
    syncing: bool
    txs_committed: int  # transactions this process committed since it started (a counter for metrics)
    blocks_applied: int = 0  # blocks this process executed and committed (consensus or block sync)
    block_execute_s_total: float = 0.0  # their finalize_block time, summed (wall clock)
    block_commit_s_total: float = 0.0  # their commit time (the store's write and fsync, mostly), summed
    halted: str | None = None  # why the node stopped applying blocks (its state differs), if it did
    peer_faults: int = 0  # faults peers committed against this node (a counter for metrics)


@dataclass(frozen=True, slots=True)
class CommittedTx:
    tx_hash: bytes
    height: int
    index: int
    raw: bytes
    receipt: Receipt


@dataclass(frozen=True, slots=True)
class BlockHead:
    """A block's header, how many transactions it holds, and its commit certificate."""

    header: Header
    txs: int
    certificate: CommitCertificate | None


@dataclass(frozen=True, slots=True)
class AccountTx:
    height: int
    index: int
    tx_hash: bytes
    target: str
    method: str
    status: str
    sent: bool  # the account signed it (else one of its events names the account)


@dataclass(frozen=True, slots=True)
class AccountTxs:
    indexed_height: int  # every transaction at this height and below is in the index
    txs: list[AccountTx]  # newest first


class NodeFacade(Protocol):
    def status(self) -> NodeStatus: ...

    def block(self, height: int) -> tuple[Block, CommitCertificate | None]:
        """Block ``height`` and its commit certificate. ``NotFound`` if there is none."""
        ...

    def block_head(self, height: int) -> BlockHead:
        """Block ``height``'s header, transaction count and certificate, without decoding its
        transactions. ``NotFound`` if there is none."""
        ...

    def block_by_hash(self, block_hash: bytes) -> tuple[Block, CommitCertificate | None]:
        """The committed block with this hash. ``NotFound`` if there is none."""
        ...

    def receipts(self, height: int) -> list[Receipt]: ...

    def emitted_in(self, height: int, emitter: str) -> bool:
        """False when block ``height`` surely holds no event of ``emitter`` (so a reader of its
        events may pass it over); True when it may. ``NotFound`` if there is no such block."""
        ...

    def tx_location(self, tx_hash: bytes) -> tuple[int, int]:
        """(height, index in its block) of a committed transaction. ``NotFound`` otherwise."""
        ...

    def validator_set(self, height: int) -> ValidatorSet:
        """The set that votes at ``height`` (1 to the next height). ``NotFound`` outside that range,
        ``VersionPruned`` when neither the history nor the state keeps it any more."""
        ...

    def account_txs(self, address: bytes, before: tuple[int, int] | None, limit: int) -> AccountTxs:
        """``address``'s committed transactions strictly before the position (height, index)
        ``before`` (None: the newest), newest first. ``NotFound`` when the node keeps no index."""
        ...

    def committed_tx(self, tx_hash: bytes) -> CommittedTx:
        """A committed transaction with its receipt. ``NotFound`` if it is not committed."""
        ...

    def pending_tx(self, tx_hash: bytes) -> bytes | None:
        """The raw bytes of a transaction waiting in the mempool, if it is there."""
        ...

    def query(self, key: bytes, *, height: int | None = None, prove: bool = False) -> QueryResult: ...

    def query_module(
        self, module: str, query: str, args: bytes, *, height: int | None = None
    ) -> ModuleAnswer:
        """A module's read-only query (``execution.modules``) over committed state at ``height``.
        ``NotFound`` for an unknown module or query; ``DecodeError`` for malformed ``args``."""
        ...

    async def submit(self, raws: list[bytes]) -> list[AdmitResult]:
        """Admit transactions into the mempool and gossip the accepted ones. One result per input."""
        ...

    async def wait_committed(self, tx_hash: bytes, timeout_ms: int) -> CommittedTx | None:
        """Wait until ``tx_hash`` is committed (``None`` after the timeout)."""
        ...

    def blocks_from(self, height: int) -> AsyncIterator[int]:
        """Committed heights from ``height`` on, as they are committed (replaying stored ones first).

        The iterator ends if the subscriber falls more than its queue bound behind.
        """
        ...
