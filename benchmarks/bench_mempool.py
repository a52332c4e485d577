"""Mempool admission against the machine's raw signature-verification rate.

Pre-signs N transfer-like transactions from many keys, then measures, in the same run:

- raw: the suite's ``verify`` over the same (public key, hash, signature) items, one process per core
  (multiprocessing, as /work/shared/acceptance/lib/ceiling.py does), all cores summed;
- admission: batches through ``Mempool.begin_admission`` / ``finish_admission`` with the
  "processes" (a worker per core: a node's default), "processes+caller" (a worker per core but one,
  and the calling process verifying too: a node's ``verifier_caller_verifies``), "threads" and
  "inline" verifiers, each on a fresh pool and a fresh signature cache
  (no cache hits), workers already up. The next batch is screened while the workers verify the
  previous one (``--inflight`` batches begun and not yet finished, as a node's admission task keeps
  them); ``--inflight 1`` is plain ``admit_batch``, one batch after the other.

Each figure is the best of ``--rounds`` interleaved rounds, since other load on a shared machine
only ever slows a measurement. Because such load can still swamp wall-clock figures, the CPU time
per transaction is reported too (this process and the verifier's workers, from /proc on Linux):
with all cores busy, the admission/raw throughput ratio is the ratio of those CPU costs.

Prints a JSON dict with raw_verify_per_s, admit_per_s per mode and ratio_best (best admission over
raw). Usage: ``python benchmarks/bench_mempool.py --txs 30000 --json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import deque
from multiprocessing import get_context

from alliance import codec
from alliance.crypto.keys import AccountKey
from alliance.crypto.sigcache import SignatureCache
from alliance.crypto.suite import suite_by_name
from alliance.ledger.genesis import ChainParams
from alliance.ledger.transaction import decode_tx, sign_tx, tx_hash
from alliance.mempool import BatchVerifier, Mempool, PendingAdmission
from alliance.mempool.verifier import Mode

VERIFIERS: dict[str, tuple[Mode, bool]] = {
    "processes": ("processes", False),
    "processes+caller": ("processes", True),
    "threads": ("threads", False),
    "inline": ("inline", False),
}
"""Bench mode -> (verifier mode, caller_verifies)."""

CHAIN_ID = "bench-chain"
HEIGHT = 10


def make_raws(count: int, keys_count: int) -> list[bytes]:
    keys = [AccountKey.generate() for _ in range(keys_count)]
    raws = []
    for i in range(count):
        key = keys[i % keys_count]
        recipient = keys[(i + 1) % keys_count].address
        tx = sign_tx(
            key,
            chain_id=CHAIN_ID,
            target="bank",
            method="transfer",
            args=[recipient, 1 + i % 1000],
            valid_until=HEIGHT + 100,
        )
        raws.append(codec.encode(tx))
    return raws


def _raw_worker(args: tuple[list[tuple[bytes, bytes, bytes]], float]) -> tuple[float, float]:
    """Verifications per second of wall time, and CPU microseconds per verification."""
    items, seconds = args
    verify = suite_by_name().verify
    done, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        for public_key, digest, signature in items:
            verify(public_key, digest, signature)
        done += len(items)
    return done / (time.perf_counter() - t0), (time.process_time() - c0) / done * 1e6


def raw_verify_rate(raws: list[bytes], seconds: float) -> tuple[float, float]:
    """All cores: verifications per second, and CPU microseconds per verification."""
    items = []
    for raw in raws[:4000]:
        tx = decode_tx(raw)
        items.append((tx.body.sender, tx_hash(tx), tx.signature))
    cores = os.cpu_count() or 1
    with get_context("forkserver").Pool(cores) as pool:
        answers = pool.map(_raw_worker, [(items, seconds)] * cores)
    return sum(rate for rate, _ in answers), min(cpu for _, cpu in answers)


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds used so far by this process (all threads) and by the given worker processes."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:  # Linux; fields 14 and 15 are user and system ticks
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _fresh_pool(verifier: BatchVerifier, txs_max: int) -> Mempool:
    return Mempool(
        chain_id=CHAIN_ID,
        params=ChainParams(),
        verifier=verifier,
        sigcache=SignatureCache(),
        is_committed=lambda _h: False,
        txs_max=txs_max,
        bytes_max=1 << 40,
    )


def admit_rate(
    raws: list[bytes], verifier: BatchVerifier, batch_txs: int, inflight: int
) -> tuple[float, float]:
    """Admissions per second of wall time, and CPU microseconds per admission (workers included)."""
    # Warm up (allocator, per-process address caches) on a pool we then throw away.
    _fresh_pool(verifier, batch_txs).admit_batch(raws[:batch_txs], HEIGHT)
    pool = _fresh_pool(verifier, len(raws))
    pids = verifier.worker_pids()
    t0, c0 = time.perf_counter(), _cpu_s(pids)
    begun: deque[PendingAdmission] = deque()
    for at in range(0, len(raws), batch_txs):
        begun.append(pool.begin_admission(raws[at : at + batch_txs], HEIGHT))
        if len(begun) >= inflight:
            pool.finish_admission(begun.popleft())
    while begun:
        pool.finish_admission(begun.popleft())
    elapsed, cpu_s = time.perf_counter() - t0, _cpu_s(pids) - c0
    if len(pool) != len(raws):
        raise SystemExit(f"{verifier.mode}: admitted {len(pool)} of {len(raws)}")
    return len(raws) / elapsed, cpu_s / len(raws) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=30_000)
    parser.add_argument("--keys", type=int, default=1_000, help="distinct senders")
    parser.add_argument("--batch", type=int, default=1_000, help="transactions per admit_batch")
    parser.add_argument(
        "--inflight", type=int, default=2, help="batches begun before the oldest is finished (>= 1)"
    )
    parser.add_argument("--raw-seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="each figure is the best of this many")
    parser.add_argument("--modes", default=",".join(VERIFIERS), help=f"some of {', '.join(VERIFIERS)}")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    args = parser.parse_args()
    if args.inflight < 1:
        parser.error("--inflight must be at least 1")

    modes = [m for m in VERIFIERS if m in args.modes.split(",")]
    unknown = set(args.modes.split(",")) - set(VERIFIERS)
    if unknown or not modes:
        parser.error(f"--modes takes some of {', '.join(VERIFIERS)}; got {args.modes!r}")

    raws = make_raws(args.txs, args.keys)
    verifiers = {  # started once, outside the timings
        mode: BatchVerifier(VERIFIERS[mode][0], caller_verifies=VERIFIERS[mode][1]) for mode in modes
    }
    # Other work on a shared machine only ever slows a measurement down, so each figure is the best
    # of several rounds, and the rounds interleave raw and admission so both see the same weather.
    raw, raw_cpu = 0.0, float("inf")
    admit = dict.fromkeys(modes, 0.0)
    admit_cpu = dict.fromkeys(modes, float("inf"))
    try:
        for _ in range(args.rounds):
            rate, cpu = raw_verify_rate(raws, args.raw_seconds)
            raw, raw_cpu = max(raw, rate), min(raw_cpu, cpu)
            for mode in modes:
                rate, cpu = admit_rate(raws, verifiers[mode], args.batch, args.inflight)
                admit[mode], admit_cpu[mode] = max(admit[mode], rate), min(admit_cpu[mode], cpu)
    finally:
        for verifier in verifiers.values():
            verifier.close()
    result = {
        "raw_verify_per_s": round(raw),
        "admit_per_s": {mode: round(rate) for mode, rate in admit.items()},
        "ratio_best": round(max(admit.values()) / raw, 3),
        # Load-independent view: CPU per transaction, verify alone against the whole admission.
        "cpu_us_per_tx": {"raw_verify": round(raw_cpu, 2)} | {m: round(c, 2) for m, c in admit_cpu.items()},
        "cpu_ratio": {m: round(raw_cpu / admit_cpu[m], 3) for m in modes if m.startswith("processes")},
        "txs": args.txs,
        "keys": args.keys,
        "batch": args.batch,
        "inflight": args.inflight,
        "rounds": args.rounds,
        "cores": os.cpu_count(),
    }
    if not args.json:
        for mode, rate in admit.items():
            print(f"{mode:>16}: {rate:10.0f} tx/s  ({rate / raw:.0%} of raw {raw:.0f}/s)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
