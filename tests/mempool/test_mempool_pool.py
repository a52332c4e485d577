"""Mempool admission: one test per refusal, bounds, FIFO reaping, updates and the signature cache."""

from __future__ import annotations

import os
import signal

import msgspec
import pytest
from mempool_helpers import CHAIN_ID, HEIGHT, KEYS, PARAMS, Committed, PoolFactory, SpySuite, make_raw

from alliance import codec
from alliance.crypto.sigcache import SignatureCache
from alliance.errors import (
    AllianceError,
    BadSignature,
    DecodeError,
    DuplicateTx,
    GasLimitTooHigh,
    InvariantViolation,
    MempoolFull,
    OperationalError,
    TxExpired,
    TxTooFarAhead,
    TxTooLarge,
    UsageError,
    WrongChainId,
)
from alliance.ledger.transaction import TX_SIZE_BYTES_MAX, Transaction, decode_tx, tx_hash
from alliance.mempool import Accepted, BatchVerifier, Mempool
from alliance.mempool import pool as pool_module


def only(results: list[object]) -> object:
    assert len(results) == 1
    return results[0]


def assert_refused(result: object, kind: type[AllianceError], *words: str) -> None:
    assert type(result) is kind, result
    assert isinstance(result, AllianceError)
    assert result.message
    for word in words:
        assert word in result.message, result.message


# --- acceptance -------------------------------------------------------------------------------------


def test_accepts_a_valid_transaction(make_pool: PoolFactory) -> None:
    pool = make_pool()
    raw = make_raw(KEYS[2])
    result = only(pool.admit_batch([raw], HEIGHT))
    assert result == Accepted(tx_hash(decode_tx(raw)), KEYS[2].address)
    assert len(pool) == 1
    assert pool.size_bytes == len(raw)
    assert pool.contains(tx_hash(decode_tx(raw)))
    assert pool.get(tx_hash(decode_tx(raw))) == raw


@pytest.mark.parametrize("args", [None, b"", [b"x" * 300, 2**63 - 1], {"k": [1, 2, 3]}, "é" * 40])
def test_hash_taken_from_raw_bytes_equals_tx_hash(make_pool: PoolFactory, args: object) -> None:
    raw = make_raw(args=args if args is not None else [KEYS[1].address, 1])
    result = only(make_pool().admit_batch([raw], HEIGHT))
    assert isinstance(result, Accepted)
    assert result.tx_hash == tx_hash(decode_tx(raw))


def test_bytearray_and_memoryview_inputs_are_accepted(make_pool: PoolFactory) -> None:
    pool = make_pool()
    results = pool.admit_batch([bytearray(make_raw()), memoryview(make_raw())], HEIGHT)  # type: ignore[list-item]
    assert all(isinstance(r, Accepted) for r in results)


# --- one test per refusal ---------------------------------------------------------------------------


def test_decode_error_for_malformed_bytes(make_pool: PoolFactory) -> None:
    assert_refused(only(make_pool().admit_batch([b"\x92\x01"], HEIGHT)), DecodeError)


def test_decode_error_for_non_canonical_bytes(make_pool: PoolFactory) -> None:
    raw = make_raw()
    assert raw[0] == 0x92
    longer = b"\xdc\x00\x02" + raw[1:]  # the same array, with a 16-bit length where fixarray fits
    assert msgspec.msgpack.decode(longer, type=Transaction) == decode_tx(raw)
    assert_refused(only(make_pool().admit_batch([longer], HEIGHT)), DecodeError, "non-canonical")


def test_decode_error_for_trailing_bytes(make_pool: PoolFactory) -> None:
    assert_refused(only(make_pool().admit_batch([make_raw() + b"\x00"], HEIGHT)), DecodeError)


def test_decode_error_for_something_not_bytes(make_pool: PoolFactory) -> None:
    result = only(make_pool().admit_batch(["not bytes"], HEIGHT))  # type: ignore[list-item]
    assert_refused(result, DecodeError, "str")


