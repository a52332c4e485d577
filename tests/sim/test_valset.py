"""Validator-set changes in the simulator: joins and leaves during faults keep S1-S5 and L1, the
changes really happen (observers come to sign, removed validators fall silent), and the module
that makes them refuses changes that would break the model's assumptions.

The long sweep is an explicit command: ``python -m alliance.testing.sim --seeds 2000 --valset-changes``.
"""

from __future__ import annotations

import os

import pytest

from alliance import codec
from alliance.errors import ExecutionError, InvalidArguments, PermissionDenied, UnknownMethod
from alliance.execution.context import BlockState, CallContext
from alliance.execution.executor import VALIDATORS_KEY
from alliance.execution.gas import DEFAULT_GAS_SCHEDULE, GasMeter
from alliance.ledger.validators import Validator, ValidatorSet
from alliance.testing.sim.cluster import run_seed
from alliance.testing.sim.options import SimOptions
from alliance.testing.sim.runner import iterate, main
from alliance.testing.sim.valset import SetPowerArgs, SimValsetModule, ValsetHistory

VALSET_SEEDS = int(os.environ.get("ALLIANCE_SIM_VALSET_SEEDS", "60"))
ADMIN = b"\xaa" * 20


def _id(n: int) -> bytes:
    return bytes([n]) * 32


def _set(*powers: int) -> ValidatorSet:
    return ValidatorSet.of([Validator(node_id=_id(i + 1), power=p) for i, p in enumerate(powers)])


class _Ledger:
    """One block's state over a committed validator set, for calling the module directly."""

    def __init__(self, validators: ValidatorSet, height: int = 7) -> None:
        committed = {VALIDATORS_KEY: codec.encode(validators)}
        self.state = BlockState(committed.get)
        self.height = height

    def call(self, args: object, *, sender: bytes = ADMIN, method: str = "set_power") -> None:
        ctx = CallContext(
            sender=sender,
            height=self.height,
            time_ms=0,
            state=self.state,
            gas=GasMeter(1_000_000),
            schedule=DEFAULT_GAS_SCHEDULE,
        )
        self.state.begin_tx()
        try:
            SimValsetModule(ADMIN).call(ctx, method, codec.encode(args))
        except ExecutionError:
            self.state.end_tx(success=False)
            raise
        self.state.end_tx(success=True)

    @property
    def validators(self) -> ValidatorSet:
        raw = self.state.get(VALIDATORS_KEY)
        assert raw is not None
        return codec.decode(ValidatorSet, raw)


def test_forced_valset_seeds_have_no_violation_and_really_change_sets() -> None:
    """Joins and leaves during faults: 0 violations over a bounded sample, and the changes took
    effect (observers signed certificates after joining; removed nodes signed none while out)."""
    assert VALSET_SEEDS >= 1, f"ALLIANCE_SIM_VALSET_SEEDS={VALSET_SEEDS}: the sample must hold a seed"
    failures: dict[int, list[str]] = {}
    totals: dict[str, float] = {}
    for seed, violations, stats, _ in iterate(range(VALSET_SEEDS), None, os.cpu_count() or 1, True):
        if violations:
            failures[seed] = violations
        for key, value in stats.items():
            totals[key] = totals.get(key, 0) + value
    assert failures == {}, "\n".join(
        f"seed {s}: {v[:3]} -- {SimOptions.from_seed(s, None, True).command()}" for s, v in failures.items()
    )
    assert totals["valset_joins"] > 0
    assert totals["valset_leaves"] > 0
    assert totals["valset_applied"] >= totals["valset_joins"] + totals["valset_leaves"]
    assert totals["observers_signed"] > 0
    assert totals["removals_seen"] > 0
    assert totals["removals_silent"] == totals["removals_seen"]


