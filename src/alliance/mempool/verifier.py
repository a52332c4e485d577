"""Batched signature verification on a pool of workers.

Theory of operation: signature checks are the physical limit of a node (docs/architecture.md §9),
so the mempool hands them over in batches of (public_key, digest32, signature) triples and a
``BatchVerifier`` spreads each batch over the cores. Three modes:

- ``inline``: the calling thread verifies; no concurrency, no start-up cost.
- ``threads``: a ``ThreadPoolExecutor``; the C verifier releases the GIL, but the per-call Python
  around it does not, so this lands between inline and processes.
- ``processes``: one worker process per core, started once (the constructor waits until each one
  answers), each joined to this process by its own duplex pipe. A batch is cut into chunks dealt
  round-robin to the workers; a chunk travels as one ``bytes`` of fixed-width records and comes
  back as one ``bytes``: a flag byte per item and, when asked, the 20-byte sender address of each
  valid item (deriving an address costs a point decompression and a keccak, a third of a verify,
  so it belongs on the workers too). No pickling per item, and no helper threads:
  ``ProcessPoolExecutor`` routes every chunk through a manager thread and a queue feeder thread,
  and while the caller's thread holds the GIL decoding the next transactions those hand-offs wait
  up to the 5 ms switch interval, leaving workers idle; measured here, that cost a third of the
  throughput. Writing to the pipe from the calling thread hands work over at once.

Submitting returns a ``PendingBatch`` at once, so the caller prepares the next slice while the
workers verify this one. A worker holds at most ``INFLIGHT_ITEMS_MAX`` unanswered items: its
answers then always fit the pipe's buffer, so it can never block writing an answer while we block
writing it the next chunk.

The caller can verify too (``caller_verifies``, processes mode), with one worker fewer by default
(one per core but the caller's). On a machine with as many busy processes as cores this matters: a
worker per core plus a caller that decodes and inserts are more processes than cores, and the
scheduler's time slicing costs the verifiers their caches (measured on two cores: admission rose
from 74-78% to 84-91% of the raw rate; docs/benchmarks.md). The work is shared by stealing, so it
balances itself whatever else the caller does per item: batches are cut into small chunks that
wait in a queue; each worker is kept fed from the queue's head with at most
``FED_ITEMS_MAX`` unanswered items (topped up whenever the caller calls in); when the caller
collects a batch, it verifies that batch's chunks still queued, and while a worker's answer it
needs is not there yet, it verifies the chunk at the queue's tail (a later batch's, kept for it)
instead of waiting.

Workers start with the "forkserver" method (or "spawn" where there is no forkserver): forking the
node process itself, which runs an event loop and executor threads, could copy a lock held by
another thread into the child and deadlock it (Python 3.12 warns about exactly that). The fork
server is a clean single-threaded process, so starting a worker stays cheap. As with any spawned
worker, a script that creates a processes-mode verifier needs the ``if __name__ == "__main__"`` guard.

Failures are operational, never hangs: a worker that dies (its pipe reaches EOF or breaks) or does
not answer within ``batch_timeout_ms`` turns into ``OperationalError``; all workers of that
generation are stopped and a fresh set starts on the next batch, so one crash costs one batch.

Batches smaller than ``inline_items_max`` are verified inline in every mode: below that, the round
trip to a worker costs more than the verification it saves. Items whose parts have the wrong sizes
for the suite are answered negatively without being sent, so fixed-width packing can never shift a
record into a different, accidentally valid, triple.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Literal, Self

from alliance.crypto.suite import Suite, suite_by_name
from alliance.errors import AllianceError, OperationalError, UsageError
from alliance.types import ADDRESS_SIZE_BYTES, HASH_SIZE_BYTES, invariant

Mode = Literal["inline", "threads", "processes"]
MODES: tuple[Mode, ...] = ("inline", "threads", "processes")

Item = tuple[bytes, bytes, bytes]
StartMethod = Literal["forkserver", "spawn"]
Answers = list[bytes | None] | list[bool]
"""Per item: the sender's address or None (``derive``), else valid or not."""

