"""Each broken variant trips its own checker in a real run (audit M6), on seeds recorded for it.

A variant is a deliberate bug (``options.CAUGHT_BY``: the core ignoring its lock or counting two
thirds as a quorum, a host that does not sync its WAL before sending, an application that drops
validator updates or depends on the node, a client told "committed" on admission, nodes that
never answer block sync). A broken run draws the same options as the clean run of its seed, so a
recorded seed is an ordinary scenario of the clean mix; the clean sample in test_simulator.py
includes every recorded seed and passes on all of them. The recorded seeds are re-found with the
slow command in ``options.CATCHING_SEEDS``' comment; its results are in docs/benchmarks.md.

The checker must be the variant's own, named by property and a phrase of its message: a variant
that only broke liveness, or tripped another checker, does not count.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from alliance.errors import UsageError
from alliance.testing.sim.cluster import run_seed
from alliance.testing.sim.options import BROKEN_VARIANTS, CATCHING_SEEDS, CAUGHT_BY, SimOptions
from alliance.testing.sim.runner import catches


def test_every_variant_has_a_checker_and_recorded_seeds() -> None:
    assert set(CAUGHT_BY) == set(BROKEN_VARIANTS) == set(CATCHING_SEEDS)
    assert all(CATCHING_SEEDS[v] for v in BROKEN_VARIANTS)
    fired = {prop for prop, _ in CAUGHT_BY.values()}
    assert fired == {"S1", "S2", "S3", "S4", "S5", "L1"}


@pytest.mark.parametrize("variant", BROKEN_VARIANTS)
def test_each_broken_variant_trips_its_own_checker_on_its_recorded_seeds(variant: str) -> None:
    prop, phrase = CAUGHT_BY[variant]
    for seed in CATCHING_SEEDS[variant]:
        result = run_seed(seed, variant)
        found = [str(v) for v in result.violations]
        assert catches(variant, found), (
            f"--broken {variant} at seed {seed} did not trip {prop} ({phrase!r}); it found {found[:5]}; "
            f"reproduce: {result.options.command()}"
        )


def test_a_broken_run_draws_the_clean_runs_options() -> None:
    """Same scenario mix: a variant changes nothing of a seed's options but ``broken``."""
    for seed in range(400):
        clean = SimOptions.from_seed(seed)
        for variant in BROKEN_VARIANTS:
            assert replace(SimOptions.from_seed(seed, variant), broken=None) == clean


def test_an_unknown_variant_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown broken variant 'fast-path'"):
        SimOptions.from_seed(1, "fast-path")


def test_catches_counts_only_the_variants_own_checker() -> None:
    assert catches("ignore-lock", ["S1: height 4 has 2 different blocks among honest nodes"])
    assert not catches("ignore-lock", ["L1: node 2 at height 3, below 6 by 98000 ms"])
    outsider = "S3: honest node 1 signed at height 9 round 0 type 1 without being a validator of that height"
    assert not catches("wal-no-sync", [outsider])
    assert catches("drop-valset-updates", [outsider])
    assert catches("wal-no-sync", ["S3: honest node 0 signed 2 values at height 5 round 1 type 2"])
