"""What the engine needs from the executor: the ``Host`` of one contract invocation.

Theory of operation
-------------------
The engine knows nothing of blocks, transactions or modules; the executor hands each invocation a
host object with these attributes and methods (``execution.context.CallContext`` already has most
of them) and the engine does the rest:

- ``sender``: the 20-byte address of the caller: the account that signed the transaction, or the
  calling contract's own address for a nested call; ``contract``: this contract's address;
  ``height`` and ``time_ms``: the block's.
- ``gas``: the transaction's meter (``execution.gas.GasMeter``); the engine updates ``gas.used``
  itself on its hot paths and calls ``gas.charge`` only when a charge does not fit.
- ``read(key)`` / ``write(key, value)``: state access by full key (``None`` deletes), charged by
  the host as for native modules, and undone by the host's undo log if the transaction fails. The
  engine builds every key under the contract's prefix (``api.storage_prefix``); the host adds none.
- ``emit(name, data)``: an event of this contract (the host knows the emitter's name).
- ``call(target, method, args)``: a call into a system module or another contract, acting as this
  contract's account; ``args`` is the canonical encoding of the list of argument values (byte-identical
  to an ``array_like`` Struct of them); the answer is the canonical bytes of the result, or None.
  For a contract target the host invokes its ``Program`` on the same thread with a nested host
  whose ``sender`` is this contract; the engine tracks depth, re-entrancy and read-only mode per
  thread itself (``api.Frames``), so the host passes nothing through for them. A host used for a
  read-only invocation must refuse writes and events of native modules it calls.

Errors the host raises must be ``AllianceError`` subclasses: they pass through contract code
untouched (contracts cannot catch them) and fail the call with their own code.
"""

from __future__ import annotations

from typing import Protocol

from alliance.contracts.gas import GasMeter


class Host(Protocol):
    @property
    def sender(self) -> bytes: ...

    @property
    def contract(self) -> bytes: ...

    @property
    def height(self) -> int: ...

    @property
    def time_ms(self) -> int: ...

    @property
    def gas(self) -> GasMeter: ...

    def read(self, key: bytes) -> bytes | None:
        """The value at ``key``, or None."""
        ...

    def write(self, key: bytes, value: bytes | None) -> None:
        """Set ``key`` (None deletes it)."""
        ...

    def emit(self, name: str, data: bytes) -> None:
        """Record an event of this contract."""
        ...

    def call(self, target: str, method: str, args: bytes) -> bytes | None:
        """Call ``target.method`` as this contract; the canonical bytes of its result, or None."""
        ...
