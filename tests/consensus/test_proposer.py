"""Proposer selection (spec/consensus.md, "Proposer"): the closed-form turn order against a
brute-force reference of the same definition, its period, and its cost at any height and power."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import pairwise

from consensus_harness import node_key
from hypothesis import given
from hypothesis import strategies as st

from alliance.consensus import ProposerSchedule, proposer_for
from alliance.consensus.proposer import RECENT_POSITIONS_MAX, find_turn
from alliance.ledger.validators import POWER_MAX, VALIDATORS_MAX, Validator, ValidatorSet

small_powers = st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=8)
large_powers = st.lists(st.integers(min_value=1, max_value=POWER_MAX), min_size=1, max_size=40)


def valset(powers: list[int]) -> ValidatorSet:
    return ValidatorSet.of([Validator(node_id=node_key(i).node_id, power=p) for i, p in enumerate(powers)])


def powers_of(vs: ValidatorSet) -> list[int]:
    return [v.power for v in vs.validators]


def phase(powers: list[int], index: int) -> Fraction:
    """phi_i = (S_i + w_i / 2) / T, straight from the spec."""
    return (sum(powers[:index]) + Fraction(powers[index], 2)) / sum(powers)


def crossing(powers: list[int], index: int, turn: int) -> Fraction:
    return (turn - 1 + phase(powers, index)) / powers[index]


def reference_order(powers: list[int]) -> list[tuple[int, int]]:
    """Every turn (validator index, turn number) of one period, listed and sorted."""
    turns = [(crossing(powers, i, j), i, j) for i, w in enumerate(powers) for j in range(1, w + 1)]
    return [(i, j) for _, i, j in sorted(turns)]


def rank_of(powers: list[int], index: int, turn: int) -> int:
    """How many turns come before (index, turn) in the order, counted per validator: the turns of
    validator k strictly before time c are the j >= 1 with j < c * w_k - phi_k + 1."""
    c = crossing(powers, index, turn)
    before = 0
    for k, w in enumerate(powers):
        bound = c * w - phase(powers, k) + 1  # validator k's turn number at time c, if whole
        before += min(w, max(0, math.ceil(bound) - 1))
        if k < index and bound.denominator == 1 and 1 <= bound <= w:
            before += 1  # a turn at the same time, ahead by node id
    return before


def search_bound(n: int) -> int:
    """Evaluations of N(m): a binary search over 4n grid points plus the final cell's two."""
    return math.ceil(math.log2(4 * n)) + 2


@given(small_powers, st.integers(min_value=0, max_value=10**6))
def test_closed_form_agrees_with_the_listed_turn_order(powers: list[int], position: int) -> None:
    vs = valset(powers)
    ordered = powers_of(vs)
    order = reference_order(ordered)
    turn = find_turn(ordered, position)
    assert (turn.validator_index, turn.turn) == order[position % sum(ordered)]
    assert proposer_for(vs, position, 0) == vs.validators[turn.validator_index].node_id


@given(small_powers)
def test_the_whole_period_matches_the_reference(powers: list[int]) -> None:
    vs = valset(powers)
    ordered = powers_of(vs)
    listed = [(t.validator_index, t.turn) for t in (find_turn(ordered, p) for p in range(sum(ordered)))]
    assert listed == reference_order(ordered)


@given(small_powers, st.integers(min_value=0, max_value=10**15))
def test_any_window_of_total_power_positions_gives_each_validator_its_power(
    powers: list[int], start: int
) -> None:
    vs = valset(powers)
    schedule = ProposerSchedule(vs)
    counts: dict[bytes, int] = {}
    for round_ in range(vs.total_power):
        p = schedule.proposer(start, round_)
        counts[p] = counts.get(p, 0) + 1
    assert counts == {v.node_id: v.power for v in vs.validators}


@given(small_powers, st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**4))
def test_round_r_at_height_h_is_position_h_plus_r(powers: list[int], height: int, round_: int) -> None:
    vs = valset(powers)
    expected = vs.validators[reference_order(powers_of(vs))[(height + round_) % vs.total_power][0]].node_id
    assert proposer_for(vs, height, round_) == expected
    assert proposer_for(vs, height + round_, 0) == expected
    assert proposer_for(vs, 0, height + round_) == expected


def test_equal_powers_rotate_by_node_id() -> None:
    for power in (1, 3, 2**40):
        vs = valset([power] * 5)
        ids = [v.node_id for v in vs.validators]
        assert [proposer_for(vs, h, 0) for h in range(10)] == ids + ids


def test_a_small_validator_does_not_propose_twice_in_a_row_next_to_equal_peers() -> None:
    # CometBFT's priorities from zero give the power-2 validator the last and the first position
    # of the period, back to back; the staggered phases put its turns apart.
    vs = valset([2, 1, 1, 1, 1, 1, 1])
    sequence = [proposer_for(vs, h, 0) for h in range(2 * vs.total_power)]
    assert all(a != b for a, b in pairwise(sequence))


def test_the_schedule_cache_agrees_with_the_pure_function() -> None:
    vs = valset([3, 1, 1, 2, 7])
    schedule = ProposerSchedule(vs)
    queries = [(5, 0), (5, 3), (5, 1), (6, 0), (2, 9), (40, 2), (6, 0)]
    queries += [(h, r) for h in range(100, 100 + 3 * RECENT_POSITIONS_MAX) for r in (0, 1)]
    queries += [(5, 0), (10**12, 7), (5, 3)]
    for h, r in queries:
        assert schedule.proposer(h, r) == proposer_for(vs, h, r)


def test_large_powers_and_heights_cost_a_bounded_search_M3() -> None:
    # The old algorithm stepped through (height + round) mod T increments: this hung.
    powers = [POWER_MAX, POWER_MAX - 1, POWER_MAX - 3, 2**39 + 7]
    vs = valset(powers)
    ordered = powers_of(vs)
    total = sum(ordered)
    bound = search_bound(len(ordered))
    assert bound <= 4 * math.log2(total)  # the brief's c * log2(T) per validator, with c = 4
    for height in (10**7, 10**12, 2**63):
        for round_ in (0, 1, 50):
            turn = find_turn(ordered, height + round_)
            assert turn.counts_evaluated <= bound
            assert 1 <= turn.turn <= ordered[turn.validator_index]
            assert rank_of(ordered, turn.validator_index, turn.turn) == (height + round_) % total
            assert proposer_for(vs, height, round_) == vs.validators[turn.validator_index].node_id


@given(large_powers, st.integers(min_value=0, max_value=2**64))
def test_any_set_and_position_cost_a_bounded_search(powers: list[int], position: int) -> None:
    ordered = powers_of(valset(powers))
    turn = find_turn(ordered, position)
    assert turn.counts_evaluated <= search_bound(len(ordered))
    assert rank_of(ordered, turn.validator_index, turn.turn) == position % sum(ordered)


def test_the_largest_set_costs_a_bounded_search() -> None:
    ordered = [POWER_MAX - i for i in range(VALIDATORS_MAX)]
    for position in (0, 10**7, 10**12, sum(ordered) - 1):
        turn = find_turn(ordered, position)
        assert turn.counts_evaluated <= search_bound(VALIDATORS_MAX)
        assert rank_of(ordered, turn.validator_index, turn.turn) == position