INLINE_ITEMS_MAX = 64
"""Batches below this many items are verified in the calling thread whatever the mode."""
BATCH_TIMEOUT_MS = 60_000
"""Longest wait for one answer before the workers are presumed hung."""
ADDRESS_CACHE_ENTRIES_MAX = 65_536
"""Public key -> address entries kept per process; senders repeat, and deriving costs ~15 us."""
CHUNK_ITEMS_MIN = 32
"""Smallest chunk worth a trip to a worker."""
CHUNK_ITEMS_MAX = 512
"""Largest chunk sent to one worker at a time."""
INFLIGHT_ITEMS_MAX = 1536
"""Unanswered items per worker: enough that it never idles between chunks, few enough that their
answers (21 bytes an item at most) always fit the pipe's buffer (~32 KiB)."""
STEAL_CHUNK_ITEMS = 96
"""With ``caller_verifies``: chunk size, the unit of stealing (~4 ms of verifying here)."""
FED_ITEMS_MAX = 256
"""With ``caller_verifies``: unanswered items per worker; the rest wait in the queue, where the
caller can still take them. Two to three chunks, so a worker never idles between top-ups."""
WORKER_START_TIMEOUT_MS = 60_000
"""Longest wait for a new worker to import its modules and answer; independent of batch timeouts."""
WORKER_JOIN_TIMEOUT_MS = 2_000

_OP_PING = 0
_OP_VERIFY = 1
_OP_SENDERS = 2
_VALID = 1
_INVALID = 0


# --- work done in whichever process verifies ------------------------------------------------------

_address_cache: dict[bytes, bytes] = {}


def address_cached(suite: Suite, public_key: bytes) -> bytes:
    """``suite.address_of(public_key)`` through a small per-process cache (cleared when full)."""
    address = _address_cache.get(public_key)
    if address is None:
        address = suite.address_of(public_key)
        if len(_address_cache) >= ADDRESS_CACHE_ENTRIES_MAX:
            _address_cache.clear()  # cheaper than LRU bookkeeping; refills within a few batches
        _address_cache[public_key] = address
    return address


def _verify_items(suite: Suite, items: Sequence[Item], derive: bool) -> Answers:
    oks = suite.verify_batch(items)
    if not derive:
        return oks
    return [address_cached(suite, item[0]) if ok else None for item, ok in zip(items, oks, strict=True)]


def _verify_packed(suite: Suite, blob: bytes, derive: bool) -> bytes:
    """Verify fixed-width records ``public_key || digest32 || signature``.

    Answers one flag byte per record, then (when ``derive``) the address of each valid record.
    """
    pk_size = suite.public_key_size_bytes
    sig_at = pk_size + HASH_SIZE_BYTES
    stride = sig_at + suite.signature_size_bytes
    invariant(len(blob) % stride == 0, f"packed chunk of {len(blob)} bytes is not whole records of {stride}")
    items = [
        (blob[at : at + pk_size], blob[at + pk_size : at + sig_at], blob[at + sig_at : at + stride])
        for at in range(0, len(blob), stride)
    ]
    oks = suite.verify_batch(items)
    flags = bytes(_VALID if ok else _INVALID for ok in oks)
    if not derive:
        return flags
    addresses = [address_cached(suite, item[0]) for item, ok in zip(items, oks, strict=True) if ok]
    return flags + b"".join(addresses)


def _worker_main(conn: Connection, suite_name: str) -> None:
    """A worker's whole life: answer requests in order until the pipe closes."""
    # Ctrl-C belongs to the node, which then closes the pipes; a worker must not die first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    suite = suite_by_name(suite_name)
    while True:
        try:
            request = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the node closed the pipe or died: nothing left to serve
        op = request[0]
        answer = (
            bytes([_OP_PING]) if op == _OP_PING else _verify_packed(suite, request[1:], op == _OP_SENDERS)
        )
        try:
            conn.send_bytes(answer)
        except OSError:
            return  # the node stopped listening (closed us, or gave up waiting)


