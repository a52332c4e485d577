"""The mempool: bounded, FIFO, admission in batches with one signature verification per batch.

Theory of operation: ``admit_batch`` takes raw transactions as they come from clients or peers and
answers one result per input, in order: ``Accepted`` or the typed error instance that says why not.
Bad input never raises. Checks run cheapest first, so most rejections cost microseconds:

1. size (before any decoding; ``TxTooLarge``), canonical decoding (``DecodeError``);
2. chain id, the ``valid_until`` window (``TxExpired``: it could not make the next block;
   ``TxTooFarAhead``: beyond the governed window), ``gas_limit`` (``GasLimitTooHigh``);
3. duplicates (``DuplicateTx``): in the pool, earlier in the same batch, or already committed (the
   application answers ``is_committed`` from its window of seen hashes);
4. bounds (``MempoolFull``), reserved per survivor before verifying, so a full pool spends no
   signature work; a survivor that then fails its signature leaves its reservation unused for the
   rest of the batch (a client retry fixes it, and it keeps one pass over the batch);
5. signatures (``BadSignature``): survivors whose (hash, signature) the shared ``SignatureCache``
   lacks (the signature too: the hash does not cover it, so a forged copy of a verified
   transaction must not pass as verified) are
   verified by the ``BatchVerifier`` in slices; each slice goes to the workers as soon as it is
   filled (the first one small, so the workers start early), and the decoding of the rest of the
   batch, then the insertion of each verified slice, overlap with the workers' verifying. Verified
   senders (20-byte addresses) enter the cache, where proposal checks and execution find them.

Decoding is the codec's rule (decode, then re-encode and compare, which rejects every
non-canonical form) applied with this module's own decoder, which saves a microsecond of call
layers per transaction; a property test pins it to ``decode_tx``. The transaction hash is computed
from the raw bytes, not by re-encoding the body: decoding has already proved the bytes canonical,
so they are ``0x92 || body || 0xc4 0x40 || signature`` and the body's bytes are ``raw[1:-66]``. A
test pins this against ``tx_hash``.

The pool is a dict keyed by hash, which keeps insertion (FIFO) order; a value is a tuple of the
raw bytes, gas limit and ``valid_until``, so ``reap`` reads precomputed numbers. Expiry is indexed
by ``valid_until`` (buckets and a heap of their heights), so ``update`` after a commit touches only
what leaves, not the whole pool. A transaction that leaves before its height (committed, removed)
stays in its bucket, so the buckets are rebuilt from the pool once they hold more than twice what
the pool holds: otherwise they would keep every hash admitted within the replay window, far beyond
the pool's bounds (a 1,000-block window of full blocks is millions of hashes). ``reap`` stops at
the first transaction that does not fit: strict FIFO means a large transaction waits for the next
block instead of being overtaken forever.

Admission in two halves: ``begin_admission`` screens a batch and hands its signatures to the
workers, returning at once; ``finish_admission`` waits for the answers and inserts. Between the
two the caller may screen the next batch (so the workers never idle at a batch boundary) or run
other work, including ``update`` after a commit. So the pool keeps, across batches, the hashes in
flight (screened, not yet finished: a second copy is a duplicate) and the room they reserved; and
a finish after an ``update`` re-checks each candidate against what changed meanwhile: committed
(``DuplicateTx``) or expired (``TxExpired``). Finish admissions in the order they began: that
order is the pool's FIFO order. ``admit_batch`` is the two halves back to back.

Not thread-safe: the node calls it from one task (admission, reaping and updates interleave there).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import msgspec

from alliance import codec
from alliance.crypto.hashing import Domain, hasher_for
from alliance.crypto.keys import SIGNATURE_SIZE_BYTES
from alliance.crypto.sigcache import SignatureCache
from alliance.errors import (
    BadSignature,
    DecodeError,
    DuplicateTx,
    GasLimitTooHigh,
    MempoolFull,
    OperationalError,
    TxExpired,
    TxTooFarAhead,
    TxTooLarge,
    UsageError,
    WrongChainId,
)
from alliance.ledger.genesis import ChainParams
from alliance.ledger.transaction import SIGNATURE_TAIL_BYTES, TX_SIZE_BYTES_MAX, Transaction, static_problem
from alliance.mempool.verifier import BatchVerifier, PendingBatch
from alliance.types import invariant

MEMPOOL_TXS_MAX = 100_000
MEMPOOL_BYTES_MAX = 256 * 1024 * 1024
VERIFY_SLICE_TXS = 256
"""Survivors handed to the verifier at a time; small enough to overlap decoding with verifying."""
VERIFY_FIRST_SLICE_TXS = 64
"""The first slice of a batch is smaller, so the workers start after 64 decodes, not 256."""
EXPIRY_SLACK_HASHES = 4096
"""Hashes of departed transactions the expiry buckets may hold beyond the pool's own count before a
rebuild (so a small pool is not rebuilt after every block)."""

_tx_hasher = hasher_for(Domain.TX)

IsCommitted = Callable[[bytes], bool]

OnDecoded = Callable[[bytes, Transaction, bytes], None]
"""Told of each canonical decoding that passed the cheap checks (the executor keeps them)."""

_Entry = tuple[bytes, int, int]
"""raw bytes, gas limit, valid_until"""


class Accepted(NamedTuple):
    """A transaction now in the pool."""

    tx_hash: bytes
    sender: bytes
    """The verified sender's 20-byte address."""


