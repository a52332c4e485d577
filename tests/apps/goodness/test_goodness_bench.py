"""``alliance bench --workload goodness``: the workload prepares the chain as the demo does, makes the
bench's senders enrolled, consenting users, and its trip reports commit ok, every one (a one-member
alliance, whose admin's proposals pass at once; the figures are docs/benchmarks.md's)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec

from alliance.api import api_service
from alliance.apps.goodness.client import Goodness
from alliance.cli import benchmark, workloads
from alliance.cli.benchmark import BenchOptions
from alliance.crypto.keys import load_account_key
from alliance.sdk import AsyncClient, Client
from alliance.testing.nodes import running_nodes, single_node_home, until_committing

TEST_BOUND_S = 180


def run_workload(tmp_path: Path, name: str, txs: int) -> tuple[dict[str, Any], int]:
    """``alliance bench``'s run of the workload ``name`` on a one-node alliance: its report, and the
    contract's count of enrolled users after it."""
    home = single_node_home(tmp_path)
    config = home.load_config()
    dev = load_account_key(tmp_path / "keys" / "dev.key")
    options = BenchOptions(
        txs=txs, accounts=6, batch_txs=50, half_load_s=0.3, commit_timeout_s=90.0, workload=name
    )
    workload = workloads.workload_named(name)
    assert workload.unit == "trip reports"
    url = f"http://{config.host}:{config.api_port}"

    def prepare_twice() -> None:
        with Client(url, timeout_s=30.0) as client:
            workload.prepare(client, tmp_path)
            workload.prepare(client, tmp_path)  # a second bench on the same chain reuses what the first made

    def users() -> int:
        with Client(url, timeout_s=30.0) as client:
            return Goodness(client).status()["users"]

    async def scenario() -> tuple[dict[str, Any], int]:
        async with running_nodes([home], services=[api_service]):
            client = AsyncClient(url, timeout_s=30.0)
            try:
                await until_committing(client)
                await asyncio.to_thread(prepare_twice)
                report = await benchmark._run([client], dev, options, 1000.0, "test", workload=workload)
                return report, await asyncio.to_thread(users)
            finally:
                await client.aclose()

    return asyncio.run(asyncio.wait_for(scenario(), TEST_BOUND_S))


def test_the_goodness_workload_reports_trips_for_the_bench_users(tmp_path: Path) -> None:
    report, enrolled = run_workload(tmp_path, "goodness", 120)
    assert report["workload"] == "goodness" and report["unit"] == "trip reports"
    assert report["committed_ok"] == report["accepted"] == 120, report
    assert report["units_per_tx"] == 1 and report["units_ok"] == 120
    assert report["failed"] == 0 and report["refused"] == 0
    assert enrolled == 6  # the senders, enrolled by the issuer in the workload's setup


def test_the_batch_workload_counts_the_trips_its_batches_counted(tmp_path: Path) -> None:
    report, enrolled = run_workload(tmp_path, "goodness-batch", 6)
    assert report["workload"] == "goodness-batch" and report["unit"] == "trip reports"
    assert report["committed_ok"] == report["accepted"] == 6, report
    per_tx = report["units_per_tx"]
    assert per_tx == workloads.workload_named("goodness-batch").units_per_tx > 1  # type: ignore[attr-defined]
    assert report["units_ok"] == 6 * per_tx  # fresh raw records, under the daily limits: all count
    assert report["tps"] > report["tx_per_s"] * (per_tx - 1)
    assert report["failed"] == 0 and report["refused"] == 0
    assert enrolled == 6
    assert "trip reports/s" in benchmark.summary_lines(report)[0]


def test_a_batch_counts_only_its_trips_that_counted() -> None:
    workload = workloads.workload_named("goodness-batch")
    refused = ["no_consent: 0x01 gave 0x02 no consent", 0, 0]
    result = msgspec.msgpack.encode([["", 120, 9], refused, ["", 60, 4]])
    assert workloads.units_ok(workload, [result, result]) == 4
    assert workloads.units_ok(workloads.workload_named("goodness"), [result, result]) == 2  # one a tx