def test_tx_too_large_is_checked_before_decoding(make_pool: PoolFactory) -> None:
    garbage = b"\xff" * (TX_SIZE_BYTES_MAX + 1)  # would be a DecodeError if it were decoded
    assert_refused(only(make_pool().admit_batch([garbage], HEIGHT)), TxTooLarge, str(TX_SIZE_BYTES_MAX))


def test_tx_too_large_for_a_signed_transaction(make_pool: PoolFactory) -> None:
    raw = make_raw(args=b"x" * TX_SIZE_BYTES_MAX)
    assert_refused(only(make_pool().admit_batch([raw], HEIGHT)), TxTooLarge)


def test_wrong_chain_id(make_pool: PoolFactory) -> None:
    result = only(make_pool().admit_batch([make_raw(chain_id="other-chain")], HEIGHT))
    assert_refused(result, WrongChainId, "other-chain", CHAIN_ID)


def test_tx_expired_when_it_cannot_make_the_next_block(make_pool: PoolFactory) -> None:
    pool = make_pool()
    assert_refused(only(pool.admit_batch([make_raw(valid_until=HEIGHT)], HEIGHT)), TxExpired, str(HEIGHT + 1))
    assert isinstance(only(pool.admit_batch([make_raw(valid_until=HEIGHT + 1)], HEIGHT)), Accepted)


def test_tx_too_far_ahead_beyond_the_window(make_pool: PoolFactory) -> None:
    pool = make_pool()
    top = HEIGHT + PARAMS.tx_window_blocks
    assert_refused(only(pool.admit_batch([make_raw(valid_until=top + 1)], HEIGHT)), TxTooFarAhead, str(top))
    assert isinstance(only(pool.admit_batch([make_raw(valid_until=top)], HEIGHT)), Accepted)


def test_gas_limit_too_high(make_pool: PoolFactory) -> None:
    pool = make_pool()
    over = make_raw(gas_limit=PARAMS.tx_gas_max + 1)
    assert_refused(only(pool.admit_batch([over], HEIGHT)), GasLimitTooHigh, str(PARAMS.tx_gas_max))
    assert isinstance(only(pool.admit_batch([make_raw(gas_limit=PARAMS.tx_gas_max)], HEIGHT)), Accepted)


def test_duplicate_of_a_pooled_transaction(make_pool: PoolFactory) -> None:
    pool = make_pool()
    raw = make_raw()
    assert isinstance(only(pool.admit_batch([raw], HEIGHT)), Accepted)
    assert_refused(only(pool.admit_batch([raw], HEIGHT)), DuplicateTx, "in the mempool")
    assert len(pool) == 1


def test_duplicate_within_one_batch(make_pool: PoolFactory) -> None:
    pool = make_pool()
    raw = make_raw()
    first, second = pool.admit_batch([raw, raw], HEIGHT)
    assert isinstance(first, Accepted)
    assert_refused(second, DuplicateTx, "this batch")
    assert len(pool) == 1


def test_duplicate_of_a_committed_transaction(make_pool: PoolFactory, committed: Committed) -> None:
    raw = make_raw()
    committed.hashes.add(tx_hash(decode_tx(raw)))
    assert_refused(only(make_pool().admit_batch([raw], HEIGHT)), DuplicateTx, "committed")


def test_bad_signature(make_pool: PoolFactory) -> None:
    pool = make_pool()
    tx = decode_tx(make_raw(KEYS[0]))
    forged = Transaction(body=tx.body, signature=KEYS[1].sign_digest(tx_hash(tx)))  # another key's
    result = only(pool.admit_batch([codec.encode(forged)], HEIGHT))
    assert_refused(result, BadSignature, tx_hash(tx).hex()[:16])
    assert len(pool) == 0


