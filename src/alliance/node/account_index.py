"""Feeding the account index from committed blocks, off the commit path (decision 017).

Theory of operation: ``AccountIndexer.step`` reads the chain store from the index's recorded
position (the first transaction not indexed yet) and writes, in one transaction of the index, the
rows of at most a given number of transactions: for each, the sender's address and every address
its receipt's events name (decoded by the emitting module's declared event type, address fields by
declared type; a contract's events, which carry no declared types, by their 20-byte values), with
the call and its status. Only transactions the chain store indexes count (a
row refused by a block's checks has no committed hash). The runtime calls ``step`` in slices after
blocks commit, yielding between slices, so a block's commit never waits for the index and a node
catching up with its index (a first start on an old store) stays responsive.

With each block indexed whole goes the list of who emitted events in it, for readers of one
module's events over many blocks (``NodeRuntime.emitted_in``).

The sender's address costs a point decompression and a Keccak hash (~25 us); senders repeat, so a
bounded map remembers the addresses of recent public keys.

On start the index is checked against the store: another chain's genesis, another format, or a
position past the store's last height (the store was replaced) resets it; it then rebuilds from
the first block.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import msgspec
import msgspec.inspect

from alliance import codec
from alliance.crypto.keys import address_of
from alliance.errors import NotFound
from alliance.execution.modules import builtin_modules
from alliance.ledger.block import Block, Event, Receipt
from alliance.ledger.transaction import Transaction, is_address_type, tx_hash_of_canonical
from alliance.storage.account_index import ADDRESS_SIZE_BYTES, AccountIndex, AccountTxRow, row_key
from alliance.storage.lmdb_store import ChainStore

SENDER_ADDRESSES_MAX = 100_000
_decode_tx = msgspec.msgpack.Decoder(Transaction).decode  # bytes this node's store holds: trusted
_encode = codec.encode
_decode_map = msgspec.msgpack.Decoder(dict[str, object]).decode


@dataclass(frozen=True, slots=True)
class _EventShape:
    kind: type[msgspec.Struct]
    addresses: tuple[str, ...]  # fields holding one address
    address_lists: tuple[str, ...]  # fields holding a list of addresses


def _shape(kind: type[msgspec.Struct]) -> _EventShape:
    info = msgspec.inspect.type_info(kind)
    single: list[str] = []
    lists: list[str] = []
    for field in getattr(info, "fields", ()):
        if is_address_type(field.type):
            single.append(field.name)
        elif isinstance(field.type, msgspec.inspect.ListType) and is_address_type(field.type.item_type):
            lists.append(field.name)
    return _EventShape(kind, tuple(single), tuple(lists))


@cache
def event_shapes() -> dict[tuple[str, str], _EventShape]:
    """(emitter, event name) -> its declared type and address fields, for every registered module."""
    return {(m.name, name): _shape(kind) for m in builtin_modules() for name, kind in m.events.items()}


def _contract_event_addresses(data: bytes) -> list[bytes]:
    """A contract's event is a msgpack map of its fields, an address among them as its 20 bytes
    (``contracts.api.emit``); its declared types are not on the chain, so every top-level 20-byte
    value counts as an address (a 20-byte ``bytes`` field would be taken for one: harmless here)."""
    try:
        fields = _decode_map(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return []
    return [v for v in fields.values() if isinstance(v, bytes) and len(v) == ADDRESS_SIZE_BYTES]


def event_addresses(event: Event) -> list[bytes]:
    """The addresses an event names: a module's by its declared type, a contract's as above."""
    shape = event_shapes().get((event.emitter, event.name))
    if shape is None:
        return _contract_event_addresses(event.data)
    if not (shape.addresses or shape.address_lists):
        return []
    try:
        decoded = codec.decode_trusted(shape.kind, event.data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return []  # an event of that name in another shape names no account we can read
    found = [value for name in shape.addresses if isinstance(value := getattr(decoded, name), bytes)]
    for name in shape.address_lists:
        found.extend(v for v in getattr(decoded, name) if isinstance(v, bytes))
    return found


class AccountIndexer:
    """Brings ``index`` up to ``store``'s last committed block, a slice at a time."""

    def __init__(self, store: ChainStore, index: AccountIndex, genesis_hash: bytes) -> None:
        self.store = store
        self.index = index
        next_height, _ = index.next_position()
        if not index.matches(genesis_hash) or next_height > (store.last_height() or 0) + 1:
            index.reset(genesis_hash)
        self._senders: dict[bytes, bytes] = {}
        self._loaded: tuple[int, Block, list[Receipt]] | None = None

    @property
    def indexed_height(self) -> int:
        """Every transaction of this height and below is indexed."""
        return self.index.next_position()[0] - 1

    def _block(self, height: int) -> tuple[Block, list[Receipt]]:
        loaded = self._loaded
        if loaded is None or loaded[0] != height:
            block = codec.decode_trusted(Block, self.store.block(height))
            receipts = codec.decode_trusted(list[Receipt], self.store.receipts(height))
            loaded = self._loaded = (height, block, receipts)
        return loaded[1], loaded[2]

    def _sender(self, public_key: bytes) -> bytes:
        address = self._senders.get(public_key)
        if address is None:
            if len(self._senders) >= SENDER_ADDRESSES_MAX:
                self._senders.pop(next(iter(self._senders)))  # the oldest
            address = self._senders[public_key] = address_of(public_key)
        return address

    def _committed(self, tx_hash: bytes, height: int, index: int, receipt: Receipt) -> bool:
        if receipt.ok or receipt.gas_used:
            return True  # executed: the store indexed it
        try:  # possibly a row the block's checks refused: not a committed transaction
            return self.store.tx_location(tx_hash) == (height, index)
        except NotFound:
            return False

    def _rows(self, height: int, index: int, raw: bytes, receipt: Receipt) -> list[tuple[bytes, bytes]]:
        tx_hash = tx_hash_of_canonical(raw)
        if not self._committed(tx_hash, height, index, receipt):
            return []
        body = _decode_tx(raw).body
        sender = self._sender(body.sender)
        call = body.call
        position = row_key(sender, height, index)[ADDRESS_SIZE_BYTES:]
        target, method, status = call.target, call.method, receipt.status
        rows = [(sender + position, _encode(AccountTxRow(tx_hash, target, method, status, True)))]
        named = {a for event in receipt.events for a in event_addresses(event) if a != sender}
        if named:
            other = _encode(AccountTxRow(tx_hash, target, method, status, False))
            rows.extend((account + position, other) for account in named)
        return rows

    def step(self, txs_max: int) -> int:
        """Index at most ``txs_max`` transactions (whole empty blocks count one each); how many
        were looked at: 0 when the index is up to date."""
        last = self.store.last_height() or 0
        height, index = self.index.next_position()
        rows: list[tuple[bytes, bytes]] = []
        emitters: dict[int, list[str]] = {}
        done = 0
        while height <= last and done < txs_max:
            block, receipts = self._block(height)
            end = min(len(block.txs), index + txs_max - done)
            for i in range(index, end):
                rows.extend(self._rows(height, i, block.txs[i], receipts[i]))
            done += max(1, end - index)
            if end >= len(block.txs):
                emitters[height] = sorted({e.emitter for r in receipts for e in r.events})
                height, index = height + 1, 0
            else:
                index = end
        if done:
            self.index.add(rows, (height, index), emitters)
        return done