def _unpack(out: bytes, count: int, derive: bool) -> Answers:
    invariant(len(out) >= count, f"worker answered {len(out)} bytes for {count} items")
    flags = out[:count]
    if not derive:
        return [flag == _VALID for flag in flags]
    senders: list[bytes | None] = []
    at = count
    for flag in flags:
        if flag == _VALID:
            senders.append(out[at : at + ADDRESS_SIZE_BYTES])
            at += ADDRESS_SIZE_BYTES
        else:
            senders.append(None)
    invariant(at == len(out), f"worker answered {len(out)} bytes, expected {at}")
    return senders


# --- worker processes -----------------------------------------------------------------------------


class _Worker:
    """One worker process and our end of its pipe; answers come back in request order."""

    __slots__ = ("answers", "conn", "dead", "process", "read", "sent", "unanswered_items", "unanswered_sizes")

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.sent = 0  # requests written
        self.read = 0  # answers read
        self.answers: dict[int, bytes] = {}  # read ahead of their turn, by request number
        self.unanswered_sizes: deque[int] = deque()  # items of each request not yet answered
        self.unanswered_items = 0
        self.dead = False

    def send(self, request: bytes, items: int, timeout_s: float) -> int:
        while self.sent > self.read and self.unanswered_items + items > INFLIGHT_ITEMS_MAX:
            self._read_next(timeout_s)
        self.conn.send_bytes(request)
        self.unanswered_sizes.append(items)
        self.unanswered_items += items
        self.sent += 1
        return self.sent - 1

    def has_answer(self, number: int) -> bool:
        """Whether answer ``number`` can be had without waiting (reads what has arrived)."""
        while self.read <= number and self.conn.poll(0):
            self._read_next(0)
        return self.read > number

    def read_arrived(self) -> None:
        """Read every answer that has arrived, so the count of unanswered items is current."""
        while self.read < self.sent and self.conn.poll(0):
            self._read_next(0)

    def answer(self, number: int, timeout_s: float) -> bytes:
        while self.read <= number:
            self._read_next(timeout_s)
        return self.answers.pop(number)

    def _read_next(self, timeout_s: float) -> None:
        if not self.conn.poll(timeout_s):
            raise TimeoutError(f"worker {self.process.pid} did not answer within {timeout_s * 1000:.0f} ms")
        self.answers[self.read] = self.conn.recv_bytes()
        self.read += 1
        self.unanswered_items -= self.unanswered_sizes.popleft()

    def stop(self, kill: bool = False) -> None:
        self.dead = True
        self.conn.close()  # the worker reads EOF and returns
        if kill:
            self.process.kill()  # presumed hung: asking nicely would only wait for the join timeout
        self.process.join(WORKER_JOIN_TIMEOUT_MS / 1000)
        if self.process.is_alive():
            self.process.kill()  # hung in C code: it cannot be asked nicely
            self.process.join()
        self.process.close()


# --- the pending result of one submitted batch ----------------------------------------------------


class PendingBatch:
    """A batch handed to the workers; ``result()`` waits for it (or fails with ``OperationalError``)."""

    __slots__ = ("_count", "_done", "_gather", "_verifier")

    def __init__(
        self, verifier: BatchVerifier, count: int, done: Answers | None, gather: Callable[[], Answers] | None
    ) -> None:
        self._verifier = verifier
        self._count = count
        self._done = done
        self._gather = gather

    @classmethod
    def failed(cls, verifier: BatchVerifier, count: int, error: OperationalError) -> PendingBatch:
        """A batch that could not even be handed over; ``result()`` raises ``error``."""

        def gather() -> Answers:
            raise error

        return cls(verifier, count, None, gather)

    @property
    def answered(self) -> bool:
        """Whether the answers are in hand already (verified in the caller's thread), so
        ``result()`` returns without waiting."""
        return self._done is not None

    def result(self) -> Answers:
        if self._done is None:
            gather = self._gather
            invariant(gather is not None, "a pending batch has neither a result nor a way to get one")
            assert gather is not None  # for the type checker; invariant() above holds it
            self._gather = None
            self._done = self._verifier._collect(gather)
        invariant(len(self._done) == self._count, f"{len(self._done)} results for {self._count} items")
        return self._done


