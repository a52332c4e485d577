"""Shared primitive types and the ``invariant`` helper.

``invariant`` is the project's assertion: unlike ``assert`` it survives ``python -O``, and it raises
``InvariantViolation`` so a broken invariant crashes loudly instead of continuing on bad data.
"""

from __future__ import annotations

from typing import NoReturn

from alliance.errors import InvariantViolation

Hash32 = bytes
"""A 32-byte digest."""

Address = bytes
"""A 20-byte account address (keccak-256 of the public key, last 20 bytes)."""

NodeId = bytes
"""A 32-byte Ed25519 public key identifying a node."""

HASH_SIZE_BYTES = 32
ADDRESS_SIZE_BYTES = 20
NODE_ID_SIZE_BYTES = 32
EMPTY_HASH = b"\x00" * HASH_SIZE_BYTES


def invariant(condition: object, message: str) -> None:
    """Raise ``InvariantViolation`` when ``condition`` is false. Never stripped by ``-O``."""
    if not condition:
        fail_invariant(message)


def fail_invariant(message: str) -> NoReturn:
    raise InvariantViolation(message)
