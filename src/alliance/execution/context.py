"""The view a module has while it runs: buffered state with a per-transaction undo log, gas, events.

Theory of operation: one ``BlockState`` buffers every write of a block in a dict over the
committed flat state. A transaction does not copy that buffer; it records, the first time it
writes a key, what the buffer held before (an undo log). A successful transaction keeps its
writes in place (the common case costs nothing extra); a failed one rolls back from its undo log,
so a failed transaction changes nothing but its receipt.

Savepoints nest inside a transaction (a passed proposal's action applies whole or not at all; a
contract's call): each opens an undo log of its own; releasing it folds its entries into the
enclosing log (keeping the older "before" of a key), rolling back restores from it.

Every value written is checked against the state tree's bound before it enters the buffer: an
oversized write fails its transaction with ``ValueTooLarge``, where the tree would otherwise refuse
the whole block at ``finalize_block`` on every node at once. Likewise an event past the
``EVENTS_PER_TX_MAX`` a receipt holds fails its transaction with ``TooManyEvents``.
"""

from __future__ import annotations

from collections.abc import Callable

from alliance.errors import CallDepthExceeded, TooManyEvents, ValueTooLarge
from alliance.execution.gas import GasMeter, GasSchedule
from alliance.ledger.block import EVENTS_PER_TX_MAX, Event
from alliance.state.tree import STATE_VALUE_SIZE_BYTES_MAX
from alliance.types import invariant

_MISSING = object()


class BlockState:
    """All of one block's writes, over a read function for committed state."""

    __slots__ = ("_enclosing", "read_committed", "undo", "writes")

    def __init__(self, read_committed: Callable[[bytes], bytes | None]) -> None:
        self.read_committed = read_committed
        self.writes: dict[bytes, bytes | None] = {}
        self.undo: dict[bytes, object] | None = None
        self._enclosing: list[dict[bytes, object]] = []  # the undo logs savepoints nest inside

    def get(self, key: bytes) -> bytes | None:
        value = self.writes.get(key, _MISSING)
        if value is _MISSING:
            return self.read_committed(key)
        return value  # type: ignore[return-value]

    def set(self, key: bytes, value: bytes | None) -> None:
        undo = self.undo
        if undo is not None and key not in undo:
            undo[key] = self.writes.get(key, _MISSING)
        self.writes[key] = value

    def begin_tx(self) -> None:
        self.undo = {}

    def end_tx(self, success: bool) -> None:
        invariant(not self._enclosing, "a transaction ended with a savepoint open")
        undo = self.undo
        self.undo = None
        if not success and undo:
            self._restore(undo)

    def savepoint(self) -> int:
        """Open a nested undo log; returns its depth, which ``rollback``/``release`` take."""
        invariant(self.undo is not None, "a savepoint outside a transaction")
        self._enclosing.append(self.undo)  # type: ignore[arg-type]
        self.undo = {}
        return len(self._enclosing)

    def release(self, depth: int) -> None:
        """Keep the savepoint's writes: its log joins the enclosing one."""
        invariant(depth == len(self._enclosing), "savepoints are released innermost first")
        inner = self.undo
        outer = self._enclosing.pop()
        for key, before in (inner or {}).items():
            outer.setdefault(key, before)
        self.undo = outer

    def rollback(self, depth: int) -> None:
        """Undo the savepoint's writes."""
        invariant(depth == len(self._enclosing), "savepoints are rolled back innermost first")
        if self.undo:
            self._restore(self.undo)
        self.undo = self._enclosing.pop()

    def _restore(self, undo: dict[bytes, object]) -> None:
        writes = self.writes
        for key, before in undo.items():
            if before is _MISSING:
                del writes[key]
            else:
                writes[key] = before  # type: ignore[assignment]


Dispatch = Callable[["CallContext", bytes, str, str, bytes], "bytes | None"]
"""``dispatch(parent, sender, target, method, args)``: run a nested call (the executor's)."""

CALL_DEPTH_MAX = 32
"""Nested calls of one transaction (module to module, contract to contract): a contract engine
bounds its own recursion below this; this bounds what any chain of calls can reach."""


