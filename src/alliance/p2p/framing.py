"""Length-prefixed frames, sans-IO.

Theory of operation: on the wire a frame is a 4-byte big-endian payload length followed by the
payload. ``FrameDecoder`` is fed whatever bytes the socket produced, in chunks of any size, and
returns the payloads it completed; it keeps at most one partial frame. The length prefix is checked
against ``frame_size_bytes_max`` as soon as its 4 bytes arrive, before any payload is buffered, so a
peer cannot make us allocate more than the bound by announcing a huge frame. An oversized frame is
the peer's fault (``InvalidMessage``); after it the stream has lost framing for good, so the decoder
refuses all further input and the connection must be closed. The ``feed`` that meets the bad header
raises instead of returning, so frames it completed earlier in the same chunk are not delivered:
they came from a peer being dropped.

Empty payloads are legal frames. The decoder never copies a payload more than once: it slices it
from its buffer and drops consumed bytes once per ``feed``.
"""

from __future__ import annotations

from alliance.errors import InvalidMessage, UsageError
from alliance.ledger.block import MESSAGE_SIZE_BYTES_MAX

HEADER_SIZE_BYTES = 4
FRAME_SIZE_BYTES_LIMIT = 2**32 - 1  # what a 4-byte length can express
FRAME_SIZE_BYTES_MAX_DEFAULT = MESSAGE_SIZE_BYTES_MAX


def _check_bound(frame_size_bytes_max: int) -> None:
    if not 0 <= frame_size_bytes_max <= FRAME_SIZE_BYTES_LIMIT:
        raise UsageError(
            f"frame_size_bytes_max must be in [0, {FRAME_SIZE_BYTES_LIMIT}], got {frame_size_bytes_max}"
        )


def encode_frame(payload: bytes, *, frame_size_bytes_max: int = FRAME_SIZE_BYTES_MAX_DEFAULT) -> bytes:
    """The wire bytes of one frame. A payload over the bound is the caller's mistake (``UsageError``)."""
    _check_bound(frame_size_bytes_max)
    if len(payload) > frame_size_bytes_max:
        raise UsageError(f"frame payload of {len(payload)} bytes exceeds the bound of {frame_size_bytes_max}")
    return len(payload).to_bytes(HEADER_SIZE_BYTES, "big") + payload


class FrameDecoder:
    """Turns a byte stream into frame payloads, refusing frames over ``frame_size_bytes_max``."""

    __slots__ = ("_buffer", "_failure", "frame_size_bytes_max")

    def __init__(self, frame_size_bytes_max: int = FRAME_SIZE_BYTES_MAX_DEFAULT) -> None:
        _check_bound(frame_size_bytes_max)
        self.frame_size_bytes_max = frame_size_bytes_max
        self._buffer = bytearray()
        self._failure: str | None = None

    @property
    def failed(self) -> bool:
        return self._failure is not None

    @property
    def buffered_size_bytes(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the payloads of the frames they complete, in order."""
        if self._failure is not None:
            raise InvalidMessage(f"stream already failed ({self._failure}); no further input accepted")
        self._buffer += data
        frames: list[bytes] = []
        offset = 0
        buffer = self._buffer
        # Slices of a memoryview share the buffer, so ``bytes`` makes the payload's one copy (a
        # bytearray slice would copy it once more). The view is released before the buffer shrinks.
        with memoryview(buffer) as view:
            while len(buffer) - offset >= HEADER_SIZE_BYTES:
                size = int.from_bytes(view[offset : offset + HEADER_SIZE_BYTES], "big")
                if size > self.frame_size_bytes_max:
                    self._failure = f"frame of {size} bytes exceeds the bound of {self.frame_size_bytes_max}"
                    break
                end = offset + HEADER_SIZE_BYTES + size
                if end > len(buffer):
                    break
                frames.append(bytes(view[offset + HEADER_SIZE_BYTES : end]))
                offset = end
        if self._failure is not None:
            self._buffer = bytearray()
            raise InvalidMessage(self._failure)
        if offset:
            del buffer[:offset]
        return frames
