"""Gas: the metering of work, so that no transaction can make every node work without bound.

A consortium chain charges no fee per gas by default (members are known and accountable), but it
still meters: a transaction names its gas limit, each costly step charges the meter, and a
transaction that runs out stops with ``OutOfGas``, its changes discarded. The schedule is data in
chain parameters' spirit; the numbers are relative costs measured on this implementation.
"""

from __future__ import annotations

from alliance.codec import Struct
from alliance.errors import OutOfGas


class GasSchedule(Struct):
    tx_base: int = 1_000
    tx_byte: int = 10
    state_read: int = 100
    state_write: int = 500
    state_write_byte: int = 5
    event: int = 200
    event_byte: int = 5
    call: int = 700  # a nested call (module to module, contract to contract)


DEFAULT_GAS_SCHEDULE = GasSchedule()


class GasMeter:
    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, amount: int, what: str) -> None:
        used = self.used + amount
        if used > self.limit:
            self.used = self.limit
            raise OutOfGas(
                f"out of gas: {what} needs {amount}, {self.limit - (used - amount)} left of {self.limit}"
            )
        self.used = used
