"""The account index: rows by account in chain order, read newest first a page at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from alliance import codec
from alliance.errors import InvariantViolation
from alliance.storage.account_index import PAGE_ROWS_MAX, AccountIndex, AccountTxRow, row_key

MAP_SIZE_BYTES = 64 * 1024**2
ALICE, BOB, LAST = b"\x11" * 20, b"\x12" * 20, b"\xff" * 20


def row(n: int, sent: bool = True) -> bytes:
    return codec.encode(AccountTxRow(bytes([n]) * 32, "accounts", "transfer", "ok", sent))


def test_pages_walk_an_accounts_rows_newest_first_and_stop_at_its_prefix(tmp_path: Path) -> None:
    index = AccountIndex(tmp_path, map_size_bytes=MAP_SIZE_BYTES)
    index.reset(b"g" * 32)
    positions = [(1, 0), (1, 3), (2, 0), (5, 1), (5, 2)]
    rows = [(row_key(ALICE, h, i), row(n)) for n, (h, i) in enumerate(positions)]
    rows += [(row_key(BOB, 3, 0), row(9, sent=False)), (row_key(LAST, 4, 0), row(8))]
    index.add(rows, (6, 0))
    assert index.next_position() == (6, 0)

    newest = index.page(ALICE, None, 3)
    assert [(h, i) for h, i, _ in newest] == [(5, 2), (5, 1), (2, 0)]
    assert newest[0][2].tx_hash == bytes([4]) * 32 and newest[0][2].sent
    older = index.page(ALICE, (2, 0), 3)  # strictly before the last row shown
    assert [(h, i) for h, i, _ in older] == [(1, 3), (1, 0)]
    assert [(h, i) for h, i, _ in index.page(ALICE, (5, 2), 10)] == [(5, 1), (2, 0), (1, 3), (1, 0)]
    assert [(h, i) for h, i, _ in index.page(ALICE, (5, 0), 10)] == [(2, 0), (1, 3), (1, 0)]
    assert index.page(ALICE, (1, 0), 10) == []
    bob = index.page(BOB, None, 10)
    assert [(h, i, r.sent) for h, i, r in bob] == [(3, 0, False)]
    assert [(h, i) for h, i, _ in index.page(LAST, None, 10)] == [(4, 0)]  # the last key of all
    assert index.page(b"\x00" * 20, None, 10) == index.page(b"\x13" * 20, None, 10) == []
    with pytest.raises(InvariantViolation):
        index.page(ALICE, None, PAGE_ROWS_MAX + 1)
    index.close()


def test_reset_forgets_every_row_and_names_the_chain(tmp_path: Path) -> None:
    index = AccountIndex(tmp_path, map_size_bytes=MAP_SIZE_BYTES)
    assert not index.matches(b"g" * 32) and index.next_position() == (1, 0)
    index.reset(b"g" * 32)
    index.add([(row_key(ALICE, 1, 0), row(1))], (2, 0))
    index.close()
    reopened = AccountIndex(tmp_path, map_size_bytes=MAP_SIZE_BYTES)
    assert reopened.matches(b"g" * 32) and not reopened.matches(b"h" * 32)
    assert reopened.next_position() == (2, 0) and len(reopened.page(ALICE, None, 5)) == 1
    reopened.reset(b"h" * 32)
    assert reopened.matches(b"h" * 32) and reopened.next_position() == (1, 0)
    assert reopened.page(ALICE, None, 5) == []
    reopened.close()


def test_the_emitters_of_each_block_indexed_whole(tmp_path: Path) -> None:
    index = AccountIndex(tmp_path, map_size_bytes=MAP_SIZE_BYTES)
    index.reset(b"g" * 32)
    index.add([], (3, 0), {1: ["passes", "accounts"], 2: []})
    assert index.emitters(1) == {"accounts", "passes"} and index.emitters(2) == frozenset()
    assert index.emitters(3) is None  # not indexed whole: a reader must look at the block
    index.reset(b"g" * 32)
    assert index.emitters(1) is None
    index.close()
