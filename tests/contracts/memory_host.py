"""A test-only host for the contract engine: contracts over one dict, with per-transaction rollback.

``World`` plays the executor's part the way the real one will: it deploys contracts (calling
``init`` once), runs a transaction as one call with a gas meter (``execution.gas.GasMeter``, the
real one) and an undo log, so a failed call changes nothing but its outcome, and answers views
read-only. State reads, writes and events are charged with the native schedule, as
``CallContext`` charges them. ``call`` reaches other contracts by name (nested host, sender = the
calling contract) or native handlers registered by tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from alliance.contracts import engine
from alliance.contracts.engine import Program
from alliance.errors import AllianceError, UnknownTarget
from alliance.execution.gas import DEFAULT_GAS_SCHEDULE, GasMeter

TX_GAS_MAX = 10_000_000
_MISSING = object()

Native = Callable[["MemoryHost", str, bytes], "bytes | None"]


def encode(value: Any) -> bytes:
    return msgspec.msgpack.encode(value)


def decode(raw: bytes) -> Any:
    return msgspec.msgpack.decode(raw)


def address(number: int) -> bytes:
    return number.to_bytes(20, "big")


@dataclass
class Outcome:
    status: str
    result: Any = None
    events: list[tuple[str, str, Any]] = field(default_factory=list)
    gas_used: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Deployed:
    name: str
    address: bytes
    program: Program


class World:
    def __init__(self, *, height: int = 1, time_ms: int = 1_700_000_000_000) -> None:
        self.state: dict[bytes, bytes] = {}
        self.contracts: dict[str, Deployed] = {}
        self.natives: dict[str, Native] = {}
        self.height = height
        self.time_ms = time_ms
        self._next_address = 0xC0_0000

    def deploy(
        self,
        name: str,
        source: str,
        *,
        deployer: bytes,
        init_args: list[Any] | None = None,
        gas_limit: int = TX_GAS_MAX,
    ) -> Outcome:
        self._next_address += 1
        program = engine.load(source)
        self.contracts[name] = Deployed(name, address(self._next_address), program)
        if program.abi.method("init") is None:
            return Outcome("ok")
        return self.transact(deployer, name, "init", init_args or [], gas_limit=gas_limit)

    def transact(
        self,
        sender: bytes,
        name: str,
        method: str,
        args: list[Any],
        *,
        gas_limit: int = TX_GAS_MAX,
        raw_args: bytes | None = None,
    ) -> Outcome:
        """One transaction calling one method: all its writes, or none of them."""
        gas = GasMeter(gas_limit)
        undo: dict[bytes, object] = {}
        events: list[tuple[str, str, Any]] = []
        try:
            host = self.host(sender, name, gas, undo, events, readonly=False)
            raw = self.contracts[name].program.invoke(
                host, method, encode(args) if raw_args is None else raw_args, readonly=False
            )
        except AllianceError as exc:
            self._rollback(undo)
            return Outcome(exc.code, None, [], gas.used, exc.message)
        return Outcome("ok", decode(raw), events, gas.used)

    def view(self, name: str, method: str, args: list[Any], *, gas_limit: int = TX_GAS_MAX) -> Outcome:
        gas = GasMeter(gas_limit)
        host = self.host(bytes(20), name, gas, {}, [], readonly=True)
        try:
            raw = self.contracts[name].program.invoke(host, method, encode(args), readonly=True)
        except AllianceError as exc:
            return Outcome(exc.code, None, [], gas.used, exc.message)
        return Outcome("ok", decode(raw), [], gas.used)

    def host(
        self,
        sender: bytes,
        name: str,
        gas: GasMeter,
        undo: dict[bytes, object],
        events: list[tuple[str, str, Any]],
        *,
        readonly: bool,
    ) -> MemoryHost:
        return MemoryHost(self, sender, self.contracts[name], gas, undo, events, readonly)

    def _rollback(self, undo: dict[bytes, object]) -> None:
        for key, before in undo.items():
            if before is _MISSING:
                self.state.pop(key, None)
            else:
                self.state[key] = before  # type: ignore[assignment]

    def storage(self, name: str) -> dict[bytes, Any]:
        """The contract's storage, keys without the prefix, values decoded."""
        prefix = b"c/" + self.contracts[name].address + b"/"
        return {k[len(prefix) :]: decode(v) for k, v in self.state.items() if k.startswith(prefix)}


class MemoryHost:
    """The ``Host`` of one invocation (see ``alliance.contracts.host``)."""

    def __init__(
        self,
        world: World,
        sender: bytes,
        deployed: Deployed,
        gas: GasMeter,
        undo: dict[bytes, object],
        events: list[tuple[str, str, Any]],
        readonly: bool,
    ) -> None:
        self.world = world
        self.sender = sender
        self.deployed = deployed
        self.contract = deployed.address
        self.height = world.height
        self.time_ms = world.time_ms
        self.gas = gas
        self.undo = undo
        self.events = events
        self.readonly = readonly

    def read(self, key: bytes) -> bytes | None:
        self.gas.charge(DEFAULT_GAS_SCHEDULE.state_read, "state read")
        return self.world.state.get(key)

    def write(self, key: bytes, value: bytes | None) -> None:
        schedule = DEFAULT_GAS_SCHEDULE
        size = len(key) + (len(value) if value is not None else 0)
        self.gas.charge(schedule.state_write + schedule.state_write_byte * size, "state write")
        state = self.world.state
        if key not in self.undo:
            self.undo[key] = state.get(key, _MISSING)
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value

    def emit(self, name: str, data: bytes) -> None:
        schedule = DEFAULT_GAS_SCHEDULE
        self.gas.charge(schedule.event + schedule.event_byte * len(data), "event")
        self.events.append((self.deployed.name, name, decode(data)))

    def call(self, target: str, method: str, args: bytes) -> bytes | None:
        native = self.world.natives.get(target)
        if native is not None:
            return native(self, method, args)
        deployed = self.world.contracts.get(target)
        if deployed is None:
            raise UnknownTarget(f"no contract or module named {target!r}")
        nested = MemoryHost(
            self.world, self.contract, deployed, self.gas, self.undo, self.events, self.readonly
        )
        return deployed.program.invoke(nested, method, args, readonly=self.readonly)
