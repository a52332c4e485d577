"""benchmarks/bench_explorer.py still runs, on a tiny chain (its figures live in docs/benchmarks.md;
no timing is asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_explorer.py"


def test_the_explorer_benchmark_times_every_page_on_a_small_chain() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--txs", "300", "--batch", "100", "--rounds", "1", "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["txs"] == 300 and report["block_txs"] >= 1
    pages = report["requests"]
    assert set(pages) == {"overview", "blocks", "block", "transaction", "account", "governance", "search-tx"}
    assert all(page["max_ms"] >= page["p50_ms"] > 0 for page in pages.values())


def test_the_explorer_benchmark_refuses_bad_options() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--txs", "0"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2 and "must be positive" in done.stderr
