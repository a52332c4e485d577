"""Parts of the simulator under the broken variants and the speed-ups: the memoising verifier
answers exactly what a fresh check answers, the event queue keeps (time, sequence) order, and a
WAL whose host ignores ``must_sync`` loses everything in a crash."""

from __future__ import annotations

import random

from alliance.consensus.wal import WalRecord, WalTimeout
from alliance.crypto.keys import AccountKey
from alliance.mempool.verifier import BatchVerifier
from alliance.testing.sim.clock import EventQueue
from alliance.testing.sim.disk import SimWal
from alliance.testing.sim.sigmemo import MemoBatchVerifier

DIGEST = bytes(range(32))


def _items() -> list[tuple[bytes, bytes, bytes]]:
    keys = [AccountKey(bytes([i + 1]) * 32) for i in range(3)]
    good = [(k.public_key, DIGEST, k.sign_digest(DIGEST)) for k in keys]
    forged = (keys[0].public_key, DIGEST, keys[1].sign_digest(DIGEST))  # another key's signature
    other_digest = (keys[2].public_key, bytes(32), good[2][2])  # a signature of another digest
    return [*good, forged, other_digest]


def test_the_memo_answers_what_a_fresh_check_answers_and_checks_each_item_once() -> None:
    items = _items()
    fresh = BatchVerifier("inline").verify_senders(items)
    memo = MemoBatchVerifier()
    assert memo.verify_senders(items) == fresh
    assert [s is not None for s in fresh] == [True, True, True, False, False]
    assert memo.verified == len(items)
    # Again, in another order and mixed with a new item: only the new one is checked.
    again = [items[4], items[0], items[3]]
    assert memo.verify_senders(again) == [fresh[4], fresh[0], fresh[3]]
    assert memo.verify_batch(again) == [False, True, False]
    assert memo.verified == len(items)


def test_the_memo_is_bounded_and_still_right_after_clearing() -> None:
    items = _items()
    memo = MemoBatchVerifier(entries_max=2)
    first = memo.verify_senders(items[:2])
    assert memo.verify_senders(items[2:4]) == BatchVerifier("inline").verify_senders(items[2:4])
    assert memo.verify_senders(items[:2]) == first  # cleared meanwhile: checked again
    assert memo.verified == 6


def test_the_event_queue_runs_in_time_then_insertion_order() -> None:
    queue = EventQueue()
    ran: list[str] = []
    queue.at(5, lambda: ran.append("b"))
    queue.at(1, lambda: ran.append("a"))
    queue.at(5, lambda: ran.append("c"))  # same time as b: after it
    queue.after(2, lambda: queue.after(0, lambda: ran.append("d")))  # at 2, then "now" (2)
    queue.run_until(4)
    assert ran == ["a", "d"] and queue.now_ms == 4
    queue.at(0, lambda: ran.append("e"))  # in the past: runs at the current time, after nothing
    queue.run_until(10)
    assert ran == ["a", "d", "e", "b", "c"] and queue.now_ms == 10


def _records(height: int) -> list[WalRecord]:
    return [WalTimeout(height=height, round=0, step=1)]


def test_a_wal_that_ignores_must_sync_loses_everything_in_a_crash() -> None:
    honest, broken = SimWal(), SimWal(honours_sync=False)
    for wal in (honest, broken):
        wal.append(_records(1), sync=True)
        wal.append(_records(2), sync=False)
        wal.crash(random.Random(1), lose_unsynced=True, torn=0.0)
    assert len(honest.replay()) == 1  # the synced record survives, the unsynced one is lost
    assert broken.replay() == []
