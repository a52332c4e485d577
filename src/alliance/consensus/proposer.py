"""Weighted round-robin proposer selection (CometBFT's priority algorithm).

Theory of operation: every validator has a priority, initially zero. One *increment* adds each
validator's power to its priority, picks the validator with the highest priority (ties go to the
smallest node id) and subtracts the total power from the winner. Priorities always sum to zero.
Over ``T = total_power`` increments from all zeros each validator wins exactly ``power`` times and
the priorities return to all zeros (the "smooth weighted round robin" property), so the sequence
of winners is periodic with period ``T``.

Choice documented here: the proposer is a *pure function* of (validator set, height, round),
namely the winner of increment number ``(height + round) mod T`` counted from all-zero
priorities. Nothing is carried across heights or validator-set changes (unlike CometBFT, which
keeps and re-centres priorities), so a restarted node, a light client and the simulator compute
the same proposer from the set alone, and no priority state needs to be persisted. Within a
fixed set any window of ``T`` consecutive positions gives each validator exactly ``power``
turns. A ``ProposerSchedule`` caches a cursor so consecutive heights and rounds cost one
increment each; a cold query costs ``O(((height + round) mod T) * n)``.
"""

from __future__ import annotations

from alliance.ledger.validators import ValidatorSet
from alliance.types import invariant


class ProposerSchedule:
    """Cursors over the periodic priority sequence of one validator set.

    ``_base`` holds the priorities at the position of round 0 of the latest height asked for;
    ``_cursor`` continues from there through the rounds of that height. Heights move the base
    forward by one increment, rounds move the cursor forward by one, so the usual cost is O(n).
    """

    __slots__ = ("_base", "_base_position", "_cursor", "_cursor_position", "_node_ids", "_powers",
                 "_total_power")

    def __init__(self, validator_set: ValidatorSet) -> None:
        invariant(validator_set.validators, "a proposer schedule needs at least one validator")
        self._node_ids = [v.node_id for v in validator_set.validators]
        self._powers = [v.power for v in validator_set.validators]
        self._total_power = sum(self._powers)
        self._base_position = 0
        self._base = [0] * len(self._powers)
        self._cursor_position = 0
        self._cursor = list(self._base)

    def proposer(self, height: int, round_: int) -> bytes:
        base_position = height % self._total_power
        if base_position != self._base_position:
            if base_position < self._base_position:
                # Behind the base (period wrap or an older height): restart from the zero state.
                self._base_position = 0
                self._base = [0] * len(self._powers)
            while self._base_position < base_position:
                self._increment(self._base)
                self._base_position += 1
            self._cursor_position = self._base_position
            self._cursor = list(self._base)
        # Positions past the period are fine: the sequence simply continues.
        position = self._base_position + round_ % self._total_power
        if position < self._cursor_position:
            self._cursor_position = self._base_position
            self._cursor = list(self._base)
        while self._cursor_position < position:
            self._increment(self._cursor)
            self._cursor_position += 1
        return self._node_ids[self._winner(self._cursor)]

    def _winner(self, priorities: list[int]) -> int:
        best = 0
        best_priority = priorities[0] + self._powers[0]
        for i in range(1, len(priorities)):
            p = priorities[i] + self._powers[i]
            if p > best_priority:  # strict: ties keep the smaller node id (the set is sorted)
                best, best_priority = i, p
        return best

    def _increment(self, priorities: list[int]) -> None:
        best = self._winner(priorities)
        for i, power in enumerate(self._powers):
            priorities[i] += power
        priorities[best] -= self._total_power


def proposer_for(validator_set: ValidatorSet, height: int, round_: int) -> bytes:
    """The proposer of (height, round) under ``validator_set``; a pure function."""
    return ProposerSchedule(validator_set).proposer(height, round_)
