"""The deterministic simulator: a bounded sample of seeds is clean, a seed reproduces its run,
and each deliberately broken core is caught (spec/consensus.md S1-S5, L1).

The long sweep (10,000 seeds) is an explicit command, recorded in docs/benchmarks.md:
``python -m alliance.testing.sim --seeds 10000``.
"""

from __future__ import annotations

import os

import pytest

from alliance.testing.sim import checkers
from alliance.testing.sim.cluster import run_seed
from alliance.testing.sim.options import BROKEN_VARIANTS, SimOptions
from alliance.testing.sim.runner import iterate, main

SAMPLE_SEEDS = int(os.environ.get("ALLIANCE_SIM_SEEDS", "300"))
# ignore-lock is first caught at seed 60 since the proposer follows the staggered turn order
# (2026-12-06, audit M3; seed 60 has weights 2, 3, 2, 4), and was at seed 2344 under CometBFT's
# priorities once a message for a later height had to carry a valid signature to wait in the
# buffer (2026-12-02). Before that, a Byzantine node's forged early votes in honest validators'
# names held their slots, and lock bugs showed sooner: at seed 1325 (and before honest nodes
# relayed the votes they hold, within the first 1,000). The bound leaves room above them all.
BROKEN_SEEDS_MAX = 3000


def test_sample_of_seeds_has_no_safety_or_liveness_violation() -> None:
    """S1-S5 and L1 over a bounded sample of seeds with faults and Byzantine validators."""
    failures = {
        seed: violations
        for seed, violations, _, _ in iterate(range(SAMPLE_SEEDS), None, os.cpu_count() or 1)
        if violations
    }
    assert failures == {}, "\n".join(
        f"seed {s}: {v[:3]} -- {SimOptions.from_seed(s).command()}" for s, v in failures.items()
    )


@pytest.mark.parametrize("variant", BROKEN_VARIANTS)
def test_each_broken_variant_is_caught_within_the_seed_bound(variant: str) -> None:
    """The checkers find real bugs: a core that ignores its lock, or counts exactly 2/3 as a
    quorum, yields a safety violation (S1..S5) within ``BROKEN_SEEDS_MAX`` seeds."""
    for seed, violations, _, _ in iterate(range(BROKEN_SEEDS_MAX), variant, os.cpu_count() or 1):
        safety = [v for v in violations if v.startswith("S")]
        if safety:
            assert seed < BROKEN_SEEDS_MAX
            return
    pytest.fail(f"the broken variant {variant!r} went unnoticed for {BROKEN_SEEDS_MAX} seeds")


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


def test_double_sign_checker_flags_two_values_for_one_slot() -> None:
    """S3 is judged from what honest nodes sent, not from the cores' own records."""
    signed = {(0, 5, 1, 2): {b"a" * 32, b""}, (1, 5, 1, 2): {b"a" * 32}}
    found = checkers.check_double_sign(signed)
    assert [v.prop for v in found] == ["S3"]
    assert "honest node 0" in found[0].detail


def test_runner_exit_status_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seeds", "2", "--start", "3", "--processes", "1", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"seeds": 2' in out
    assert '"safety_violations": 0' in out
