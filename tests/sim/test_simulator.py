"""The deterministic simulator: a bounded sample of seeds is clean, a seed reproduces its run,
and a sample of nothing is an error (spec/consensus.md S1-S5, L1; audit M6 and L2).

The sample is seeds ``0..ALLIANCE_SIM_SEEDS-1`` (400 by default), the seeds recorded as catching
each broken variant (``options.CATCHING_SEEDS``: the same options as these clean runs, so this
sample holds scenarios that catch every variant, the lock bug included; see
test_broken_variants.py), and a few fresh random seeds each run, printed with their reproducing
command if one fails. The long sweep (10,000 seeds) is an explicit command, recorded in
docs/benchmarks.md: ``python -m alliance.testing.sim --seeds 10000 --start 600000``.
"""

from __future__ import annotations

import os
import random

import pytest

from alliance.testing.sim.cluster import run_seed
from alliance.testing.sim.options import CATCHING_SEEDS, SimOptions
from alliance.testing.sim.runner import iterate, main

SAMPLE_SEEDS = int(os.environ.get("ALLIANCE_SIM_SEEDS", "400"))
RANDOM_SEEDS = 6
RANDOM_SEEDS_FROM = 10**6  # above every fixed sample and recorded sweep start


def _sample() -> list[int]:
    recorded = {seed for seeds in CATCHING_SEEDS.values() for seed in seeds}
    fresh = random.SystemRandom().sample(range(RANDOM_SEEDS_FROM, 2**31), RANDOM_SEEDS)
    return sorted(set(range(SAMPLE_SEEDS)) | recorded) + fresh


def test_the_sample_size_is_at_least_one() -> None:
    """An environment that asks for no seeds fails here instead of passing with nothing run."""
    assert SAMPLE_SEEDS >= 1, f"ALLIANCE_SIM_SEEDS={SAMPLE_SEEDS}: the sample must hold at least one seed"


def test_sample_of_seeds_has_no_safety_or_liveness_violation() -> None:
    """S1-S5 and L1 over a bounded sample of seeds with faults and Byzantine validators."""
    seeds = _sample()
    ran: list[int] = []
    failures: dict[int, list[str]] = {}
    for seed, violations, _, _ in iterate(seeds, None, os.cpu_count() or 1):
        ran.append(seed)
        if violations:
            failures[seed] = violations
    assert sorted(ran) == sorted(seeds)
    assert failures == {}, "\n".join(
        f"seed {s}: {v[:3]} -- {SimOptions.from_seed(s).command()}" for s, v in failures.items()
    )


def test_a_seed_reproduces_its_run_exactly() -> None:
    first = run_seed(12)
    second = run_seed(12)
    assert first.heights == second.heights
    assert [str(v) for v in first.violations] == [str(v) for v in second.violations]
    same = {k: v for k, v in first.stats.items() if k != "wall_s"}
    assert same == {k: v for k, v in second.stats.items() if k != "wall_s"}
    assert first.stats["messages"] > 0


def test_options_are_a_function_of_the_seed_and_print_their_command() -> None:
    a, b = SimOptions.from_seed(77), SimOptions.from_seed(77)
    assert a == b
    assert "--start 77" in a.command()
    assert "seed=77" in a.describe()
    assert SimOptions.from_seed(78) != a


def test_byzantine_power_never_exceeds_one_third() -> None:
    for seed in range(500):
        options = SimOptions.from_seed(seed, "ignore-lock" if seed % 2 else None)
        byzantine = sum(options.powers[i] for i in options.byzantine)
        assert 3 * byzantine <= sum(options.powers)
        assert options.check_liveness == (3 * byzantine < sum(options.powers))


def test_runner_exit_status_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seeds", "2", "--start", "3", "--processes", "1", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"seeds": 2' in out
    assert '"safety_violations": 0' in out


@pytest.mark.parametrize("seeds", ["0", "-3"])
def test_runner_refuses_to_run_no_seeds(seeds: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--seeds 0`` is an error with a one-line message, never a pass (audit M6)."""
    assert main(["--seeds", seeds, "--processes", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"python -m alliance.testing.sim: error: --seeds must be at least 1, got {seeds}\n"