AdmitError = (
    DecodeError
    | TxTooLarge
    | WrongChainId
    | TxExpired
    | TxTooFarAhead
    | GasLimitTooHigh
    | DuplicateTx
    | BadSignature
    | MempoolFull
    | OperationalError
)
AdmitResult = Accepted | AdmitError
"""One per input of ``admit_batch``. ``OperationalError`` appears only when the workers failed;
the transaction was not judged and can be resubmitted."""


_decode_tx_fast = msgspec.msgpack.Decoder(Transaction).decode
_encode_fast = msgspec.msgpack.Encoder().encode  # the codec's encoder: default options


def decode_canonical_tx(raw: bytes) -> Transaction:
    """``decode_tx`` without its size check (the caller made it): ``DecodeError`` unless canonical.

    The common case (canonical bytes) decodes and re-encodes with msgspec directly; anything it
    does not accept goes through ``codec.decode``, so every refusal is the codec's own
    ``DecodeError`` with its message (a property test compares the two on arbitrary bytes)."""
    try:
        tx = _decode_tx_fast(raw)
        canonical = _encode_fast(tx) == raw
    except (msgspec.DecodeError, UnicodeDecodeError, UsageError):  # the codec's cases, re-run below
        canonical = False
    return tx if canonical else codec.decode(Transaction, raw, size_bytes_max=len(raw))


class _Candidates:
    """Transactions of one batch that passed every check but the signature, in input order.

    Parallel lists rather than an object each: admission runs per transaction at the verify rate.
    """

    __slots__ = ("entries", "hashes", "indices", "outcomes")

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.hashes: list[bytes] = []
        self.entries: list[_Entry] = []
        self.outcomes: list[bytes | AdmitError | None] = []
        """The sender's address once verified (or found in the cache), else why not."""


class PendingAdmission:
    """A screened batch whose signatures the workers are verifying; ``Mempool.finish_admission``
    turns it into results. Holds a reservation of pool room and the in-flight hashes until then."""

    __slots__ = ("candidates", "finished", "resolved", "results", "slices", "updates_seen")

    def __init__(
        self,
        results: list[AdmitResult | None],
        candidates: _Candidates,
        slices: list[tuple[PendingBatch, list[int], int]],
        updates_seen: int,
    ) -> None:
        self.results = results
        self.candidates = candidates
        self.slices = slices
        """Pending slices: the handle, the candidate positions it covers, and the end of the
        candidate range that is settled once it answers."""
        self.updates_seen = updates_seen
        """The pool's update count at screening: a finish after any update re-checks."""
        self.finished = False
        self.resolved = 0
        """How many leading slices were answered (and their senders cached) at screening."""


