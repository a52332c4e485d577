"""``alliance bench``: committed transfers per second of a running alliance, against this machine's ceiling.

Theory of operation
-------------------
1. *Ceiling.* Before any load, measure the machine's physical limit for this work: the best rate of
   the available verifiers (secp256k1 verify and public-key recovery in coincurve, Ed25519 in
   PyNaCl), one process per core, all cores together. Every node verifies every transaction once,
   so the alliance's ceiling is that rate divided by the number of nodes sharing the machine.
2. *Funding.* ``accounts`` fresh sender accounts are funded from the funding key (``dev``) in one
   batch, and the benchmark waits until they are committed.
3. *Signing.* All transfers are signed before any timing starts (one per sender in turn), so the
   client's signing cost is not measured as the alliance's. Recipients are, by default
   (``recipients="existing"``), funded bench accounts drawn at random: payments among known accounts,
   the usual case. With ``recipients="fresh"`` each transfer pays a new random address, so every
   transaction also creates an account and the state grows by one key per transaction (the
   state tree's worst case).
4. *Saturated run.* The transactions go, in batches through the binary (msgpack) batch endpoint,
   round-robin across the nodes, with a few batches in flight per node. A watcher polls one node's
   blocks and notes when each transaction appears. Throughput is committed transactions divided by
   the time from the first submission to the last commit. Latency is commit time minus the time its
   batch was sent.
5. *Latency at half load.* A second, paced run offers half the measured throughput for a few
   seconds and reports its commit latency (p50, p99): the issue's latency target is at that load.

The result is a dict (printed as JSON with ``--json``) with ``tps``, ``ceiling_tps``, ``ratio``,
``latency_ms`` (half load), ``saturated_latency_ms``, ``client_cpu_s`` (this process's CPU time
from the first submission until it saw the last commit: the client shares the machine with the
nodes it measures), ``node_cpu_us_per_tx`` (given the nodes' process ids, as for a local
alliance: their CPU time over the same span, with their direct children's such as verifier
workers, per committed transaction and node; ``None`` without them or without Linux's ``/proc``)
and the run's parameters.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from alliance import codec
from alliance.abi.accounts import TransferArgs
from alliance.cli.localnet import proc_stat_fields
from alliance.crypto.keys import AccountKey
from alliance.errors import OperationalError, UsageError
from alliance.ledger.transaction import sign_tx, tx_hash_of_canonical
from alliance.sdk import AsyncClient

CEILING_SECONDS_PER_SCHEME = 1.0
FUNDING_AMOUNT = 10**9
POLL_INTERVAL_S = 0.05
RECIPIENT_MODES = ("existing", "fresh")


@dataclass(frozen=True, slots=True)
class BenchOptions:
    txs: int = 20_000
    accounts: int = 200
    batch_txs: int = 1_000
    in_flight_per_node: int = 2
    half_load_s: float = 8.0
    commit_timeout_s: float = 120.0
    recipients: str = "existing"  # or "fresh": a new account per transfer

    def __post_init__(self) -> None:
        if self.txs < 1 or self.accounts < 1 or self.batch_txs < 1 or self.in_flight_per_node < 1:
            raise UsageError("txs, accounts, batch size and in-flight batches must be positive")
        if self.recipients not in RECIPIENT_MODES:
            raise UsageError(f"recipients is one of {', '.join(RECIPIENT_MODES)}, got {self.recipients!r}")


# --- the ceiling --------------------------------------------------------------------------------


def _verify_rate(scheme: str, seconds: float) -> float:
    """Verifications per second of ``scheme`` in this process (run one per core)."""
    messages = [os.urandom(32) for _ in range(1000)]
    one: Callable[[tuple[bytes, bytes]], object]
    if scheme == "ed25519":
        import nacl.signing  # noqa: PLC0415 - in the worker process only

        signing = nacl.signing.SigningKey.generate()
        verify_key = signing.verify_key
        items = [(signing.sign(m).signature, m) for m in messages]

        def one(item: tuple[bytes, bytes]) -> object:
            return verify_key.verify(item[1], item[0])
    else:
        import coincurve  # noqa: PLC0415 - in the worker process only

        key = coincurve.PrivateKey()
        public = key.public_key
        if scheme == "secp256k1-verify":
            items = [(key.sign(m, hasher=None), m) for m in messages]

            def one(item: tuple[bytes, bytes]) -> object:
                return public.verify(item[0], item[1], hasher=None)
        else:
            items = [(key.sign_recoverable(m, hasher=None), m) for m in messages]

            def one(item: tuple[bytes, bytes]) -> object:
                return coincurve.PublicKey.from_signature_and_message(item[0], item[1], hasher=None)

    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for item in items:
            one(item)
        done += len(items)
    return done / (time.perf_counter() - start)


def measure_verify_ceiling(seconds: float = CEILING_SECONDS_PER_SCHEME) -> tuple[float, str]:
    """The best verifier's rate on all cores together (one process per core), and its name."""
    cores = os.cpu_count() or 1
    best = (0.0, "none")
    with ProcessPoolExecutor(cores) as pool:
        for scheme in ("secp256k1-verify", "secp256k1-recover", "ed25519"):
            rate = sum(pool.map(_verify_rate, [scheme] * cores, [seconds] * cores))
            best = max(best, (rate, scheme))
    return best


