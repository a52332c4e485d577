"""Many signed transactions at once, and their receipts: the demo's (and a workload's) fast path.

Theory of operation: a caller signs its transactions locally (``sign``: no request per
transaction; the chain id and a ``valid_until`` come from one status read), then ``run`` submits
them through the binary batch endpoint (``Client.submit_batch``), ``BATCH_TXS`` at a time,
round-robin over the nodes it was given, and follows the chain's blocks from the height it started
at: each new block's receipts are read once (``GET /v1/blocks/{h}/receipts``) and matched to the
hashes it waits for. It returns one ``Outcome`` per transaction, in the order given: the receipt's
status, error and result, or the admission's refusal code for a transaction a node refused (never
awaited). It waits at most ``commit_timeout_s`` for the last one, then raises ``OperationalError``
naming how many are missing; nothing is retried (a refused transaction is an outcome, not an
error).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec

from alliance.crypto.keys import AccountKey
from alliance.errors import OperationalError
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.sdk import BadResponse, Client
from alliance.sdk.client import signed_call
from alliance.sdk.wire import EventView

BATCH_TXS = 1_000
POLL_INTERVAL_S = 0.05
COMMIT_TIMEOUT_S = 120.0
VALID_FOR_BLOCKS = 500
"""How far ahead ``valid_until`` is set: below any chain's window (1,000 by default), and far beyond
how long a round of the demo takes to commit."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one transaction: ``ok`` and its receipt's ``status``, ``error`` and ``result``
    (canonical bytes), or a refusal at admission (``admitted`` False, ``status`` its code)."""

    ok: bool
    status: str
    error: str
    result: bytes
    height: int
    admitted: bool = True
    events: tuple[EventView, ...] = ()

    def value(self) -> object:
        """The result decoded (None when empty)."""
        return msgspec.msgpack.decode(self.result) if self.result else None

    def number(self) -> int:
        """The result, an int (``BadResponse`` otherwise)."""
        value = self.value()
        if type(value) is not int:
            raise BadResponse(f"expected a number as the result, got {type(value).__name__}")
        return value

    def pair(self) -> tuple[int, int]:
        """The result, two ints (``BadResponse`` otherwise)."""
        value = self.value()
        if not isinstance(value, list) or len(value) != 2 or not all(type(v) is int for v in value):
            raise BadResponse("expected two numbers as the result")
        return value[0], value[1]


class Batcher:
    """Signs and runs batches against the nodes at ``urls`` (the first one is followed for blocks)."""

    def __init__(
        self, urls: Sequence[str], *, timeout_s: float = 60.0, progress: Callable[[int], None] | None = None
    ) -> None:
        if not urls:
            raise OperationalError("no node to send transactions to")
        self.clients = [Client(url, timeout_s=timeout_s) for url in urls]
        self.watcher = self.clients[0]
        self.progress = progress
        status = self.watcher.status()
        self.chain_id = status.chain_id
        self._window = status.tx_window_blocks
        self._valid_until = status.height + min(VALID_FOR_BLOCKS, self._window)
        self._next = 0
        self.sent = 0

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def __enter__(self) -> Batcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def refresh(self) -> None:
        """Move ``valid_until`` on from the chain's current height (call once per round)."""
        self._valid_until = self.watcher.status().height + min(VALID_FOR_BLOCKS, self._window)

    def sign(self, key: AccountKey, target: str, method: str, args: object, *, gas_limit: int) -> bytes:
        """A signed call (canonical bytes); ``args`` a Struct, a list, or ``msgspec.Raw``."""
        return signed_call(key, self.chain_id, target, method, args, self._valid_until, gas_limit=gas_limit)

    def run(self, raws: Sequence[bytes], *, commit_timeout_s: float = COMMIT_TIMEOUT_S) -> list[Outcome]:
        """Submit ``raws`` and wait for every admitted one's receipt; outcomes in input order."""
        if not raws:
            return []
        start_height = self.watcher.status().height
        hashes = [tx_hash_of_canonical(raw) for raw in raws]
        outcomes: dict[int, Outcome] = {}
        waiting: dict[bytes, int] = {}
        for offset in range(0, len(raws), BATCH_TXS):
            batch = list(raws[offset : offset + BATCH_TXS])
            client = self.clients[self._next % len(self.clients)]
            self._next += 1
            answer = client.submit_batch(batch, binary=True)
            refused = {r.index: r for r in answer.rejected}
            for index in range(len(batch)):
                position = offset + index
                rejection = refused.get(index)
                if rejection is None:
                    waiting[hashes[position]] = position
                else:
                    outcomes[position] = Outcome(
                        False, rejection.code, rejection.detail, b"", 0, admitted=False
                    )
        self.sent += len(raws)
        self._follow(start_height + 1, waiting, outcomes, commit_timeout_s)
        return [outcomes[i] for i in range(len(raws))]

    def _follow(
        self, height: int, waiting: dict[bytes, int], outcomes: dict[int, Outcome], timeout_s: float
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while waiting:
            latest = self.watcher.status().height
            while height <= latest and waiting:
                for receipt in self.watcher.receipts(height):
                    position = waiting.pop(bytes(receipt.tx_hash), None)
                    if position is not None:
                        outcomes[position] = Outcome(
                            receipt.ok,
                            receipt.status,
                            receipt.error,
                            bytes(receipt.result),
                            height,
                            events=receipt.events,
                        )
                        if self.progress is not None:
                            self.progress(1)
                height += 1
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise OperationalError(f"{len(waiting)} transactions not committed after {timeout_s:.0f} s")
            time.sleep(POLL_INTERVAL_S)
