"""Quorum arithmetic by voting power.

Theory of operation: Tendermint's "2f+1" and "f+1" are thresholds on voting power, not on
counts of nodes. With total power ``T`` and Byzantine power strictly below ``T/3``:

* a *quorum* ("2f+1") is power strictly greater than ``2T/3``; any two quorums intersect in
  more than ``T/3`` power, so in at least one honest validator (the basis of S1 agreement);
* a *blocking set* ("f+1") is power strictly greater than ``T/3``; it contains at least one
  honest validator (the basis of the round-skip rule).

Exactly two thirds is *not* a quorum. The comparisons use integers only (``3 * p > 2 * T``),
so there is no rounding. ``inclusive=True`` counts ``>= 2T/3`` as a quorum: that is a deliberately
broken variant for the simulator's checker tests and must never run in production.
"""

from __future__ import annotations

from dataclasses import dataclass


def exceeds_two_thirds(power: int, total_power: int) -> bool:
    """True when ``power`` is strictly more than two thirds of ``total_power``."""
    return 3 * power > 2 * total_power


def exceeds_one_third(power: int, total_power: int) -> bool:
    """True when ``power`` is strictly more than one third of ``total_power``."""
    return 3 * power > total_power


@dataclass(frozen=True, slots=True)
class QuorumRule:
    """The quorum test a core uses; ``inclusive`` is the test-only broken variant."""

    inclusive: bool = False

    def is_quorum(self, power: int, total_power: int) -> bool:
        if self.inclusive:
            return total_power > 0 and 3 * power >= 2 * total_power
        return exceeds_two_thirds(power, total_power)

    def is_blocking(self, power: int, total_power: int) -> bool:
        return exceeds_one_third(power, total_power)