class CallContext:
    """What a module sees of one call: who calls, the block, state, gas and events.

    Its methods run for every read, write and event of every transaction, so they charge the meter
    inline; whenever a charge would not fit they call ``GasMeter.charge``, which stays the one place
    that sets the meter to its limit and words ``OutOfGas``.

    ``call_as(sender, target, method, args)`` runs a nested call (a contract calling the passes
    module as its own account, governance activating a contract it approved): same state, gas and
    event list, one level deeper; a failure fails the whole transaction unless the caller took a
    savepoint and rolls back to it."""

    __slots__ = ("depth", "dispatch", "events", "gas", "height", "schedule", "sender", "state", "time_ms")

    def __init__(  # positional or keyword: the executor passes them by position, which is cheaper
        self,
        sender: bytes,
        height: int,
        time_ms: int,
        state: BlockState,
        gas: GasMeter,
        schedule: GasSchedule,
        dispatch: Dispatch | None = None,
        depth: int = 0,
        events: list[Event] | None = None,
    ) -> None:
        self.sender = sender
        self.height = height
        self.time_ms = time_ms
        self.state = state
        self.gas = gas
        self.schedule = schedule
        self.dispatch = dispatch
        self.depth = depth
        self.events: list[Event] = [] if events is None else events

    def call_as(self, sender: bytes, target: str, method: str, args: bytes) -> bytes | None:
        """A nested call of ``target.method`` by ``sender`` (the caller's own account)."""
        if self.dispatch is None:
            raise CallDepthExceeded("this context cannot make nested calls")
        if self.depth >= CALL_DEPTH_MAX:
            raise CallDepthExceeded(f"calls nest at most {CALL_DEPTH_MAX} deep")
        gas = self.gas
        cost = self.schedule.call
        used = gas.used + cost
        if used > gas.limit:
            gas.charge(cost, "nested call")  # raises OutOfGas
        gas.used = used
        return self.dispatch(self, sender, target, method, args)

    def nested(self, sender: bytes) -> CallContext:
        """The context of a nested call by ``sender``: one level deeper, everything else shared."""
        return CallContext(
            sender, self.height, self.time_ms, self.state, self.gas, self.schedule, self.dispatch,
            self.depth + 1, self.events,
        )

    def read(self, key: bytes) -> bytes | None:
        gas = self.gas
        cost = self.schedule.state_read
        used = gas.used + cost
        if used > gas.limit:
            gas.charge(cost, "state read")  # raises OutOfGas
        gas.used = used
        state = self.state  # BlockState.get, inline: a contract's every storage access comes here
        value = state.writes.get(key, _MISSING)
        if value is _MISSING:
            return state.read_committed(key)
        return value  # type: ignore[return-value]

    def write(self, key: bytes, value: bytes | None) -> None:
        size = len(value) if value is not None else 0
        if size > STATE_VALUE_SIZE_BYTES_MAX:
            bound = STATE_VALUE_SIZE_BYTES_MAX
            raise ValueTooLarge(f"a state value is at most {bound} bytes; this one is {size}")
        schedule = self.schedule
        gas = self.gas
        cost = schedule.state_write + schedule.state_write_byte * (len(key) + size)
        used = gas.used + cost
        if used > gas.limit:
            gas.charge(cost, "state write")  # raises OutOfGas
        gas.used = used
        self.state.set(key, value)

    def emit(self, emitter: str, name: str, data: bytes) -> None:
        # A receipt decodes with at most this many events (ledger.block.Receipt): one more, committed
        # ok, would leave its block's receipts undecodable from every node's store.
        if len(self.events) >= EVENTS_PER_TX_MAX:
            raise TooManyEvents(f"a transaction emits at most {EVENTS_PER_TX_MAX} events")
        schedule = self.schedule
        gas = self.gas
        cost = schedule.event + schedule.event_byte * len(data)
        used = gas.used + cost
        if used > gas.limit:
            gas.charge(cost, "event")  # raises OutOfGas
        gas.used = used
        self.events.append(Event(emitter, name, data))

    # -- savepoints: a part of a transaction that applies whole or not at all ------------------------

    def savepoint(self) -> tuple[int, int]:
        return self.state.savepoint(), len(self.events)

    def release(self, mark: tuple[int, int]) -> None:
        self.state.release(mark[0])

    def rollback(self, mark: tuple[int, int]) -> None:
        """Undo the writes and events since ``mark`` (the gas they used stays used)."""
        self.state.rollback(mark[0])
        del self.events[mark[1] :]
