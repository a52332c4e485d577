"""Validators and validator sets.

A validator is a node id (Ed25519 public key) with a voting power. A set is kept sorted by node
id, so its hash (which headers carry) does not depend on the order it was built in. Quorum
arithmetic lives with consensus; this module only defines the data and its hash.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from alliance import codec
from alliance.codec import Struct
from alliance.crypto.hashing import Domain, hash_domain
from alliance.errors import UsageError

VALIDATORS_MAX = 1000
POWER_MAX = 2**40

Power = Annotated[int, msgspec.Meta(ge=0, le=POWER_MAX)]
NodeIdBytes = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]


class Validator(Struct):
    node_id: NodeIdBytes
    power: Power


class ValidatorSet(Struct):
    validators: Annotated[list[Validator], msgspec.Meta(max_length=VALIDATORS_MAX)]

    def __post_init__(self) -> None:
        ids = [v.node_id for v in self.validators]
        if ids != sorted(ids) or len(set(ids)) != len(ids):
            raise UsageError("validator set must be sorted by node id without duplicates")
        if any(v.power <= 0 for v in self.validators):
            raise UsageError("every validator in a set has positive power")

    @classmethod
    def of(cls, validators: list[Validator]) -> ValidatorSet:
        return cls(validators=sorted(validators, key=lambda v: v.node_id))

    @property
    def total_power(self) -> int:
        return sum(v.power for v in self.validators)

    def power_of(self, node_id: bytes) -> int:
        for v in self.validators:
            if v.node_id == node_id:
                return v.power
        return 0

    def hash(self) -> bytes:
        return hash_domain(Domain.VALIDATORS, codec.encode(self))

    def apply_updates(self, updates: list[Validator]) -> ValidatorSet:
        """A new set with each update applied: power 0 removes, otherwise add or replace."""
        by_id = {v.node_id: v for v in self.validators}
        for u in updates:
            if u.power == 0:
                by_id.pop(u.node_id, None)
            else:
                by_id[u.node_id] = u
        return ValidatorSet.of(list(by_id.values()))
