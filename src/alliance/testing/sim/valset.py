"""Validator-set changes in the simulator: a tiny module that changes the set, and a history of sets.

Theory of operation
-------------------
The executor turns a block's write of a whole new ``ValidatorSet`` under ``VALIDATORS_KEY`` into
``FinalizeResult.validator_updates``; the set written while executing height h votes from height
h + 2, so the set that votes at height H is the one in state version max(0, H - 2).

``SimValsetModule`` (target ``"simvalset"``, method ``"set_power"``, args ``SetPowerArgs``) is the
simplest writer of that key: it changes one validator's power per transaction (power 0 removes,
a new node id joins) and refuses, with ``InvalidArguments``, a change that would break what the
simulation (and a real alliance) assumes between consecutive heights' sets:

* no set may be empty;
* one change moves at most a third of the current total power, and a block carries at most one
  change, so consecutive sets never differ by more than that (a larger jump could hand a
  colluding minority of the old set a quorum of the new one);
* only the configured administrator account may call it (in a real chain, governance decides).

Whether Byzantine power stays below a third of each set is the workload's promise
(``cluster.Simulation``), not the module's: a module cannot know who is Byzantine.

``ValsetHistory`` is a node's audit record of the sets its state held, by version: the checkers
judge every certificate against its own height's set, which old pruned state versions could no
longer tell.
"""

from __future__ import annotations

import bisect

from alliance import codec
from alliance.abi.chain import VALIDATORS_KEY
from alliance.codec import Struct
from alliance.errors import DecodeError, InvalidArguments, NotFound, PermissionDenied
from alliance.execution.context import CallContext
from alliance.execution.modules import Method, ModuleBase
from alliance.ledger.validators import VALIDATORS_MAX, NodeIdBytes, Power, Validator, ValidatorSet

MODULE_NAME = "simvalset"
SET_POWER = "set_power"
# The height of the last change, so that a block carries at most one.
LAST_CHANGE_KEY = b"sim/valset/last-change"


class SetPowerArgs(Struct):
    node_id: NodeIdBytes
    power: Power  # 0 removes the validator


class ValsetChanged(Struct):
    node_id: bytes
    power_before: int
    power: int
    effective_height: int


class SimValsetModule(ModuleBase):
    name = MODULE_NAME
    methods = (Method(SET_POWER, SetPowerArgs, "set a validator's power (the simulation's administrator)"),)
    events = {"changed": ValsetChanged}

    def __init__(self, admin: bytes) -> None:
        self.admin = admin

    def call(self, ctx: CallContext, method: str, args: bytes) -> bytes | None:
        if method != SET_POWER:
            raise self.unknown_method(method)
        if ctx.sender != self.admin:
            raise PermissionDenied(f"{self.name}.{SET_POWER} is for the simulation's administrator only")
        try:
            change = codec.decode(SetPowerArgs, args)
        except DecodeError:
            raise InvalidArguments(f"{self.name}.{SET_POWER} takes (node_id: 32 bytes, power >= 0)") from None
        raw = ctx.read(VALIDATORS_KEY)
        if raw is None:
            raise NotFound("the chain has no validator set")
        current = codec.decode_trusted(ValidatorSet, raw)
        last = ctx.read(LAST_CHANGE_KEY)
        if last is not None and codec.decode_trusted(int, last) == ctx.height:
            raise InvalidArguments(f"block {ctx.height} already changed the validator set (one per block)")
        check_change(current, change)
        new = current.apply_updates([Validator(node_id=change.node_id, power=change.power)])
        ctx.write(VALIDATORS_KEY, codec.encode(new))
        ctx.write(LAST_CHANGE_KEY, codec.encode(ctx.height))
        event = ValsetChanged(
            node_id=change.node_id,
            power_before=current.power_of(change.node_id),
            power=change.power,
            effective_height=ctx.height + 2,
        )
        ctx.emit(self.name, "changed", codec.encode(event))
        return None


def check_change(current: ValidatorSet, change: SetPowerArgs) -> None:
    """Raise ``InvalidArguments`` unless ``change`` is allowed on ``current`` (see the module doc)."""
    before = current.power_of(change.node_id)
    who = change.node_id.hex()[:16]
    if before == change.power:
        raise InvalidArguments(f"node {who} already has power {before}")
    total = current.total_power
    if 3 * abs(change.power - before) > total:
        raise InvalidArguments(
            f"changing node {who} from {before} to {change.power} moves more than a third of the "
            f"total power {total} at once"
        )
    if change.power == 0 and len(current.validators) == 1:
        raise InvalidArguments(f"removing node {who} would leave no validators")
    if before == 0 and len(current.validators) >= VALIDATORS_MAX:
        raise InvalidArguments(f"the set already has {VALIDATORS_MAX} validators")


def allowed(current: ValidatorSet, change: SetPowerArgs) -> bool:
    try:
        check_change(current, change)
    except InvalidArguments:
        return False
    return True


class ValsetHistory:
    """The validator sets a node's state held, by state version (0 is genesis)."""

    def __init__(self, genesis_set: ValidatorSet) -> None:
        self._versions: list[int] = [0]
        self._sets: list[ValidatorSet] = [genesis_set]

    def record(self, version: int, validators: ValidatorSet) -> None:
        """The set in state after block ``version`` (called only when a block changed it)."""
        if version <= self._versions[-1]:
            return  # recorded before (a block is committed once; this only guards re-entry)
        if validators != self._sets[-1]:
            self._versions.append(version)
            self._sets.append(validators)

    def at_version(self, version: int) -> ValidatorSet:
        return self._sets[bisect.bisect_right(self._versions, version) - 1]

    def voting_at(self, height: int) -> ValidatorSet:
        """The set that votes at ``height``: state version max(0, height - 2)."""
        return self.at_version(max(0, height - 2))

    def changes(self) -> list[tuple[int, ValidatorSet]]:
        """(version, set) for genesis and every version that changed the set."""
        return list(zip(self._versions, self._sets, strict=True))
