"""The chain store protocol: what the executor needs from durable storage.

The executor (a lower layer) talks to storage only through this protocol; ``alliance.storage``
implements it on LMDB and the simulator may implement it in memory. ``BlockWrite`` is the unit of
atomicity: everything one block changes, written in one transaction, so a crash leaves the store
at the last whole block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from alliance.state.tree import NodeReader, TreeUpdate


@dataclass(frozen=True, slots=True)
class BlockWrite:
    """One block's worth of writes, applied in a single transaction."""

    height: int
    block_hash: bytes
    block: bytes
    certificate: bytes | None
    receipts: bytes
    tx_hashes: list[tuple[bytes, int]]  # (hash, index in block) of each transaction that passed its checks
    state: dict[bytes, bytes | None]  # the block's state writes (None deletes); also in ``tree``
    tree: TreeUpdate
    prune_below: int | None = None  # drop state versions older than this
    genesis: bytes | None = None


class ChainStoreProtocol(NodeReader, Protocol):
    def last_height(self) -> int | None: ...

    def genesis(self) -> bytes | None: ...

    def get_state(self, key: bytes) -> bytes | None: ...

    def has_tx(self, tx_hash: bytes) -> bool: ...

    def tx_location(self, tx_hash: bytes) -> tuple[int, int]: ...

    def block(self, height: int) -> bytes: ...

    def certificate(self, height: int) -> bytes: ...

    def receipts(self, height: int) -> bytes: ...

    def commit_block(self, w: BlockWrite) -> None: ...

    def close(self) -> None: ...
