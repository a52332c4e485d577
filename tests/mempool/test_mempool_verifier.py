"""BatchVerifier: the three modes agree, small batches stay inline, worker failures are operational."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from mempool_helpers import KEYS

from alliance.errors import OperationalError, UsageError
from alliance.mempool import BatchVerifier
from alliance.mempool.verifier import MODES, Mode

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
def verifiers() -> Iterator[dict[Mode, BatchVerifier]]:
    made = {mode: BatchVerifier(mode, workers=2) for mode in MODES}
    yield made
    for verifier in made.values():
        verifier.close()


@pytest.mark.parametrize("count", [0, 1, 63, 64, 200, 1500])
def test_modes_agree_on_a_mixed_batch(verifiers: dict[Mode, BatchVerifier], count: int) -> None:
    items, expected, senders = mixed_items(count)
    for mode, verifier in verifiers.items():
        assert verifier.verify_batch(items) == expected, mode
        assert verifier.verify_senders(items) == senders, mode


def test_pending_batches_overlap_and_answer_in_order(verifiers: dict[Mode, BatchVerifier]) -> None:
    batches = [mixed_items(100 + 37 * i) for i in range(6)]
    for verifier in verifiers.values():
        handles = [verifier.submit_senders(items) for items, _, _ in batches]
        assert [h.result() for h in handles] == [senders for _, _, senders in batches]


def test_sizes_checked_by_the_caller_give_the_same_answers(verifiers: dict[Mode, BatchVerifier]) -> None:
    items, _, senders = mixed_items(700)
    sized = [(item, sender) for item, sender in zip(items, senders, strict=True) if len(item[0]) == 33]
    sized = [(item, sender) for item, sender in sized if len(item[2]) == 64]
    for mode, verifier in verifiers.items():
        answers = verifier.submit_senders([item for item, _ in sized], sizes_checked=True).result()
        assert answers == [sender for _, sender in sized], mode


def test_processes_mode_starts_one_worker_each(verifiers: dict[Mode, BatchVerifier]) -> None:
    pids = verifiers["processes"].worker_pids()
    assert len(pids) == 2
    assert os.getpid() not in pids
    assert verifiers["inline"].worker_pids() == []


def test_small_batches_do_not_reach_the_workers() -> None:
    with BatchVerifier("processes", workers=1, inline_items_max=10**9) as verifier:
        pid = verifier.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)  # a dead worker would fail any batch it was sent
        items, expected, _ = mixed_items(300)
        assert verifier.verify_batch(items) == expected


def test_worker_crash_is_an_operational_error_and_the_pool_recovers() -> None:
    items, expected, _ = mixed_items(256)
    with BatchVerifier("processes", workers=2) as verifier:
        assert verifier.verify_batch(items) == expected
        os.kill(verifier.worker_pids()[0], signal.SIGKILL)
        with pytest.raises(OperationalError, match="worker"):
            verifier.verify_batch(items)
        assert verifier.verify_batch(items) == expected  # a fresh set of workers
        assert len(verifier.worker_pids()) == 2


def test_hung_worker_is_an_operational_error_not_a_hang() -> None:
    items, expected, _ = mixed_items(256)
    with BatchVerifier("processes", workers=2, batch_timeout_ms=300) as verifier:
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


def test_pending_batch_fails_cleanly_when_closed_before_collection() -> None:
    verifier = BatchVerifier("processes", workers=2)
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