# --- the verifier ---------------------------------------------------------------------------------


class BatchVerifier:
    """Verify batches of (public_key, digest32, signature) with one suite, in one mode.

    Safe to share between threads; ``processes`` mode serialises access to its pipes.
    """

    def __init__(
        self,
        mode: Mode = "processes",
        *,
        suite_name: str = "secp256k1",
        workers: int | None = None,
        inline_items_max: int = INLINE_ITEMS_MAX,
        batch_timeout_ms: int = BATCH_TIMEOUT_MS,
        start_method: StartMethod | None = None,
        caller_verifies: bool = False,
    ) -> None:
        if mode not in MODES:
            raise UsageError(f"unknown verifier mode {mode!r}; known: {', '.join(MODES)}")
        if workers is not None and workers < 1:
            raise UsageError(f"a verifier needs at least one worker, got {workers}")
        if batch_timeout_ms < 1:
            raise UsageError(f"batch_timeout_ms must be positive, got {batch_timeout_ms}")
        self.mode: Mode = mode
        self.suite_name = suite_name
        self._suite = suite_by_name(suite_name)
        self._pk_size = self._suite.public_key_size_bytes
        self._sig_size = self._suite.signature_size_bytes
        self.caller_verifies = caller_verifies and mode == "processes"
        cores = os.cpu_count() or 1
        self.workers = workers or (max(1, cores - 1) if self.caller_verifies else cores)
        self._inline_items_max = inline_items_max
        self._timeout_s = batch_timeout_ms / 1000
        self._context = _context_for(start_method or _default_start_method())
        self._lock = threading.RLock()
        self._settled = threading.Condition(self._lock)  # a chunk another thread took is done
        self._queue: deque[_Chunk] = deque()  # with caller_verifies: chunks not yet sent
        self._closed = False
        self._next_worker = 0
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None
        self._processes: list[_Worker] | None = None
        if mode == "threads":
            self._threads = concurrent.futures.ThreadPoolExecutor(self.workers, "alliance-verify")
        elif mode == "processes":
            with self._lock:
                self._processes = self._start_processes()

    # --- public API -------------------------------------------------------------------------------

    def verify_batch(self, items: Sequence[Item]) -> list[bool]:
        """One bool per item, in order: True when the signature is valid for that key and digest."""
        return self._submit(items, derive=False).result()  # type: ignore[return-value]  # bools

    def verify_senders(self, items: Sequence[Item]) -> list[bytes | None]:
        """One entry per item: the signer's address when the signature is valid, else None."""
        return self.submit_senders(items).result()  # type: ignore[return-value]  # addresses

    def submit_senders(self, items: Sequence[Item], *, sizes_checked: bool = False) -> PendingBatch:
        """Start verifying and return at once, so the caller can prepare the next batch meanwhile.

        Collect every handle (``result()``): answers read ahead for it are held until then.
        ``sizes_checked``: the caller guarantees every part has the suite's size (decoded into
        length-bounded fields), so the per-item size screen is skipped.
        """
        return self._submit(items, derive=True, sizes_checked=sizes_checked)

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (processes mode), for operators and tests."""
        with self._lock:
            workers = self._processes or []
            return [w.process.pid for w in workers if w.process.pid is not None]

    def close(self) -> None:
        """Stop the workers; idempotent. Batches still pending fail with ``OperationalError``."""
        with self._lock:
            self._closed = True
            self._queue.clear()
            self._settled.notify_all()
            threads, self._threads = self._threads, None
            self._discard_processes()
        if threads is not None:
            threads.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- dispatch ---------------------------------------------------------------------------------

    def _submit(self, items: Sequence[Item], derive: bool, sizes_checked: bool = False) -> PendingBatch:
        if self._closed:
            raise UsageError("the batch verifier is closed")
        count = len(items)
        good, bad_at = (items, []) if sizes_checked else self._split_wrong_sizes(items)
        if count < self._inline_items_max or self.mode == "inline":
            done = _merge(_verify_items(self._suite, good, derive), bad_at, derive)
            return PendingBatch(self, count, done, None)
        if self.mode == "threads":
            gather = self._submit_threads(good, derive)
        elif self.caller_verifies:
            gather = self._submit_shared(good, derive)
        else:
            gather = self._submit_processes(good, derive)
        return PendingBatch(self, count, None, lambda: _merge(gather(), bad_at, derive))

    def _split_wrong_sizes(self, items: Sequence[Item]) -> tuple[Sequence[Item], list[int]]:
        pk_size, sig_size = self._pk_size, self._sig_size
        bad_at = [
            at
            for at, (pk, digest, sig) in enumerate(items)
            if len(pk) != pk_size or len(digest) != HASH_SIZE_BYTES or len(sig) != sig_size
        ]
        if not bad_at:
            return items, bad_at
        skip = set(bad_at)
        return [item for at, item in enumerate(items) if at not in skip], bad_at

    def _chunks(self, items: Sequence[Item]) -> list[Sequence[Item]]:
        count = len(items)
        if count == 0:
            return []
        n_chunks = max(self.workers, -(-count // CHUNK_ITEMS_MAX))
        n_chunks = max(1, min(n_chunks, count // CHUNK_ITEMS_MIN))
        step = -(-count // n_chunks)
        return [items[at : at + step] for at in range(0, count, step)]

    def _submit_threads(self, items: Sequence[Item], derive: bool) -> Callable[[], Answers]:
        executor = self._threads
        if executor is None:
            raise UsageError("the batch verifier is closed")
        futures = [
            executor.submit(_verify_items, self._suite, chunk, derive) for chunk in self._chunks(items)
        ]
        timeout_s = self._timeout_s

        def gather() -> Answers:
            out: list[bytes | bool | None] = []
            for future in futures:
                out.extend(future.result(timeout=timeout_s))
            return out  # type: ignore[return-value]  # all chunks answer the same kind

        return gather

    def _submit_processes(self, items: Sequence[Item], derive: bool) -> Callable[[], Answers]:
        op = bytes([_OP_SENDERS if derive else _OP_VERIFY])
        timeout_s = self._timeout_s
        tickets: list[tuple[_Worker, int, int]] = []
        with self._lock:
            try:
                workers = self._live_processes()
                for chunk in self._chunks(items):
                    worker = workers[self._next_worker % len(workers)]
                    self._next_worker += 1
                    number = worker.send(_request(op, chunk), len(chunk), timeout_s)
                    tickets.append((worker, number, len(chunk)))
            except (OSError, EOFError, TimeoutError) as exc:
                raise self._handover_failed(exc) from None

        def gather() -> Answers:
            out: list[bytes | bool | None] = []
            with self._lock:
                for worker, number, count in tickets:
                    if worker.dead:
                        raise OperationalError("signature workers were stopped before answering; resubmit")
                    out.extend(_unpack(worker.answer(number, timeout_s), count, derive))
            return out  # type: ignore[return-value]  # all chunks answer the same kind

        return gather

    # --- processes mode with the caller verifying too: work stealing -------------------------------

    def _submit_shared(self, items: Sequence[Item], derive: bool) -> Callable[[], Answers]:
        chunks = [_Chunk(items[at:end], derive) for at, end in steal_chunk_bounds(len(items))]
        with self._lock:
            try:
                workers = self._live_processes()
                self._queue.extend(chunks)
                self._feed(workers)
            except (OSError, EOFError, TimeoutError) as exc:
                raise self._handover_failed(exc) from None

        def gather() -> Answers:
            out: list[bytes | bool | None] = []
            for chunk in chunks:
                out.extend(self._settle(chunk))
            return out  # type: ignore[return-value]  # all chunks answer the same kind

        return gather

    def _feed(self, workers: list[_Worker]) -> None:
        """Send queued chunks from the head to whichever worker has the fewest unanswered items,
        while one has room under ``FED_ITEMS_MAX`` (lock held)."""
        queue = self._queue
        if not workers:
            return  # stopped after a failure: the next batch restarts them; callers verify the rest
        for worker in workers:
            worker.read_arrived()
        while queue:
            head = queue[0]
            if head.taken:
                queue.popleft()
                continue
            worker = min(workers, key=_unanswered_items)
            if worker.unanswered_items + len(head.items) > FED_ITEMS_MAX:
                return
            queue.popleft()
            op = bytes([_OP_SENDERS if head.derive else _OP_VERIFY])
            head.ticket = (worker, worker.send(_request(op, head.items), len(head.items), self._timeout_s))

    def _take_tail(self) -> _Chunk | None:
        """The queue's last chunk not taken, for the caller to verify (lock held)."""
        queue = self._queue
        while queue:
            tail = queue.pop()
            if not tail.taken:
                tail.taken = True
                return tail
        return None

    def _settle(self, chunk: _Chunk) -> Answers:
        """``chunk``'s answers: verified here if still queued, else the worker's, verifying
        queued chunks meanwhile instead of waiting for it."""
        while True:
            with self._lock:
                if self._closed:
                    raise OperationalError("the batch verifier was closed while verifying")
                if chunk.answers is not None:
                    return chunk.answers
                if chunk.ticket is None:
                    if chunk.taken:  # another thread is verifying it
                        self._settled.wait(self._timeout_s)
                        continue
                    chunk.taken = True  # it stays in the queue; _feed and _take_tail skip it
                    mine = chunk
                else:
                    worker, number = chunk.ticket
                    if worker.dead:
                        raise OperationalError("signature workers were stopped before answering; resubmit")
                    self._feed(self._processes or [])
                    if worker.has_answer(number):
                        chunk.answers = _unpack(worker.answer(number, 0), len(chunk.items), chunk.derive)
                        continue
                    stolen = self._take_tail()
                    if stolen is None:  # nothing left to do but wait
                        answer = worker.answer(number, self._timeout_s)
                        chunk.answers = _unpack(answer, len(chunk.items), chunk.derive)
                        continue
                    mine = stolen
            try:
                answers = _verify_items(self._suite, mine.items, mine.derive)  # outside the lock
            except BaseException:
                with self._lock:
                    mine.taken = False  # its own batch's collector verifies it again
                    self._settled.notify_all()
                raise
            with self._lock:
                mine.answers = answers
                self._settled.notify_all()

    def _handover_failed(self, exc: BaseException) -> OperationalError:
        """Handing a chunk to a worker failed: stop this generation (the next batch starts anew)."""
        self._discard_processes(kill=isinstance(exc, TimeoutError))
        return OperationalError(f"signature workers failed ({exc!r}); they restart on the next batch")

    def _collect(self, gather: Callable[[], Answers]) -> Answers:
        """Run ``gather`` and turn every way a worker can fail into ``OperationalError``."""
        try:
            return gather()
        except AllianceError:
            raise  # already typed; an invariant that broke stays a loud bug
        except (TimeoutError, concurrent.futures.TimeoutError) as exc:  # before OSError, its base
            with self._lock:
                self._discard_processes(kill=True)
            raise OperationalError(f"signature workers hung ({exc}); restarting them") from None
        except (EOFError, OSError) as exc:
            with self._lock:
                self._discard_processes()
            raise OperationalError(
                f"a signature worker died ({exc!r}); workers restart on the next batch"
            ) from None
        except concurrent.futures.CancelledError:
            raise OperationalError("the batch verifier was closed while verifying") from None
        except Exception as exc:
            # A verifying thread that raised: the suite misbehaved on some input, not the caller.
            raise OperationalError(f"signature verification failed: {exc!r}") from exc

    # --- process lifecycle (call with the lock held) ------------------------------------------------

    def _start_processes(self) -> list[_Worker]:
        workers: list[_Worker] = []
        try:
            for index in range(self.workers):
                ours, theirs = self._context.Pipe(duplex=True)
                process = self._context.Process(
                    target=_worker_main,
                    args=(theirs, self.suite_name),
                    name=f"alliance-verify-{index}",
                    daemon=True,  # never outlive the node, even if close() is skipped
                )
                process.start()
                theirs.close()  # only the worker holds its end, so its death reads as EOF here
                workers.append(_Worker(process, ours))
            start_timeout_s = WORKER_START_TIMEOUT_MS / 1000
            for worker in workers:  # one round trip each: imported, resolved, ready
                worker.answer(worker.send(bytes([_OP_PING]), 0, start_timeout_s), start_timeout_s)
        except (OSError, EOFError, TimeoutError) as exc:
            for worker in workers:
                worker.stop()
            raise OperationalError(f"cannot start {self.workers} signature workers: {exc!r}") from None
        return workers

    def _live_processes(self) -> list[_Worker]:
        if self._closed:
            raise UsageError("the batch verifier is closed")
        if self._processes is None:
            self._processes = self._start_processes()
        return self._processes

    def _discard_processes(self, kill: bool = False) -> None:
        workers, self._processes = self._processes, None
        for worker in workers or ():
            worker.stop(kill)


