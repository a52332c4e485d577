"""A bounded cache of verified transaction senders, keyed by transaction hash and signature.

Theory of operation: each node verifies each transaction's signature once, at mempool admission.
The result (the sender's address, derived from the verified public key) is cached here under the
transaction hash *and* the signature. The hash covers the sender's public key but not the
signature, so keying by the hash alone would let a copy of a verified transaction with a forged
signature pass as verified on this node while failing on a node without the entry: a divergence.
Proposal checks and execution look the pair up and verify only what is missing. Only successful
verifications are cached, so a hit proves this node checked that very signature. The executor
drops a transaction's entry once its block is committed (it can never pass again), so the cache
holds about what the mempool holds; the first-in first-out bound is the backstop, for entries
whose transactions expire in the mempool or never come back.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

SIGCACHE_ENTRIES_MAX = 1_000_000


class SignatureCache:
    def __init__(self, entries_max: int = SIGCACHE_ENTRIES_MAX) -> None:
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()
        self._entries_max = entries_max

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, tx_hash: bytes, signature: bytes) -> bytes | None:
        """The verified sender address of this exact signed transaction, or None."""
        return self._entries.get(tx_hash + signature)

    def add(self, tx_hash: bytes, signature: bytes, sender_address: bytes) -> None:
        entries = self._entries
        entries[tx_hash + signature] = sender_address
        if len(entries) > self._entries_max:
            entries.popitem(last=False)

    def add_many(self, entries: Iterable[tuple[bytes, bytes]]) -> None:
        """``add`` for many ``(tx_hash + signature, sender_address)`` pairs in one call (a batch
        of admissions); the key is ``get``'s, the hash and the signature joined."""
        cache = self._entries
        cache.update(entries)
        while len(cache) > self._entries_max:
            cache.popitem(last=False)

    def discard(self, tx_hash: bytes, signature: bytes) -> None:
        self._entries.pop(tx_hash + signature, None)
