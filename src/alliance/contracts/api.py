"""The contract API inside the sandbox: ``ctx``, ``storage``, ``emit``, ``call``, ``revert``.

Theory of operation
-------------------
The metering pass rewrites the API's fixed forms into calls of these functions with the current
``Invocation`` (the sandbox global ``_inv_``) as first argument: ``ctx.sender`` reads
``_inv_.sender``, ``storage[k]`` is ``storage_load(_inv_, k)``, ``storage[k] = v`` is
``storage_store(_inv_, k, v)``, ``k in storage`` is ``storage_has(_inv_, k)``, ``emit(...)`` and
``call(...)`` likewise; ``require(c, r)`` became ``if not c: revert(r)`` before that.

Storage layout: the contract's key ``k`` lives at ``b"c/" + contract address (20 bytes) + b"/" +
canonical bytes of k`` in the host's state (``storage_prefix``); the value is the canonical bytes
of the value. The engine keeps one more key per contract, ``prefix + b"\\xc1init"``, once ``init``
has run: 0xc1 is the one byte msgpack never uses, so no contract key can collide with it.

``Frames`` is per thread: the contract function frames open on it (one depth bound covers
recursion and calls between contracts), the contracts whose invocation is running (a contract
already among them is refused as re-entrant), whether the outermost invocation is read-only (then
every nested one is too), and the bytes written by the whole call tree.
"""

from __future__ import annotations

import threading
from typing import Any

from alliance.contracts import gas as schedule
from alliance.contracts import values
from alliance.contracts.errors import (
    CallDepthExceeded,
    ContractError,
    ReadOnlyViolation,
    ValueTooLarge,
    WriteLimitExceeded,
)
from alliance.contracts.gas import GasMeter, charge
from alliance.contracts.host import Host
from alliance.contracts.values import Address, SandboxTypeError, key_bytes

STORAGE_PREFIX = b"c/"
INIT_MARKER = b"\xc1init"
EVENT_NAME_LENGTH_MAX = 64
REASON_LENGTH_MAX = 512
DEPTH_MAX = 64  # contract function frames on one thread: recursion and nested contracts together
NESTED_INVOCATIONS_MAX = 16


def storage_prefix(contract: bytes) -> bytes:
    return STORAGE_PREFIX + contract + b"/"


class Frames:
    """One thread's open contract frames (see the module docstring)."""

    __slots__ = ("active", "depth", "readonly", "written_bytes")

    def __init__(self) -> None:
        self.depth = 0
        self.active: list[bytes] = []
        self.readonly = False
        self.written_bytes = 0


class _ThreadFrames(threading.local):
    def __init__(self) -> None:
        self.frames = Frames()


_thread_frames = _ThreadFrames()


def current_frames() -> Frames:
    return _thread_frames.frames


class Invocation:
    """One running method: what ``ctx`` shows and what ``storage``, ``emit`` and ``call`` use."""

    __slots__ = ("contract", "frames", "gas", "height", "host", "prefix", "readonly", "sender", "time_ms")

    def __init__(self, host: Host, frames: Frames, readonly: bool) -> None:
        self.host = host
        self.gas: GasMeter = host.gas
        self.frames = frames
        self.readonly = readonly
        self.sender = _address(host.sender)
        contract = host.contract
        self.contract = _address(contract)
        self.height = host.height
        self.time_ms = host.time_ms
        prefix = _prefixes.get(contract)
        if prefix is None:
            prefix = _remember(_prefixes, contract, storage_prefix(contract))
        self.prefix = prefix


# Addresses and prefixes recur from call to call (the same senders, the same contract): made once.
_REMEMBERED_MAX = 4096
_addresses: dict[bytes, Address] = {}
_prefixes: dict[bytes, bytes] = {}


def _remember(cache: dict[bytes, Any], key: bytes, value: Any) -> Any:
    if len(cache) >= _REMEMBERED_MAX:
        cache.clear()
    cache[key] = value
    return value


def _address(raw: bytes) -> Address:
    address = _addresses.get(raw)
    if address is None:
        address = _remember(_addresses, raw, values.address_of(raw))
    return address


def depth_exceeded() -> None:
    raise CallDepthExceeded(f"more than {DEPTH_MAX} contract frames (recursion or nested calls)")


# --- storage ---------------------------------------------------------------------------------------


def storage_get(inv: Invocation, key: Any, default: Any = None) -> Any:
    raw = inv.host.read(inv.prefix + key_bytes(key))
    return default if raw is None else values.decode(raw)