def test_bad_signature_is_not_cached(make_pool: PoolFactory) -> None:
    cache = SignatureCache()
    tx = decode_tx(make_raw())
    forged = Transaction(body=tx.body, signature=KEYS[0].sign_digest(b"\x01" * 32))
    assert isinstance(
        only(make_pool(sigcache=cache).admit_batch([codec.encode(forged)], HEIGHT)), BadSignature
    )
    assert cache.get(tx_hash(tx), forged.signature) is None


def test_mempool_full_by_count(make_pool: PoolFactory) -> None:
    pool = make_pool(txs_max=2)
    results = pool.admit_batch([make_raw() for _ in range(3)], HEIGHT)
    assert [type(r) for r in results] == [Accepted, Accepted, MempoolFull]
    assert isinstance(results[2], OperationalError)
    assert_refused(results[2], MempoolFull, "full")
    assert_refused(only(pool.admit_batch([make_raw()], HEIGHT)), MempoolFull)
    assert len(pool) == 2


def test_mempool_full_by_bytes(make_pool: PoolFactory) -> None:
    raw = make_raw()
    pool = make_pool(bytes_max=2 * len(raw) + 10)
    results = pool.admit_batch([make_raw(), make_raw(), make_raw()], HEIGHT)
    assert [type(r) for r in results] == [Accepted, Accepted, MempoolFull]
    assert pool.size_bytes <= pool.bytes_max


def test_a_full_pool_spends_no_signature_work(make_pool: PoolFactory, spy: SpySuite) -> None:
    pool = make_pool(txs_max=1)
    pool.admit_batch([make_raw()], HEIGHT)
    spy.verified = 0
    assert isinstance(only(pool.admit_batch([make_raw()], HEIGHT)), MempoolFull)
    assert spy.verified == 0


def test_mixed_batch_keeps_input_order(make_pool: PoolFactory) -> None:
    pool = make_pool()
    good = [make_raw(KEYS[i]) for i in range(3)]
    batch = [good[0], b"junk", good[1], make_raw(chain_id="x"), good[2], good[0]]
    kinds = [type(r) for r in pool.admit_batch(batch, HEIGHT)]
    assert kinds == [Accepted, DecodeError, Accepted, WrongChainId, Accepted, DuplicateTx]
    assert pool.reap(10, 10**9, 10**12) == good


# --- admission in two halves (begin, then finish) -----------------------------------------------


def test_a_copy_of_a_transaction_in_flight_is_a_duplicate(make_pool: PoolFactory) -> None:
    pool = make_pool()
    raw = make_raw()
    first = pool.begin_admission([raw], HEIGHT)
    second = pool.begin_admission([raw], HEIGHT)  # another batch, before the first is finished
    assert isinstance(only(pool.finish_admission(first)), Accepted)
    assert_refused(only(pool.finish_admission(second)), DuplicateTx, "being admitted")
    assert len(pool) == 1


def test_room_reserved_in_flight_counts_until_finished(make_pool: PoolFactory) -> None:
    pool = make_pool(txs_max=2)
    tx = decode_tx(make_raw(KEYS[1]))
    forged = codec.encode(Transaction(body=tx.body, signature=KEYS[2].sign_digest(tx_hash(tx))))
    first = pool.begin_admission([make_raw(), forged], HEIGHT)
    assert_refused(only(pool.admit_batch([make_raw()], HEIGHT)), MempoolFull)  # both slots reserved
    assert [type(r) for r in pool.finish_admission(first)] == [Accepted, BadSignature]
    assert isinstance(only(pool.admit_batch([make_raw()], HEIGHT)), Accepted)  # the forged one's slot
    assert len(pool) == 2
    assert_refused(only(pool.admit_batch([make_raw()], HEIGHT)), MempoolFull)


