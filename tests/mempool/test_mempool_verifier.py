"""BatchVerifier: the three modes (and processes with the caller verifying too) agree, small
batches stay inline, worker failures are operational, the caller shares the work by stealing."""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import signal
import threading
from collections.abc import Iterator

import pytest
from mempool_helpers import KEYS

from alliance.errors import OperationalError, UsageError
from alliance.mempool import BatchVerifier
from alliance.mempool import verifier as verifier_module
from alliance.mempool.verifier import FED_ITEMS_MAX, MODES, STEAL_CHUNK_ITEMS, steal_chunk_bounds

Item = tuple[bytes, bytes, bytes]


def mixed_items(count: int) -> tuple[list[Item], list[bool], list[bytes | None]]:
    """A batch mixing valid signatures with every way of being invalid, and its expected answers."""
    items: list[Item] = []
    expected: list[bool] = []
    senders: list[bytes | None] = []
    for i in range(count):
        key = KEYS[i % len(KEYS)]
        digest = i.to_bytes(4, "big") * 8
        signature = key.sign_digest(digest)
        kind = i % 7
        if kind == 1:
            item = (key.public_key, digest, KEYS[(i + 1) % len(KEYS)].sign_digest(digest))  # other signer
        elif kind == 2:
            item = (key.public_key, bytes(32), signature)  # other digest
        elif kind == 3:
            item = (key.public_key[:32], digest, signature)  # short public key
        elif kind == 4:
            item = (key.public_key, digest, signature[:63])  # short signature
        elif kind == 5:
            item = (b"\x05" + key.public_key[1:], digest, signature)  # not a point encoding
        else:
            item = (key.public_key, digest, signature)
        items.append(item)
        valid = kind in (0, 6)
        expected.append(valid)
        senders.append(key.address if valid else None)
    return items, expected, senders


@pytest.fixture(scope="module")
def verifiers() -> Iterator[dict[str, BatchVerifier]]:
    made: dict[str, BatchVerifier] = {mode: BatchVerifier(mode, workers=2) for mode in MODES}
    made["processes+caller"] = BatchVerifier("processes", workers=1, caller_verifies=True)
    yield made
    for verifier in made.values():
        verifier.close()


@pytest.mark.parametrize("count", [0, 1, 63, 64, 200, 1500])
def test_modes_agree_on_a_mixed_batch(verifiers: dict[str, BatchVerifier], count: int) -> None:
    items, expected, senders = mixed_items(count)
    for mode, verifier in verifiers.items():
        assert verifier.verify_batch(items) == expected, mode
        assert verifier.verify_senders(items) == senders, mode


def test_pending_batches_overlap_and_answer_in_order(verifiers: dict[str, BatchVerifier]) -> None:
    batches = [mixed_items(100 + 37 * i) for i in range(6)]
    for verifier in verifiers.values():
        handles = [verifier.submit_senders(items) for items, _, _ in batches]
        assert [h.result() for h in handles] == [senders for _, _, senders in batches]


def test_sizes_checked_by_the_caller_give_the_same_answers(verifiers: dict[str, BatchVerifier]) -> None:
    items, _, senders = mixed_items(700)
    sized = [(item, sender) for item, sender in zip(items, senders, strict=True) if len(item[0]) == 33]
    sized = [(item, sender) for item, sender in sized if len(item[2]) == 64]
    for mode, verifier in verifiers.items():
        answers = verifier.submit_senders([item for item, _ in sized], sizes_checked=True).result()
        assert answers == [sender for _, sender in sized], mode


def test_processes_mode_starts_one_worker_each(verifiers: dict[str, BatchVerifier]) -> None:
    pids = verifiers["processes"].worker_pids()
    assert len(pids) == 2
    assert os.getpid() not in pids
    assert verifiers["inline"].worker_pids() == []


def test_caller_verifies_by_default_with_one_worker_fewer() -> None:
    cores = os.cpu_count() or 1
    with BatchVerifier("processes", caller_verifies=True) as verifier:
        assert verifier.workers == max(1, cores - 1)
        assert len(verifier.worker_pids()) == verifier.workers
    assert not BatchVerifier("inline", caller_verifies=True).caller_verifies  # processes mode only


def well_sized(items: list[Item]) -> int:
    return sum(1 for public_key, _, signature in items if len(public_key) == 33 and len(signature) == 64)


def fed_to_one_worker(batches: list[list[Item]]) -> int:
    """Items a single worker is fed up front: whole chunks, in order, up to ``FED_ITEMS_MAX``."""
    fed = 0
    for items in batches:
        for start, end in steal_chunk_bounds(well_sized(items)):
            chunk = end - start
            if fed + chunk > FED_ITEMS_MAX:
                return fed
            fed += chunk
    return fed


class CountingVerify:
    """Counts the items verified in this (the calling) process."""

    def __init__(self) -> None:
        self.items = 0
        self._real = verifier_module._verify_items

    def __call__(self, suite: object, items: list[Item], derive: bool) -> object:
        self.items += len(items)
        return self._real(suite, items, derive)  # type: ignore[arg-type]


def test_the_caller_verifies_what_is_still_queued_while_the_worker_is_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counting = CountingVerify()
    monkeypatch.setattr(verifier_module, "_verify_items", counting)
    items, _, senders = mixed_items(1500)
    with BatchVerifier("processes", workers=1, caller_verifies=True) as verifier:
        worker = verifier.worker_pids()[0]
        os.kill(worker, signal.SIGSTOP)  # busy for half a second: it holds only what it was fed
        resume = threading.Timer(0.5, os.kill, (worker, signal.SIGCONT))
        resume.start()
        try:
            handle = verifier.submit_senders(items)
            assert handle.result() == senders
        finally:
            resume.join()
        fed = fed_to_one_worker([items])
        # Every chunk the worker was not fed, the caller took (items of wrong sizes go nowhere).
        assert counting.items == well_sized(items) - fed
        counting.items = 0
        assert verifier.verify_senders(items) == senders  # the worker answers again
        assert counting.items < len(items)


