"""An index of committed transactions by account, kept beside the chain store (decision 017).

Theory of operation: the chain store indexes transactions by hash only; an explorer's account page
asks for an account's recent transactions, which no bounded scan of recent blocks can answer on a
long chain. This index answers it with one cursor walk. It is derived data, rebuilt from the chain
store whenever it is missing or does not match it, so it lives in an LMDB environment of its own
(``HOME/data/account-index``), written without fsync in transactions of its own, off the block
commit path (``node.account_index`` feeds it after blocks commit). Without fsync LMDB keeps its
transactions atomic but may lose the last ones in a crash: the index then resumes from the position
it recorded, and the chain's own data is never at stake.

Rows: key ``address (20) || height (8, big-endian) || index (4)`` for each account a transaction
concerns (the sender, and every account its events name), value the canonical ``AccountTxRow``
(what a list shows without reading the block). Keys sort by account, then by position in the
chain, so an account's newest transactions are the last keys under its prefix. ``meta`` holds the
genesis hash the rows belong to and the position of the first transaction not yet indexed.
``emitters`` holds, for each block indexed whole, the names of the modules and contracts that
emitted events in it (key: height): a reader going back over many blocks for one module's events
(a pass scheme's history) skips the others without reading their receipts.
"""

from __future__ import annotations

import struct
from pathlib import Path

import lmdb
import msgspec

from alliance import codec
from alliance.codec import Struct
from alliance.errors import StoreFull
from alliance.types import invariant

MAP_SIZE_BYTES_DEFAULT = 64 * 1024**3
ADDRESS_SIZE_BYTES = 20
PAGE_ROWS_MAX = 200
_POSITION = struct.Struct(">QI")
_HEIGHT = struct.Struct(">Q")
_encode_names = msgspec.msgpack.Encoder().encode
_decode_names = msgspec.msgpack.Decoder(list[str]).decode
_META_GENESIS = b"genesis"
_META_NEXT = b"next"  # the position (height, index) of the first transaction not indexed yet
FORMAT = 2  # 2: with the emitters of each block
_META_FORMAT = b"format"


class AccountTxRow(Struct):
    """What an account's list shows of one transaction."""

    tx_hash: bytes
    target: str
    method: str
    status: str  # "ok" or the receipt's error code
    sent: bool  # the account signed it (else one of its events names the account)


def row_key(address: bytes, height: int, index: int) -> bytes:
    invariant(len(address) == ADDRESS_SIZE_BYTES, "an index row is keyed by a 20-byte address")
    return address + _POSITION.pack(height, index)


class AccountIndex:
    """The index's LMDB environment: ``add`` rows with the position they reach, read ``page``s."""

    def __init__(self, path: Path | str, *, map_size_bytes: int = MAP_SIZE_BYTES_DEFAULT) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        # No fsync: the index is rebuilt from the chain store, so durability buys nothing here.
        self._env = lmdb.open(
            str(path), map_size=map_size_bytes, max_dbs=4, sync=False, metasync=False, readahead=False
        )
        self._meta = self._env.open_db(b"meta")
        self._rows = self._env.open_db(b"rows")
        self._emitters = self._env.open_db(b"emitters")

    def close(self) -> None:
        self._env.close()

    def _get_meta(self, name: bytes) -> bytes | None:
        with self._env.begin(db=self._meta, buffers=False) as txn:
            found: bytes | None = txn.get(name)
            return found

    def genesis_hash(self) -> bytes | None:
        return self._get_meta(_META_GENESIS)

    def next_position(self) -> tuple[int, int]:
        """The first (height, index) not indexed yet: (1, 0) for an empty index."""
        raw = self._get_meta(_META_NEXT)
        if raw is None:
            return (1, 0)
        height, index = _POSITION.unpack(raw)
        return int(height), int(index)

    def reset(self, genesis_hash: bytes) -> None:
        """Forget every row: the index starts again, for the chain of ``genesis_hash``."""
        with self._env.begin(write=True) as txn:
            txn.drop(self._rows, delete=False)
            txn.drop(self._emitters, delete=False)
            txn.put(_META_GENESIS, genesis_hash, db=self._meta)
            txn.put(_META_FORMAT, bytes([FORMAT]), db=self._meta)
            txn.put(_META_NEXT, _POSITION.pack(1, 0), db=self._meta)

    def matches(self, genesis_hash: bytes) -> bool:
        return self.genesis_hash() == genesis_hash and self._get_meta(_META_FORMAT) == bytes([FORMAT])

    def add(
        self,
        rows: list[tuple[bytes, bytes]],
        next_position: tuple[int, int],
        emitters: dict[int, list[str]] | None = None,
    ) -> None:
        """Write ``rows`` (key, value), the emitters of the blocks indexed whole, and the position
        indexing has reached, in one transaction."""
        rows.sort()
        try:
            with self._env.begin(write=True) as txn:
                if rows:
                    txn.cursor(db=self._rows).putmulti(rows)
                for height, names in (emitters or {}).items():
                    txn.put(_HEIGHT.pack(height), _encode_names(sorted(names)), db=self._emitters)
                txn.put(_META_NEXT, _POSITION.pack(*next_position), db=self._meta)
        except lmdb.MapFullError:
            raise StoreFull("the account index reached its map size") from None

    def emitters(self, height: int) -> frozenset[str] | None:
        """Who emitted events in block ``height``; None for a block not indexed whole yet."""
        with self._env.begin(db=self._emitters, buffers=False) as txn:
            raw = txn.get(_HEIGHT.pack(height))
        return None if raw is None else frozenset(_decode_names(raw))

    def page(
        self, address: bytes, before: tuple[int, int] | None, limit: int
    ) -> list[tuple[int, int, AccountTxRow]]:
        """``address``'s rows strictly before the position ``before`` (None: the newest), newest
        first, at most ``limit`` (bounded by ``PAGE_ROWS_MAX``): (height, index, row) each."""
        invariant(1 <= limit <= PAGE_ROWS_MAX, f"a page holds 1 to {PAGE_ROWS_MAX} rows")
        invariant(len(address) == ADDRESS_SIZE_BYTES, "rows are read by a 20-byte address")
        found: list[tuple[int, int, AccountTxRow]] = []
        with self._env.begin(db=self._rows, buffers=False) as txn:
            cursor = txn.cursor()
            # The first key at or after the bound, then step back: every earlier key of the prefix.
            bound = address + (_POSITION.pack(*before) if before is not None else b"\xff" * _POSITION.size)
            positioned = cursor.prev() if cursor.set_range(bound) else cursor.last()
            while positioned and len(found) < limit:
                key = cursor.key()
                if key[:ADDRESS_SIZE_BYTES] != address:
                    break
                height, index = _POSITION.unpack(key[ADDRESS_SIZE_BYTES:])
                found.append((int(height), int(index), codec.decode_trusted(AccountTxRow, cursor.value())))
                positioned = cursor.prev()
        return found
