"""System modules: native code behind the one call interface, each described by one descriptor.

Theory of operation
-------------------
Every call target (a native module, a Python contract) is reached the same way: the executor looks
the target up by name and calls ``call(ctx, method, args)``; ``args`` is the canonical encoding of
the method's typed arguments (an ``abi`` Struct), decoded by the target itself, and the answer is
the canonical encoding of the method's result, or None.

A module is one object (the shape of the Cosmos SDK's ``AppModule``) that declares everything the
rest of the node needs to know about it, so the executor, the runtime and the API iterate the
registered modules and name none of them (docs/architecture.md, "adding a module"):

- ``name`` and ``methods``: its call target and what each method takes (``abi`` Structs);
- ``events``: event name -> the ``abi`` Struct its data decodes to (the API shows the fields);
- ``errors``: the ``ExecutionError`` classes its receipts may carry, by ``code``;
- ``queries``: read-only functions over committed state (``read(key)``), answered by a node
  without a transaction; the API's routes call them through the node facade;
- ``genesis_state(genesis)``: the state it starts with;
- ``block_policy(read)``: an optional check run before *every* call of a block (governance's
  freezes and access table are one), given committed state's reader once per block.

``BUILTIN_MODULES`` lists the native modules every chain runs; the executor takes more (the
simulator's validator-set module, the contract manager).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

import msgspec

from alliance.errors import ExecutionError, UnknownMethod, UnknownTarget
from alliance.execution.context import BlockState, CallContext
from alliance.ledger.genesis import Genesis

ReadState = Callable[[bytes], bytes | None]


class QueryState(Protocol):
    """Committed state at one height, as a query reads it: values, and that height's block time
    (expiry and other time rules are judged at it)."""

    @property
    def height(self) -> int: ...

    @property
    def time_ms(self) -> int: ...

    def read(self, key: bytes) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class Method:
    """One state-changing method: its name, its argument Struct and a line of documentation."""

    name: str
    args: type[msgspec.Struct] | None
    doc: str


@dataclass(frozen=True, slots=True)
class Query:
    """One read-only query: ``run(state, args)`` over committed state; ``args`` is decoded into the
    ``args`` Struct (None: the query takes none)."""

    name: str
    run: Callable[[QueryState, Any], object]
    args: type[msgspec.Struct] | None
    doc: str


class BlockPolicy(Protocol):
    """Checks one call before it runs; raises the ``ExecutionError`` that refuses it."""

    def __call__(self, state: BlockState, sender: bytes, target: str, method: str) -> None: ...


class Module(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def methods(self) -> tuple[Method, ...]: ...

    @property
    def events(self) -> Mapping[str, type[msgspec.Struct]]: ...

    @property
    def errors(self) -> tuple[type[ExecutionError], ...]: ...

    @property
    def queries(self) -> Mapping[str, Query]: ...

    @property
    def routes_targets(self) -> bool: ...

    def call_target(self, ctx: CallContext, target: str, method: str, args: bytes) -> bytes | None: ...

    def call(self, ctx: CallContext, method: str, args: bytes) -> bytes | None:
        """Run ``method``; raise an ``ExecutionError`` subclass to fail the transaction."""
        ...

    def genesis_state(self, genesis: Genesis) -> dict[bytes, bytes | None]: ...

    def block_policy(self, read: ReadState) -> BlockPolicy | None: ...


class ModuleBase:
    """Defaults for the optional parts of a descriptor: no events, errors, queries or policy.
    Subclasses set the parts they have as class attributes."""

    name: str = ""
    methods: tuple[Method, ...] = ()
    events: Mapping[str, type[msgspec.Struct]] = MappingProxyType({})
    errors: tuple[type[ExecutionError], ...] = ()
    queries: Mapping[str, Query] = MappingProxyType({})
    routes_targets: bool = False
    """True for a module that answers for targets that are no module's name (the contract manager)."""

    def call(self, ctx: CallContext, method: str, args: bytes) -> bytes | None:
        raise self.unknown_method(method)

    def genesis_state(self, genesis: Genesis) -> dict[bytes, bytes | None]:
        return {}

    def call_target(self, ctx: CallContext, target: str, method: str, args: bytes) -> bytes | None:
        """Run ``target.method`` for a target this module answers for (``routes_targets``)."""
        raise UnknownTarget(f"no module or contract named {target!a}")

    def block_policy(self, read: ReadState) -> BlockPolicy | None:
        return None

    def unknown_method(self, method: str) -> UnknownMethod:
        known = ", ".join(m.name for m in self.methods) or "none"
        return UnknownMethod(f"module {self.name!r} has no method {method!a}; it has: {known}")


def builtin_modules() -> list[Module]:
    """The native modules every chain runs, in the order their genesis state is written."""
    from alliance.execution.modules.accounts import AccountsModule  # noqa: PLC0415 - they import this
    from alliance.execution.modules.contracts import ContractsModule  # noqa: PLC0415
    from alliance.execution.modules.governance import GovernanceModule  # noqa: PLC0415
    from alliance.execution.modules.passes import PassesModule  # noqa: PLC0415

    return [AccountsModule(), GovernanceModule(), PassesModule(), ContractsModule()]
