"""``alliance bench``'s bookkeeping: refused submissions are reported and never awaited, only ok
receipts count, and the whole path against a real node (refusals and failures both happening)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import msgspec
import pytest

from alliance.api import api_service
from alliance.cli import benchmark, workloads
from alliance.cli.benchmark import (
    NO_RECEIPT,
    BenchOptions,
    Submissions,
    _CommitWatcher,
    _submit_all,
    _wait_committed,
    summary_lines,
    tally_receipts,
)
from alliance.crypto.keys import AccountKey, load_account_key
from alliance.errors import OperationalError, UsageError
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.node.config import save_config
from alliance.sdk import AsyncClient, BadResponse, BatchResult, Client, ReceiptView, Rejection
from alliance.testing.nodes import running_nodes, single_node_home, until_committing

TEST_BOUND_S = 120


def hashes_of(count: int) -> list[bytes]:
    return [bytes([i]) * 32 for i in range(count)]


def receipt(tx_hash: bytes, status: str) -> ReceiptView:
    ok = status == "ok"
    error = "" if ok else f"{status}: balance 0 is less than the amount 1"
    return ReceiptView(tx_hash=tx_hash, status=status, ok=ok, gas_used=1, error=error, events=())


def test_a_refused_transaction_is_counted_by_code_and_not_awaited() -> None:
    hashes = hashes_of(5)
    answer = BatchResult(
        accepted=3,
        rejected=(
            Rejection(index=1, code="mempool_full", detail="the mempool holds 100000 transactions"),
            Rejection(index=4, code="tx_expired", detail="valid until 9, now 10"),
        ),
    )
    submissions = Submissions()
    submissions.record(hashes, answer, 12.5)
    assert submissions.sent_at == {hashes[0]: 12.5, hashes[2]: 12.5, hashes[3]: 12.5}
    assert submissions.refused == 2
    assert submissions.refused_by_code == {"mempool_full": 1, "tx_expired": 1}
    assert submissions.refused_detail["tx_expired"] == "valid until 9, now 10"


@pytest.mark.parametrize(
    "answer",
    [
        BatchResult(accepted=3, rejected=()),  # counts disagree
        BatchResult(accepted=1, rejected=(Rejection(index=2, code="x", detail=""),)),  # no index 2
        BatchResult(accepted=0, rejected=(Rejection(index=0, code="x", detail=""),) * 2),  # twice
    ],
)
def test_an_inconsistent_batch_answer_is_an_error_not_a_guess(answer: BatchResult) -> None:
    submissions = Submissions()
    with pytest.raises(BadResponse):
        submissions.record(hashes_of(2), answer, 0.0)
    assert submissions.sent_at == {} and submissions.refused == 0  # nothing booked from it


class RefusingNode:
    """Stands for a node's answer to the batch route (the HTTP answer only): it refuses the
    transactions whose hashes it is given, as ``{"accepted": n, "rejected": [...]}``."""

    def __init__(self, refuse: set[bytes]) -> None:
        self.refuse = refuse

    async def submit_batch(self, raws: Sequence[bytes], binary: bool = True) -> BatchResult:
        assert binary
        refused = tuple(
            Rejection(index=i, code="mempool_full", detail="full")
            for i, raw in enumerate(raws)
            if tx_hash_of_canonical(raw) in self.refuse
        )
        return BatchResult(accepted=len(raws) - len(refused), rejected=refused)


def test_the_saturated_run_awaits_only_what_the_nodes_accepted() -> None:
    """Before, one refused transaction made the bench wait ``commit_timeout_s`` and fail with
    "N not committed"; now the run reports it and waits for the accepted ones only."""
    raws = [raw_transfer(i) for i in range(7)]
    hashes = [tx_hash_of_canonical(raw) for raw in raws]
    refused = {hashes[1], hashes[5]}
    nodes = [RefusingNode(refused), RefusingNode(refused)]
    options = BenchOptions(txs=7, batch_txs=2, in_flight_per_node=2)
    submissions = asyncio.run(_submit_all(cast(Sequence[AsyncClient], nodes), raws, options))
    assert set(submissions.sent_at) == set(hashes) - refused
    assert submissions.refused == 2 == submissions.refused_by_code["mempool_full"]

    watcher = _CommitWatcher(cast(AsyncClient, None), 1)
    watcher.committed_at.update(dict.fromkeys(submissions.sent_at, 1.0))  # the accepted ones commit
    asyncio.run(asyncio.wait_for(_wait_committed(watcher, list(submissions.sent_at), 5.0), 10))


class FlakyNode:
    """Stands for a node whose status route fails its first answers (a loaded host's timeouts),
    then shows one block holding ``tx_hash``; or, with ``broken``, fails with a bug."""

    def __init__(self, tx_hash: bytes, failures: int, *, broken: bool = False) -> None:
        self.tx_hash, self.failures, self.broken = tx_hash, failures, broken

    async def status(self) -> Any:
        if self.broken:
            raise KeyError("a bug in the watcher's reading")
        if self.failures:
            self.failures -= 1
            raise OperationalError("the node did not answer within 30 s")
        return type("Status", (), {"height": 1})()

    async def block(self, height: int) -> Any:
        return type("Block", (), {"height": height, "txs": [self.tx_hash]})()


def test_the_commit_watcher_polls_again_after_a_failed_poll() -> None:
    """Before, one poll the node did not answer in time ended the watcher silently, and the run
    failed "N not committed" after ``commit_timeout_s`` although every transaction had committed."""
    tx_hash = bytes(32)

    async def scenario() -> int:
        watcher = _CommitWatcher(cast(AsyncClient, FlakyNode(tx_hash, failures=3)), 1)
        watcher.awaited.add(tx_hash)
        watcher.start()
        try:
            await _wait_committed(watcher, [tx_hash], 5.0)
        finally:
            assert watcher.task is not None
            watcher.task.cancel()
        return watcher.failed_polls

    assert asyncio.run(asyncio.wait_for(scenario(), 10)) == 3


def test_a_watcher_stopped_by_a_bug_is_raised_not_waited_out() -> None:
    async def scenario() -> None:
        watcher = _CommitWatcher(cast(AsyncClient, FlakyNode(bytes(32), 0, broken=True)), 1)
        watcher.start()
        await _wait_committed(watcher, [bytes(32)], 60.0)

    with pytest.raises(KeyError, match="a bug"):
        asyncio.run(asyncio.wait_for(scenario(), 10))


def raw_transfer(seed: int) -> bytes:
    key = AccountKey(bytes([seed + 1]) * 32)
    return benchmark._transfer(key, "bench-test", bytes(20), 1, 100)


def test_only_ok_receipts_count_and_failures_are_counted_by_code() -> None:
    hashes = hashes_of(5)
    receipts = {
        hashes[0]: receipt(hashes[0], "ok"),
        hashes[1]: receipt(hashes[1], "insufficient_balance"),
        hashes[2]: receipt(hashes[2], "ok"),
        hashes[3]: receipt(hashes[3], "insufficient_balance"),
        # hashes[4]: committed, but its block's receipts do not list it
    }
    outcomes = tally_receipts(hashes, receipts)
    assert outcomes.ok == [hashes[0], hashes[2]]
    assert outcomes.failed_by_code == {"insufficient_balance": 2, NO_RECEIPT: 1}
    assert outcomes.failed == 3


def test_the_console_summary_names_senders_refusals_and_failures() -> None:
    report: dict[str, Any] = {
        "committed_ok": 90, "unit": "transfers", "workload": "transfer", "nodes": 4, "duration_s": 1.5,
        "tps": 60.0, "senders": 37,
        "recipients": "existing", "refused": 3, "refused_by_code": {"mempool_full": 3}, "failed": 7,
        "failed_by_code": {"insufficient_balance": 7}, "ceiling_tps": 100.0, "ceiling_verifier": "ed25519",
        "ratio": 0.6, "latency_ms": {"load_tps": 30.0, "p50": 1.0, "p99": 2.0},
        "saturated_latency_ms": {"p50": 3.0, "p99": 4.0}, "node_cpu_us_per_tx": 80.0, "client_cpu_s": 0.2,
    }  # fmt: skip
    text = "\n".join(summary_lines(report))
    assert "90 transfers committed ok" in text and "37 distinct senders" in text
    assert "refused at submission: 3 (3 mempool_full)" in text
    assert "failed in execution: 7 (7 insufficient_balance)" in text
    assert "verifier workers included): 80.0 us" in text
    assert "native" not in text
    workload = {
        **report,
        "unit": "pass transfers",
        "workload": "pass",
        "vs_native": 0.8,
        "native": {"tps": 75.0},
    }
    text = "\n".join(summary_lines(workload))
    assert "90 pass transfers committed ok" in text
    assert "native transfers in the same run: 75.0 tx/s; pass / native = [bold]0.8[/]" in text


@pytest.mark.parametrize("name", ["pass", "contract"])
def test_a_workload_is_prepared_by_vote_and_measured_like_native_transfers(tmp_path: Path, name: str) -> None:
    """On a one-member alliance (its admin's proposal passes at once) each workload prepares its
    chain through the real interfaces, sets its senders up, and its load commits ok, every one."""
    home = single_node_home(tmp_path)
    config = home.load_config()
    dev = load_account_key(tmp_path / "keys" / "dev.key")
    options = BenchOptions(
        txs=150, accounts=6, batch_txs=50, half_load_s=0.3, commit_timeout_s=30.0, workload=name
    )
    workload = workloads.workload_named(name)
    url = f"http://{config.host}:{config.api_port}"

    def prepare_twice() -> None:
        with Client(url, timeout_s=30.0) as client:
            workload.prepare(client, tmp_path)
            workload.prepare(client, tmp_path)  # a second bench on the same chain reuses what the first made

    async def scenario() -> tuple[dict[str, Any], Counter[tuple[str, str]]]:
        async with running_nodes([home], services=[api_service]):
            client = AsyncClient(url, timeout_s=30.0)
            try:
                await until_committing(client)
                await asyncio.to_thread(prepare_twice)
                report = await benchmark._run([client], dev, options, 1000.0, "test", workload=workload)
                top = (await client.status()).height
                emitted: Counter[tuple[str, str]] = Counter()
                for height in range(max(1, top - 40), top + 1):
                    for receipt in await client.receipts(height):
                        emitted.update((e.emitter, e.name) for e in receipt.events)
                return report, emitted
            finally:
                await client.aclose()

    report, emitted = asyncio.run(asyncio.wait_for(scenario(), TEST_BOUND_S))
    assert report["workload"] == name and report["unit"] == workload.unit
    assert report["committed_ok"] == report["accepted"] == 150, report
    assert report["failed"] == 0 and report["refused"] == 0
    # The load was the workload's own calls, not native transfers.
    load_event = ("passes", "transferred") if name == "pass" else (workloads.CONTRACT_NAME, "transfer")
    assert emitted[load_event] >= 150, emitted


def test_an_unknown_workload_or_fresh_recipients_with_a_workload_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--workload is one of"):
        workloads.workload_named("nothing")
    with pytest.raises(UsageError, match="--recipients fresh"):
        BenchOptions(recipients="fresh", workload="pass")


def test_bench_options_bound_the_accounts() -> None:
    assert BenchOptions(accounts=benchmark.ACCOUNTS_MAX).accounts == benchmark.ACCOUNTS_MAX
    with pytest.raises(UsageError, match="at most"):
        BenchOptions(accounts=benchmark.ACCOUNTS_MAX + 1)


def test_bench_against_a_node_reports_refusals_and_counts_only_ok_receipts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real node whose mempool holds 60 transactions, and senders funded with 1 unit each, paying
    fresh addresses: a sender's first committed transfer succeeds, the rest fail. The bench must
    report the refusals (not time out) and count exactly one ok transfer per sender."""
    home = single_node_home(tmp_path)
    config = home.load_config()
    mempool = msgspec.structs.replace(config.mempool, txs_max=60)
    save_config(home.config_path, msgspec.structs.replace(config, mempool=mempool))
    monkeypatch.setattr(benchmark, "FUNDING_AMOUNT", 1)
    dev = load_account_key(tmp_path / "keys" / "dev.key")
    options = BenchOptions(
        txs=400, accounts=8, batch_txs=100, in_flight_per_node=2, half_load_s=0.5,
        commit_timeout_s=30.0, recipients="fresh",
    )  # fmt: skip

    async def scenario() -> dict[str, Any]:
        async with running_nodes([home], services=[api_service]):
            client = AsyncClient(f"http://{config.host}:{config.api_port}", timeout_s=30.0)
            try:
                await until_committing(client)
                return await benchmark._run([client], dev, options, 1000.0, "test")
            finally:
                await client.aclose()

    report = asyncio.run(asyncio.wait_for(scenario(), TEST_BOUND_S))
    assert report["senders"] == 8
    assert report["refused"] > 0 and set(report["refused_by_code"]) == {"mempool_full"}
    assert report["accepted"] + report["refused"] == 400
    assert report["committed"] == report["accepted"]
    assert 1 <= report["committed_ok"] <= 8  # one unit each: one transfer per sender at most
    assert report["failed"] == report["accepted"] - report["committed_ok"]
    assert set(report["failed_by_code"]) == {"insufficient_balance"}
    assert report["tps"] == pytest.approx(report["committed_ok"] / report["duration_s"], rel=0.01, abs=0.1)
    half = report["latency_ms"]
    assert half["ok"] + half["failed"] + half["refused"] == half["txs"]


def test_run_bench_puts_a_workload_beside_native_transfers_of_the_same_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``run_bench`` runs native transfers, then the workload, and reports the workload's figures
    with native's beside them and their ratio."""
    runs: list[str] = []

    async def fake_run(clients: object, funder: object, options: object, ceiling: float, scheme: str,
                       node_pids: object = (), workload: Any = None) -> dict[str, Any]:  # fmt: skip
        name = "transfer" if workload is None else workload.name
        runs.append(name)
        tps = {"transfer": 5_000.0, "pass": 4_000.0}[name]
        return {"workload": name, "tps": tps, "committed_ok": 10, "failed": 0, "refused": 0,
                "duration_s": 1.0, "node_cpu_us_per_tx": 50.0, "latency_ms": {"p50": 1.0}}  # fmt: skip

    monkeypatch.setattr(benchmark, "_run", fake_run)
    monkeypatch.setattr(benchmark, "measure_verify_ceiling", lambda: (1000.0, "test"))
    dev = AccountKey.generate()
    report = asyncio.run(
        benchmark.run_bench(["http://127.0.0.1:9"], dev, BenchOptions(), (), workloads.PassWorkload())
    )
    assert runs == ["transfer", "pass"]
    assert report["workload"] == "pass" and report["tps"] == 4_000.0
    assert report["native"]["tps"] == 5_000.0 and report["vs_native"] == 0.8
    native_only = asyncio.run(benchmark.run_bench(["http://127.0.0.1:9"], dev, BenchOptions()))
    assert runs[-1] == "transfer" and "native" not in native_only
