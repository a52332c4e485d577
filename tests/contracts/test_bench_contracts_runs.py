"""benchmarks/bench_contracts.py still runs on tiny inputs (its figures are reported, never asserted
here), and its calibration workloads all stop by running out of gas, as they must to mean anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_contracts.py"


def test_the_contract_benchmark_runs_and_reports_every_part() -> None:
    tiny = ["--transfers", "200", "--rounds", "1", "--calibration-gas", "20000", "--json"]
    done = subprocess.run(
        [sys.executable, str(BENCH), *tiny], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    examples = {"equity_registry", "points_rules", "proof_of_existence", "token", "vaccine_trace"}
    assert set(report["compile"]) == examples
    assert all(c["compile_ms"] > 0 and c["cache_load_us"] > 0 for c in report["compile"].values())
    assert report["token_transfer"]["transfers"] == 200
    assert report["token_transfer"]["engine_transfers_per_s"] > 0
    assert (
        report["in_call_context"]["contract_gas_per_transfer"]
        > report["in_call_context"]["native_gas_per_transfer"]
    )
    assert all(ns > 0 for ns in report["calibration_ns_per_gas"].values())


def test_the_contract_benchmark_refuses_bad_options() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--transfers", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "must be at least" in done.stderr