def storage_load(inv: Invocation, key: Any) -> Any:
    raw = inv.host.read(inv.prefix + key_bytes(key))
    if raw is None:
        raise KeyError(key)
    return values.decode(raw)


def storage_has(inv: Invocation, key: Any) -> bool:
    return inv.host.read(inv.prefix + key_bytes(key)) is not None


def storage_store(inv: Invocation, key: Any, value: Any) -> None:
    if inv.readonly:
        raise ReadOnlyViolation("a read-only call (a view) cannot write storage")
    full_key = inv.prefix + key_bytes(key)
    raw = _encode_bounded(inv.gas, value, values.VALUE_BYTES_MAX, "a storage value")
    frames = inv.frames
    frames.written_bytes += len(full_key) + len(raw)
    if frames.written_bytes > values.WRITE_BYTES_MAX:
        raise WriteLimitExceeded(f"the call wrote more than {values.WRITE_BYTES_MAX} bytes")
    inv.host.write(full_key, raw)


def storage_delete(inv: Invocation, key: Any) -> None:
    if inv.readonly:
        raise ReadOnlyViolation("a read-only call (a view) cannot write storage")
    full_key = inv.prefix + key_bytes(key)
    frames = inv.frames
    frames.written_bytes += len(full_key)
    if frames.written_bytes > values.WRITE_BYTES_MAX:
        raise WriteLimitExceeded(f"the call wrote more than {values.WRITE_BYTES_MAX} bytes")
    inv.host.write(full_key, None)


_PLAIN = frozenset({int, str, bytes, bool, type(None)})


def _encode_bounded(gas: GasMeter, value: Any, bound: int, what: str) -> bytes:
    kind = type(value)
    if kind is Address:
        value = bytes(value)  # the encoder would call its hook for the subclass
    elif kind not in _PLAIN:
        count = values.count_elements(value)
        if count > 1:
            charge(gas, count * schedule.ELEMENT_GAS, "encoding")
    raw = values.encode(value)
    if len(raw) > bound:
        raise ValueTooLarge(f"{what} of {len(raw)} bytes, over the bound of {bound}")
    return raw


# --- events, calls, revert -------------------------------------------------------------------------


def emit(inv: Invocation, name: Any, /, **fields: Any) -> None:
    if inv.readonly:
        raise ReadOnlyViolation("a read-only call (a view) cannot emit events")
    if type(name) is not str or not 1 <= len(name) <= EVENT_NAME_LENGTH_MAX:
        raise SandboxTypeError(f"an event name is a str of 1 to {EVENT_NAME_LENGTH_MAX} characters")
    data = {}
    count = 0
    for field, value in sorted(fields.items()):
        kind = type(value)
        if kind is Address:
            data[field] = bytes(value)
            continue
        if kind not in _PLAIN:
            count += values.count_elements(value)
        data[field] = value
    if count > 1:
        charge(inv.gas, count * schedule.ELEMENT_GAS, "encoding")
    raw = values.encode(data)
    if len(raw) > values.EVENT_BYTES_MAX:
        raise ValueTooLarge(f"an event of {len(raw)} bytes, over the bound of {values.EVENT_BYTES_MAX}")
    inv.host.emit(name, raw)


def call(inv: Invocation, target: Any, method: Any, args: Any) -> Any:
    if type(target) is not str or type(method) is not str:
        raise SandboxTypeError("call(target, method, args) takes a target name and a method name")
    if type(args) is not list and type(args) is not tuple:
        raise SandboxTypeError("call's args are a list of the method's arguments")
    charge(inv.gas, schedule.CONTRACT_CALL_GAS, "call")
    # A tuple encodes and counts as the list it would make: no copy.
    raw = _encode_bounded(inv.gas, args, values.ARGS_BYTES_MAX, "call arguments")
    result = inv.host.call(target, method, raw)
    if result is None:
        return None
    if len(result) > values.RESULT_BYTES_MAX:
        raise ValueTooLarge(f"a result of {len(result)} bytes, over the bound of {values.RESULT_BYTES_MAX}")
    return values.decode(result)


def revert(reason: Any) -> None:
    if type(reason) is not str:
        raise ContractError("reverted (the reason given was not a str)")
    raise ContractError(reason[:REASON_LENGTH_MAX])


API_HELPERS = {
    "_sget_": storage_get,
    "_sload_": storage_load,
    "_shas_": storage_has,
    "_sstore_": storage_store,
    "_sdel_": storage_delete,
    "_emit_": emit,
    "_call_": call,
    "_revert_": revert,
    "_deep_": depth_exceeded,
}
