"""``alliance bench``: committed transfers per second of a running alliance, against this machine's ceiling.

Theory of operation
-------------------
1. *Ceiling.* Before any load, measure the machine's physical limit for this work: the best rate of
   the available verifiers (secp256k1 verify and public-key recovery in coincurve, Ed25519 in
   PyNaCl), one process per core, all cores together. Every node verifies every transaction once,
   so the alliance's ceiling is that rate divided by the number of nodes sharing the machine.
2. *Funding.* ``accounts`` fresh sender accounts are funded from the funding key (``dev``), in
   batches of ``batch_txs``; the benchmark waits until they are committed and stops with an error if
   any funding transfer was refused or failed.
3. *Signing.* All transfers are signed before any timing starts (one per sender in turn), so the
   client's signing cost is not measured as the alliance's. Recipients are, by default
   (``recipients="existing"``), funded bench accounts drawn at random: payments among known accounts,
   the usual case. With ``recipients="fresh"`` each transfer pays a new random address, so every
   transaction also creates an account and the state grows by one key per transaction (the
   state tree's worst case). The number of distinct senders matters: with the default 200, every
   node's parsed-key and address caches always hit; a chain with many senders pays the point
   decompression and the address derivation (~20 us) per transaction on top (``--accounts``).
4. *Saturated run.* The transactions go, in batches through the binary (msgpack) batch endpoint,
   round-robin across the nodes, with a few batches in flight per node. Each batch's answer says
   which of its transactions the node refused, and why (``{"accepted": n, "rejected": [{"index",
   "code", "detail"}]}``): refused ones are counted by code and never awaited. A watcher polls one
   node's blocks and notes when each accepted transaction appears. Once all have appeared, the
   receipts of the blocks that held them are read (``GET /v1/blocks/{h}/receipts``; after the run,
   so that serving them is not part of the load measured): only transactions whose receipt is
   ``ok`` count as committed transfers, the others are counted by their receipt's status code.
   Throughput is ok transfers divided by the time from the first submission to the last commit.
   A workload that carries several units in a transaction (``goodness-batch``: trips) counts its
   units instead (``units_ok``, from the ok receipts' results; ``tps`` is units a second and
   ``tx_per_s`` transactions), and the native run beside it sends as many transfers as the
   workload's ``--txs`` carries units.
   Latency is commit time minus the time its batch was sent.
5. *Latency at half load.* A second, paced run offers half the measured throughput for a few
   seconds and reports its commit latency (p50, p99) over its ok transfers: the issue's latency
   target is at that load.

CPU: ``node_cpu_us_per_tx`` is the user and system time, from Linux's ``/proc``, of every process
in the tree under each node's pid over the saturated run (a node's verifier workers are not its
children: they are started by a fork server, a child of the node; workers that ended and were
reaped within the tree count through their parent's ``cutime`` and ``cstime``), per committed
transaction and node; ``None`` without the nodes' pids or without ``/proc``. ``client_cpu_s`` is
this process's CPU time over the same span: the client shares the machine with the nodes.

The result is a dict (printed as JSON with ``--json``) with ``tps``, ``committed_ok``,
``committed``, ``failed`` and ``failed_by_code``, ``refused`` and ``refused_by_code``, ``senders``,
``ceiling_tps``, ``ratio``, ``latency_ms`` (half load), ``saturated_latency_ms``, ``client_cpu_s``,
``node_cpu_us_per_tx`` and the run's parameters; ``summary_lines`` renders it for the console.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from alliance.abi.accounts import TransferArgs
from alliance.cli.localnet import proc_stat_fields
from alliance.cli.workloads import ChainInfo, TransferWorkload, Workload, signed, units_ok, units_per_tx
from alliance.crypto.keys import AccountKey
from alliance.errors import OperationalError, UsageError
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.sdk import AsyncClient, BadResponse, BatchResult, ReceiptView

CEILING_SECONDS_PER_SCHEME = 1.0
FUNDING_AMOUNT = 10**9
POLL_INTERVAL_S = 0.05
RECIPIENT_MODES = ("existing", "fresh")
ACCOUNTS_MAX = 100_000
"""Sender accounts at most: each is funded by one transfer and signs its share of the load."""
HALF_LOAD_TXS_MAX = 50_000
NO_RECEIPT = "no_receipt"
"""The failure code of a transaction seen in a block whose receipts did not list it."""


@dataclass(frozen=True, slots=True)
class BenchOptions:
    txs: int = 20_000
    accounts: int = 200
    batch_txs: int = 1_000
    in_flight_per_node: int = 2
    half_load_s: float = 8.0
    commit_timeout_s: float = 120.0
    recipients: str = "existing"  # or "fresh": a new account per transfer
    workload: str = "transfer"  # alliance.cli.workloads.WORKLOADS

    def __post_init__(self) -> None:
        if self.txs < 1 or self.accounts < 1 or self.batch_txs < 1 or self.in_flight_per_node < 1:
            raise UsageError("txs, accounts, batch size and in-flight batches must be positive")
        if self.accounts > ACCOUNTS_MAX:
            raise UsageError(f"accounts is at most {ACCOUNTS_MAX}, got {self.accounts}")
        if self.recipients not in RECIPIENT_MODES:
            raise UsageError(f"recipients is one of {', '.join(RECIPIENT_MODES)}, got {self.recipients!r}")
        if self.recipients == "fresh" and self.workload != "transfer":
            raise UsageError(
                "--recipients fresh is for native transfers: a workload's receivers are its senders"
            )


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


# --- CPU of the nodes' process trees ------------------------------------------------------------


def processes_cpu_s(pids: Sequence[int]) -> float | None:
    """User and system CPU seconds used so far by these processes and every process under them, from
    Linux's ``/proc``; None if one of ``pids`` cannot be read.

    A node's verifier workers are its grandchildren (the fork server starts them), so the whole tree
    is walked, not only direct children. A descendant that has ended and been reaped by a parent in
    the tree counts through that parent's ``cutime`` and ``cstime``, so a difference of two readings
    keeps the CPU of workers that died (or were restarted) in between.
    """
    try:
        children = _children_by_parent()
        ticks = sum(_cpu_ticks(pid) for pid in dict.fromkeys(pids))  # the roots must be readable
    except (OSError, ValueError, IndexError):
        return None
    for pid in _descendants(pids, children):
        try:
            ticks += _cpu_ticks(pid)
        except (OSError, ValueError, IndexError):
            continue  # ended since the listing: its parent's cutime has it once it is reaped
    return ticks / os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    """utime, stime, cutime and cstime: fields 14 to 17 of proc(5)."""
    fields = proc_stat_fields(pid)
    return int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])


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


def _descendants(roots: Sequence[int], children: Mapping[int, Sequence[int]]) -> list[int]:
    """Every process under ``roots`` (children, their children, ...), each once, roots excluded."""
    seen = set(roots)
    found: list[int] = []
    stack = [child for root in dict.fromkeys(roots) for child in children.get(root, ())]
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def _per_tx_per_node_us(started_s: float | None, ended_s: float | None, txs: int, nodes: int) -> float | None:
    if started_s is None or ended_s is None or txs < 1 or nodes < 1:
        return None
    return round((ended_s - started_s) / txs / nodes * 1e6, 1)


# --- what the nodes answered: refusals at submission, receipts after commit -----------------------


@dataclass(slots=True)
class Submissions:
    """The bookkeeping of batches sent: when each *accepted* transaction went out (only those are
    awaited), and the refused ones counted by code, with one detail per code as an example."""

    sent_at: dict[bytes, float] = field(default_factory=dict)
    refused_by_code: Counter[str] = field(default_factory=Counter)
    refused_detail: dict[str, str] = field(default_factory=dict)

    @property
    def refused(self) -> int:
        return sum(self.refused_by_code.values())

    def record(self, hashes: Sequence[bytes], answer: BatchResult, sent_at_s: float) -> None:
        """Book one batch's answer; ``hashes[i]`` is the hash of the batch's i-th transaction."""
        refused_at: set[int] = set()
        for rejection in answer.rejected:
            if not 0 <= rejection.index < len(hashes) or rejection.index in refused_at:
                raise BadResponse(
                    f"a batch of {len(hashes)} was answered with a refusal at index {rejection.index}"
                )
            refused_at.add(rejection.index)
        if answer.accepted != len(hashes) - len(refused_at):
            raise BadResponse(
                f"a batch of {len(hashes)} was answered accepted={answer.accepted} "
                f"with {len(refused_at)} refused"
            )
        # Booked only once the whole answer is known to be consistent.
        for rejection in answer.rejected:
            self.refused_by_code[rejection.code] += 1
            self.refused_detail.setdefault(rejection.code, rejection.detail)
        for index, tx_hash in enumerate(hashes):
            if index not in refused_at:
                self.sent_at[tx_hash] = sent_at_s


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Committed transactions split by receipt: the ok ones, and the failures by status code."""

    ok: list[bytes]
    failed_by_code: dict[str, int]

    @property
    def failed(self) -> int:
        return sum(self.failed_by_code.values())


