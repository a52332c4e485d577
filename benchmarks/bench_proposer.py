"""Proposer selection: the cost of a cold query, and how evenly the turn order spreads turns.

Cost: for n = 4, 16, 100 validators and total power 4, 2**20, 2**40 (split unevenly, each power at
least 1, so total power 4 only fits n = 4), the time of ``proposer_for`` at heights 10**3, 10**7
and 10**12 with a fresh schedule every call (no cache), best of ``--repeat``, and the number of
evaluations of the turn-count function ``N(m)`` (each ``n`` integer divisions) that
``find_turn`` made. Flat in height and power means the closed form works.

Quality: over a seeded sample of small sets, compares the turn order of
``alliance.consensus.proposer`` with CometBFT's priorities counted from zero (the previous
proposer rule) and with plain Webster (every phase 1/2). Per set: the largest discrepancy of any
validator over any window of consecutive positions, ``|turns - length * w / T|``, and whether a
validator with less than a third of the power holds two consecutive positions (around the period
too), which costs two timed-out rounds in a row when it is down.

Prints one JSON document (on one line with ``--json``). Usage:
``python benchmarks/bench_proposer.py [--repeat 20] [--sets 200 --seed 5] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from fractions import Fraction

from alliance.consensus.proposer import find_turn, proposer_for
from alliance.ledger.validators import Validator, ValidatorSet

VALIDATOR_COUNTS = (4, 16, 100)
TOTAL_POWERS = (4, 2**20, 2**40)
HEIGHTS = (10**3, 10**7, 10**12)


def uneven_powers(count: int, total: int) -> list[int]:
    """``count`` powers summing to ``total``, the i-th about proportional to i + 1, each >= 1."""
    weights = count * (count + 1) // 2
    powers = [1 + (total - count) * (i + 1) // weights for i in range(count)]
    powers[-1] += total - sum(powers)
    return powers


def make_set(powers: list[int]) -> ValidatorSet:
    return ValidatorSet.of([Validator(node_id=i.to_bytes(32, "big"), power=p) for i, p in enumerate(powers)])


def cold_costs(repeat: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for count in VALIDATOR_COUNTS:
        for total in TOTAL_POWERS:
            if total < count:
                continue  # every validator has power >= 1
            powers = uneven_powers(count, total)
            validator_set = make_set(powers)
            ordered = [v.power for v in validator_set.validators]
            for height in HEIGHTS:
                best_ns = min(_cold_query_ns(validator_set, height) for _ in range(repeat))
                rows.append({
                    "validators": count,
                    "total_power": total,
                    "height": height,
                    "cold_query_us": round(best_ns / 1000, 1),
                    "counts_evaluated": find_turn(ordered, height).counts_evaluated,
                })
    return rows


def _cold_query_ns(validator_set: ValidatorSet, height: int) -> int:
    started = time.perf_counter_ns()
    proposer_for(validator_set, height, 0)  # builds a fresh schedule: nothing cached
    return time.perf_counter_ns() - started


# --- quality --------------------------------------------------------------------------------------


def cometbft_order(powers: list[int]) -> list[int]:
    """The previous rule: winners of T increments of CometBFT's priorities from all zeros."""
    total = sum(powers)
    priorities = [0] * len(powers)
    order = []
    for _ in range(total):
        for i, w in enumerate(powers):
            priorities[i] += w
        best = max(range(len(powers)), key=lambda i: (priorities[i], -i))
        priorities[best] -= total
        order.append(best)
    return order


def webster_order(powers: list[int]) -> list[int]:
    turns = sorted((Fraction(2 * j - 1, 2 * w), i) for i, w in enumerate(powers) for j in range(1, w + 1))
    return [i for _, i in turns]


def staggered_order(powers: list[int]) -> list[int]:
    return [find_turn(powers, p).validator_index for p in range(sum(powers))]


def discrepancy(order: list[int], powers: list[int]) -> Fraction:
    """Largest ``|turns - length * w / T|`` over validators and windows of consecutive positions.

    ``D(k) = turns in the first k positions - k * w / T`` has period T, so over windows of any
    length (around the period too) the largest deviation is ``max D - min D``.
    """
    total = len(order)
    worst = Fraction(0)
    for i, w in enumerate(powers):
        scaled, low, high = 0, 0, 0  # T * D(k), in integers
        for holder in order:
            scaled += total * (holder == i) - w
            low, high = min(low, scaled), max(high, scaled)
        worst = max(worst, Fraction(high - low, total))
    return worst


def small_validator_repeats(order: list[int], powers: list[int]) -> bool:
    total = len(order)
    return any(
        order[k] == order[(k + 1) % total] and 3 * powers[order[k]] < total for k in range(total)
    )


def sample_sets(count: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    sets = []
    for index in range(count):
        n = rng.randint(4, 16)
        kind = index % 4
        if kind == 0:  # equal powers but one
            powers = [10] * n
            powers[rng.randrange(n)] = rng.choice([5, 20, 30])
        elif kind == 1:
            powers = [rng.choice([1, 2]) for _ in range(n)]
        elif kind == 2:
            powers = [rng.randint(1, 20) for _ in range(n)]
        else:
            powers = [rng.choice([1, 1, 1, 1, 3]) for _ in range(n)]
        sets.append(powers)
    return sets


def quality(sets_count: int, seed: int) -> dict[str, dict[str, object]]:
    rules: dict[str, Callable[[list[int]], list[int]]] = {
        "cometbft_priorities": cometbft_order,
        "webster": webster_order,
        "staggered (this)": staggered_order,
    }
    sets = sample_sets(sets_count, seed)
    result: dict[str, dict[str, object]] = {}
    for name, rule in rules.items():
        orders = [(rule(p), p) for p in sets]
        spreads = [(discrepancy(order, p), small_validator_repeats(order, p)) for order, p in orders]
        result[name] = {
            "discrepancy_max": round(float(max(d for d, _ in spreads)), 3),
            "discrepancy_mean": round(float(sum(d for d, _ in spreads) / len(spreads)), 3),
            "sets_with_a_small_validator_twice_in_a_row": sum(r for _, r in spreads),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timings per figure; the best is kept")
    parser.add_argument("--sets", type=int, default=200, help="sets in the quality sample")
    parser.add_argument("--seed", type=int, default=5, help="seed of the quality sample")
    parser.add_argument("--json", action="store_true", help="one line (for make bench) instead of indented")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.sets < 1:
        parser.error("--sets must be at least 1")
    report = {
        "cold_queries": cold_costs(args.repeat),
        "quality": {"sets": args.sets, "seed": args.seed, "rules": quality(args.sets, args.seed)},
    }
    print(json.dumps(report, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
