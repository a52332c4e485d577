"""Vote tallies by voting power.

Theory of operation: a ``VoteTally`` holds the votes of one (height, round, type): at most one
vote per validator (keyed by node id, so its size is bounded by the validator set), the power
behind each value (a block hash or nil) and the total power that voted at all. Adding a vote is
O(1) and answers ADDED, DUPLICATE (the same vote again: ignored) or CONFLICT (another value from
the same validator: equivocation, the first vote stays counted and the caller makes evidence).
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


class AddOutcome(Enum):
    ADDED = "added"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


class VoteTally:
    __slots__ = ("power_by_value", "power_voted", "votes")

    def __init__(self) -> None:
        self.votes: dict[bytes, Vote] = {}
        self.power_by_value: dict[bytes, int] = {}
        self.power_voted = 0

    def add(self, vote: Vote, power: int) -> tuple[AddOutcome, Vote | None]:
        """Count ``vote`` with ``power``; on CONFLICT also return the vote already held."""
        existing = self.votes.get(vote.node_id)
        if existing is not None:
            if existing == vote:
                return AddOutcome.DUPLICATE, existing
            return AddOutcome.CONFLICT, existing
        self.votes[vote.node_id] = vote
        self.power_by_value[vote.block_hash] = self.power_by_value.get(vote.block_hash, 0) + power
        self.power_voted += power
        return AddOutcome.ADDED, None

    def power_for(self, value: bytes) -> int:
        return self.power_by_value.get(value, 0)

    def quorum_value(self, rule: QuorumRule, total_power: int) -> bytes | None:
        """The value (possibly nil) with a quorum behind it, if any. At most one can have one."""
        for value, power in self.power_by_value.items():
            if rule.is_quorum(power, total_power):
                return value
        return None

    def votes_for(self, value: bytes) -> list[Vote]:
        """The votes for ``value``, sorted by node id."""
        return sorted((v for v in self.votes.values() if v.block_hash == value), key=lambda v: v.node_id)


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