def tally_receipts(hashes: Iterable[bytes], receipts: Mapping[bytes, ReceiptView]) -> Outcomes:
    """Only a receipt that says ``ok`` makes a committed transfer; a hash with no receipt is a
    failure too (``NO_RECEIPT``), never a success."""
    ok: list[bytes] = []
    failed: Counter[str] = Counter()
    for tx_hash in hashes:
        receipt = receipts.get(tx_hash)
        if receipt is None:
            failed[NO_RECEIPT] += 1
        elif receipt.ok:
            ok.append(tx_hash)
        else:
            failed[receipt.status] += 1
    return Outcomes(ok=ok, failed_by_code=dict(failed))


# --- the load -----------------------------------------------------------------------------------


def _transfer(key: AccountKey, chain_id: str, to: bytes, amount: int, valid_until: int) -> bytes:
    return signed(
        key, ChainInfo(chain_id, valid_until), "accounts", "transfer", TransferArgs(to=to, amount=amount)
    )


def _percentile_ms(values_s: Sequence[float], fraction: float) -> float | None:
    if not values_s:
        return None
    ordered = sorted(values_s)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return round(ordered[index] * 1000, 1)


class _CommitWatcher:
    """Polls one node's blocks and records when, and at which height, each awaited transaction hash
    is committed; reads those heights' receipts when asked."""

    def __init__(self, client: AsyncClient, from_height: int) -> None:
        self._client = client
        self._next_height = from_height
        self.committed_at: dict[bytes, float] = {}
        self.height_of: dict[bytes, int] = {}
        self.awaited: set[bytes] = set()
        self.failed_polls = 0
        self.last_poll_error = ""
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        while True:
            # A poll the node does not answer in time (a loaded host) is tried again: giving up
            # here would leave every awaited transaction looking uncommitted.
            try:
                await self._poll()
            except OperationalError as error:
                self.failed_polls += 1
                self.last_poll_error = str(error)
            await asyncio.sleep(POLL_INTERVAL_S)

    async def _poll(self) -> None:
        latest = (await self._client.status()).height
        while self._next_height <= latest:
            block = await self._client.block(self._next_height)
            now = time.perf_counter()
            for tx_hash in block.txs:
                if tx_hash in self.awaited:
                    self.committed_at[tx_hash] = now
                    self.height_of[tx_hash] = block.height
            self._next_height += 1

    def raise_if_stopped(self) -> None:
        """Raise what stopped the watcher, if it stopped: waiting on it would only time out."""
        if self.task is not None and self.task.done() and not self.task.cancelled():
            error = self.task.exception()
            if error is not None:
                raise error

    def describe(self) -> str:
        failed = ""
        if self.failed_polls:
            failed = f"; {self.failed_polls} polls failed, the last: {self.last_poll_error}"
        return f"the watcher read blocks up to height {self._next_height - 1}{failed}"

    def pending(self, hashes: Iterable[bytes]) -> int:
        return sum(1 for h in hashes if h not in self.committed_at)

    async def receipts(self, hashes: Iterable[bytes]) -> dict[bytes, ReceiptView]:
        """The receipts of these committed hashes, read block by block from the watched node."""
        wanted = {h for h in hashes if h in self.height_of}
        found: dict[bytes, ReceiptView] = {}
        for height in sorted({self.height_of[h] for h in wanted}):
            for receipt in await self._client.receipts(height):
                if receipt.tx_hash in wanted:
                    found[receipt.tx_hash] = receipt
        return found


