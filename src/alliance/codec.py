"""The one canonical codec: objects <-> bytes.

Theory of operation: every hashed, signed, stored or transmitted object is a msgspec ``Struct``
declared ``array_like`` (fields by position, no names on the wire) and frozen. msgspec's msgpack
encoder is deterministic for such structs (smallest integer and length encodings, fields in
declaration order), so "canonical" is simply "what ``encode`` produces". ``decode`` therefore
checks, after decoding, that re-encoding gives back exactly the input: that one comparison rejects
every non-canonical form (over-long integers, maps instead of arrays, str8 where fixstr fits,
floats for integers) as well as trailing bytes, without a hand-written parser. Sizes are bounded
before any decoding work is done.
"""

from __future__ import annotations

from typing import Any, TypeVar, dataclass_transform

import msgspec

from alliance.errors import DecodeError, UsageError

T = TypeVar("T")

_encoder = msgspec.msgpack.Encoder()
_decoders: dict[Any, msgspec.msgpack.Decoder[Any]] = {}

DEFAULT_SIZE_BYTES_MAX = 4 * 1024 * 1024


@dataclass_transform(frozen_default=True)  # tells type checkers that subclasses are frozen too
class Struct(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, gc=False):
    """Base for every canonical object: positional on the wire, immutable in memory.

    ``gc=False``: canonical objects are frozen trees of values (they never refer back up), so they
    cannot form reference cycles, and keeping the millions a loaded node creates out of the cycle
    collector's lists saves it most of its work."""


def encode(obj: object) -> bytes:
    """Canonical bytes of ``obj``."""
    return _encoder.encode(obj)


def _decoder(kind: type[T]) -> msgspec.msgpack.Decoder[T]:
    dec = _decoders.get(kind)
    if dec is None:
        dec = msgspec.msgpack.Decoder(kind)
        _decoders[kind] = dec
    return dec


def decode(kind: type[T], data: bytes, *, size_bytes_max: int = DEFAULT_SIZE_BYTES_MAX) -> T:
    """Decode canonical bytes into ``kind``; raise ``DecodeError`` for anything else."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"expected bytes for {kind_name(kind)}, got {type(data).__name__}")
    if len(data) > size_bytes_max:
        raise DecodeError(f"{kind_name(kind)} is {len(data)} bytes, over the bound of {size_bytes_max}")
    try:
        obj = _decoder(kind).decode(data)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"invalid {kind_name(kind)}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise DecodeError(f"malformed {kind_name(kind)}: {exc}") from None
    except UnicodeDecodeError:
        raise DecodeError(f"malformed {kind_name(kind)}: a string is not valid UTF-8") from None
    except UsageError as exc:  # a struct's own validation (__post_init__) refused the value
        raise DecodeError(f"invalid {kind_name(kind)}: {exc.message}") from None
    if _encoder.encode(obj) != data:
        raise DecodeError(f"non-canonical encoding of {kind_name(kind)}")
    return obj


def decode_trusted(kind: type[T], data: bytes) -> T:
    """Decode bytes this node wrote itself (its own store): typed, but without the canonical
    re-encoding check that outside input needs. Never use it on bytes from a peer or a client."""
    return _decoder(kind).decode(data)


def kind_name(kind: object) -> str:
    return getattr(kind, "__name__", repr(kind))
