"""Values that cross the contract boundary: ``Address``, the canonical encoding, keys and bounds.

Theory of operation
-------------------
A value a contract stores, passes to ``call``, emits or returns is one of ``int`` (64-bit: what a
msgpack integer holds), ``str``, ``bytes``, ``bool``, ``None``, ``Address``, and ``list``,
``tuple`` and ``dict`` of those, nested at most ``VALUE_DEPTH_MAX`` deep. Its bytes are msgspec's
msgpack encoding, which is deterministic (the codec's rule): an ``Address`` is encoded as the 20
bytes it is, a tuple as an array, a dict's entries in its insertion order. Decoding gives back
``bytes`` for an ``Address`` (equal to it, and ``Address(b)`` converts) and ``list`` for a tuple;
dict keys that were tuples come back as tuples.

Storage keys are a scalar (``str``, ``bytes``, ``int``, ``Address``, ``bool``, ``None``) or a flat
tuple of scalars; the key's bytes are its canonical encoding, so ``("bal", addr)`` is the same key
on every node and in every process. ``key_bytes`` builds them; the engine puts them under the
contract's prefix (``engine.storage_prefix``).

``weight`` is what the metering charges for comparing, searching or hashing a value: one per
scalar and per 64 bytes of a string, summed over containers. Walking a value costs about what the
walk charges, so no comparison of big nested values goes unpaid. Its depth bound also makes every
comparison and hash of nested values stop at the same depth on every node, long before Python's
own recursion limit (which depends on the stack a node happens to have) or the C stack.
"""

from __future__ import annotations

from typing import Any

import msgspec

from alliance.contracts.errors import InvalidValue, ValueTooLarge

INT_BITS_MAX = 4096
INT_LIMIT = 1 << INT_BITS_MAX  # an int in a contract has abs(value) < INT_LIMIT
CODEC_INT_MIN = -(2**63)
CODEC_INT_MAX = 2**64 - 1
VALUE_DEPTH_MAX = 32
KEY_BYTES_MAX = 256
VALUE_BYTES_MAX = 64 * 1024
ARGS_BYTES_MAX = 64 * 1024
RESULT_BYTES_MAX = 64 * 1024
EVENT_BYTES_MAX = 8 * 1024
WRITE_BYTES_MAX = 256 * 1024  # bytes (keys and values) one call, nested calls included, may write
ADDRESS_SIZE_BYTES = 20


class SandboxTypeError(TypeError):
    """A TypeError the engine raises in contract code, with a message the engine words (so it is the
    same on every Python version and may go into a receipt). Contracts may catch it as TypeError."""


class SandboxValueError(ValueError):
    """The ValueError counterpart of ``SandboxTypeError``."""


class Address(bytes):
    """A 20-byte account or contract address. ``Address("0x...")`` parses 40 hex digits."""

    __slots__ = ()

    def __new__(cls, value: str | bytes) -> Address:
        if isinstance(value, str):
            digits = value[2:] if value[:2] in ("0x", "0X") else value
            if len(digits) != 2 * ADDRESS_SIZE_BYTES or not _is_hex(digits):
                raise SandboxValueError("an address is 40 hex digits, with or without 0x")
            return super().__new__(cls, bytes.fromhex(digits))
        if isinstance(value, bytes) and len(value) == ADDRESS_SIZE_BYTES:
            return super().__new__(cls, value)
        raise SandboxValueError("an address is 20 bytes or 40 hex digits")

    def __repr__(self) -> str:
        return f"Address('0x{self.hex()}')"

    def __str__(self) -> str:
        return "0x" + self.hex()


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _is_hex(text: str) -> bool:
    return all(ch in _HEX_DIGITS for ch in text)


def address_of(raw: bytes) -> Address:
    """An ``Address`` of 20 bytes the caller has already checked (the host's own addresses)."""
    return bytes.__new__(Address, raw)


def _plain_bytes(obj: Any) -> bytes:
    if type(obj) is Address:
        return bytes(obj)
    raise InvalidValue(f"a {type(obj).__name__} cannot be encoded")


_encode = msgspec.msgpack.Encoder(enc_hook=_plain_bytes).encode
_decode_any = msgspec.msgpack.Decoder().decode
_KEY_SCALARS = frozenset({str, bytes, bool, type(None), Address})


def encode(value: object) -> bytes:
    """Canonical bytes of a value already checked by ``count_elements``."""
    try:
        return _encode(value)
    except OverflowError:
        raise InvalidValue("an int that is stored, passed or returned must fit in 64 bits") from None


