"""Run many seeds, in parallel processes, and report violations with their reproduction commands.

``python -m alliance.testing.sim --seeds N [--start S] [--broken VARIANT] [--valset-changes] [--json]
[--stop-on-first]`` runs seeds S..S+N-1 and exits non-zero when any run violates a property;
``--valset-changes`` makes every seed change its validator set (about a third do without it).
Each failure line names the seed, the violated properties and the command that reproduces it;
``--verbose`` prints every run's options (a run is fully determined by them). ``--seeds`` below 1
is an error (exit status 2, one line on stderr): a run of nothing must never read as a pass.

With ``--broken VARIANT`` a seed *catches* the variant when the checker named for it in
``options.CAUGHT_BY`` fires (other violations are listed, but do not count); ``--stop-on-first``
then stops at the first seed that catches it, which is how the seeds recorded in
tests/sim/test_broken_variants.py are found.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Sequence

from alliance.testing.sim.cluster import SimResult, run_seed
from alliance.testing.sim.options import BROKEN_VARIANTS, CAUGHT_BY, SimOptions


def _run(args: tuple[int, str | None, bool]) -> tuple[int, list[str], dict[str, float], str]:
    seed, broken, valset_changes = args
    try:
        result: SimResult = run_seed(seed, broken, valset_changes)
    except Exception as exc:  # noqa: BLE001 - a crash of the simulated system is a finding, not a runner error
        options = SimOptions.from_seed(seed, broken, valset_changes)
        return seed, [f"CRASH: {type(exc).__name__}: {exc}"], {}, options.describe()
    return seed, [str(v) for v in result.violations], result.stats, result.options.describe()


def catches(broken: str, violations: list[str]) -> bool:
    """Whether ``violations`` (as the runner prints them) include the one ``broken`` must cause."""
    prop, phrase = CAUGHT_BY[broken]
    return any(v.startswith(f"{prop}: ") and phrase in v for v in violations)


def iterate(
    seeds: Sequence[int], broken: str | None, processes: int, valset_changes: bool = False
) -> Iterator[tuple[int, list[str], dict[str, float], str]]:
    jobs = [(s, broken, valset_changes) for s in seeds]
    if processes <= 1:
        yield from map(_run, jobs)
        return
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        yield from pool.imap(_run, jobs, chunksize=4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m alliance.testing.sim", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds to run")
    parser.add_argument("--start", type=int, default=0, help="the first seed")
    parser.add_argument("--broken", choices=BROKEN_VARIANTS, help="run a deliberately broken core")
    parser.add_argument(
        "--valset-changes", action="store_true", help="change the validator set in every seed"
    )
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument("--stop-on-first", action="store_true", help="stop at the first violating seed")
    parser.add_argument("--verbose", action="store_true", help="print every run's options and figures")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        print(f"{parser.prog}: error: --seeds must be at least 1, got {args.seeds}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    failures: list[dict[str, object]] = []
    counts = {"safety": 0, "liveness": 0, "crash": 0}
    changes = {"valset_runs": 0, "valset_applied": 0, "valset_joins": 0, "valset_leaves": 0}
    ran = 0
    caught: list[int] = []
    for seed, violations, stats, described in iterate(
        range(args.start, args.start + args.seeds),
        args.broken,
        min(args.processes, args.seeds),
        args.valset_changes,
    ):
        ran += 1
        changes["valset_runs"] += 1 if stats.get("observers") else 0
        for key in ("valset_applied", "valset_joins", "valset_leaves"):
            changes[key] += int(stats.get(key, 0))
        if args.verbose:
            print(f"seed {seed}: {described} {stats}", flush=True)
        if violations:
            command = SimOptions.from_seed(seed, args.broken, args.valset_changes).command()
            failures.append(
                {"seed": seed, "violations": violations, "command": command, "options": described}
            )
            for v in violations:
                kind = "crash" if v.startswith("CRASH") else "liveness" if v.startswith("L") else "safety"
                counts[kind] += 1
            if not args.json:
                print(f"seed {seed} FAILED: {'; '.join(violations[:5])}\n  reproduce: {command}", flush=True)
            hit = args.broken is not None and catches(args.broken, violations)
            if hit:
                caught.append(seed)
            if args.stop_on_first and (hit or args.broken is None):
                break
    elapsed = time.perf_counter() - started
    summary = {
        "seeds": ran,
        "start": args.start,
        "broken": args.broken,
        "forced_valset_changes": args.valset_changes,
        **changes,
        "safety_violations": counts["safety"],
        "liveness_violations": counts["liveness"],
        "crashes": counts["crash"],
        "failed_seeds": [f["seed"] for f in failures],
        "caught_seeds": caught,
        "failures": failures,
        "elapsed_s": round(elapsed, 1),
    }
    if args.json:
        json.dump(summary, sys.stdout)
        print()
    else:
        variant = f" (broken: {args.broken})" if args.broken else ""
        print(
            f"{ran} seeds from {args.start}{variant}: {counts['safety']} safety and "
            f"{counts['liveness']} liveness violations, {counts['crash']} crashes, "
            f"{len(failures)} failing seeds, {elapsed:.1f} s; {changes['valset_runs']} runs changed "
            f"validator sets: {changes['valset_applied']} changes applied ({changes['valset_joins']} joins, "
            f"{changes['valset_leaves']} leaves)"
        )
        if args.broken:
            prop, phrase = CAUGHT_BY[args.broken]
            print(f"{args.broken} caught ({prop}, {phrase!r}) at {len(caught)} seeds: {caught}")
    return 1 if failures else 0
