"""Options of one simulation run, all drawn from its seed.

A run is a pure function of its ``SimOptions``; ``SimOptions.from_seed`` draws them, so one seed
reproduces a whole run. ``describe`` prints them and the command that reproduces the run.

Broken variants (``BROKEN_VARIANTS``, the runner's ``--broken``) are deliberate bugs, one per
checker, that show the checkers catch what they claim to (``CAUGHT_BY`` names the checker each
one must trip). A broken run draws *the same options* as the clean run of the same seed: only
``broken`` differs. So a seed that catches a variant is an ordinary seed of the clean mix, and the
clean sample that contains it would catch that bug (spec/consensus.md, "The simulator's
evidence"). Until 2026-12 a broken run drew a harsher mix (Byzantine power at the one-third edge
in half of the weighted-divisible seeds instead of 15%, split-brain always on), which made lock
bugs show sooner than the clean sample could show them.

Validator-set changes are drawn from a generator of their own (``valset-<seed>``), so that adding
them left every other option of every seed as it was. About a third of the seeds change sets
(``--valset-changes`` forces it on); those runs start with observers, nodes that are not
validators at genesis, and draw every other valset option the same way whether forced or not, so
the printed command (which then carries the flag) reproduces the run either way.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from alliance.errors import UsageError

# Each variant and the checker it must trip, as (property, a phrase of the violation's text).
CAUGHT_BY: dict[str, tuple[str, str]] = {
    # The core ignores its lock (consensus.core ``unsafe_ignore_lock``): two blocks at one height.
    "ignore-lock": ("S1", "different blocks"),
    # The core counts exactly two thirds as a quorum (``unsafe_quorum_inclusive``).
    "inclusive-quorum": ("S2", "power signed"),
    # The host ignores ``must_sync``: a crash loses the record of an own vote, and the restarted
    # node signs a conflicting one (``node.SimNode``, ``disk.SimWal``).
    "wal-no-sync": ("S3", "values at height"),
    # The application forgets to report validator-set changes to consensus: a removed validator's
    # core keeps it in the set, and it signs where it is no validator (``node.SimNode``).
    "drop-valset-updates": ("S3", "without being a validator"),
    # A module whose result depends on the node executing it (``noise.SimNoiseModule``).
    "nondeterministic": ("S4", "state root"),
    # The client is told "committed" when a node admits its transaction (``cluster.Simulation``).
    "ack-before-commit": ("S5", "missing at node"),
    # Nodes never answer block-sync requests, so a node that fell behind cannot catch up.
    "sync-mute": ("L1", "below"),
}
BROKEN_VARIANTS = tuple(CAUGHT_BY)
# Seeds on which each variant trips its own checker, run by CI (tests/sim/test_broken_variants.py)
# and included in CI's clean sample (the same options, clean). Found on 2026-12-07 with
# ``python -m alliance.testing.sim --broken VARIANT --seeds N --start 0 [--stop-on-first]``; the
# searches, their rates and costs are in docs/benchmarks.md ("Consensus simulator sweep"). Among
# the catching seeds these are the first, or the cheapest of the first few. Re-find them when a
# change of the simulator or the node moves them: the failing test names the seed.
CATCHING_SEEDS: dict[str, tuple[int, ...]] = {
    "ignore-lock": (376, 1222),  # the first two in seeds 0-1222 (about 1 seed in 600)
    "inclusive-quorum": (0, 4),
    "wal-no-sync": (0, 1),
    "drop-valset-updates": (4, 26),
    "nondeterministic": (1, 7),
    "ack-before-commit": (0, 1),
    "sync-mute": (1, 3),
}
VALSET_SHARE = 1 / 3  # of seeds that change validator sets without --valset-changes


@dataclass(frozen=True, slots=True)
class SimOptions:
    seed: int
    validators: int  # at genesis; node indices 0..validators-1, observers after them
    powers: tuple[int, ...]
    byzantine: tuple[int, ...]  # indices of Byzantine validators
    byzantine_behaviours: tuple[str, ...]
    faults_ms: int  # length of phase 1 (faults on)
    heal_ms_max: int  # phase 2 deadline for liveness
    delay_ms_min: int
    delay_ms_max: int
    loss: float
    duplication: float
    reorder: float  # probability of an extra delay that reorders a message
    partition_rate: float  # partitions started per simulated second
    asymmetric_partitions: bool
    crash_rate: float  # crashes per simulated second across the cluster
    torn_wal: float  # probability that a crash tears the WAL's unsynced tail
    lose_unsynced: bool
    drift: tuple[float, ...]  # each node's clock rate (validators, then observers)
    tx_rate: float  # transactions submitted per simulated second
    timeout_propose_ms: int
    timeout_vote_ms: int
    broken: str | None
    check_liveness: bool
    valset_changes: bool  # the workload changes the validator set during phase 1
    observers: int  # nodes that are not validators at genesis
    valset_interval_ms: int  # mean time between attempts to change the set

    @property
    def nodes(self) -> int:
        return self.validators + self.observers

    @classmethod
    def from_seed(cls, seed: int, broken: str | None = None, valset_changes: bool = False) -> SimOptions:
        """The options of ``seed``; ``valset_changes`` forces validator-set changes on."""
        if broken is not None and broken not in CAUGHT_BY:
            raise UsageError(f"unknown broken variant {broken!r}; known: {', '.join(BROKEN_VARIANTS)}")
        vrng = random.Random(f"valset-{seed}")
        valset = vrng.random() < VALSET_SHARE or valset_changes
        observers = vrng.choice((1, 2, 2, 3))
        observer_drift = tuple(round(vrng.uniform(0.9, 1.1), 3) for _ in range(observers))
        valset_interval_ms = vrng.choice((300, 800, 2000))
        if not valset:
            observers, observer_drift = 0, ()
        rng = random.Random(seed)
        n = rng.choice((3, 4, 4, 5, 6, 7))
        powers = tuple(rng.randint(1, 4) for _ in range(n)) if rng.random() < 0.3 else (1,) * n
        total = sum(powers)
        # Safety is claimed for Byzantine power up to one third (quorum intersection), liveness
        # only below one third. Most runs stay below; some sit exactly at the edge (when the total
        # divides by three), where broken quorum rules are exposed.
        # ``broken`` changes none of the draws (module docstring).
        edge = total % 3 == 0 and rng.random() < 0.15
        byzantine = _pick_byzantine(rng, powers, edge)
        behaviours = ("split-brain", "double-vote", "withhold", "wrong-height", "silent")
        chosen = tuple(sorted(rng.sample(behaviours, rng.randint(1, 3)))) if byzantine else ()
        byz_power = sum(powers[i] for i in byzantine)
        return cls(
            seed=seed,
            validators=n,
            powers=powers,
            byzantine=byzantine,
            byzantine_behaviours=chosen,
            faults_ms=rng.choice((4_000, 8_000, 12_000)),
            heal_ms_max=90_000,
            delay_ms_min=rng.choice((1, 5, 10)),
            delay_ms_max=rng.choice((20, 60, 200, 800)),
            loss=rng.choice((0.0, 0.02, 0.1, 0.3)),
            duplication=rng.choice((0.0, 0.05, 0.2)),
            reorder=rng.choice((0.0, 0.1, 0.3)),
            partition_rate=rng.choice((0.0, 0.2, 0.5)),
            asymmetric_partitions=rng.random() < 0.5,
            crash_rate=rng.choice((0.0, 0.1, 0.3)),
            torn_wal=rng.choice((0.0, 0.5)),
            lose_unsynced=rng.random() < 0.7,
            drift=tuple(round(rng.uniform(0.9, 1.1), 3) for _ in range(n)) + observer_drift,
            tx_rate=rng.choice((2.0, 10.0, 40.0)),
            timeout_propose_ms=rng.choice((200, 400, 800)),
            timeout_vote_ms=rng.choice((100, 200, 400)),
            broken=broken,
            check_liveness=3 * byz_power < total,
            valset_changes=valset,
            observers=observers,
            valset_interval_ms=valset_interval_ms,
        )

    def describe(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in asdict(self).items())
        return f"SimOptions({fields})"

    def command(self) -> str:
        extra = f" --broken {self.broken}" if self.broken else ""
        extra += " --valset-changes" if self.valset_changes else ""
        return f"python -m alliance.testing.sim --seeds 1 --start {self.seed}{extra}"


def _pick_byzantine(rng: random.Random, powers: tuple[int, ...], edge: bool) -> tuple[int, ...]:
    total = sum(powers)
    order = list(range(len(powers)))
    rng.shuffle(order)
    if edge:
        # Exactly one third of the power, if some subset reaches it greedily; else stay below.
        chosen: list[int] = []
        power = 0
        for i in order:
            if 3 * (power + powers[i]) <= total:
                chosen.append(i)
                power += powers[i]
            if 3 * power == total:
                return tuple(sorted(chosen))
    budget = rng.random()
    chosen = []
    power = 0
    for i in order:
        if 3 * (power + powers[i]) < total and rng.random() < budget:
            chosen.append(i)
            power += powers[i]
    return tuple(sorted(chosen))
