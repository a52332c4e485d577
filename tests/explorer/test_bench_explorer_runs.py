"""benchmarks/bench_explorer.py still runs, on a tiny chain loaded through the API and on one built
into the store (its figures live in docs/benchmarks.md; no timing is asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_explorer.py"
PAGES = {
    "overview", "blocks", "block", "transaction", "account", "governance", "search-tx", "passes", "contracts",
}  # fmt: skip


def run_bench(*options: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(BENCH), *options, "--rounds", "1", "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_the_explorer_benchmark_times_every_page_on_a_small_chain() -> None:
    report = run_bench("--txs", "300", "--batch", "100")
    assert report["txs"] == 300 and report["block_txs"] >= 1  # type: ignore[operator]
    pages = report["requests"]
    assert set(pages) == PAGES  # type: ignore[arg-type]
    assert all(page["max_ms"] >= page["p50_ms"] > 0 for page in pages.values())  # type: ignore[attr-defined]


def test_the_explorer_benchmark_builds_a_chain_into_the_store_and_times_it_again(tmp_path: Path) -> None:
    options = ("--build", "--txs", "400", "--block-txs", "100", "--senders", "50", "--recipients", "80")
    report = run_bench(*options, "--keep", str(tmp_path))
    assert report["built_txs"] == 450 and report["built_blocks"] >= 11  # type: ignore[operator]
    assert report["block_txs"] == 100
    pages = report["requests"]
    assert set(pages) == PAGES | {"pass-scheme", "contract"}  # type: ignore[arg-type]
    again = run_bench(*options, "--keep", str(tmp_path))  # the same chain, not built twice
    assert again["build_s"] == report["build_s"] and again["height"] >= report["height"]  # type: ignore[operator]


def test_the_explorer_benchmark_refuses_bad_options() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--txs", "0"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2 and "must be positive" in done.stderr
