"""An indexed validator set: O(1) power lookups, a cached hash and a proposer schedule.

Theory of operation: ``ValidatorSet`` (from the ledger) is the canonical data; the core wraps each
set it uses once in a ``ValidatorIndex`` so the hot paths (a power lookup per vote, the proposer
per round, the validators hash per proposal) do not rescan or re-encode the set.
"""

from __future__ import annotations

from alliance.consensus.proposer import ProposerSchedule
from alliance.ledger.validators import ValidatorSet


class ValidatorIndex:
    __slots__ = ("_powers", "_schedule", "hash", "total_power", "validator_set")

    def __init__(self, validator_set: ValidatorSet) -> None:
        self.validator_set = validator_set
        self._powers = {v.node_id: v.power for v in validator_set.validators}
        self.total_power = sum(self._powers.values())
        self.hash = validator_set.hash()
        self._schedule = ProposerSchedule(validator_set)

    def power_of(self, node_id: bytes) -> int:
        return self._powers.get(node_id, 0)

    def proposer(self, height: int, round_: int) -> bytes:
        return self._schedule.proposer(height, round_)
