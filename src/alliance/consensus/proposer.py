"""Weighted round-robin proposer selection in closed form (staggered turn order).

Theory of operation: let the validators, sorted by node id, have powers ``w_i``, total ``T``,
and ``S_i`` the power of the validators before ``i``. Validator ``i`` has ``w_i`` *turns* per
period; its ``j``-th turn (``j = 1 .. w_i``) falls at the *crossing time*

    c_ij = (j - 1 + phi_i) / w_i,   phi_i = (S_i + w_i / 2) / T,

a fraction of the period in ``(0, 1)``. So one validator's turns are evenly spaced ``1 / w_i``
apart, and its phase ``phi_i`` is the midpoint of its stretch when the powers are laid end to end
along the period. Sorting all ``T`` turns by crossing time, ties by node id, gives the *turn
order*; the proposer of ``(height, round)`` holds turn ``(height + round) mod T`` (from 0). The
sequence is periodic with period ``T``, and any ``T`` consecutive positions give each validator
exactly ``w_i`` turns. The staggered phases are why this is not plain Webster / Sainte-Lague
(every phase 1/2): there, validators of equal power cross together and bunch up; here they
interleave (with all powers equal the order is round robin by node id), and a validator with
less than a third of the power seldom holds two consecutive positions (see docs/benchmarks.md,
"Proposer selection", for the comparison with CometBFT's priorities).

The proposer is a *pure function* of (validator set, height, round): nothing is carried across
heights or validator-set changes, so a restarted node, a light client and the simulator compute
the same proposer from the set alone, and nothing needs to be persisted.

Finding turn ``p`` (rank ``p + 1``) without listing the turns, in exact integers: on the grid
``g_m = m / (2T)`` the number of turns at or before ``g_m`` is
``N(m) = sum_i (w_i * (m - 1) + 2 * (T - S_i)) // (2T)``. Each term is within 1 of
``w_i * m / (2T)``, so ``|N(m) - m / 2| < n`` and the first ``m`` with ``N(m) >= p + 1`` lies
in ``(2(p + 1 - n), 2(p + 1 + n)]``: a binary search over those ``4n`` grid points costs at most
``ceil(log2(4n))`` evaluations of ``N``, each ``O(n)``. A grid cell is ``1 / (2T)`` wide, less
than any validator's spacing ``1 / w_i >= 1 / T``, so the cell found holds at most one turn per
validator; those candidates are sorted exactly (fractions, ties by node id). A cold query is
``O(n log n)`` whatever the height and the power (``n <= T``, so within ``O(n log T)`` too).
``ProposerSchedule`` keeps a few recent positions, since the core asks for one (height, round)
several times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from alliance.ledger.validators import ValidatorSet
from alliance.types import invariant

RECENT_POSITIONS_MAX = 16
"""Positions a ``ProposerSchedule`` remembers: the rounds of a height in play and a few more."""


@dataclass(frozen=True, slots=True)
class Turn:
    """Where a position of the turn order falls, and the work it took to find it."""

    validator_index: int
    """Index into the powers (the set's order, i.e. by node id)."""
    turn: int
    """Which of that validator's turns it is, 1 .. its power."""
    counts_evaluated: int
    """Evaluations of ``N(m)`` (``n`` integer divisions each), the search's cost."""


def find_turn(powers: Sequence[int], position: int) -> Turn:
    """Turn ``position mod T`` of the turn order of ``powers`` (positive, in node-id order)."""
    invariant(len(powers) > 0, "a turn order needs at least one validator")
    invariant(all(w > 0 for w in powers), "every validator in a turn order has positive power")
    total = sum(powers)
    two_total = 2 * total
    rank = position % total + 1
    n = len(powers)
    # N(m) = sum_i (w_i * (m - 1) + lead_i) // 2T with lead_i = 2 * (T - S_i), S_i the power before i.
    leads = []
    remaining = total
    for w in powers:
        leads.append(2 * remaining)
        remaining -= w

    def turns_by(m: int) -> int:
        return sum((w * (m - 1) + lead) // two_total for w, lead in zip(powers, leads, strict=True))

    # Invariant: N(low) < rank <= N(high). N(0) = 0 and N(2T) = T bound the period; the closer
    # bounds come from |N(m) - m/2| < n (see the module docstring).
    low = max(0, 2 * (rank - n))
    high = min(two_total, 2 * (rank + n))
    evaluations = 0
    while high - low > 1:
        middle = (low + high) // 2
        evaluations += 1
        if turns_by(middle) >= rank:
            high = middle
        else:
            low = middle

    # The turn lies in the cell (g_low, g_high]; each validator has at most one turn there. This
    # pass evaluates N(low) and N(high) term by term, to see whose turns fall in the cell.
    evaluations += 2
    before = 0
    candidates: list[tuple[Fraction, int, int]] = []
    for i, (w, lead) in enumerate(zip(powers, leads, strict=True)):
        turns_before = (w * (low - 1) + lead) // two_total
        turns_after = (w * (high - 1) + lead) // two_total
        before += turns_before
        if turns_after > turns_before:
            invariant(turns_after == turns_before + 1, "two turns of one validator in one grid cell")
            # c_ij * 2T = (2T * (j - 1) + 2 * S_i + w_i) / w_i, with 2 * S_i = 2T - lead_i.
            crossing = Fraction(two_total * turns_after - lead + w, w)
            candidates.append((crossing, i, turns_after))
    offset = rank - before
    invariant(1 <= offset <= len(candidates), "the grid cell found does not hold the turn sought")
    candidates.sort()
    _, index, turn = candidates[offset - 1]
    return Turn(validator_index=index, turn=turn, counts_evaluated=evaluations)


class ProposerSchedule:
    """The proposers of one validator set, with the last few positions remembered.

    The cache only saves work: every answer is ``find_turn`` of the position, so a cold schedule
    and a warm one agree.
    """

    __slots__ = ("_node_ids", "_powers", "_recent", "_total_power")

    def __init__(self, validator_set: ValidatorSet) -> None:
        invariant(validator_set.validators, "a proposer schedule needs at least one validator")
        self._node_ids = [v.node_id for v in validator_set.validators]
        self._powers = [v.power for v in validator_set.validators]
        self._total_power = sum(self._powers)
        self._recent: dict[int, bytes] = {}

    def proposer(self, height: int, round_: int) -> bytes:
        position = (height + round_) % self._total_power
        known = self._recent.get(position)
        if known is not None:
            return known
        node_id = self._node_ids[find_turn(self._powers, position).validator_index]
        if len(self._recent) >= RECENT_POSITIONS_MAX:
            del self._recent[next(iter(self._recent))]  # the oldest entry (dicts keep insertion order)
        self._recent[position] = node_id
        return node_id


def proposer_for(validator_set: ValidatorSet, height: int, round_: int) -> bytes:
    """The proposer of (height, round) under ``validator_set``; a pure function."""
    return ProposerSchedule(validator_set).proposer(height, round_)
