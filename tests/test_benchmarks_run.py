"""The benchmark scripts still run, on tiny inputs (their figures live in docs/benchmarks.md; no
timing is asserted here), and refuse bad options with a one-line usage error."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alliance.cli.benchmark import _per_tx_per_node_us, processes_cpu_s
from alliance.cli.localnet import proc_stat_fields

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        check=False,  # the tests read the exit code
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_executor_bench_runs_with_pruning_on_a_small_chain() -> None:
    done = run_script(
        "bench_executor.py", "--accounts", "300", "--txs", "600", "--block-txs", "100",
        "--senders", "50", "--versions-kept", "2", "--prune-batch", "2", "--history-txs", "1000",
        "--no-sync", "--rounds", "2", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # The compiled tree core is built and used (decision 007), unless explicitly turned off.
    turned_off = os.environ.get("ALLIANCE_TREE_CORE", "") == "python"
    assert report["tree_core"] == ("python" if turned_off else "c")
    (result,) = report["results"]
    assert result["accounts"] == 300 and result["txs"] == 600 and result["versions_kept"] == 2
    assert result["prune_batch_versions"] == 2 and result["history_txs"] == 1000
    assert result["commit_ms_max"] >= result["commit_ms_mean"] > 0
    assert result["tx_per_s"] > 0
    assert result["finalize_ms_median"] > 0 and result["commit_ms_median"] > 0
    # The split of finalize_block: the tree's update is timed inside it, and it writes nodes.
    assert 0 < result["state_update_ms_median"] < result["finalize_ms_median"]
    assert 0 < result["execute_ms_median"] < result["finalize_ms_median"]
    assert result["nodes_rewritten_median"] > 0 and result["state_update_us_per_node"] > 0
    assert len(result["tx_per_s_rounds"]) == 2 and result["tx_per_s"] == max(result["tx_per_s_rounds"])
    assert result["tx_per_s_median_round"] == round(statistics.median(result["tx_per_s_rounds"]))
    assert result["rounds"] == 2 and result["round_reported"] == "fastest"


def test_executor_bench_headline_times_the_proposal_checks_too() -> None:
    """The headline is a non-proposing node's work: process_proposal + finalize_block + commit. Its
    time is the sum of its two parts' (reported apart), so it is slower than either part alone."""
    done = run_script(
        "bench_executor.py", "--accounts", "300", "--txs", "600", "--block-txs", "100",
        "--senders", "50", "--no-sync", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["timed"].startswith("process_proposal + finalize_block + commit")
    assert set(report["conditions"]) == {"signature_cache", "hot_map", "tx_index", "decode_map", "rounds"}
    (result,) = report["results"]
    txs = result["txs"]
    headline_s = txs / result["tx_per_s"]
    parts_s = txs / result["process_proposal_tx_per_s"] + txs / result["finalize_commit_tx_per_s"]
    assert abs(headline_s - parts_s) <= 0.01 * headline_s  # rates are rounded to whole tx/s
    assert result["tx_per_s"] < min(result["process_proposal_tx_per_s"], result["finalize_commit_tx_per_s"])
    assert result["process_proposal_ms_median"] > 0


def test_each_executor_workload_runs_its_own_calls() -> None:
    """Until 2026-12-07 ``--workload contract`` deployed the token contract and then timed native
    transfers: its gas and results hash were native's. Each workload's calls now differ from the
    others' in gas per transaction and in the receipts they hash."""
    done = run_script(
        "bench_executor.py", "--accounts", "300", "--txs", "200", "--block-txs", "100",
        "--senders", "50", "--no-sync", "--rounds", "1", "--workload", "native", "pass", "contract", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = {r["workload"]: r for r in json.loads(done.stdout)["results"]}
    assert set(results) == {"native", "pass", "contract"}
    assert len({r["gas_per_tx_mean"] for r in results.values()}) == 3
    assert len({r["results_hash"] for r in results.values()}) == 3
    assert results["contract"]["gas_per_tx_mean"] > results["native"]["gas_per_tx_mean"]


def test_mempool_bench_runs_with_batches_in_flight() -> None:
    done = run_script(
        "bench_mempool.py", "--txs", "400", "--keys", "20", "--batch", "100", "--inflight", "2",
        "--rounds", "1", "--raw-seconds", "0.1", "--modes", "inline,processes,processes+caller", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["inflight"] == 2
    assert set(result["admit_per_s"]) == {"inline", "processes", "processes+caller"}
    assert set(result["cpu_ratio"]) == {"processes", "processes+caller"}
    assert result["raw_verify_per_s"] > 0


def test_proposer_bench_reports_every_fitting_set_and_the_three_rules() -> None:
    done = run_script("bench_proposer.py", "--repeat", "1", "--sets", "8", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = report["cold_queries"]
    # 3 validator counts x 3 total powers, less the two sets a total power of 4 cannot hold; 3 heights.
    assert len(rows) == 7 * 3
    assert {r["height"] for r in rows} == {10**3, 10**7, 10**12}
    assert all(r["cold_query_us"] > 0 and 1 <= r["counts_evaluated"] <= 12 for r in rows)
    rules = report["quality"]["rules"]
    assert set(rules) == {"cometbft_priorities", "webster", "staggered (this)"}
    assert all(0 < rule["discrepancy_mean"] <= rule["discrepancy_max"] for rule in rules.values())


def test_bench_options_are_checked() -> None:
    for name, args in (
        ("bench_executor.py", ["--versions-kept", "0"]),
        ("bench_executor.py", ["--rounds", "0"]),
        ("bench_mempool.py", ["--inflight", "0"]),
        ("bench_proposer.py", ["--repeat", "0"]),
    ):
        done = run_script(name, *args)
        assert done.returncode == 2
        assert "must be at least 1" in done.stderr
    done = run_script("bench_mempool.py", "--modes", "processes,gpu")
    assert done.returncode == 2
    assert "--modes takes some of" in done.stderr


def test_alliance_bench_counts_the_cpu_of_node_processes_and_their_children() -> None:
    """``processes_cpu_s`` reads user and system time from /proc for the given processes and the
    processes under them; an unreadable process makes it answer None."""
    burn = (
        "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\ntime.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", burn])
    try:
        own_before = processes_cpu_s([os.getpid()])
        assert own_before is not None and own_before > 0
        deadline = 20.0
        while (processes_cpu_s([child.pid]) or 0.0) < 0.35 and deadline > 0:  # the child burns
            time.sleep(0.1)
            deadline -= 0.1
        with_child = processes_cpu_s([os.getpid()])
        assert with_child is not None and with_child - own_before >= 0.25  # the child's share
    finally:
        child.kill()
        child.wait()
    assert processes_cpu_s([child.pid]) is None  # gone
    assert _per_tx_per_node_us(1.0, 3.0, 1000, 4) == 500.0
    assert _per_tx_per_node_us(None, 3.0, 1000, 4) is None
    assert _per_tx_per_node_us(1.0, 3.0, 0, 4) is None


# A stand-in for a node in "processes" mode: its verifier worker is started through a fork server,
# so the worker is the node's grandchild. The worker burns a second of CPU, then stays (``stay``) or
# ends and is reaped by the fork server (``end``). The node waits for a line before starting it.
NODE_WITH_FORKSERVER_WORKER = """
import multiprocessing, sys, time

def work(stay_s):
    end = time.process_time() + 1.0
    while time.process_time() < end:
        pass
    time.sleep(stay_s)

if __name__ == "__main__":
    stay = sys.argv[1] == "stay"
    sys.stdin.readline()
    worker = multiprocessing.get_context("forkserver").Process(target=work, args=(60.0 if stay else 0.0,))
    worker.daemon = True
    worker.start()
    print(worker.pid, flush=True)
    if not stay:
        worker.join()
        print("reaped", flush=True)
    sys.stdin.readline()  # until the test closes stdin
"""


@pytest.mark.parametrize("worker", ["stay", "end"])
def test_alliance_bench_counts_the_cpu_of_forkserver_workers(tmp_path: Path, worker: str) -> None:
    """The verifier workers are not a node's children but its fork server's: their CPU counts, while
    they run and after they ended and were reaped (through the reaper's cutime and cstime)."""
    script = tmp_path / "node.py"
    script.write_text(NODE_WITH_FORKSERVER_WORKER)
    node = subprocess.Popen(
        [sys.executable, str(script), worker], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert node.stdin is not None and node.stdout is not None
    worker_pid = None
    try:
        before = processes_cpu_s([node.pid])
        assert before is not None
        node.stdin.write("go\n")
        node.stdin.flush()
        worker_pid = int(node.stdout.readline())
        if worker == "stay":
            assert int(proc_stat_fields(worker_pid)[1]) != node.pid  # a grandchild, not a child
            deadline = time.monotonic() + 60
            while (processes_cpu_s([worker_pid]) or 0.0) < 0.95 and time.monotonic() < deadline:
                time.sleep(0.1)
        else:
            assert node.stdout.readline() == "reaped\n"
            assert processes_cpu_s([worker_pid]) is None  # gone: only its reaper's cutime has it
        after = processes_cpu_s([node.pid])
        assert after is not None
        # The node and its fork server use ~0.1-0.3 s between the readings; the worker 1 s.
        assert after - before >= 0.9
    finally:
        node.stdin.close()
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
        node.stdout.close()
        if worker_pid is not None and processes_cpu_s([worker_pid]) is not None:
            os.kill(worker_pid, 9)