def decode(raw: bytes) -> object:
    """A value from bytes this engine encoded (storage) or a host answered (canonical by contract)."""
    try:
        return _decode_any(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidValue(f"undecodable value: {exc}") from None


def count_elements(value: Any, depth: int = 0) -> int:
    """How many scalars and containers make up ``value``; refuses what cannot be encoded."""
    kind = type(value)
    if kind is int:
        if CODEC_INT_MIN <= value <= CODEC_INT_MAX:
            return 1
        raise InvalidValue("an int that is stored, passed or returned must fit in 64 bits")
    if kind in _KEY_SCALARS:
        return 1
    if depth >= VALUE_DEPTH_MAX:
        raise ValueTooLarge(f"a value nested more than {VALUE_DEPTH_MAX} deep")
    # Scalar items are counted inline, in the order the recursion would visit them (so the same
    # value fails with the same error): most of what contracts store is flat, and a Python call
    # per scalar was most of this function's cost.
    if kind is list or kind is tuple:
        total = 1
        for item in value:
            item_kind = type(item)
            if item_kind is int:
                if not CODEC_INT_MIN <= item <= CODEC_INT_MAX:
                    raise InvalidValue("an int that is stored, passed or returned must fit in 64 bits")
                total += 1
            elif item_kind in _KEY_SCALARS:
                total += 1
            else:
                total += count_elements(item, depth + 1)
        return total
    if kind is dict:
        total = 1
        for key, item in value.items():
            if type(key) is not str:
                _check_key(key)
            item_kind = type(item)
            if item_kind is int:
                if not CODEC_INT_MIN <= item <= CODEC_INT_MAX:
                    raise InvalidValue("an int that is stored, passed or returned must fit in 64 bits")
                total += 2
            elif item_kind in _KEY_SCALARS:
                total += 2
            else:
                total += 1 + count_elements(item, depth + 1)
        return total
    raise InvalidValue(
        f"a {kind.__name__} cannot be stored, passed or returned "
        "(values are int, str, bytes, bool, None, Address, list, tuple and dict)"
    )


def _check_key(key: Any) -> None:
    kind = type(key)
    if kind is tuple:
        for item in key:
            if type(item) not in _KEY_ITEM_TYPES:
                break
        else:
            return
    elif kind in _KEY_ITEM_TYPES:
        return
    raise InvalidValue(
        f"a {kind.__name__} cannot be a key (keys are str, bytes, int, Address, bool, None, "
        "or a tuple of those)"
    )


_KEY_ITEM_TYPES = frozenset({int, *_KEY_SCALARS})


def key_bytes(key: Any) -> bytes:
    """Canonical bytes of a storage key (not yet under the contract's prefix).

    An ``Address`` inside is replaced by its plain bytes first: they encode alike, and the
    encoder would otherwise call its Python hook for the subclass (this runs on every access)."""
    kind = type(key)
    if kind is tuple:
        if len(key) == 2 and type(key[0]) in _KEY_ITEM_TYPES and type(key[1]) in _KEY_ITEM_TYPES:
            first, second = key  # the common ("balance", address), unrolled
            key = (
                bytes(first) if type(first) is Address else first,
                bytes(second) if type(second) is Address else second,
            )
        else:  # checked and converted in one pass; any other item is refused as _check_key words it
            parts = []
            for item in key:
                item_kind = type(item)
                if item_kind is Address:
                    parts.append(bytes(item))
                elif item_kind in _KEY_ITEM_TYPES:
                    parts.append(item)
                else:
                    _check_key(key)
            key = parts
    elif kind is Address:
        key = bytes(key)
    elif kind not in _KEY_ITEM_TYPES:
        _check_key(key)  # raises, naming the type
    try:
        raw = _encode(key)
    except OverflowError:
        raise InvalidValue("an int in a key must fit in 64 bits") from None
    if len(raw) > KEY_BYTES_MAX:
        raise ValueTooLarge(f"a storage key of {len(raw)} bytes, over the bound of {KEY_BYTES_MAX}")
    return raw


_UNIT_WEIGHT = frozenset({int, bool, type(None)})  # ints are at most 64 limbs: a bounded factor


def weight(value: Any, depth: int = 0) -> int:
    """What comparing, searching or hashing ``value`` is charged (see the module docstring)."""
    kind = type(value)
    if kind in _UNIT_WEIGHT:
        return 1
    if kind is str or kind is bytes or kind is Address:
        return 1 + (len(value) >> 6)
    if kind is list or kind is tuple:
        if depth >= VALUE_DEPTH_MAX:
            raise ValueTooLarge(f"a value nested more than {VALUE_DEPTH_MAX} deep")
        total = 1
        for item in value:
            total += 1 if type(item) in _UNIT_WEIGHT else weight(item, depth + 1)
        return total
    if kind is dict:
        if depth >= VALUE_DEPTH_MAX:
            raise ValueTooLarge(f"a value nested more than {VALUE_DEPTH_MAX} deep")
        total = 1
        for key, item in value.items():
            total += weight(key, depth + 1) + weight(item, depth + 1)
        return total
    return 1


def check_dict_key(key: Any, depth: int = 0) -> int:
    """The weight of ``key`` if a contract may use it as a dict key, else ``SandboxTypeError``.

    Keys are hashed, and a tuple's hash walks it in C with no depth check, so only scalars and
    depth-bounded tuples of them are keys: no functions either (their hash is their address)."""
    kind = type(key)
    if kind in _KEY_ITEM_TYPES:
        return 1
    if kind is tuple:
        if depth >= VALUE_DEPTH_MAX:
            raise ValueTooLarge(f"a key nested more than {VALUE_DEPTH_MAX} deep")
        total = 1
        for item in key:
            total += 1 if type(item) in _KEY_ITEM_TYPES else check_dict_key(item, depth + 1)
        return total
    raise SandboxTypeError(f"a {kind.__name__} cannot be a dict key in a contract")