def test_committed_while_in_flight_is_refused_at_finish(make_pool: PoolFactory, committed: Committed) -> None:
    cache = SignatureCache()
    pool = make_pool(sigcache=cache)
    raw, other = make_raw(), make_raw(KEYS[1])
    pending = pool.begin_admission([raw, other], HEIGHT)
    committed.hashes.add(tx_hash(decode_tx(raw)))  # another node's block included it meanwhile
    pool.update(HEIGHT + 1, [tx_hash(decode_tx(raw))])
    first, second = pool.finish_admission(pending)
    assert_refused(first, DuplicateTx, "committed while")
    assert isinstance(second, Accepted)
    assert pool.reap(10, 10**9, 10**12) == [other]
    # The refused one's sender, cached when it was verified, is not kept: it is never asked again.
    assert cache.get(tx_hash(decode_tx(raw)), decode_tx(raw).signature) is None
    assert cache.get(tx_hash(decode_tx(other)), decode_tx(other).signature) == KEYS[1].address


def test_expired_while_in_flight_is_refused_at_finish(make_pool: PoolFactory) -> None:
    pool = make_pool()
    short, long = make_raw(valid_until=HEIGHT + 1), make_raw(valid_until=HEIGHT + 5)
    pending = pool.begin_admission([short, long], HEIGHT)
    pool.update(HEIGHT + 1, [])  # the next block came: valid_until HEIGHT + 1 can no longer make it
    first, second = pool.finish_admission(pending)
    assert_refused(first, TxExpired, "while the transaction was being admitted")
    assert isinstance(second, Accepted)
    assert len(pool) == 1


def test_a_batch_whose_screening_fails_leaves_nothing_in_flight(make_pool: PoolFactory) -> None:
    verifier = BatchVerifier("inline")
    pool = make_pool(verifier=verifier)
    raws = [make_raw(KEYS[i]) for i in range(3)]
    verifier.close()  # submitting to a closed verifier is a usage error, raised mid-screening
    with pytest.raises(UsageError):
        pool.begin_admission(raws, HEIGHT)
    open_pool = make_pool()
    assert [type(r) for r in open_pool.admit_batch(raws, HEIGHT)] == [Accepted] * 3
    pool._verifier = BatchVerifier("inline")  # the same pool, its verifier back: nothing was kept
    assert [type(r) for r in pool.admit_batch(raws, HEIGHT)] == [Accepted] * 3


def test_admissions_finish_in_begin_order_and_only_once(make_pool: PoolFactory) -> None:
    pool = make_pool()
    raws = [make_raw(KEYS[i]) for i in range(4)]
    first = pool.begin_admission(raws[:2], HEIGHT)
    second = pool.begin_admission(raws[2:], HEIGHT)
    pool.finish_admission(first)
    pool.finish_admission(second)
    assert pool.reap(10, 10**9, 10**12) == raws
    with pytest.raises(InvariantViolation, match="finished twice"):
        pool.finish_admission(first)


def test_senders_verified_at_screening_are_cached_before_the_finish(
    make_pool: PoolFactory, spy: SpySuite
) -> None:
    """With the answers in hand at screening (an inline verifier), the senders are in the signature
    cache before ``finish_admission``: a proposal checked in between (the node runs consensus
    there) finds them and does not verify the transactions again."""
    sigcache = SignatureCache()
    pool = make_pool(sigcache=sigcache)
    good = [decode_tx(make_raw(KEYS[i])) for i in range(3)]
    victim = decode_tx(make_raw(KEYS[3]))
    forged = Transaction(body=victim.body, signature=KEYS[1].sign_digest(tx_hash(victim)))
    pending = pool.begin_admission([*map(codec.encode, good), codec.encode(forged)], HEIGHT)
    assert spy.verified == 4
    for i, tx in enumerate(good):
        assert sigcache.get(tx_hash(tx), tx.signature) == KEYS[i].address
    assert sigcache.get(tx_hash(forged), forged.signature) is None
    results = pool.finish_admission(pending)
    assert [type(r) for r in results] == [Accepted, Accepted, Accepted, BadSignature]
    assert spy.verified == 4  # the finish verified nothing again
    assert len(pool) == 3