def test_about_a_third_of_seeds_change_sets_and_the_flag_forces_it() -> None:
    chosen = [SimOptions.from_seed(s).valset_changes for s in range(600)]
    assert 150 < sum(chosen) < 250
    for seed in range(100):
        plain, forced = SimOptions.from_seed(seed), SimOptions.from_seed(seed, None, True)
        assert forced.valset_changes and forced.observers >= 1
        assert len(forced.drift) == forced.nodes
        assert "--valset-changes" in forced.command()
        if plain.valset_changes:
            assert plain == forced  # the printed command reproduces a randomly chosen run
        else:
            assert plain.observers == 0 and len(plain.drift) == plain.validators


def test_runner_reports_the_set_changes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seeds", "2", "--start", "3", "--processes", "1", "--valset-changes", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"forced_valset_changes": true' in out
    assert '"valset_runs": 2' in out


def test_module_joins_leaves_and_reweights_one_validator_per_block() -> None:
    ledger = _Ledger(_set(1, 1, 1, 1))
    ledger.call(SetPowerArgs(node_id=_id(9), power=1))
    assert ledger.validators.power_of(_id(9)) == 1
    with pytest.raises(InvalidArguments, match="one per block"):
        ledger.call(SetPowerArgs(node_id=_id(1), power=0))
    ledger = _Ledger(ledger.validators, height=8)
    ledger.call(SetPowerArgs(node_id=_id(1), power=0))
    assert [v.node_id for v in ledger.validators.validators] == [_id(2), _id(3), _id(4), _id(9)]
    ledger = _Ledger(ledger.validators, height=9)
    ledger.call(SetPowerArgs(node_id=_id(2), power=2))
    assert ledger.validators.total_power == 5


@pytest.mark.parametrize(
    ("powers", "change", "error"),
    [
        ((1,), SetPowerArgs(node_id=_id(1), power=0), "more than a third"),  # would leave none
        ((1, 1, 4), SetPowerArgs(node_id=_id(3), power=0), "more than a third"),
        ((1, 1, 1), SetPowerArgs(node_id=_id(9), power=2), "more than a third"),
        ((1, 1, 1), SetPowerArgs(node_id=_id(2), power=1), "already has power"),
        ((1, 1, 1), SetPowerArgs(node_id=_id(9), power=0), "already has power"),
    ],
)
def test_module_refuses_changes_that_break_the_assumptions(
    powers: tuple[int, ...], change: SetPowerArgs, error: str
) -> None:
    ledger = _Ledger(_set(*powers))
    with pytest.raises(InvalidArguments, match=error):
        ledger.call(change)
    assert ledger.validators == _set(*powers)


def test_module_refuses_strangers_bad_arguments_and_unknown_methods() -> None:
    ledger = _Ledger(_set(1, 1, 1))
    with pytest.raises(PermissionDenied):
        ledger.call(SetPowerArgs(node_id=_id(9), power=1), sender=b"\xbb" * 20)
    with pytest.raises(InvalidArguments, match="32 bytes"):
        ledger.call((b"short", 1))
    with pytest.raises(InvalidArguments):
        ledger.call((_id(9), -1))
    with pytest.raises(UnknownMethod):
        ledger.call(SetPowerArgs(node_id=_id(9), power=1), method="add")
    assert ledger.validators == _set(1, 1, 1)


def test_history_gives_each_height_the_set_of_state_version_height_minus_two() -> None:
    genesis, second, third = _set(1, 1, 1), _set(1, 1, 1, 1), _set(1, 1)
    history = ValsetHistory(genesis)
    history.record(5, second)
    history.record(5, third)  # a version is recorded once
    history.record(9, third)
    assert [history.voting_at(h) for h in (1, 2, 6, 7, 10, 11, 100)] == [
        genesis,
        genesis,
        genesis,
        second,
        second,
        third,
        third,
    ]
    assert history.changes() == [(0, genesis), (5, second), (9, third)]


def test_a_precommit_withheld_from_some_validators_does_not_stall_the_rest() -> None:
    """Regression (seed 100281): the Byzantine validator sent its round-0 precommit to two
    validators only; they left for round 1 while three waited in round 0 one vote short, and two
    round-1 voters were too few to make them skip. Relaying held votes lets all of them move on."""
    result = run_seed(100281, valset_changes=True)
    assert result.violations == []
