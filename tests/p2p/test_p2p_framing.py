"""Properties of the sans-IO frame codec: any chunking round-trips; oversized frames are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance.errors import InvalidMessage, UsageError
from alliance.p2p.framing import HEADER_SIZE_BYTES, FrameDecoder, encode_frame

FRAME_SIZE_BYTES_MAX = 300


@st.composite
def payloads_and_cuts(draw: st.DrawFn) -> tuple[list[bytes], list[int]]:
    payloads = draw(st.lists(st.binary(max_size=FRAME_SIZE_BYTES_MAX), max_size=12))
    size = sum(len(p) + HEADER_SIZE_BYTES for p in payloads)
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=size), max_size=20)))
    return payloads, cuts


@given(payloads_and_cuts())
def test_any_chunking_round_trips(case: tuple[list[bytes], list[int]]) -> None:
    payloads, cuts = case
    stream = b"".join(encode_frame(p, frame_size_bytes_max=FRAME_SIZE_BYTES_MAX) for p in payloads)
    decoder = FrameDecoder(FRAME_SIZE_BYTES_MAX)
    decoded: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        decoded.extend(decoder.feed(stream[start:end]))
    assert decoded == payloads
    assert decoder.buffered_size_bytes == 0


@given(
    st.lists(st.binary(max_size=40), max_size=4),
    st.integers(min_value=FRAME_SIZE_BYTES_MAX + 1, max_value=2**32 - 1),
    st.integers(min_value=1, max_value=HEADER_SIZE_BYTES + 10),
)
def test_oversized_frame_is_refused_and_the_decoder_stays_failed(
    before: list[bytes], size: int, chunk_size_bytes: int
) -> None:
    stream = b"".join(encode_frame(p) for p in before) + size.to_bytes(4, "big") + b"x" * 10
    decoder = FrameDecoder(FRAME_SIZE_BYTES_MAX)
    decoded: list[bytes] = []
    with pytest.raises(InvalidMessage, match="exceeds the bound"):
        for start in range(0, len(stream), chunk_size_bytes):
            decoded.extend(decoder.feed(stream[start : start + chunk_size_bytes]))
    # Frames completed by earlier feeds were delivered; the feed that met the bad header raised
    # instead of returning, so it may have swallowed a few (the link is being dropped anyway).
    assert decoded == before[: len(decoded)]
    assert decoder.failed
    with pytest.raises(InvalidMessage, match="already failed"):
        decoder.feed(encode_frame(b"ok"))


def test_frame_at_the_bound_is_accepted() -> None:
    payload = b"y" * FRAME_SIZE_BYTES_MAX
    assert FrameDecoder(FRAME_SIZE_BYTES_MAX).feed(encode_frame(payload, frame_size_bytes_max=300)) == [
        payload
    ]


def test_a_partial_frame_then_two_whole_ones_in_one_feed() -> None:
    """The payloads are plain ``bytes`` copies (no view into the buffer survives the feed), and the
    leftover partial frame stays buffered for the next feed."""
    first, second, third = b"a" * 70_000, b"", b"c" * 5
    wire = encode_frame(first) + encode_frame(second) + encode_frame(third)
    decoder = FrameDecoder()
    assert decoder.feed(wire[:1000]) == []
    got = decoder.feed(wire[1000:-2])
    assert got == [first, second] and all(type(p) is bytes for p in got)
    assert decoder.buffered_size_bytes == HEADER_SIZE_BYTES + len(third) - 2
    assert decoder.feed(wire[-2:]) == [third]
    assert decoder.buffered_size_bytes == 0


def test_partial_header_yields_nothing() -> None:
    decoder = FrameDecoder(10)
    assert decoder.feed(b"\x00\x00") == []
    assert decoder.feed(b"\x00\x02ab\x00") == [b"ab"]
    assert decoder.buffered_size_bytes == 1


def test_encoding_an_oversized_payload_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="exceeds the bound"):
        encode_frame(b"z" * 11, frame_size_bytes_max=10)


@pytest.mark.parametrize("bound", [-1, 2**32])
def test_bound_must_fit_the_header(bound: int) -> None:
    with pytest.raises(UsageError):
        FrameDecoder(bound)
