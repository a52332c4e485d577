"""Equivocation evidence.

Theory of operation: an honest validator signs at most one vote per (height, round, type). Two
validly signed votes from one validator for the same (height, round, type) and different block
hashes prove it misbehaved, with no other context needed: ``DuplicateVoteEvidence.verify``
checks it against the validator's public key alone. The pair is stored in a canonical order
(smaller block hash first), so both orders of arrival give the same evidence and the same hash.
The pool remembers a bounded number of evidence hashes (oldest forgotten first) so each piece is
surfaced once.
"""

from __future__ import annotations

from alliance import codec
from alliance.codec import Struct
from alliance.consensus.messages import Vote
from alliance.crypto.hashing import Domain, hash_domain
from alliance.crypto.keys import verify_node_signature
from alliance.errors import UsageError


class DuplicateVoteEvidence(Struct, tag="duplicate-vote", frozen=True):
    vote_a: Vote
    vote_b: Vote

    @classmethod
    def of(cls, first: Vote, second: Vote) -> DuplicateVoteEvidence:
        if not conflicting(first, second):
            raise UsageError("evidence needs two different votes of one validator in one slot")
        a, b = sorted((first, second), key=lambda v: v.block_hash)
        return cls(vote_a=a, vote_b=b)

    @property
    def node_id(self) -> bytes:
        return self.vote_a.node_id

    @property
    def height(self) -> int:
        return self.vote_a.height

    def hash(self) -> bytes:
        return hash_domain(Domain.EVIDENCE, codec.encode(self))

    def verify(self, chain_id: str) -> bool:
        """True when the two votes conflict and both signatures are the validator's."""
        a, b = self.vote_a, self.vote_b
        return (
            conflicting(a, b)
            and a.block_hash < b.block_hash
            and verify_node_signature(a.node_id, a.sign_bytes(chain_id), a.signature)
            and verify_node_signature(b.node_id, b.sign_bytes(chain_id), b.signature)
        )


def conflicting(a: Vote, b: Vote) -> bool:
    same_slot = (a.node_id, a.height, a.round, a.vote_type) == (b.node_id, b.height, b.round, b.vote_type)
    return same_slot and a.block_hash != b.block_hash


class EvidencePool:
    """Remembers up to ``kept_max`` evidence hashes; ``add`` is True only for new evidence."""

    __slots__ = ("_kept_max", "_seen")

    def __init__(self, kept_max: int) -> None:
        self._kept_max = kept_max
        self._seen: dict[bytes, None] = {}  # a dict keeps insertion order: the oldest goes first

    def add(self, evidence: DuplicateVoteEvidence) -> bool:
        key = evidence.hash()
        if key in self._seen:
            return False
        if len(self._seen) >= self._kept_max:
            del self._seen[next(iter(self._seen))]
        self._seen[key] = None
        return True

    def __len__(self) -> int:
        return len(self._seen)