async def _submit_all(
    clients: Sequence[AsyncClient], raws: list[bytes], options: BenchOptions
) -> Submissions:
    """Send every batch, round-robin over the nodes, and book each answer."""
    batches = [raws[i : i + options.batch_txs] for i in range(0, len(raws), options.batch_txs)]
    submissions = Submissions()
    queue: asyncio.Queue[list[bytes]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def worker(client: AsyncClient) -> None:
        while not queue.empty():
            batch = queue.get_nowait()
            hashes = [tx_hash_of_canonical(raw) for raw in batch]
            started = time.perf_counter()
            submissions.record(hashes, await client.submit_batch(batch, binary=True), started)

    workers = [worker(client) for client in clients for _ in range(options.in_flight_per_node)]
    await asyncio.gather(*workers)
    return submissions


async def _wait_committed(watcher: _CommitWatcher, hashes: Sequence[bytes], timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while watcher.pending(hashes):
        watcher.raise_if_stopped()
        if time.perf_counter() > deadline:
            missing = watcher.pending(hashes)
            raise OperationalError(
                f"{missing} of {len(hashes)} accepted transactions not committed after {timeout_s:.0f} s"
                f" ({watcher.describe()})"
            )
        await asyncio.sleep(POLL_INTERVAL_S)


async def _paced_run(clients: Sequence[AsyncClient], raws: list[bytes], rate_tps: float) -> Submissions:
    """Offer ``raws`` at ``rate_tps`` in 10 small batches a second, round-robin over the nodes."""
    tick_s = 0.1
    per_tick = max(1, round(rate_tps * tick_s))
    submissions = Submissions()
    start = time.perf_counter()
    pending: list[asyncio.Task[None]] = []

    async def send(client: AsyncClient, batch: list[bytes], sent_at_s: float) -> None:
        hashes = [tx_hash_of_canonical(raw) for raw in batch]
        submissions.record(hashes, await client.submit_batch(batch, binary=True), sent_at_s)

    for number, offset in enumerate(range(0, len(raws), per_tick)):
        batch = raws[offset : offset + per_tick]
        target = start + number * tick_s
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        client = clients[number % len(clients)]
        pending.append(asyncio.create_task(send(client, batch, time.perf_counter())))
    await asyncio.gather(*pending)
    return submissions


async def _fund(
    client: AsyncClient,
    watcher: _CommitWatcher,
    funder: AccountKey,
    senders: Sequence[AccountKey],
    chain: ChainInfo,
    options: BenchOptions,
) -> None:
    """Fund every sender and wait for it; an unfunded sender would turn the load into failures."""
    funding = [
        signed(funder, chain, "accounts", "transfer", TransferArgs(to=s.address, amount=FUNDING_AMOUNT))
        for s in senders
    ]
    await _sender_setup(client, watcher, funding, "funding the bench accounts", options)


async def _sender_setup(
    client: AsyncClient, watcher: _CommitWatcher, raws: Sequence[bytes], what: str, options: BenchOptions
) -> None:
    """Submit a workload's per-sender setup and wait for it; stop on any refusal or failure."""
    submissions = Submissions()
    for offset in range(0, len(raws), options.batch_txs):
        batch = list(raws[offset : offset + options.batch_txs])
        hashes = [tx_hash_of_canonical(raw) for raw in batch]
        watcher.awaited.update(hashes)
        submissions.record(hashes, await client.submit_batch(batch, binary=True), time.perf_counter())
    if submissions.refused:
        raise OperationalError(f"{what}: refused {_by_code(submissions.refused_by_code)}")
    accepted = list(submissions.sent_at)
    await _wait_committed(watcher, accepted, options.commit_timeout_s)
    outcomes = tally_receipts(accepted, await watcher.receipts(accepted))
    if outcomes.failed:
        raise OperationalError(f"{what}: failed {_by_code(outcomes.failed_by_code)}")


def _by_code(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {code}" for code, count in sorted(counts.items())) or "none"


def run_bench_sync(
    api_urls: Sequence[str],
    funder: AccountKey,
    options: BenchOptions,
    node_pids: Sequence[int] = (),
    workload: Workload | None = None,
) -> dict[str, Any]:
    return asyncio.run(run_bench(api_urls, funder, options, node_pids, workload))


async def run_bench(
    api_urls: Sequence[str],
    funder: AccountKey,
    options: BenchOptions,
    node_pids: Sequence[int] = (),
    workload: Workload | None = None,
) -> dict[str, Any]:
    """The bench on a running alliance (``workload`` prepared already): native transfers, and for
    another workload that workload's run after them, with its rate as a fraction of native."""
    if not api_urls:
        raise UsageError("no running node to benchmark")
    ceiling_all_cores, scheme = await asyncio.to_thread(measure_verify_ceiling)
    clients = [AsyncClient(url, timeout_s=60.0) for url in api_urls]
    try:
        # As many native transfers as the workload carries units (a batch workload's --txs counts
        # its transactions): the two runs then do the same amount of work the rates compare.
        per_tx = 1 if workload is None else units_per_tx(workload)
        native_options = replace(options, txs=options.txs * per_tx) if per_tx > 1 else options
        native = await _run(clients, funder, native_options, ceiling_all_cores, scheme, node_pids)
        if workload is None or workload.name == TransferWorkload.name:
            return native
        report = await _run(clients, funder, options, ceiling_all_cores, scheme, node_pids, workload)
    finally:
        for client in clients:
            await client.aclose()
    native_keys = (
        "tps",
        "committed_ok",
        "failed",
        "refused",
        "duration_s",
        "node_cpu_us_per_tx",
        "latency_ms",
    )
    report["native"] = {key: native[key] for key in native_keys}
    report["vs_native"] = round(report["tps"] / native["tps"], 3) if native["tps"] else None
    return report


async def _run(
    clients: list[AsyncClient],
    funder: AccountKey,
    options: BenchOptions,
    ceiling_all_cores: float,
    scheme: str,
    node_pids: Sequence[int] = (),
    workload: Workload | None = None,
) -> dict[str, Any]:
    load = workload if workload is not None else TransferWorkload()
    status = await clients[0].status()
    nodes = len(status.validators)
    watcher = _CommitWatcher(clients[0], status.height + 1)
    watcher.start()
    try:
        chain = ChainInfo(status.chain_id, status.height + status.tx_window_blocks - 5)
        senders = [AccountKey.generate() for _ in range(options.accounts)]
        await _fund(clients[0], watcher, funder, senders, chain, options)
        setup = load.sender_setup(funder, senders, chain)
        if setup:
            await _sender_setup(clients[0], watcher, setup, f"the {load.name} workload's setup", options)

        rng = random.Random(7)
        per_tx = units_per_tx(load)
        total = options.txs + HALF_LOAD_TXS_MAX // per_tx
        status = await clients[0].status()
        chain = ChainInfo(status.chain_id, status.height + status.tx_window_blocks - 5)
        if options.recipients == "fresh":
            raws = [
                signed(
                    senders[i % len(senders)],
                    chain,
                    "accounts",
                    "transfer",
                    TransferArgs(to=rng.randbytes(20), amount=1),
                )
                for i in range(total)
            ]
        else:
            addresses = [s.address for s in senders]
            raws = [load.sign(senders[i % len(senders)], rng, addresses, chain) for i in range(total)]
        main_raws, spare = raws[: options.txs], raws[options.txs :]
        watcher.awaited.update(tx_hash_of_canonical(raw) for raw in main_raws)

        started = time.perf_counter()
        client_cpu_started = time.process_time()
        node_cpu_started = processes_cpu_s(node_pids) if node_pids else None
        main = await _submit_all(clients, main_raws, options)
        accepted = list(main.sent_at)
        await _wait_committed(watcher, accepted, options.commit_timeout_s)
        last_commit_at = max((watcher.committed_at[h] for h in accepted), default=started)
        elapsed_s = last_commit_at - started
        client_cpu_s = time.process_time() - client_cpu_started
        node_cpu_ended = processes_cpu_s(node_pids) if node_pids else None
        # Receipts are read only now, so that serving them is not part of the load measured.
        receipts = await watcher.receipts(accepted)
        outcomes = tally_receipts(accepted, receipts)
        units = units_ok(load, [bytes(receipts[h].result) for h in outcomes.ok])
        node_cpu_us = _per_tx_per_node_us(node_cpu_started, node_cpu_ended, len(accepted), len(node_pids))
        tx_per_s = len(outcomes.ok) / elapsed_s if elapsed_s > 0 else 0.0
        tps = units / elapsed_s if elapsed_s > 0 else 0.0  # the workload's units a second
        saturated = [watcher.committed_at[h] - main.sent_at[h] for h in outcomes.ok]

        half_rate = tx_per_s / 2  # transactions a second: what the paced run sends
        half_raws = spare[: min(len(spare), int(half_rate * options.half_load_s))]
        half = Submissions()
        half_outcomes = Outcomes(ok=[], failed_by_code={})
        if half_raws:
            watcher.awaited.update(tx_hash_of_canonical(raw) for raw in half_raws)
            half = await _paced_run(clients, half_raws, half_rate)
            half_accepted = list(half.sent_at)
            await _wait_committed(watcher, half_accepted, options.commit_timeout_s)
            half_outcomes = tally_receipts(half_accepted, await watcher.receipts(half_accepted))
        half_latencies = [watcher.committed_at[h] - half.sent_at[h] for h in half_outcomes.ok]
    finally:
        if watcher.task is not None:
            watcher.task.cancel()
    ceiling_tps = ceiling_all_cores / nodes
    return {
        "workload": load.name,
        "unit": load.unit,
        "txs": options.txs,
        "accepted": len(accepted),
        "committed": len(accepted),  # every accepted one, or _wait_committed raised
        "committed_ok": len(outcomes.ok),
        "units_per_tx": per_tx,
        "units_ok": units,
        "failed": outcomes.failed,
        "failed_by_code": outcomes.failed_by_code,
        "refused": main.refused,
        "refused_by_code": dict(main.refused_by_code),
        "refused_detail": main.refused_detail,
        "nodes": nodes,
        "accounts": options.accounts,
        "senders": min(options.accounts, options.txs),  # distinct senders of the saturated run
        "recipients": options.recipients,
        "duration_s": round(elapsed_s, 3),
        "client_cpu_s": round(client_cpu_s, 3),
        "node_cpu_us_per_tx": node_cpu_us,
        "node_cpu_us_per_unit": (
            None if node_cpu_us is None or not units else round(node_cpu_us * len(accepted) / units, 1)
        ),
        "tps": round(tps, 1),
        "tx_per_s": round(tx_per_s, 1),
        "ceiling_tps": round(ceiling_tps, 1),
        "ceiling_verifier": scheme,
        "ceiling_all_cores": round(ceiling_all_cores, 1),
        "ratio": round(tps / ceiling_tps, 3) if ceiling_tps else None,
        "latency_ms": {
            "load_tps": round(half_rate, 1),
            "txs": len(half_raws),
            "ok": len(half_outcomes.ok),
            "refused": half.refused,
            "failed": half_outcomes.failed,
            "p50": _percentile_ms(half_latencies, 0.50),
            "p99": _percentile_ms(half_latencies, 0.99),
        },
        "saturated_latency_ms": {
            "p50": _percentile_ms(saturated, 0.50),
            "p99": _percentile_ms(saturated, 0.99),
        },
    }


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """The report for a console (rich markup): the rate, what was refused or failed, the senders,
    the ceiling, the latencies, the CPU."""
    latency = report["latency_ms"]
    saturated = report["saturated_latency_ms"]
    nodes = report["nodes"]
    batched = report.get("units_per_tx", 1) > 1
    done = (
        f"{report['units_ok']} {report['unit']}" if batched else f"{report['committed_ok']} {report['unit']}"
    )
    per_s = f"{report['unit']}/s ({report['tx_per_s']} tx/s)" if batched else "tx/s"
    lines = [
        f"{done} committed ok by {nodes} validators in "
        f"{report['duration_s']} s: "
        f"[bold]{report['tps']} {per_s}[/] (from {report['senders']} distinct senders, recipients "
        f"{report['recipients']})",
        f"refused at submission: {report['refused']} ({_by_code(report['refused_by_code'])}); "
        f"failed in execution: {report['failed']} ({_by_code(report['failed_by_code'])})",
        f"ceiling {report['ceiling_tps']} tx/s ({report['ceiling_verifier']} / {nodes} nodes); "
        f"ratio {report['ratio']}",
        f"commit latency at half load ({latency['load_tps']} tx/s): p50 {latency['p50']} ms, "
        f"p99 {latency['p99']} ms; saturated: p50 {saturated['p50']} ms, p99 {saturated['p99']} ms",
    ]
    if report["refused"] or report["failed"]:
        lines[1] = f"[red]{lines[1]}[/]"
    native = report.get("native")
    if native is not None:
        lines.insert(
            1,
            f"native transfers in the same run: {native['tps']} tx/s; {report['workload']} / native = "
            f"[bold]{report['vs_native']}[/]",
        )
    if report["node_cpu_us_per_tx"] is not None:
        lines.append(
            "node CPU per transaction and node (verifier workers included): "
            f"{report['node_cpu_us_per_tx']} us "
            f"(the client: {report['client_cpu_s']} s over the saturated run)"
        )
    return lines
