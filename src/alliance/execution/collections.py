"""An enumerable map in state: one key per entry, plus bounded pages that list the entries.

Theory of operation
-------------------
A state value is bounded (``state.tree.STATE_VALUE_SIZE_BYTES_MAX``), so a set that grows with
use (frozen accounts, a pass's holders) must not live in one value: the write that crosses the
bound would fail every node at the same height. An ``IndexedMap`` keeps each entry under a key of
its own, so reading, adding or removing one entry costs a constant number of state accesses
whatever the size of the map, and keeps an index for listing them page by page:

    <prefix>/n              the number of entries (canonical int; absent: 0)
    <prefix>/e/<member>     [slot, value]: the entry's position in the index and its value (a Struct
                            of the map's value type), encoded together in one canonical array
    <prefix>/p/<page>       the members at slots page*PAGE .. page*PAGE+PAGE-1, in slot order

Removing swaps the last member into the removed one's slot, so pages stay dense and the listing
order is the order of insertion except where removals moved the last member forward. Every
operation is a pure function of state, so every node computes the same keys and values.

The map reads and writes through a ``StateAccess``: a ``CallContext`` in a transaction (each
access charged as gas), or a plain reader for queries (``read`` only).
"""

from __future__ import annotations

from typing import Annotated, Generic, Protocol, TypeVar

import msgspec

from alliance import codec
from alliance.types import invariant

_encode = msgspec.msgpack.Encoder().encode  # = codec.encode, without its per-call lookup

PAGE_ENTRIES = 256
MEMBER_KEY_BYTES_MAX = 128
"""A page holds at most 256 member keys of at most 128 bytes: ~33 KB, far below a state value's bound."""


Page = Annotated[list[bytes], msgspec.Meta(max_length=PAGE_ENTRIES)]
V = TypeVar("V", bound=msgspec.Struct)


class Listed(msgspec.Struct, array_like=True, frozen=True):
    """The value of a map that only lists its members (encodes as an empty array)."""


LISTED = Listed()


class StateReader(Protocol):
    def read(self, key: bytes) -> bytes | None: ...


class StateAccess(StateReader, Protocol):
    def write(self, key: bytes, value: bytes | None) -> None: ...


class IndexedMap(Generic[V]):
    """The map under ``prefix`` of ``value_type`` values (module docstring). Holds no state of its own."""

    __slots__ = ("_count_key", "_decode_entry", "_entry_prefix", "_page_prefix", "value_type")

    def __init__(self, prefix: bytes, value_type: type[V]) -> None:
        self._count_key = prefix + b"/n"
        self._entry_prefix = prefix + b"/e/"
        self._page_prefix = prefix + b"/p/"
        self.value_type = value_type
        self._decode_entry = msgspec.msgpack.Decoder(tuple[int, value_type]).decode  # type: ignore[valid-type]

    def entry_key(self, member: bytes) -> bytes:
        return self._entry_prefix + member

    def count_key(self) -> bytes:
        return self._count_key

    def decode_entry(self, raw: bytes) -> tuple[int, V]:
        """An entry's (slot, value) from its stored bytes (this node's own: no canonical check)."""
        return self._decode_entry(raw)

    # --- reading ---------------------------------------------------------------------------------

    def count(self, state: StateReader) -> int:
        raw = state.read(self._count_key)
        return 0 if raw is None else codec.decode_trusted(int, raw)

    def entry(self, state: StateReader, member: bytes) -> tuple[int, V] | None:
        """``member``'s (slot, value), for a caller that will write it back with ``put_entry``
        without reading it twice."""
        raw = state.read(self._entry_prefix + member)
        return None if raw is None else self._decode_entry(raw)

    def get(self, state: StateReader, member: bytes) -> V | None:
        found = self.entry(state, member)
        return None if found is None else found[1]

    def page(self, state: StateReader, page: int) -> list[bytes]:
        """The members listed on ``page`` (0-based), in slot order."""
        raw = state.read(self._page_key(page))
        return [] if raw is None else codec.decode_trusted(Page, raw)

    def members(self, state: StateReader, start: int, count_max: int) -> list[bytes]:
        """Up to ``count_max`` members from slot ``start`` on."""
        total = self.count(state)
        out: list[bytes] = []
        slot = max(0, start)
        while slot < total and len(out) < count_max:
            members = self.page(state, slot // PAGE_ENTRIES)
            offset = slot % PAGE_ENTRIES
            taken = members[offset : offset + count_max - len(out)]
            invariant(bool(taken), f"index page {slot // PAGE_ENTRIES} is shorter than the count says")
            out.extend(taken)
            slot += len(taken)
        return out

    # --- writing ---------------------------------------------------------------------------------

    def put(self, state: StateAccess, member: bytes, value: V) -> bool:
        """Set ``member``'s value; True when it was not in the map before."""
        return self.put_entry(state, member, self.entry(state, member), value)

    def put_entry(self, state: StateAccess, member: bytes, entry: tuple[int, V] | None, value: V) -> bool:
        """Set ``member``'s value, given what ``entry()`` read for it (None: not in the map).
        True when the member is new."""
        if entry is not None:
            state.write(self._entry_prefix + member, _encode((entry[0], value)))
            return False
        invariant(0 < len(member) <= MEMBER_KEY_BYTES_MAX, "an indexed member key is 1..128 bytes")
        slot = self.count(state)
        members = self.page(state, slot // PAGE_ENTRIES)
        invariant(len(members) == slot % PAGE_ENTRIES, "the last index page disagrees with the count")
        state.write(self._page_key(slot // PAGE_ENTRIES), codec.encode([*members, member]))
        state.write(self._entry_prefix + member, _encode((slot, value)))
        state.write(self._count_key, codec.encode(slot + 1))
        return True

    def remove(self, state: StateAccess, member: bytes) -> bool:
        """Remove ``member``; False when it was not in the map."""
        found = self.entry(state, member)
        if found is None:
            return False
        slot = found[0]
        last = self.count(state) - 1
        invariant(0 <= slot <= last, "an indexed entry's slot is outside the count")
        last_page_number = last // PAGE_ENTRIES
        last_page = self.page(state, last_page_number)
        moved = last_page[last % PAGE_ENTRIES]
        remaining = last_page[: last % PAGE_ENTRIES]
        if moved != member:
            # The last member takes the removed one's slot (on the last page itself, or another).
            if slot // PAGE_ENTRIES == last_page_number:
                remaining[slot % PAGE_ENTRIES] = moved
            else:
                members = self.page(state, slot // PAGE_ENTRIES)
                members[slot % PAGE_ENTRIES] = moved
                state.write(self._page_key(slot // PAGE_ENTRIES), codec.encode(members))
            moved_entry = self.entry(state, moved)
            invariant(moved_entry is not None, "an indexed member has an entry")
            state.write(self._entry_prefix + moved, _encode((slot, moved_entry[1])))  # type: ignore[index]
        state.write(self._page_key(last_page_number), codec.encode(remaining) if remaining else None)
        state.write(self._entry_prefix + member, None)
        state.write(self._count_key, codec.encode(last) if last else None)
        return True

    def _page_key(self, page: int) -> bytes:
        return self._page_prefix + page.to_bytes(4, "big")
