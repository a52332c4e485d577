"""The engine: load a contract into a ``Program`` once, then invoke its methods against a host.

Theory of operation
-------------------
``load(source)`` validates and compiles (``compiler``), evaluates the module's constants once
under a gas meter of its own (``LOAD_GAS_MAX``), and keeps the ``Program`` in a bounded cache by
code hash (``code_hash``), so a contract is validated once per process and never on the hot path;
``cached(code_hash)`` finds it again without the source.

``Program.invoke(host, method, args, readonly=...)`` decodes and type-checks the arguments
(``abi.ArgsDecoder``), runs the method in a sandbox namespace, and returns the canonical bytes of
its result. A namespace is a dict of the engine's helpers, the sandbox builtins, the contract's
constants and its functions bound to that dict; nothing else is reachable from contract code. A
namespace is used by one invocation at a time and then goes back to the program's small pool: no
invocation can leave anything in it for the next, since contract code cannot rebind a global (no
``global`` statement; module code ran once, at load), module constants that are mutable (a list
or dict anywhere in them) are copied afresh into the namespace for every invocation, defaults are
immutable literals, and the per-invocation entries (``_inv_``, ``_g_``, ``_rt_``) are overwritten.

Failures: the engine's own stops are ``AllianceError`` subclasses and pass through; any other
exception escaping contract code becomes a ``ContractFault`` naming its type and the contract line
(and its message only when the engine wrote it or the contract raised it explicitly: CPython's
own messages may differ between versions, and receipts must not); ``RecursionError`` becomes
``call_depth_exceeded`` and ``MemoryError`` ``memory_exhausted``. ``init`` (optional, ``@public``)
is the initialiser: the host invokes it once at deploy; the engine refuses a second run.
"""

from __future__ import annotations

import dis
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from types import CodeType, FunctionType, TracebackType
from typing import Any

from alliance.contracts import abi, api, library, runtime
from alliance.contracts import gas as schedule
from alliance.contracts.abi import Abi, AbiMethod, AbiParam, ArgsDecoder, TypeSpec
from alliance.contracts.compiler import CompiledContract, compile_contract
from alliance.contracts.errors import (
    AlreadyInitialised,
    CallDepthExceeded,
    ContractFault,
    InvalidContract,
    MemoryExhausted,
    ReadOnlyViolation,
    ReentrantCall,
)
from alliance.contracts.host import Host
from alliance.contracts.values import Address, SandboxTypeError, SandboxValueError, weight
from alliance.crypto.hashing import Domain, hash_domain
from alliance.errors import AllianceError, OutOfGas, UnknownMethod
from alliance.types import invariant

CACHE_PROGRAMS_MAX = 64
NAMESPACE_POOL_MAX = 8
MESSAGE_LENGTH_MAX = 200
_RAISE = dis.opmap["RAISE_VARARGS"]
_NONE_BYTES = b"\xc0"
_CONTAINERS = (list, tuple, dict)

_digit_limit = sys.get_int_max_str_digits()
invariant(
    _digit_limit == 0 or _digit_limit >= library.INT_TEXT_LENGTH_MAX[10],
    f"PYTHONINTMAXSTRDIGITS={_digit_limit} is below what contracts need "
    f"({library.INT_TEXT_LENGTH_MAX[10]}): nodes configured differently could disagree",
)

RUNTIME: dict[str, Any] = {
    **runtime.HELPERS,
    **api.API_HELPERS,
    **{f"_m_{name}": method for name, method in library.METHODS.items()},
    **{f"_b_{name}": builtin for name, builtin in library.BUILTINS.items()},
    "_oog_": schedule.out_of_gas,
}
RUNTIME_NAMES = frozenset({*RUNTIME, "_g_", "_inv_", "_rt_"})


def code_hash(source: str) -> bytes:
    return hash_domain(Domain.CONTRACT_CODE, source.encode("utf-8", errors="surrogatepass"))


