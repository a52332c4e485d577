"""The chain store: everything a node keeps, in one LMDB environment.

Theory of operation: LMDB gives serialisable, crash-safe write transactions on a copy-on-write
B-tree; a transaction either lands whole or not at all, at any instant of a crash. So the store
writes each committed block in exactly one write transaction: the block, its commit certificate,
receipts, transaction index, the state tree's new nodes, its root and its stale list, the pruning
of old versions, and the metadata that names the last height. A reopen after a crash finds the
last whole block and a state root that matches it, never a partial write.

Current state lives in the state tree only: ``get_state`` reads the tree at the last height
(through a ``StateTree`` with its cache of decoded nodes). There is no flat copy: with 1M keys,
~10,000 random puts a block into a flat table dirtied ~10,000 B-tree pages (~40 MB) per commit,
while the tree's new nodes are appended.

Named databases (keys big-endian so that LMDB's byte order is numeric order):
``meta`` (name -> value), ``blocks`` (height -> block), ``hashes`` (block hash -> height),
``commits`` (height -> certificate), ``receipts`` (height -> encoded receipt list),
``txs`` (tx hash -> height || index), ``nodes`` (tree node key -> node), ``roots`` (version ->
encoded root), ``stale`` (version -> the msgpack list of node keys that went stale at it),
``valsets`` (version -> the validator set a block's state wrote at it).

The validator set history: a block's commit certificate is checked against the set that had to
sign it, long after the state versions that held that set were pruned (an explorer weighing an old
block's signatures, an audit). So the store keeps every set the chain has had, one row per version
that wrote ``VALIDATORS_KEY`` (genesis, and each block whose governance changed the set: a handful
in a chain's life), written in the block's own transaction. Its cost on the commit path is one
dictionary lookup in the block's writes. A store made before the history existed starts it at the
height it was opened at (``validator_history_from``); earlier versions are answered by the state
tree while it keeps them.

Tree nodes and the stale list of a version sort after everything before them, so they are written
in LMDB's append mode. A version's stale list is one row (format 2; format 1 had a row per node
key): pruning a version then reads one row and deletes its nodes, instead of walking and deleting
~13,000 rows a block at 1M keys. ``meta`` records the format; a store in another format is refused
with ``StoreFormatError`` rather than misread. ``sync=True`` (the default) makes each commit
durable before it returns; benchmarks may trade that for speed and say so.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

import lmdb
import msgspec

from alliance.abi.chain import VALIDATORS_KEY
from alliance.errors import NotFound, StoreFormatError, StoreFull
from alliance.ledger.store import BlockWrite
from alliance.state.tree import StateTree, TreeUpdate
from alliance.types import fail_invariant, invariant

MAP_SIZE_BYTES_DEFAULT = 64 * 1024**3
_HEIGHT = struct.Struct(">Q")
_LOCATION = struct.Struct(">QI")
_META_HEIGHT = b"height"
_META_OLDEST = b"oldest_version"
_META_GENESIS = b"genesis"
_META_FORMAT = b"format"
_META_VALIDATORS_FROM = b"validators_from"
STORE_FORMAT = 2
_encode_stale = msgspec.msgpack.Encoder().encode
_decode_stale = msgspec.msgpack.Decoder(list[bytes]).decode


def be64(n: int) -> bytes:
    return _HEIGHT.pack(n)


class ChainStore:
    """LMDB-backed ``ChainStoreProtocol``; also the ``NodeReader`` of the state tree."""

    def __init__(
        self, path: Path | str, *, map_size_bytes: int = MAP_SIZE_BYTES_DEFAULT, sync: bool = True
    ) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        self._env = lmdb.open(
            str(path), map_size=map_size_bytes, max_dbs=16, sync=sync, metasync=sync, readahead=False
        )
        names = (
            "meta", "blocks", "hashes", "commits", "receipts", "txs", "nodes", "roots", "stale", "valsets",
        )  # fmt: skip
        self._db = {name: self._env.open_db(name.encode()) for name in names}
        self._nodes_db = self._db["nodes"]
        self._txs_db = self._db["txs"]
        self._read = self._env.begin(buffers=False)
        try:
            self._check_format(Path(path))
        except StoreFormatError:
            self.close()
            raise
        self._oldest = self._meta_int(_META_OLDEST, 0)
        self._tree = StateTree(self)
        self._start_validator_history()

    def _check_format(self, path: Path) -> None:
        """Record the format in a new store; refuse a store written in another one."""
        recorded = self._meta_int(_META_FORMAT, 0)
        if recorded == 0 and self.last_height() is None:
            with self._env.begin(write=True) as txn:
                txn.put(_META_FORMAT, be64(STORE_FORMAT), db=self._db["meta"])
            self._renew()
            return
        found = recorded or 1  # format 1 did not record itself
        if found != STORE_FORMAT:
            raise StoreFormatError(
                f"the data directory {path} holds a chain store in format {found}; this version of "
                f"Alliance reads format {STORE_FORMAT}: use a new data directory (a node re-syncs "
                "its chain from its peers)"
            )

    def _start_validator_history(self) -> None:
        """A new store records every validator set from genesis on; one made before the history
        existed records its current set, and knows the history from its last height on."""
        if self._read.get(_META_VALIDATORS_FROM, db=self._db["meta"]) is not None:
            return
        last = self.last_height()
        with self._env.begin(write=True) as txn:
            if last is not None:
                current = self._tree.get(last, VALIDATORS_KEY)
                if current is not None:
                    txn.put(be64(last), current, db=self._db["valsets"])
            txn.put(_META_VALIDATORS_FROM, be64(last or 0), db=self._db["meta"])
        self._renew()

    def close(self) -> None:
        self._read.abort()
        self._env.close()

    # -- reads (a long-lived read transaction, renewed after each commit) --

    def _renew(self) -> None:
        self._read.abort()
        self._read = self._env.begin(buffers=False)

    def _meta_int(self, name: bytes, default: int) -> int:
        raw = self._read.get(name, db=self._db["meta"])
        return default if raw is None else _HEIGHT.unpack(raw)[0]

    def last_height(self) -> int | None:
        """The last committed height, or None before genesis was stored."""
        raw = self._read.get(_META_HEIGHT, db=self._db["meta"])
        return None if raw is None else _HEIGHT.unpack(raw)[0]

    def genesis(self) -> bytes | None:
        return self._read.get(_META_GENESIS, db=self._db["meta"])

    def get_state(self, key: bytes) -> bytes | None:
        """The value of ``key`` at the last committed height, from the state tree."""
        height = self.last_height()
        return None if height is None else self._tree.get(height, key)

    def get_node(self, key: bytes) -> bytes | None:
        return self._read.get(key, db=self._nodes_db)

    def get_root(self, version: int) -> bytes | None:
        return self._read.get(be64(version), db=self._db["roots"])

    def oldest_version(self) -> int:
        return self._oldest

    def has_tx(self, tx_hash: bytes) -> bool:
        return self._read.get(tx_hash, db=self._txs_db) is not None

    def tx_location(self, tx_hash: bytes) -> tuple[int, int]:
        raw = self._read.get(tx_hash, db=self._txs_db)
        if raw is None:
            raise NotFound(f"no committed transaction {tx_hash.hex()}")
        height, index = _LOCATION.unpack(raw)
        return height, index

    def _get(self, db: str, key: bytes, what: str) -> bytes:
        raw = self._read.get(key, db=self._db[db])
        if raw is None:
            raise NotFound(f"no {what}")
        return raw

    def block(self, height: int) -> bytes:
        return self._get("blocks", be64(height), f"block at height {height}")

    def height_of(self, block_hash: bytes) -> int:
        return int(_HEIGHT.unpack(self._get("hashes", block_hash, f"block {block_hash.hex()}"))[0])

    def certificate(self, height: int) -> bytes:
        return self._get("commits", be64(height), f"commit certificate at height {height}")

    def receipts(self, height: int) -> bytes:
        return self._get("receipts", be64(height), f"receipts at height {height}")

    def validator_history_from(self) -> int:
        """The first state version ``validators_at`` answers (0 for a store made with the history)."""
        return self._meta_int(_META_VALIDATORS_FROM, 0)

    def validators_at(self, version: int) -> bytes | None:
        """The encoded validator set in state version ``version`` (the last one written at or
        before it), or None for a version before the history or past the last committed one."""
        last = self.last_height()
        if last is None or version > last or version < self.validator_history_from():
            return None
        cursor = self._read.cursor(db=self._db["valsets"])
        found = cursor.prev() if cursor.set_range(be64(version + 1)) else cursor.last()
        if not found or _HEIGHT.unpack(cursor.key())[0] > version:
            return None
        return bytes(cursor.value())

    # -- the one write per block --

    def commit_block(self, w: BlockWrite) -> None:
        last = self.last_height()
        invariant(
            (last is None and w.height == 0) or (last is not None and w.height == last + 1),
            f"blocks are committed in order: last {last}, got {w.height}",
        )
        invariant(w.tree.version == w.height, "the state version is the block height")
        db = self._db
        try:
            with self._env.begin(write=True) as txn:
                hkey = be64(w.height)
                if w.genesis is not None:
                    txn.put(_META_GENESIS, w.genesis, db=db["meta"])
                if w.block:
                    txn.put(hkey, w.block, db=db["blocks"], append=True)
                    txn.put(w.block_hash, hkey, db=db["hashes"])
                    txn.put(hkey, w.receipts, db=db["receipts"], append=True)
                if w.certificate is not None:
                    txn.put(hkey, w.certificate, db=db["commits"])
                if w.tx_hashes:
                    locs = [(h, _LOCATION.pack(w.height, i)) for h, i in w.tx_hashes]
                    locs.sort()
                    _, added = txn.cursor(db=self._txs_db).putmulti(locs, overwrite=False)
                    invariant(added == len(locs), "a committed transaction hash was committed before")
                validators = w.state.get(VALIDATORS_KEY)
                if validators is not None:
                    txn.put(hkey, validators, db=db["valsets"], append=True)
                self._write_tree(txn, w.tree)
                if w.prune_below is not None and w.prune_below > self._oldest:
                    self._prune(txn, w.prune_below)
                txn.put(_META_HEIGHT, hkey, db=db["meta"])
        except lmdb.MapFullError:
            raise StoreFull("the chain store reached its map size; raise map_size_bytes") from None
        if w.prune_below is not None and w.prune_below > self._oldest:
            self._oldest = w.prune_below
        self._renew()

    def _write_tree(self, txn: lmdb.Transaction, tree: TreeUpdate) -> None:
        if tree.new_nodes:
            _, added = txn.cursor(db=self._nodes_db).putmulti(tree.new_nodes, append=True)
            invariant(added == len(tree.new_nodes), "state tree nodes must be new and in order")
        txn.put(be64(tree.version), tree.root, db=self._db["roots"], append=True)
        if tree.stale_node_keys:
            # Unsorted: pruning sorts all it collects once (several versions may prune together).
            stale = _encode_stale(tree.stale_node_keys)
            txn.put(be64(tree.version), stale, db=self._db["stale"], append=True)

    def _prune(self, txn: lmdb.Transaction, oldest_kept: int) -> None:
        """Delete nodes that went stale at or before ``oldest_kept`` and roots below it."""
        stale_cursor = txn.cursor(db=self._db["stale"])
        limit = be64(oldest_kept + 1)
        doomed: list[bytes] = []
        stale_cursor.first()
        while (key := bytes(stale_cursor.key())) and key < limit:
            try:
                doomed += _decode_stale(stale_cursor.value())
            except msgspec.DecodeError:
                fail_invariant(f"the stale list of state version {key.hex()} is corrupt")
            stale_cursor.delete()  # and on to the next row
        doomed.sort()  # in key order, deletes walk the B-tree forwards
        delete, nodes_db = txn.delete, self._nodes_db
        for key in doomed:
            delete(key, db=nodes_db)
        roots = txn.cursor(db=self._db["roots"])
        limit_root = be64(oldest_kept)
        roots.first()
        while (key := bytes(roots.key())) and key < limit_root:
            roots.delete()
        txn.put(_META_OLDEST, be64(oldest_kept), db=self._db["meta"])

    def iter_heights(self, start: int, end: int) -> Iterable[tuple[int, bytes]]:
        """Blocks ``start..end`` inclusive, in order (for sync and audits)."""
        cursor = self._read.cursor(db=self._db["blocks"])
        if cursor.set_range(be64(start)):
            for key, value in cursor:
                height = _HEIGHT.unpack(key)[0]
                if height > end:
                    break
                yield height, value