def test_a_caller_steals_later_batches_chunks_while_it_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = CountingVerify()
    monkeypatch.setattr(verifier_module, "_verify_items", counting)
    batches = [mixed_items(300 + 50 * i) for i in range(5)]
    total = sum(well_sized(items) for items, _, _ in batches)
    with BatchVerifier("processes", workers=1, caller_verifies=True) as verifier:
        worker = verifier.worker_pids()[0]
        os.kill(worker, signal.SIGSTOP)
        resume = threading.Timer(0.5, os.kill, (worker, signal.SIGCONT))
        resume.start()
        try:
            handles = [verifier.submit_senders(items) for items, _, _ in batches]
            first = handles[0].result()
        finally:
            resume.join()
        # Waiting for the first batch's fed chunks, the caller verified everything else queued.
        assert counting.items == total - fed_to_one_worker([items for items, _, _ in batches])
        assert [first] + [h.result() for h in handles[1:]] == [s for _, _, s in batches]
        assert counting.items == total - fed_to_one_worker([items for items, _, _ in batches])


def test_threads_sharing_a_caller_verifier_get_their_own_answers() -> None:
    batches = [mixed_items(200 + 97 * i) for i in range(8)]
    with (
        BatchVerifier("processes", workers=1, caller_verifies=True) as verifier,
        concurrent.futures.ThreadPoolExecutor(len(batches)) as threads,
    ):

        def run(items: list[Item]) -> list[list[bytes | None]]:
            return [verifier.verify_senders(items) for _ in range(3)]

        futures = [threads.submit(run, items) for items, _, _ in batches]
        for future, (_, _, senders) in zip(futures, batches, strict=True):
            assert future.result() == [senders] * 3


@pytest.mark.parametrize("count", [0, 1, 95, 96, 97, 193, 1000])
def test_caller_verifies_chunks_are_even_and_bounded(count: int) -> None:
    bounds = steal_chunk_bounds(count)
    sizes = [end - start for start, end in bounds]
    assert sum(sizes) == count and all(0 < size <= STEAL_CHUNK_ITEMS for size in sizes)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))  # contiguous
    assert not bounds or bounds[0][0] == 0
    assert not sizes or max(sizes) - min(sizes) <= len(sizes)


def test_small_batches_do_not_reach_the_workers() -> None:
    with BatchVerifier("processes", workers=1, inline_items_max=10**9) as verifier:
        pid = verifier.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)  # a dead worker would fail any batch it was sent
        items, expected, _ = mixed_items(300)
        assert verifier.verify_batch(items) == expected


@pytest.mark.parametrize("caller_verifies", [False, True])
def test_worker_crash_is_an_operational_error_and_the_pool_recovers(caller_verifies: bool) -> None:
    items, expected, _ = mixed_items(256)
    with BatchVerifier("processes", workers=2, caller_verifies=caller_verifies) as verifier:
        assert verifier.verify_batch(items) == expected
        os.kill(verifier.worker_pids()[0], signal.SIGKILL)
        with pytest.raises(OperationalError, match="worker"):
            verifier.verify_batch(items)
        assert verifier.verify_batch(items) == expected  # a fresh set of workers
        assert len(verifier.worker_pids()) == 2


@pytest.mark.parametrize("caller_verifies", [False, True])
def test_hung_worker_is_an_operational_error_not_a_hang(caller_verifies: bool) -> None:
    items, expected, _ = mixed_items(256)
    with BatchVerifier(
        "processes", workers=2, batch_timeout_ms=300, caller_verifies=caller_verifies
    ) as verifier:
        stopped = verifier.worker_pids()[1]
        os.kill(stopped, signal.SIGSTOP)
        with pytest.raises(OperationalError, match="did not answer"):
            verifier.verify_batch(items)
        assert stopped not in verifier.worker_pids()
        assert verifier.verify_batch(items) == expected


def test_close_is_idempotent_and_stops_the_workers() -> None:
    verifier = BatchVerifier("processes", workers=2)
    pids = verifier.worker_pids()
    verifier.close()
    verifier.close()
    assert verifier.worker_pids() == []
    for pid in pids:  # the workers are gone (reaped by their parent, the fork server)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(UsageError, match="closed"):
        verifier.verify_batch(mixed_items(100)[0])


@pytest.mark.parametrize("caller_verifies", [False, True])
def test_pending_batch_fails_cleanly_when_closed_before_collection(caller_verifies: bool) -> None:
    verifier = BatchVerifier("processes", workers=2, caller_verifies=caller_verifies)
    handle = verifier.submit_senders(mixed_items(200)[0])
    verifier.close()
    with pytest.raises(OperationalError):
        handle.result()


@pytest.mark.parametrize(
    "options",
    [
        {"mode": "gpu"},
        {"mode": "inline", "workers": 0},
        {"mode": "inline", "suite_name": "nope"},
        {"mode": "processes", "start_method": "fork"},
        {"mode": "inline", "batch_timeout_ms": 0},
    ],
)
def test_bad_options_are_usage_errors(options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        BatchVerifier(**options)  # type: ignore[arg-type]


def test_batches_of_only_wrong_sizes_never_reach_the_workers() -> None:
    items = [(b"\x02" * 32, bytes(32), bytes(64))] * 100
    with BatchVerifier("processes", workers=2, inline_items_max=0) as verifier:
        assert verifier.verify_batch(items) == [False] * 100
        assert verifier.verify_batch([]) == []
