"""Pluggable signature suites for account keys.

Theory of operation: callers never name a curve. They hold a ``Suite`` (by name from
``suite_by_name``) and call ``verify``/``verify_batch`` and ``address_of``. The default suite is
secp256k1 ECDSA over a 32-byte digest with compact (r || s) signatures, verified through
libsecp256k1's C functions directly (one signature parse, one verify: the least Python per check).
Parsing a compressed public key costs a point decompression (~7 us, an eighth of a verify), and a
chain sees the same senders again and again, so parsed keys are kept in a bounded per-process map
(cleared when full; a parsed key is immutable, so sharing one between checks is safe).
libsecp256k1 rejects high-s signatures, so a signature has one valid form.
Another suite (SM2 with SM3, say) registers itself with the same interface and no caller changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from alliance.crypto import keys
from alliance.errors import UsageError


class Suite(Protocol):
    name: str
    public_key_size_bytes: int
    signature_size_bytes: int

    def verify(self, public_key: bytes, digest32: bytes, signature: bytes) -> bool: ...

    def verify_batch(self, items: Iterable[tuple[bytes, bytes, bytes]]) -> list[bool]: ...

    def address_of(self, public_key: bytes) -> bytes: ...


class Secp256k1Suite:
    name = "secp256k1"
    public_key_size_bytes = keys.PUBLIC_KEY_SIZE_BYTES
    signature_size_bytes = keys.SIGNATURE_SIZE_BYTES

    def verify(self, public_key: bytes, digest32: bytes, signature: bytes) -> bool:
        return _verify_secp256k1(public_key, digest32, signature)

    def verify_batch(self, items: Iterable[tuple[bytes, bytes, bytes]]) -> list[bool]:
        return [_verify_secp256k1(p, d, s) for p, d, s in items]

    def address_of(self, public_key: bytes) -> bytes:
        return keys.address_of(public_key)


_ctx = GLOBAL_CONTEXT.ctx
_new = ffi.new
_parse_pubkey = lib.secp256k1_ec_pubkey_parse
_parse_compact = lib.secp256k1_ecdsa_signature_parse_compact
_verify = lib.secp256k1_ecdsa_verify


PARSED_KEYS_MAX = 100_000  # ~100 bytes each: about 10 MB per verifying process at most
_parsed_keys: dict[bytes, object] = {}


def _verify_secp256k1(public_key: bytes, digest32: bytes, signature: bytes) -> bool:
    if len(public_key) != 33 or len(digest32) != 32 or len(signature) != 64:
        return False
    cacheable = type(public_key) is bytes  # a bytearray or memoryview is not a dict key
    pub = _parsed_keys.get(public_key) if cacheable else None
    if pub is None:
        pub = _new("secp256k1_pubkey *")
        if not _parse_pubkey(_ctx, pub, public_key, 33):
            return False  # not a point: not cached, so junk keys cannot crowd out real ones
        if cacheable:
            if len(_parsed_keys) >= PARSED_KEYS_MAX:
                _parsed_keys.clear()
            _parsed_keys[public_key] = pub
    sig = _new("secp256k1_ecdsa_signature *")
    if not _parse_compact(_ctx, sig, signature):
        return False
    return _verify(_ctx, sig, digest32, pub) == 1  # type: ignore[no-any-return]


_SUITES: dict[str, Suite] = {"secp256k1": Secp256k1Suite()}
DEFAULT_SUITE = "secp256k1"


def register_suite(suite: Suite) -> None:
    _SUITES[suite.name] = suite


def suite_by_name(name: str = DEFAULT_SUITE) -> Suite:
    try:
        return _SUITES[name]
    except KeyError:
        raise UsageError(f"unknown signature suite {name!r}; known: {', '.join(sorted(_SUITES))}") from None
