"""The view a module has while it runs: buffered state with a per-transaction undo log, gas, events.

Theory of operation: one ``BlockState`` buffers every write of a block in a dict over the
committed flat state. A transaction does not copy that buffer; it records, the first time it
writes a key, what the buffer held before (an undo log). A successful transaction keeps its
writes in place (the common case costs nothing extra); a failed one rolls back from its undo log,
so a failed transaction changes nothing but its receipt.
"""

from __future__ import annotations

from collections.abc import Callable

from alliance.execution.gas import GasMeter, GasSchedule
from alliance.ledger.block import Event

_MISSING = object()


class BlockState:
    """All of one block's writes, over a read function for committed state."""

    __slots__ = ("_read", "undo", "writes")

    def __init__(self, read_committed: Callable[[bytes], bytes | None]) -> None:
        self._read = read_committed
        self.writes: dict[bytes, bytes | None] = {}
        self.undo: dict[bytes, object] | None = None

    def get(self, key: bytes) -> bytes | None:
        value = self.writes.get(key, _MISSING)
        if value is _MISSING:
            return self._read(key)
        return value  # type: ignore[return-value]

    def set(self, key: bytes, value: bytes | None) -> None:
        undo = self.undo
        if undo is not None and key not in undo:
            undo[key] = self.writes.get(key, _MISSING)
        self.writes[key] = value

    def begin_tx(self) -> None:
        self.undo = {}

    def end_tx(self, success: bool) -> None:
        undo = self.undo
        self.undo = None
        if success or not undo:
            return
        writes = self.writes
        for key, before in undo.items():
            if before is _MISSING:
                del writes[key]
            else:
                writes[key] = before  # type: ignore[assignment]


class CallContext:
    """What a module sees of one call: who calls, the block, state, gas and events.

    Its methods run for every read, write and event of every transaction, so they charge the meter
    inline; whenever a charge would not fit they call ``GasMeter.charge``, which stays the one place
    that sets the meter to its limit and words ``OutOfGas``."""

    __slots__ = ("events", "gas", "height", "schedule", "sender", "state", "time_ms")

    def __init__(  # positional or keyword: the executor passes them by position, which is cheaper
        self,
        sender: bytes,
        height: int,
        time_ms: int,
        state: BlockState,
        gas: GasMeter,
        schedule: GasSchedule,
    ) -> None:
        self.sender = sender
        self.height = height
        self.time_ms = time_ms
        self.state = state
        self.gas = gas
        self.schedule = schedule
        self.events: list[Event] = []

    def read(self, key: bytes) -> bytes | None:
        gas = self.gas
        cost = self.schedule.state_read
        used = gas.used + cost
        if used > gas.limit:
            gas.charge(cost, "state read")  # raises OutOfGas
        gas.used = used
        return self.state.get(key)

    def write(self, key: bytes, value: bytes | None) -> None:
        size = len(value) if value is not None else 0
        schedule = self.schedule
        gas = self.gas
        cost = schedule.state_write + schedule.state_write_byte * (len(key) + size)
        used = gas.used + cost
        if used > gas.limit:
            gas.charge(cost, "state write")  # raises OutOfGas
        gas.used = used
        self.state.set(key, value)

    def emit(self, emitter: str, name: str, data: bytes) -> None:
        schedule = self.schedule
        gas = self.gas
        cost = schedule.event + schedule.event_byte * len(data)
        used = gas.used + cost
        if used > gas.limit:
            gas.charge(cost, "event")  # raises OutOfGas
        gas.used = used
        self.events.append(Event(emitter, name, data))