def test_two_halves_on_worker_processes_match_admit_batch(committed: Committed) -> None:
    raws = [make_raw(KEYS[i % len(KEYS)]) for i in range(600)]
    with BatchVerifier("processes", workers=2) as verifier:
        pool = Mempool(
            chain_id=CHAIN_ID,
            params=PARAMS,
            verifier=verifier,
            sigcache=SignatureCache(),
            is_committed=committed,
        )
        begun = [pool.begin_admission(raws[at : at + 200], HEIGHT) for at in range(0, 600, 200)]
        results = [r for pending in begun for r in pool.finish_admission(pending)]
    assert all(isinstance(r, Accepted) for r in results)
    assert pool.reap(1000, 10**9, 10**12) == raws


# --- reaping --------------------------------------------------------------------------------------


def test_reap_is_fifo_and_removes_nothing(make_pool: PoolFactory) -> None:
    pool = make_pool()
    raws = [make_raw(KEYS[i % len(KEYS)]) for i in range(10)]
    for raw in raws:  # one per batch: admission order across batches
        pool.admit_batch([raw], HEIGHT)
    assert pool.reap(100, 10**9, 10**12) == raws
    assert pool.reap(100, 10**9, 10**12) == raws
    assert len(pool) == 10


def test_reap_respects_the_count_bound(make_pool: PoolFactory) -> None:
    pool = make_pool()
    raws = [make_raw() for _ in range(5)]
    pool.admit_batch(raws, HEIGHT)
    assert pool.reap(3, 10**9, 10**12) == raws[:3]
    assert pool.reap(0, 10**9, 10**12) == []


def test_reap_respects_the_bytes_bound_and_stops_at_the_first_misfit(make_pool: PoolFactory) -> None:
    pool = make_pool()
    small, big, small2 = make_raw(), make_raw(args=b"x" * 1000), make_raw()
    pool.admit_batch([small, big, small2], HEIGHT)
    assert pool.reap(10, len(small) + len(big), 10**12) == [small, big]
    assert pool.reap(10, len(small) + len(big) - 1, 10**12) == [small]  # big waits; small2 does not jump it


def test_reap_respects_the_gas_bound(make_pool: PoolFactory) -> None:
    pool = make_pool()
    raws = [make_raw(gas_limit=gas) for gas in (100, 200, 300)]
    pool.admit_batch(raws, HEIGHT)
    assert pool.reap(10, 10**9, 300) == raws[:2]
    assert pool.reap(10, 10**9, 299) == raws[:1]
    assert pool.reap(10, 10**9, 600) == raws


# --- updates --------------------------------------------------------------------------------------


def test_update_removes_committed_transactions(make_pool: PoolFactory) -> None:
    pool = make_pool()
    raws = [make_raw() for _ in range(3)]
    hashes = [r.tx_hash for r in pool.admit_batch(raws, HEIGHT)]  # type: ignore[union-attr]
    pool.update(HEIGHT + 1, [hashes[1], b"\x00" * 32])
    assert pool.reap(10, 10**9, 10**12) == [raws[0], raws[2]]
    assert pool.size_bytes == len(raws[0]) + len(raws[2])
    assert not pool.contains(hashes[1])


def test_update_rechecks_expiry(make_pool: PoolFactory) -> None:
    pool = make_pool()
    soon, later = make_raw(valid_until=HEIGHT + 2), make_raw(valid_until=HEIGHT + 3)
    pool.admit_batch([soon, later], HEIGHT)
    pool.update(HEIGHT + 1, [])
    assert len(pool) == 2  # soon can still make block HEIGHT + 2
    pool.update(HEIGHT + 2, [])
    assert pool.reap(10, 10**9, 10**12) == [later]
    pool.update(HEIGHT + 10, [])
    assert len(pool) == 0
    assert pool.size_bytes == 0


