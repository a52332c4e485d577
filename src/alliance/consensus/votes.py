"""Vote tallies by voting power.

Theory of operation: a ``VoteTally`` holds the votes of one (height, round, type): at most one
vote per validator (keyed by node id, so its size is bounded by the validator set), the power
behind each value (a block hash or nil) and the total power that voted at all. Adding a vote is
O(1) and answers ADDED, DUPLICATE (the same vote again: ignored) or CONFLICT (another value from
the same validator: equivocation, the first vote stays counted and the caller makes evidence).
The paper counts, per value, the messages of distinct validators: an equivocator's second
vote is a real message for its value. So a conflicting vote may be *counted* for its own value
(``count_conflict``) while ``power_voted`` still counts each validator once; two quorums for
different values would still need an honest validator in both, so this keeps S1, and it lets a
node see a polka that contains an equivocator's vote (which liveness needs, see core.py). The
extra votes are bounded: ``CONFLICTING_VOTES_MAX`` per validator per tally.

A ``RoundVotes`` pairs the prevote and precommit tallies of a round with the distinct validators
heard from in it at all, which the f+1 round-skip rule needs.

Dicts keyed by bytes keep insertion order, which does not depend on hash randomisation, so the
certificate built from a tally (sorted by node id anyway) is deterministic.
"""

from __future__ import annotations

from enum import Enum

from alliance.consensus.messages import NIL, Vote
from alliance.consensus.quorum import QuorumRule
from alliance.ledger.block import VoteType

CONFLICTING_VOTES_MAX = 2
"""Extra values counted per validator per (round, type) beyond its first vote."""


class AddOutcome(Enum):
    ADDED = "added"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


class VoteTally:
    __slots__ = ("_extra", "power_by_value", "power_voted", "votes")

    def __init__(self) -> None:
        self.votes: dict[bytes, Vote] = {}
        """The first vote of each validator."""
        self._extra: dict[tuple[bytes, bytes], Vote] = {}
        """Conflicting votes counted for their own value, keyed by (node id, value)."""
        self.power_by_value: dict[bytes, int] = {}
        self.power_voted = 0

    def add(
        self, vote: Vote, power: int, *, count_conflict: bool = False
    ) -> tuple[AddOutcome, Vote | None]:
        """Count ``vote`` with ``power``; on CONFLICT also return the vote already held.

        With ``count_conflict`` a conflicting vote is also counted for its value (within bounds).
        """
        existing = self.votes.get(vote.node_id)
        if existing is None:
            self.votes[vote.node_id] = vote
            self._count(vote, power)
            self.power_voted += power
            return AddOutcome.ADDED, None
        if existing == vote or self._extra.get((vote.node_id, vote.block_hash)) == vote:
            return AddOutcome.DUPLICATE, existing
        if count_conflict and existing.block_hash != vote.block_hash:
            extras = sum(1 for node, _ in self._extra if node == vote.node_id)
            if extras < CONFLICTING_VOTES_MAX and (vote.node_id, vote.block_hash) not in self._extra:
                self._extra[(vote.node_id, vote.block_hash)] = vote
                self._count(vote, power)
        return AddOutcome.CONFLICT, existing

    def _count(self, vote: Vote, power: int) -> None:
        self.power_by_value[vote.block_hash] = self.power_by_value.get(vote.block_hash, 0) + power

    def holds(self, vote: Vote) -> bool:
        first = self.votes.get(vote.node_id)
        return first == vote or self._extra.get((vote.node_id, vote.block_hash)) == vote

    def power_for(self, value: bytes) -> int:
        return self.power_by_value.get(value, 0)

    def quorum_value(self, rule: QuorumRule, total_power: int) -> bytes | None:
        """The value (possibly nil) with a quorum behind it, if any. At most one can have one."""
        for value, power in self.power_by_value.items():
            if rule.is_quorum(power, total_power):
                return value
        return None

    def votes_for(self, value: bytes) -> list[Vote]:
        """The votes for ``value`` (one per validator), sorted by node id."""
        found = {v.node_id: v for v in self.votes.values() if v.block_hash == value}
        for (node, extra_value), vote in self._extra.items():
            if extra_value == value:
                found.setdefault(node, vote)
        return [found[node] for node in sorted(found)]


class RoundVotes:
    __slots__ = ("precommits", "prevotes", "sender_power", "senders")

    def __init__(self) -> None:
        self.prevotes = VoteTally()
        self.precommits = VoteTally()
        self.senders: dict[bytes, None] = {}
        self.sender_power = 0

    def tally(self, vote_type: int) -> VoteTally:
        return self.prevotes if vote_type == VoteType.PREVOTE else self.precommits

    def heard_from(self, node_id: bytes, power: int) -> None:
        if node_id not in self.senders:
            self.senders[node_id] = None
            self.sender_power += power

    def has_nil_quorum(self, rule: QuorumRule, total_power: int) -> bool:
        return rule.is_quorum(self.prevotes.power_for(NIL), total_power)