class LoadMeter:
    """The gas meter for evaluating a contract's module-level constants at load."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, amount: int, what: str) -> None:
        if self.used + amount > self.limit:
            self.used = self.limit
            raise OutOfGas(f"out of gas at load: {what} needs {amount}, over the bound of {self.limit}")
        self.used += amount


@dataclass(frozen=True)
class _Method:
    name: str
    kind: str
    decode: ArgsDecoder
    returns: TypeSpec


class Program:
    """A loaded contract: its ABI, and what each invocation needs to run."""

    def __init__(self, compiled: CompiledContract, hash_of_code: bytes) -> None:
        self.code_hash = hash_of_code
        self._filename = compiled.filename
        shape = compiled.shape
        self._methods: dict[str, _Method] = {}
        methods = []
        for info in shape.functions.values():
            if info.kind is None or info.returns is None:
                continue
            self._methods[info.name] = _Method(
                info.name, info.kind, ArgsDecoder(info.name, info.params), info.returns
            )
            params = [AbiParam(name, str(spec)) for name, spec in info.params]
            methods.append(AbiMethod(info.name, info.kind, params, str(info.returns)))
        self.abi = Abi(methods)
        template = self._evaluate(compiled.code)
        self._functions = [
            (name, template[name].__code__, template[name].__defaults__) for name in shape.functions
        ]
        constants = {name: template[name] for name in shape.constants}
        self._mutable = {name: value for name, value in constants.items() if not _immutable(value)}
        # Mutable constants are copied for every invocation: that copy is part of its fixed cost.
        copied = sum(weight(value) for value in self._mutable.values()) * schedule.ELEMENT_GAS
        self._invocation_gas = schedule.INVOCATION_GAS + copied
        self._base: dict[str, Any] = {
            "__builtins__": library.SANDBOX_BUILTINS,
            **RUNTIME,
            **{name: value for name, value in constants.items() if name not in self._mutable},
        }
        self._pool: list[dict[str, Any]] = []

    def _evaluate(self, code: CodeType) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__builtins__": library.SANDBOX_BUILTINS, **RUNTIME}
        namespace.update(_g_=LoadMeter(schedule.LOAD_GAS_MAX), _rt_=api.Frames(), _inv_=None)
        try:
            exec(code, namespace)  # noqa: S102 - validated, restricted and metered code
        except AllianceError as exc:
            line, _ = self._origin(exc.__traceback__)
            raise InvalidContract(line, f"evaluating the module's constants: {exc.message}") from None
        except Exception as exc:  # noqa: BLE001 - any failure of contract code is the contract's
            line, _ = self._origin(exc.__traceback__)
            raise InvalidContract(line, f"evaluating the module's constants: {type(exc).__name__}") from None
        return namespace

    # --- invocation ------------------------------------------------------------------------------

    def invoke(self, host: Host, method: str, args: bytes, *, readonly: bool) -> bytes:
        """Run ``method`` with canonical ``args``; the canonical bytes of its result."""
        entry = self._methods.get(method)
        if entry is None:
            raise UnknownMethod(f"the contract has no method {method!r}; it has: {', '.join(self._methods)}")
        frames = api.current_frames()
        active = frames.active
        if host.contract in active:
            raise ReentrantCall(
                "the contract is already running further up this call (re-entrancy is refused)"
            )
        if len(active) >= api.NESTED_INVOCATIONS_MAX:
            raise CallDepthExceeded(f"more than {api.NESTED_INVOCATIONS_MAX} nested contract calls")
        schedule.charge(host.gas, self._invocation_gas, "contract invocation")
        arguments = entry.decode(args)
        outer_readonly = frames.readonly
        invocation = api.Invocation(host, frames, outer_readonly or readonly or entry.kind == "view")
        if entry.kind == "init":
            if invocation.readonly:
                raise ReadOnlyViolation("init writes the contract's initial state: it cannot run read-only")
            if host.read(invocation.prefix + api.INIT_MARKER) is not None:
                raise AlreadyInitialised("init has already run for this contract")
        result = self._run(entry, invocation, arguments)
        if entry.kind == "init":
            host.write(invocation.prefix + api.INIT_MARKER, b"\xc3")
        if result is None and entry.returns.name == "None":
            return _NONE_BYTES
        if type(result) in _CONTAINERS:
            schedule.charge(host.gas, weight(result) * schedule.ELEMENT_GAS, "result")
        return abi.encode_result(entry.returns, result)

    def _run(
        self, entry: _Method, invocation: api.Invocation, arguments: list[object] | tuple[object, ...]
    ) -> Any:
        frames = invocation.frames
        outer_readonly, depth = frames.readonly, frames.depth
        if not frames.active:
            frames.written_bytes = 0
        namespace = self._acquire()
        namespace["_inv_"] = invocation
        namespace["_g_"] = invocation.gas
        namespace["_rt_"] = frames
        frames.active.append(invocation.contract)
        frames.readonly = invocation.readonly
        try:
            return namespace[entry.name](*arguments)
        except AllianceError:
            raise
        except RecursionError:
            raise CallDepthExceeded("Python's recursion limit was reached") from None
        except MemoryError:
            raise MemoryExhausted("the node ran out of memory running the contract") from None
        except Exception as exc:  # noqa: BLE001 - whatever contract code raises fails the call, typed
            raise self._fault(exc) from None
        finally:
            frames.active.pop()
            frames.readonly, frames.depth = outer_readonly, depth
            namespace["_inv_"] = None
            if len(self._pool) < NAMESPACE_POOL_MAX:
                self._pool.append(namespace)

    def _acquire(self) -> dict[str, Any]:
        namespace = self._pool.pop() if self._pool else self._build()
        for name, value in self._mutable.items():
            namespace[name] = _fresh(value)
        return namespace

    def _build(self) -> dict[str, Any]:
        namespace = dict(self._base)
        for name, code, defaults in self._functions:
            namespace[name] = FunctionType(code, namespace, name, defaults)
        return namespace

    # --- failures --------------------------------------------------------------------------------

    def _fault(self, exc: Exception) -> ContractFault:
        line, explicit = self._origin(exc.__traceback__)
        worded = isinstance(exc, SandboxTypeError | SandboxValueError)
        kind = (
            "TypeError"
            if isinstance(exc, SandboxTypeError)
            else ("ValueError" if isinstance(exc, SandboxValueError) else type(exc).__name__)
        )
        message = ""
        if (explicit or worded) and exc.args and type(exc.args[0]) is str:
            message = f": {exc.args[0][:MESSAGE_LENGTH_MAX]}"
        return ContractFault(f"{kind}{message} (line {line})")

    def _origin(self, tb: TracebackType | None) -> tuple[int, bool]:
        """The contract line an exception left from, and whether the contract raised one it made."""
        line, explicit = 0, False
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename == self._filename:
                line = tb.tb_lineno or 0
                explicit = tb.tb_next is None and _raises_new_exception(code.co_code, tb.tb_lasti)
            tb = tb.tb_next
        return line, explicit


def _raises_new_exception(bytecode: bytes, offset: int) -> bool:
    """``raise X(...)`` (RAISE_VARARGS 1): an exception the contract made. A bare ``raise``
    (RAISE_VARARGS 0) re-raises one Python made, whose wording we do not put into receipts."""
    return 0 <= offset < len(bytecode) - 1 and bytecode[offset] == _RAISE and bytecode[offset + 1] == 1


def _immutable(value: object) -> bool:
    if type(value) is tuple:
        return all(_immutable(item) for item in value)
    return type(value) in (int, str, bytes, bool, type(None), Address)


_SCALARS = frozenset({int, str, bytes, bool, type(None), Address})


def _fresh(value: Any) -> Any:
    """A copy of a module constant sharing no mutable part with it (it runs at every invocation
    for every mutable constant: scalar items are taken as they are, without a call each)."""
    kind = type(value)
    if kind is list:
        return [item if type(item) in _SCALARS else _fresh(item) for item in value]
    if kind is dict:
        return {key: item if type(item) in _SCALARS else _fresh(item) for key, item in value.items()}
    if kind is tuple:
        return tuple(item if type(item) in _SCALARS else _fresh(item) for item in value)
    return value


# --- the cache -------------------------------------------------------------------------------------

_cache: OrderedDict[bytes, Program] = OrderedDict()
_cache_lock = threading.Lock()


def load(source: str) -> Program:
    """The ``Program`` of ``source``: compiled once per process, then found by its code hash."""
    key = code_hash(source)
    program = cached(key)
    if program is not None:
        return program
    filename = f"<contract {key.hex()[:16]}>"
    program = Program(compile_contract(source, filename, RUNTIME_NAMES), key)
    with _cache_lock:
        _cache[key] = program
        while len(_cache) > CACHE_PROGRAMS_MAX:
            _cache.popitem(last=False)
    return program


def cached(hash_of_code: bytes) -> Program | None:
    """The loaded ``Program`` with this code hash, if it is still in the cache."""
    with _cache_lock:
        program = _cache.get(hash_of_code)
        if program is not None:
            _cache.move_to_end(hash_of_code)
        return program
