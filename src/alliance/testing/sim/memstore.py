"""An in-memory ``ChainStoreProtocol`` for the simulator.

It keeps the store's contract: ``commit_block`` applies a whole block or nothing (the simulator
crashes nodes only between steps, and a committed block is durable, as an fsynced LMDB write is),
blocks are committed in order, and the state tree's nodes live in a ``MemoryNodeStore``.
"""

from __future__ import annotations

from alliance.errors import NotFound
from alliance.ledger.store import BlockWrite
from alliance.state.memory import MemoryNodeStore
from alliance.types import invariant


class MemoryChainStore:
    def __init__(self) -> None:
        self.tree_nodes = MemoryNodeStore()
        self._height: int | None = None
        self._genesis: bytes | None = None
        self._state: dict[bytes, bytes] = {}
        self._txs: dict[bytes, tuple[int, int]] = {}
        self.blocks: dict[int, bytes] = {}
        self.block_hashes: dict[int, bytes] = {}
        self.certificates: dict[int, bytes] = {}
        self._receipts: dict[int, bytes] = {}

    # NodeReader
    def get_node(self, key: bytes) -> bytes | None:
        return self.tree_nodes.get_node(key)

    def get_root(self, version: int) -> bytes | None:
        return self.tree_nodes.get_root(version)

    def oldest_version(self) -> int:
        return self.tree_nodes.oldest_version()

    # ChainStoreProtocol
    def last_height(self) -> int | None:
        return self._height

    def genesis(self) -> bytes | None:
        return self._genesis

    def get_state(self, key: bytes) -> bytes | None:
        return self._state.get(key)

    def has_tx(self, tx_hash: bytes) -> bool:
        return tx_hash in self._txs

    def tx_location(self, tx_hash: bytes) -> tuple[int, int]:
        try:
            return self._txs[tx_hash]
        except KeyError:
            raise NotFound(f"no committed transaction {tx_hash.hex()}") from None

    def block(self, height: int) -> bytes:
        return self._need(self.blocks, height, "block")

    def certificate(self, height: int) -> bytes:
        return self._need(self.certificates, height, "certificate")

    def receipts(self, height: int) -> bytes:
        return self._need(self._receipts, height, "receipts")

    @staticmethod
    def _need(table: dict[int, bytes], height: int, what: str) -> bytes:
        try:
            return table[height]
        except KeyError:
            raise NotFound(f"no {what} at height {height}") from None

    def commit_block(self, w: BlockWrite) -> None:
        last = self._height
        invariant(
            (last is None and w.height == 0) or (last is not None and w.height == last + 1),
            f"blocks are committed in order: last {last}, got {w.height}",
        )
        for tx_hash, _ in w.tx_hashes:
            invariant(tx_hash not in self._txs, "a committed transaction hash was committed before")
        if w.genesis is not None:
            self._genesis = w.genesis
        if w.block:
            self.blocks[w.height] = w.block
            self.block_hashes[w.height] = w.block_hash
            self._receipts[w.height] = w.receipts
        if w.certificate is not None:
            self.certificates[w.height] = w.certificate
        for tx_hash, index in w.tx_hashes:
            self._txs[tx_hash] = (w.height, index)
        for key, value in w.state.items():
            if value is None:
                self._state.pop(key, None)
            else:
                self._state[key] = value
        self.tree_nodes.persist(w.tree)
        if w.prune_below is not None and w.prune_below > self.tree_nodes.oldest_version():
            self.tree_nodes.prune(w.prune_below)
        self._height = w.height

    def close(self) -> None:
        """Nothing to release; the simulator keeps the store across a node's crash and restart."""
