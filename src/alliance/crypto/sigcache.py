"""A bounded cache of verified transaction senders, keyed by transaction hash.

Theory of operation: each node verifies each transaction's signature once, at mempool admission.
The result (the sender's address, derived from the verified public key) is cached here by the
transaction hash, which covers the sender's public key. Proposal checks and execution look the
hash up and verify only what is missing. Only successful verifications are cached, so a hit is
proof that this node checked the signature. Eviction is first-in first-out, which suits the
access pattern (admitted, then executed a few blocks later, then never again).
"""

from __future__ import annotations

from collections import OrderedDict

SIGCACHE_ENTRIES_MAX = 1_000_000


class SignatureCache:
    def __init__(self, entries_max: int = SIGCACHE_ENTRIES_MAX) -> None:
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()
        self._entries_max = entries_max

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, tx_hash: bytes) -> bytes | None:
        """The verified sender address of ``tx_hash``, or None when not verified here."""
        return self._entries.get(tx_hash)

    def add(self, tx_hash: bytes, sender_address: bytes) -> None:
        entries = self._entries
        entries[tx_hash] = sender_address
        if len(entries) > self._entries_max:
            entries.popitem(last=False)

    def discard(self, tx_hash: bytes) -> None:
        self._entries.pop(tx_hash, None)