def test_readmission_after_removal_and_expiry_bookkeeping(make_pool: PoolFactory) -> None:
    pool = make_pool()
    raw = make_raw(valid_until=HEIGHT + 5)
    (accepted,) = pool.admit_batch([raw], HEIGHT)
    assert isinstance(accepted, Accepted)
    pool.remove([accepted.tx_hash])
    assert len(pool) == 0
    assert isinstance(only(pool.admit_batch([raw], HEIGHT)), Accepted)
    pool.update(HEIGHT + 4, [])
    assert len(pool) == 1
    pool.update(HEIGHT + 5, [])
    assert len(pool) == 0


def test_expiry_buckets_forget_departed_transactions(
    make_pool: PoolFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A committed transaction stays in its expiry bucket until its height passes, so without the
    rebuild the buckets held every hash admitted within the replay window, whatever the pool's
    bounds. They hold at most twice the pool plus the slack, and expiry still works after a rebuild."""
    monkeypatch.setattr(pool_module, "EXPIRY_SLACK_HASHES", 4)
    pool = make_pool()

    def bucketed() -> int:
        return sum(len(bucket) for bucket in pool._expiry.values())

    kept: list[bytes] = []
    for height in range(HEIGHT, HEIGHT + 8):
        raws = [make_raw(KEYS[i % len(KEYS)], valid_until=height + 20 + i % 3) for i in range(12)]
        hashes = [r.tx_hash for r in pool.admit_batch(raws, height)]  # type: ignore[union-attr]
        kept.append(raws[0])
        pool.update(height + 1, hashes[1:])  # all but one committed
        assert bucketed() <= 2 * len(pool) + 4
    assert pool.reap(100, 10**9, 10**12) == kept  # FIFO order survives the rebuilds
    pool.update(HEIGHT + 26, [])  # every kept transaction's valid_until has passed but the last's
    assert pool.reap(100, 10**9, 10**12) == kept[-1:]
    pool.update(HEIGHT + 27, [])
    assert len(pool) == 0 and pool.size_bytes == 0 and bucketed() == 0


def test_an_admission_in_flight_across_a_rebuild_still_expires_on_time(
    make_pool: PoolFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch screened before a commit that rebuilds the expiry buckets is inserted after it: its
    transactions must land in the rebuilt buckets and expire at their heights."""
    monkeypatch.setattr(pool_module, "EXPIRY_SLACK_HASHES", 0)
    pool = make_pool()
    first = [make_raw(KEYS[i], valid_until=HEIGHT + 9) for i in range(4)]
    hashes = [r.tx_hash for r in pool.admit_batch(first, HEIGHT)]  # type: ignore[union-attr]
    late = make_raw(KEYS[5], valid_until=HEIGHT + 6)
    pending = pool.begin_admission([late], HEIGHT)
    before = pool._expiry
    pool.update(HEIGHT + 1, hashes)  # all four leave: their hashes outnumber the pool, a rebuild
    assert pool._expiry is not before
    (accepted,) = pool.finish_admission(pending)
    assert isinstance(accepted, Accepted)
    pool.update(HEIGHT + 5, [])
    assert pool.reap(10, 10**9, 10**12) == [late]
    pool.update(HEIGHT + 6, [])
    assert len(pool) == 0 and sum(len(b) for b in pool._expiry.values()) == 0


def test_remove_ignores_unknown_hashes(make_pool: PoolFactory) -> None:
    pool = make_pool()
    pool.admit_batch([make_raw()], HEIGHT)
    pool.remove([b"\x01" * 32])
    assert len(pool) == 1


# --- the signature cache ------------------------------------------------------------------------------


def test_verified_senders_are_cached_by_hash(make_pool: PoolFactory) -> None:
    cache = SignatureCache()
    raw = make_raw(KEYS[3])
    make_pool(sigcache=cache).admit_batch([raw], HEIGHT)
    assert cache.get(tx_hash(decode_tx(raw)), decode_tx(raw).signature) == KEYS[3].address


def test_cache_hits_skip_verification(make_pool: PoolFactory, spy: SpySuite) -> None:
    cache = SignatureCache()
    raws = [make_raw(KEYS[i]) for i in range(4)]
    first = make_pool(sigcache=cache).admit_batch(raws[:3], HEIGHT)
    assert spy.verified == 3
    second = make_pool(sigcache=cache).admit_batch(raws, HEIGHT)  # another pool, same cache
    assert spy.verified == 4  # only the one the cache lacked
    assert second[:3] == first
    assert all(isinstance(r, Accepted) for r in second)


def test_a_cached_body_with_a_forged_signature_is_still_verified(
    make_pool: PoolFactory, spy: SpySuite
) -> None:
    cache = SignatureCache()
    raw = make_raw(KEYS[2])
    tx = decode_tx(raw)
    make_pool(sigcache=cache).admit_batch([raw], HEIGHT)
    forged = codec.encode(Transaction(body=tx.body, signature=KEYS[2].sign_digest(b"\x09" * 32)))
    spy.verified = 0
    assert isinstance(only(make_pool(sigcache=cache).admit_batch([forged], HEIGHT)), BadSignature)
    assert spy.verified == 1  # same hash as a cached entry, other signature: no shortcut


def test_one_batch_verification_for_all_survivors(make_pool: PoolFactory, spy: SpySuite) -> None:
    pool = make_pool()
    batch = [make_raw(KEYS[i % 8]) for i in range(20)] + [b"junk", make_raw(valid_until=1)]
    pool.admit_batch(batch, HEIGHT)
    assert spy.verified == 20  # refused ones never reach the verifier


# --- failures of the workers ----------------------------------------------------------------------


def test_closed_verifier_is_a_usage_error(make_pool: PoolFactory) -> None:
    pool = make_pool()
    pool._verifier.close()
    with pytest.raises(AllianceError):
        pool.admit_batch([make_raw()], HEIGHT)


def test_invalid_bounds_are_refused(make_pool: PoolFactory) -> None:
    with pytest.raises(AllianceError):
        make_pool(txs_max=0)
    assert isinstance(make_pool(), Mempool)


def test_all_verifier_modes_admit_alike(make_pool: PoolFactory) -> None:
    good = [make_raw(KEYS[i % 8]) for i in range(150)]
    forged = []
    for i in range(40):  # distinct bodies, each signed over something else
        tx = decode_tx(make_raw(KEYS[i % 8]))
        forged.append(
            codec.encode(Transaction(body=tx.body, signature=KEYS[i % 8].sign_digest(b"\x07" * 32)))
        )
    batch = [raw for pair in zip(good[:40], forged, strict=True) for raw in pair] + good[40:]
    outcomes = []
    for mode in ("inline", "threads", "processes"):
        with BatchVerifier(mode, workers=2) as verifier:  # type: ignore[arg-type]
            pool = make_pool(verifier=verifier)
            results = pool.admit_batch(batch, HEIGHT)
            summary = [r if isinstance(r, Accepted) else type(r) for r in results]
            outcomes.append((summary, pool.reap(1000, 10**9, 10**12)))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    summary, reaped = outcomes[0]
    assert summary.count(BadSignature) == 40
    assert reaped == good


def test_worker_crash_leaves_transactions_unjudged_not_raised(make_pool: PoolFactory) -> None:
    batch = [make_raw(KEYS[i % 8]) for i in range(100)]
    with BatchVerifier("processes", workers=2) as verifier:
        pool = make_pool(verifier=verifier)
        os.kill(verifier.worker_pids()[0], signal.SIGKILL)
        results = pool.admit_batch(batch, HEIGHT)
        assert any(type(r) is OperationalError for r in results)
        assert all(isinstance(r, Accepted | OperationalError) for r in results)
        assert len(pool) == sum(isinstance(r, Accepted) for r in results)
        unjudged = [raw for raw, r in zip(batch, results, strict=True) if type(r) is OperationalError]
        assert all(isinstance(r, Accepted) for r in pool.admit_batch(unjudged, HEIGHT))  # fresh workers
