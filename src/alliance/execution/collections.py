"""An enumerable map in state: one key per entry, plus bounded pages that list the entries.

Theory of operation
-------------------
A state value is bounded (``state.tree.STATE_VALUE_SIZE_BYTES_MAX``), so a set that grows with
use (frozen accounts, a pass's holders) must not live in one value: the write that crosses the
bound would fail every node at the same height. An ``IndexedMap`` keeps each entry under a key of
its own, so reading, adding or removing one entry costs a constant number of state accesses
whatever the size of the map, and keeps an index for listing them page by page:

    <prefix>/n              the number of entries (canonical int; absent: 0)
    <prefix>/e/<member>     Entry(slot, value): the entry's value and its position in the index
    <prefix>/p/<page>       the members at slots page*PAGE .. page*PAGE+PAGE-1, in slot order

Removing swaps the last member into the removed one's slot, so pages stay dense and the listing
order is the order of insertion except where removals moved the last member forward. Every
operation is a pure function of state, so every node computes the same keys and values.

The map reads and writes through a ``StateAccess``: a ``CallContext`` in a transaction (each
access charged as gas), or a plain reader for queries (``read`` only).
"""

from __future__ import annotations

from typing import Annotated, Protocol

import msgspec

from alliance import codec
from alliance.codec import Struct
from alliance.types import invariant

PAGE_ENTRIES = 256
MEMBER_KEY_BYTES_MAX = 128
"""A page holds at most 256 member keys of at most 128 bytes: ~33 KB, far below a state value's bound."""


class Entry(Struct):
    slot: Annotated[int, msgspec.Meta(ge=0)]
    value: bytes


Page = Annotated[list[bytes], msgspec.Meta(max_length=PAGE_ENTRIES)]


class StateReader(Protocol):
    def read(self, key: bytes) -> bytes | None: ...


class StateAccess(StateReader, Protocol):
    def write(self, key: bytes, value: bytes | None) -> None: ...


class IndexedMap:
    """The map under ``prefix`` (module docstring). Holds no state of its own."""

    __slots__ = ("_count_key", "_entry_prefix", "_page_prefix")

    def __init__(self, prefix: bytes) -> None:
        self._count_key = prefix + b"/n"
        self._entry_prefix = prefix + b"/e/"
        self._page_prefix = prefix + b"/p/"

    def entry_key(self, member: bytes) -> bytes:
        return self._entry_prefix + member

    def count_key(self) -> bytes:
        return self._count_key

    # --- reading ---------------------------------------------------------------------------------

    def count(self, state: StateReader) -> int:
        raw = state.read(self._count_key)
        return 0 if raw is None else codec.decode_trusted(int, raw)

    def get(self, state: StateReader, member: bytes) -> bytes | None:
        raw = state.read(self.entry_key(member))
        return None if raw is None else codec.decode_trusted(Entry, raw).value

    def entry(self, state: StateReader, member: bytes) -> Entry | None:
        """``member``'s entry (its slot and value), for a caller that will write it back with
        ``put_entry`` without reading it twice."""
        raw = state.read(self.entry_key(member))
        return None if raw is None else codec.decode_trusted(Entry, raw)

    def put_entry(self, state: StateAccess, member: bytes, entry: Entry | None, value: bytes) -> None:
        """Set ``member``'s value, given the entry ``entry()`` read for it (None: not in the map)."""
        if entry is None:
            self.put(state, member, value)
        else:
            state.write(self.entry_key(member), codec.encode(Entry(entry.slot, value)))

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

    def put(self, state: StateAccess, member: bytes, value: bytes) -> bool:
        """Set ``member``'s value; True when it was not in the map before."""
        invariant(0 < len(member) <= MEMBER_KEY_BYTES_MAX, "an indexed member key is 1..128 bytes")
        key = self.entry_key(member)
        raw = state.read(key)
        if raw is not None:
            slot = codec.decode_trusted(Entry, raw).slot
            state.write(key, codec.encode(Entry(slot, value)))
            return False
        slot = self.count(state)
        members = self.page(state, slot // PAGE_ENTRIES)
        invariant(len(members) == slot % PAGE_ENTRIES, "the last index page disagrees with the count")
        state.write(self._page_key(slot // PAGE_ENTRIES), codec.encode([*members, member]))
        state.write(key, codec.encode(Entry(slot, value)))
        state.write(self._count_key, codec.encode(slot + 1))
        return True

    def remove(self, state: StateAccess, member: bytes) -> bool:
        """Remove ``member``; False when it was not in the map."""
        key = self.entry_key(member)
        raw = state.read(key)
        if raw is None:
            return False
        slot = codec.decode_trusted(Entry, raw).slot
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
            moved_raw = state.read(self.entry_key(moved))
            invariant(moved_raw is not None, "an indexed member has an entry")
            moved_value = codec.decode_trusted(Entry, moved_raw).value  # type: ignore[arg-type]
            state.write(self.entry_key(moved), codec.encode(Entry(slot, moved_value)))
        state.write(self._page_key(last_page_number), codec.encode(remaining) if remaining else None)
        state.write(key, None)
        state.write(self._count_key, codec.encode(last) if last else None)
        return True

    def _page_key(self, page: int) -> bytes:
        return self._page_prefix + page.to_bytes(4, "big")