# --- the load -----------------------------------------------------------------------------------


def processes_cpu_s(pids: Sequence[int]) -> float | None:
    """User and system CPU seconds used so far by these processes and their live direct children
    (a node's verifier workers), from Linux's ``/proc``; None if any process cannot be read."""
    try:
        children = _children_by_parent()
        ticks = sum(_cpu_ticks(p) for pid in pids for p in (pid, *children.get(pid, ())))
    except (OSError, ValueError, IndexError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    fields = proc_stat_fields(pid)
    return int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15 of proc(5)


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(proc_stat_fields(int(entry))[1])  # ppid: field 4
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile, or not ours to read
            children.setdefault(parent, []).append(int(entry))
    return children


def _transfer(key: AccountKey, chain_id: str, to: bytes, amount: int, valid_until: int) -> bytes:
    tx = sign_tx(
        key,
        chain_id=chain_id,
        target="accounts",
        method="transfer",
        args=TransferArgs(to=to, amount=amount),
        valid_until=valid_until,
    )
    return codec.encode(tx)


def _per_tx_per_node_us(started_s: float | None, ended_s: float | None, txs: int, nodes: int) -> float | None:
    if started_s is None or ended_s is None or txs < 1 or nodes < 1:
        return None
    return round((ended_s - started_s) / txs / nodes * 1e6, 1)


def _percentile_ms(values_s: Sequence[float], fraction: float) -> float | None:
    if not values_s:
        return None
    ordered = sorted(values_s)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return round(ordered[index] * 1000, 1)


class _CommitWatcher:
    """Polls one node's blocks and records when each awaited transaction hash is committed."""

    def __init__(self, client: AsyncClient, from_height: int) -> None:
        self._client = client
        self._next_height = from_height
        self.committed_at: dict[bytes, float] = {}
        self.awaited: set[bytes] = set()
        self.last_commit_at = 0.0

    async def run(self) -> None:
        while True:
            latest = (await self._client.status()).height
            while self._next_height <= latest:
                block = await self._client.block(self._next_height)
                now = time.perf_counter()
                for tx_hash in block.txs:
                    if tx_hash in self.awaited:
                        self.committed_at[tx_hash] = now
                        self.last_commit_at = now
                self._next_height += 1
            await asyncio.sleep(POLL_INTERVAL_S)

    def pending(self, hashes: Sequence[bytes]) -> int:
        return sum(1 for h in hashes if h not in self.committed_at)


async def _submit_all(
    clients: Sequence[AsyncClient], raws: list[bytes], options: BenchOptions
) -> tuple[dict[bytes, float], int]:
    """Send every batch, round-robin over the nodes; the send time of each tx and the refused count."""
    batches = [raws[i : i + options.batch_txs] for i in range(0, len(raws), options.batch_txs)]
    sent_at: dict[bytes, float] = {}
    refused = 0
    queue: asyncio.Queue[list[bytes]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def worker(client: AsyncClient) -> None:
        nonlocal refused
        while not queue.empty():
            batch = queue.get_nowait()
            started = time.perf_counter()
            result = await client.submit_batch(batch, binary=True)
            refused += len(batch) - result.accepted
            for raw in batch:
                sent_at[tx_hash_of_canonical(raw)] = started

    workers = [worker(client) for client in clients for _ in range(options.in_flight_per_node)]
    await asyncio.gather(*workers)
    return sent_at, refused


async def _wait_committed(watcher: _CommitWatcher, hashes: Sequence[bytes], timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while watcher.pending(hashes):
        if time.perf_counter() > deadline:
            missing = watcher.pending(hashes)
            raise OperationalError(f"{missing} of {len(hashes)} not committed after {timeout_s:.0f} s")
        await asyncio.sleep(POLL_INTERVAL_S)


async def _paced_run(
    clients: Sequence[AsyncClient], raws: list[bytes], rate_tps: float
) -> dict[bytes, float]:
    """Offer ``raws`` at ``rate_tps`` in 10 small batches a second, round-robin over the nodes."""
    tick_s = 0.1
    per_tick = max(1, round(rate_tps * tick_s))
    sent_at: dict[bytes, float] = {}
    start = time.perf_counter()
    pending: list[asyncio.Task[object]] = []
    for number, offset in enumerate(range(0, len(raws), per_tick)):
        batch = raws[offset : offset + per_tick]
        target = start + number * tick_s
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        now = time.perf_counter()
        for raw in batch:
            sent_at[tx_hash_of_canonical(raw)] = now
        client = clients[number % len(clients)]
        pending.append(asyncio.create_task(client.submit_batch(batch, binary=True)))
    await asyncio.gather(*pending)
    return sent_at


def run_bench_sync(
    api_urls: Sequence[str], funder: AccountKey, options: BenchOptions, node_pids: Sequence[int] = ()
) -> dict[str, Any]:
    return asyncio.run(run_bench(api_urls, funder, options, node_pids))


async def run_bench(
    api_urls: Sequence[str], funder: AccountKey, options: BenchOptions, node_pids: Sequence[int] = ()
) -> dict[str, Any]:
    if not api_urls:
        raise UsageError("no running node to benchmark")
    ceiling_all_cores, scheme = await asyncio.to_thread(measure_verify_ceiling)
    clients = [AsyncClient(url, timeout_s=60.0) for url in api_urls]
    try:
        return await _run(clients, funder, options, ceiling_all_cores, scheme, node_pids)
    finally:
        for client in clients:
            await client.aclose()


async def _run(
    clients: list[AsyncClient],
    funder: AccountKey,
    options: BenchOptions,
    ceiling_all_cores: float,
    scheme: str,
    node_pids: Sequence[int] = (),
) -> dict[str, Any]:
    status = await clients[0].status()
    nodes = len(status.validators)
    chain_id = status.chain_id
    watcher = _CommitWatcher(clients[0], status.height + 1)
    watch_task = asyncio.create_task(watcher.run())
    try:
        valid_until = status.height + status.tx_window_blocks - 5
        senders = [AccountKey.generate() for _ in range(options.accounts)]
        funding = [_transfer(funder, chain_id, s.address, FUNDING_AMOUNT, valid_until) for s in senders]
        funding_hashes = [tx_hash_of_canonical(raw) for raw in funding]
        watcher.awaited.update(funding_hashes)
        await clients[0].submit_batch(funding, binary=True)
        await _wait_committed(watcher, funding_hashes, options.commit_timeout_s)

        half_load_txs_max = 50_000
        rng = random.Random(7)
        total = options.txs + half_load_txs_max
        status = await clients[0].status()
        valid_until = status.height + status.tx_window_blocks - 5
        fresh = options.recipients == "fresh"
        addresses = [s.address for s in senders]
        raws = [
            _transfer(
                senders[i % len(senders)],
                chain_id,
                rng.randbytes(20) if fresh else addresses[rng.randrange(len(addresses))],
                1,
                valid_until,
            )
            for i in range(total)
        ]
        main_raws, spare = raws[: options.txs], raws[options.txs :]
        main_hashes = [tx_hash_of_canonical(raw) for raw in main_raws]
        watcher.awaited.update(main_hashes)

        started = time.perf_counter()
        client_cpu_started = time.process_time()
        node_cpu_started = processes_cpu_s(node_pids) if node_pids else None
        sent_at, refused = await _submit_all(clients, main_raws, options)
        accepted_hashes = [h for h in main_hashes if h in sent_at]
        await _wait_committed(watcher, accepted_hashes, options.commit_timeout_s)
        elapsed_s = watcher.last_commit_at - started
        client_cpu_s = time.process_time() - client_cpu_started
        node_cpu_ended = processes_cpu_s(node_pids) if node_pids else None
        committed = len(main_hashes) - watcher.pending(main_hashes)
        node_cpu_us = _per_tx_per_node_us(node_cpu_started, node_cpu_ended, committed, len(node_pids))
        tps = committed / elapsed_s if elapsed_s > 0 else 0.0
        saturated = [watcher.committed_at[h] - sent_at[h] for h in accepted_hashes]

        half_rate = tps / 2
        half_raws = spare[: min(len(spare), max(1, int(half_rate * options.half_load_s)))]
        half_hashes = [tx_hash_of_canonical(raw) for raw in half_raws]
        watcher.awaited.update(half_hashes)
        half_sent = await _paced_run(clients, half_raws, half_rate)
        await _wait_committed(watcher, half_hashes, options.commit_timeout_s)
        half_latencies = [watcher.committed_at[h] - half_sent[h] for h in half_hashes]
    finally:
        watch_task.cancel()
    ceiling_tps = ceiling_all_cores / nodes
    return {
        "txs": options.txs,
        "committed": committed,
        "refused": refused,
        "nodes": nodes,
        "accounts": options.accounts,
        "recipients": options.recipients,
        "duration_s": round(elapsed_s, 3),
        "client_cpu_s": round(client_cpu_s, 3),
        "node_cpu_us_per_tx": node_cpu_us,
        "tps": round(tps, 1),
        "ceiling_tps": round(ceiling_tps, 1),
        "ceiling_verifier": scheme,
        "ceiling_all_cores": round(ceiling_all_cores, 1),
        "ratio": round(tps / ceiling_tps, 3) if ceiling_tps else None,
        "latency_ms": {
            "load_tps": round(half_rate, 1),
            "txs": len(half_hashes),
            "p50": _percentile_ms(half_latencies, 0.50),
            "p99": _percentile_ms(half_latencies, 0.99),
        },
        "saturated_latency_ms": {
            "p50": _percentile_ms(saturated, 0.50),
            "p99": _percentile_ms(saturated, 0.99),
        },
    }
