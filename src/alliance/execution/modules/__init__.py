"""System modules: native code behind the one call interface ``call(ctx, method, args)``.

Every call target (a native module now, a Python contract later) is reached the same way: the
executor looks up the target by name and calls ``call(ctx, method, args)``; ``args`` is the
canonical encoding of the method's typed arguments, decoded by the target itself.
"""

from __future__ import annotations

from typing import Protocol

from alliance.execution.context import CallContext


class Module(Protocol):
    name: str

    def call(self, ctx: CallContext, method: str, args: bytes) -> None:
        """Run ``method``; raise an ``ExecutionError`` subclass to fail the transaction."""
        ...
