"""Property tests: bad input only ever yields typed results, and the fast decoder is the codec's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mempool_helpers import CHAIN_ID, HEIGHT, KEYS, PARAMS, make_raw

from alliance.crypto.sigcache import SignatureCache
from alliance.errors import (
    BadSignature,
    DecodeError,
    DuplicateTx,
    GasLimitTooHigh,
    MempoolFull,
    TxExpired,
    TxTooFarAhead,
    TxTooLarge,
    WrongChainId,
)
from alliance.ledger.transaction import TX_SIZE_BYTES_MAX, decode_tx
from alliance.mempool import Accepted, BatchVerifier, Mempool
from alliance.mempool.pool import decode_canonical_tx

TYPED = (
    Accepted,
    DecodeError,
    TxTooLarge,
    WrongChainId,
    TxExpired,
    TxTooFarAhead,
    GasLimitTooHigh,
    DuplicateTx,
    BadSignature,
    MempoolFull,
)
SEEDS = [make_raw(KEYS[i], valid_until=HEIGHT + 1 + i * 20, gas_limit=10**i) for i in range(7)]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def verifier() -> Iterator[BatchVerifier]:
    with BatchVerifier("inline") as made:
        yield made


def new_pool(verifier: BatchVerifier) -> Mempool:
    return Mempool(
        chain_id=CHAIN_ID,
        params=PARAMS,
        verifier=verifier,
        sigcache=SignatureCache(),
        is_committed=lambda h: h[0] == 0,
        txs_max=5,
    )


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid transaction with a few bytes flipped, cut, inserted or appended."""
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "append"]))
        at = draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del raw[at : at + draw(st.integers(1, 8))]
        elif op == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            raw += draw(st.binary(min_size=1, max_size=8))
        if not raw:
            raw = bytearray(b"\x00")
    return bytes(raw)


inputs = st.one_of(
    st.binary(max_size=300),
    mutated(),
    st.sampled_from(SEEDS),
    st.just(b"\xc4" * (TX_SIZE_BYTES_MAX + 1)),
)


@FUZZ
@given(batch=st.lists(inputs, max_size=12), height=st.integers(0, 300))
def test_any_bytes_yield_only_typed_results(verifier: BatchVerifier, batch: list[bytes], height: int) -> None:
    pool = new_pool(verifier)
    results = pool.admit_batch(batch, height)  # raising anything at all fails the test
    assert len(results) == len(batch)
    for result in results:
        assert type(result) in TYPED, result
        if not isinstance(result, Accepted):
            assert result.message
    assert len(pool) == sum(isinstance(r, Accepted) for r in results) <= 5


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), mutated()))
def test_fast_decoder_agrees_with_decode_tx(raw: bytes) -> None:
    """Accepts exactly what the codec accepts, and refuses with ``DecodeError`` only."""
    try:
        expected = decode_tx(raw)
    except DecodeError:
        with pytest.raises(DecodeError):
            decode_canonical_tx(raw)
    else:
        assert decode_canonical_tx(raw) == expected


def test_invalid_utf8_in_a_name_is_a_decode_error(verifier: BatchVerifier) -> None:
    raw = b"\x92\x96\xaa\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"  # found by the property above
    (result,) = new_pool(verifier).admit_batch([raw], HEIGHT)
    assert type(result) is DecodeError