class _Chunk:
    """A slice of a batch in caller-verifies mode: queued, then sent to a worker (its ticket) or
    taken by a caller; its answers once known."""

    __slots__ = ("answers", "derive", "items", "taken", "ticket")

    def __init__(self, items: Sequence[Item], derive: bool) -> None:
        self.items = items
        self.derive = derive
        self.taken = False
        self.ticket: tuple[_Worker, int] | None = None
        self.answers: Answers | None = None


def _request(op: bytes, items: Sequence[Item]) -> bytes:
    """A request to a worker: the op byte, then fixed-width ``public_key || digest || signature``."""
    return op + b"".join([part for item in items for part in item])


def steal_chunk_bounds(count: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the chunks a caller-verifies batch of ``count`` items is cut into: as
    even as they come, none over ``STEAL_CHUNK_ITEMS``."""
    chunks = -(-count // STEAL_CHUNK_ITEMS)
    step = -(-count // chunks) if chunks else 1
    return [(at, min(at + step, count)) for at in range(0, count, step)]


def _unanswered_items(worker: _Worker) -> int:
    return worker.unanswered_items


def _merge(out: Answers, bad_at: list[int], derive: bool) -> Answers:
    """Put a negative answer back at each position that was refused for wrong sizes."""
    if not bad_at:
        return out
    negative: bytes | bool | None = None if derive else False
    merged: list[bytes | bool | None] = list(out)
    for at in bad_at:  # ascending, so each insert lands at its original index
        merged.insert(at, negative)
    return merged  # type: ignore[return-value]  # same kind as ``out``


def _default_start_method() -> StartMethod:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _context_for(method: StartMethod) -> ForkServerContext | SpawnContext:
    # "fork" is refused on purpose: see the theory of operation.
    if method == "forkserver":
        return multiprocessing.get_context("forkserver")
    if method == "spawn":
        return multiprocessing.get_context("spawn")
    raise UsageError(f"unsupported worker start method {method!r}; use 'forkserver' or 'spawn'")