class Mempool:
    def __init__(
        self,
        *,
        chain_id: str,
        params: ChainParams,
        verifier: BatchVerifier,
        sigcache: SignatureCache,
        is_committed: IsCommitted,
        txs_max: int = MEMPOOL_TXS_MAX,
        bytes_max: int = MEMPOOL_BYTES_MAX,
        verify_slice_txs: int = VERIFY_SLICE_TXS,
        on_decoded: OnDecoded | None = None,
    ) -> None:
        if txs_max < 1 or bytes_max < 1 or verify_slice_txs < 1:
            raise UsageError("mempool bounds and the verify slice must be positive")
        self.chain_id = chain_id
        self.params = params
        self.txs_max = txs_max
        self.bytes_max = bytes_max
        self._verifier = verifier
        self._sigcache = sigcache
        self._is_committed = is_committed
        self._verify_slice_txs = verify_slice_txs
        self._on_decoded = on_decoded
        self._entries: dict[bytes, _Entry] = {}
        self._size_bytes = 0
        self._expiry: dict[int, list[bytes]] = {}
        self._expiry_heights: list[int] = []
        self._expiry_hashes = 0  # in all buckets, departed transactions' included
        self._inflight: set[bytes] = set()
        self._reserved_txs = 0
        self._reserved_bytes = 0
        self._updates = 0
        self._next_height = 0  # the lowest valid_until still admissible, as of the last update

    # --- queries ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._size_bytes

    def contains(self, tx_hash: bytes) -> bool:
        return tx_hash in self._entries

    def get(self, tx_hash: bytes) -> bytes | None:
        """The raw bytes of a pooled transaction (for gossip), or None."""
        entry = self._entries.get(tx_hash)
        return None if entry is None else entry[0]

    def reap(self, txs_max: int, bytes_max: int, gas_max: int) -> list[bytes]:
        """Raw transactions in admission order, as many as fit all three bounds; nothing is removed."""
        out: list[bytes] = []
        size_bytes = 0
        gas = 0
        for raw, gas_limit, _valid_until in self._entries.values():
            if len(out) >= txs_max:
                break
            size_bytes += len(raw)
            gas += gas_limit
            if size_bytes > bytes_max or gas > gas_max:
                break
            out.append(raw)
        return out

    # --- changes ----------------------------------------------------------------------------------

    def update(self, height: int, committed_hashes: Iterable[bytes]) -> None:
        """After committing ``height``: drop what it included and what can no longer be included."""
        self._updates += 1
        self._next_height = max(self._next_height, height + 1)
        for tx_hash in committed_hashes:
            self._drop(tx_hash)
        next_height = height + 1
        heights = self._expiry_heights
        while heights and heights[0] < next_height:
            valid_until = heapq.heappop(heights)
            bucket = self._expiry.pop(valid_until, ())
            self._expiry_hashes -= len(bucket)
            for tx_hash in bucket:
                entry = self._entries.get(tx_hash)
                if entry is not None and entry[2] == valid_until:
                    self._drop(tx_hash)
        self._bound_expiry()

    def remove(self, hashes: Iterable[bytes]) -> None:
        for tx_hash in hashes:
            self._drop(tx_hash)
        self._bound_expiry()

    def _bound_expiry(self) -> None:
        """Rebuild the expiry buckets from the pool once departed hashes outnumber the pool's own
        (amortised: a rebuild costs the pool's size, after at least as many departures)."""
        if self._expiry_hashes <= 2 * len(self._entries) + EXPIRY_SLACK_HASHES:
            return
        expiry: dict[int, list[bytes]] = {}
        for tx_hash, (_, _, valid_until) in self._entries.items():
            bucket = expiry.get(valid_until)
            if bucket is None:
                expiry[valid_until] = [tx_hash]
            else:
                bucket.append(tx_hash)
        self._expiry = expiry
        self._expiry_heights = sorted(expiry)  # a sorted list is a heap
        self._expiry_hashes = len(self._entries)

    def _drop(self, tx_hash: bytes) -> None:
        # The expiry bucket keeps the hash; the bucket is discarded whole when its height passes,
        # or rebuilt without it (``_bound_expiry``).
        entry = self._entries.pop(tx_hash, None)
        if entry is not None:
            self._size_bytes -= len(entry[0])

    # --- admission --------------------------------------------------------------------------------

    def admit_batch(self, raws: Sequence[bytes], current_height: int) -> list[AdmitResult]:
        """Judge each raw transaction; admit the good ones. One result per input, in input order."""
        return self.finish_admission(self.begin_admission(raws, current_height))

    def begin_admission(self, raws: Sequence[bytes], current_height: int) -> PendingAdmission:
        """Every check but the signature, and the signatures handed to the workers; returns at
        once. The caller must pass the result to ``finish_admission`` (in begin order)."""
        results: list[AdmitResult | None] = [None] * len(raws)
        candidates = _Candidates()
        try:
            slices = self._screen(raws, current_height, results, candidates)
        except BaseException:
            # Screening stopped part-way (the verifier closed under it): nothing of this batch
            # stays in flight. Its room is reserved only once screening is complete.
            self._inflight.difference_update(candidates.hashes)
            raise
        pending = PendingAdmission(results, candidates, slices, self._updates)
        # Slices verified in this thread (an inline verifier, or a slice too small to hand over)
        # have their answers already: their senders go into the signature cache now, not at the
        # finish. The node runs consensus between the two halves, and a proposal that carries
        # these transactions meanwhile would otherwise verify every one of them again (measured
        # on a 4-node alliance: 9,101 of 58,489 transactions verified twice on three nodes).
        for handle, positions, _ in slices:
            if not handle.answered:
                break
            self._resolve(handle, positions, candidates)
            pending.resolved += 1
        return pending

    def finish_admission(self, pending: PendingAdmission) -> list[AdmitResult]:
        """Wait for the workers' answers and insert the verified transactions; one result per
        input of ``begin_admission``, in input order."""
        invariant(not pending.finished, "an admission was finished twice")
        pending.finished = True
        candidates, results = pending.candidates, pending.results
        recheck = pending.updates_seen != self._updates
        done = 0
        for number, (handle, positions, end) in enumerate(pending.slices):
            if number >= pending.resolved:
                self._resolve(handle, positions, candidates)
            self._finish(candidates, done, end, results, recheck)  # overlaps the workers' later slices
            done = end
        self._finish(candidates, done, len(candidates.indices), results, recheck)
        invariant(None not in results, "an admission left an input without a result")
        return results  # type: ignore[return-value]  # every slot was filled, checked just above

    def _screen(
        self,
        raws: Sequence[bytes],
        current_height: int,
        results: list[AdmitResult | None],
        candidates: _Candidates,
    ) -> list[tuple[PendingBatch, list[int], int]]:
        """Every check but the signature; hand survivors to the verifier slice by slice, and
        reserve their room and hashes until they are finished."""
        chain_id = self.chain_id
        floor, top = current_height + 1, current_height + self.params.tx_window_blocks
        gas_max = self.params.tx_gas_max
        entries, is_committed, cache_get = self._entries, self._is_committed, self._sigcache.get
        room_txs = self.txs_max - len(entries) - self._reserved_txs
        room_bytes = self.bytes_max - self._size_bytes - self._reserved_bytes
        seen: set[bytes] = set()
        inflight = self._inflight
        submit = self._submit
        on_decoded = self._on_decoded
        pending: list[tuple[PendingBatch, list[int], int]] = []
        to_verify: list[tuple[bytes, bytes, bytes]] = []
        to_verify_at: list[int] = []
        slice_txs = min(VERIFY_FIRST_SLICE_TXS, self._verify_slice_txs)
        c_indices, c_hashes, c_entries, c_outcomes = (
            candidates.indices,
            candidates.hashes,
            candidates.entries,
            candidates.outcomes,
        )

        for index, given in enumerate(raws):
            raw = given if type(given) is bytes else _as_bytes(given)
            if raw is None:
                results[index] = DecodeError(f"a transaction is bytes, got {type(given).__name__}")
                continue
            size = len(raw)
            if size > TX_SIZE_BYTES_MAX:
                results[index] = TxTooLarge(
                    f"transaction is {size} bytes, over the bound of {TX_SIZE_BYTES_MAX}"
                )
                continue
            try:
                tx = decode_canonical_tx(raw)
            except DecodeError as exc:
                results[index] = exc
                continue
            body = tx.body
            valid_until = body.valid_until
            problem = static_problem(body, chain_id, floor, top, gas_max)
            if problem is not None:
                results[index] = problem
                continue
            hasher = _tx_hasher.copy()
            hasher.update(raw[1:-SIGNATURE_TAIL_BYTES])
            tx_hash = hasher.digest()
            if tx_hash in entries or tx_hash in seen or tx_hash in inflight or is_committed(tx_hash):
                results[index] = DuplicateTx(_duplicate_message(tx_hash, entries, seen, inflight))
                continue
            seen.add(tx_hash)
            if room_txs < 1 or room_bytes < size:
                results[index] = MempoolFull(
                    f"mempool is full ({len(entries)} of {self.txs_max} txs, "
                    f"{self._size_bytes} of {self.bytes_max} bytes); retry later"
                )
                continue
            room_txs -= 1
            room_bytes -= size
            inflight.add(tx_hash)
            if on_decoded is not None:
                on_decoded(raw, tx, tx_hash)
            sender = cache_get(tx_hash, tx.signature)
            if sender is None:
                to_verify_at.append(len(c_indices))
                to_verify.append((body.sender, tx_hash, tx.signature))
            c_indices.append(index)
            c_hashes.append(tx_hash)
            c_entries.append((raw, body.gas_limit, valid_until))
            c_outcomes.append(sender)
            if len(to_verify) >= slice_txs:
                pending.append((submit(to_verify), to_verify_at, len(c_indices)))
                to_verify, to_verify_at = [], []
                slice_txs = self._verify_slice_txs

        if to_verify:
            pending.append((submit(to_verify), to_verify_at, len(c_indices)))
        self._reserved_txs += len(c_entries)
        self._reserved_bytes += sum(len(entry[0]) for entry in c_entries)
        return pending

    def _submit(self, items: list[tuple[bytes, bytes, bytes]]) -> PendingBatch:
        try:
            # Decoding bounded the public key and signature to their sizes and the hash is a digest.
            return self._verifier.submit_senders(items, sizes_checked=True)
        except OperationalError as exc:  # workers down: these transactions go unjudged, not the batch
            return PendingBatch.failed(self._verifier, len(items), exc)

    def _resolve(self, handle: PendingBatch, positions: list[int], candidates: _Candidates) -> None:
        """Record a slice's answers: a sender address (also cached) or ``BadSignature``."""
        outcomes = candidates.outcomes
        try:
            senders = handle.result()
        except OperationalError as exc:
            for at in positions:
                outcomes[at] = exc  # not judged: the client may simply resubmit
            return
        hashes, entries = candidates.hashes, candidates.entries
        verified: list[tuple[bytes, bytes]] = []
        for at, sender in zip(positions, senders, strict=True):
            if type(sender) is bytes:
                outcomes[at] = sender
                signature = entries[at][0][-SIGNATURE_SIZE_BYTES:]  # the raw bytes end in it
                verified.append((hashes[at] + signature, sender))
            else:
                outcomes[at] = BadSignature(
                    f"signature of transaction {_short(hashes[at])} does not verify for its sender"
                )
        self._sigcache.add_many(verified)

    def _finish(
        self,
        candidates: _Candidates,
        start: int,
        end: int,
        results: list[AdmitResult | None],
        recheck: bool,
    ) -> None:
        """Insert the settled candidates ``start:end`` in input order, or record why not; release
        their reservation. With ``recheck``, a commit came between screening and now."""
        entries, expiry, heights = self._entries, self._expiry, self._expiry_heights
        inflight = self._inflight
        indices, hashes, entry_of, outcomes = (
            candidates.indices,
            candidates.hashes,
            candidates.entries,
            candidates.outcomes,
        )
        added = added_bytes = 0
        released_bytes = 0
        for at in range(start, end):
            outcome = outcomes[at]
            tx_hash, entry = hashes[at], entry_of[at]
            inflight.discard(tx_hash)
            released_bytes += len(entry[0])
            if type(outcome) is not bytes:
                invariant(outcome is not None, "a candidate was never verified")
                results[indices[at]] = outcome  # type: ignore[assignment]  # an AdmitError
                continue
            if recheck:
                refusal = self._refusal_since_screening(tx_hash, entry[2])
                if refusal is not None:
                    results[indices[at]] = refusal
                    # Its sender was cached when verified; committed or expired, it is never
                    # looked up again (the executor forgot the committed ones already).
                    self._sigcache.discard(tx_hash, entry[0][-SIGNATURE_SIZE_BYTES:])
                    continue
            entries[tx_hash] = entry
            added_bytes += len(entry[0])
            added += 1
            bucket = expiry.get(entry[2])
            if bucket is None:
                expiry[entry[2]] = [tx_hash]
                heapq.heappush(heights, entry[2])
            else:
                bucket.append(tx_hash)
            results[indices[at]] = Accepted(tx_hash, outcome)
        self._expiry_hashes += added
        self._size_bytes += added_bytes
        self._reserved_txs -= end - start
        self._reserved_bytes -= released_bytes

    def _refusal_since_screening(self, tx_hash: bytes, valid_until: int) -> AdmitError | None:
        """Why a verified candidate may no longer enter after a commit came while it was verified."""
        if self._is_committed(tx_hash):
            return DuplicateTx(f"transaction {_short(tx_hash)} was committed while it was being admitted")
        if valid_until < self._next_height:
            return TxExpired(
                f"valid_until {valid_until} passed while the transaction was being admitted "
                f"(the next block is {self._next_height}); sign it again"
            )
        return None


def _as_bytes(given: object) -> bytes | None:
    if isinstance(given, bytes | bytearray | memoryview):
        return bytes(given)
    return None


def _duplicate_message(
    tx_hash: bytes, entries: dict[bytes, _Entry], seen: set[bytes], inflight: set[bytes]
) -> str:
    if tx_hash in entries:
        where = "in the mempool"
    elif tx_hash in seen:
        where = "earlier in this batch"
    elif tx_hash in inflight:
        where = "being admitted (another batch)"
    else:
        where = "committed"
    return f"transaction {_short(tx_hash)} is already {where}"


def _short(tx_hash: bytes) -> str:
    return tx_hash.hex()[:16]
