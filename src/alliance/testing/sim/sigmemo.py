"""A batch verifier that remembers its answers, shared by every simulated node's mempool.

Theory of operation
-------------------
The simulator models what nodes decide, not what their CPUs cost. Every node of a run admits
each gossiped transaction and checks its secp256k1 signature, so one transaction is verified
once per node: about half of a run's verification work repeated the same check with the same
answer. ``MemoBatchVerifier`` is a ``BatchVerifier`` (inline) that keeps each item's answer (the
sender's address, or None for a bad signature) keyed by the whole item, public key, digest and
signature, so a different signature or digest is a different key and is verified afresh: the
answer for a key can never differ from what a fresh check would say. Each node still runs its
own mempool and its own ``SignatureCache`` exactly as a real node does; only the arithmetic below
them is shared. ``Simulation.verify_signature`` does the same for the cores' Ed25519 checks.

Bounded: when the memo holds ``entries_max`` answers it is cleared (a run's working set is
small; clearing costs some re-verification, never a wrong answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from alliance.mempool.verifier import BatchVerifier, Item, PendingBatch
from alliance.types import invariant

MEMO_ENTRIES_MAX = 200_000


class MemoBatchVerifier(BatchVerifier):
    def __init__(self, entries_max: int = MEMO_ENTRIES_MAX) -> None:
        invariant(entries_max >= 1, "the memo holds at least one answer")
        super().__init__("inline")
        self.entries_max = entries_max
        self._senders: dict[Item, bytes | None] = {}
        self.verified = 0  # items actually checked (memo misses), for tests and profiles

    def submit_senders(self, items: Sequence[Item], *, sizes_checked: bool = False) -> PendingBatch:
        memo = self._senders
        answers: list[bytes | None] = []
        missing: list[Item] = []
        missing_at: list[int] = []
        for at, item in enumerate(items):
            if item in memo:
                answers.append(memo[item])
            else:
                answers.append(None)
                missing.append(item)
                missing_at.append(at)
        if missing:
            # Asked with derive, the base class answers an address or None per item.
            pending = super().submit_senders(missing, sizes_checked=sizes_checked)
            fresh = cast(list[bytes | None], pending.result())
            self.verified += len(missing)
            if len(memo) + len(missing) > self.entries_max:
                memo.clear()
            for at, item, sender in zip(missing_at, missing, fresh, strict=True):
                answers[at] = sender
                memo[item] = sender
        return PendingBatch(self, len(items), answers, None)

    def verify_batch(self, items: Sequence[Item]) -> list[bool]:
        return [sender is not None for sender in self.verify_senders(items)]
