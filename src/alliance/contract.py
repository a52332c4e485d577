"""The module contracts import: ``from alliance.contract import public, view, ctx, storage, ...``.

Theory of operation: inside the engine's sandbox this module is never executed. The contract's
import statement is removed at compile time and each name is bound to the running invocation's
objects (``contracts.metering`` rewrites ``ctx.sender``, ``storage[k]``... into direct calls). This
file is what plain Python sees: IDEs, type checkers, tests that import a contract module. There
``public`` and ``view`` just mark a function, ``Address`` is the real address type, and ``ctx``,
``storage``, ``emit``, ``require``, ``revert`` and ``call`` raise ``NotInContract``: they only
mean something inside an execution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from alliance.contracts.errors import NotInContract
from alliance.contracts.values import Address

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["Address", "call", "ctx", "emit", "public", "require", "revert", "storage", "view"]


def public(function: F) -> F:
    """Mark a state-changing method (called by transactions)."""
    function.__dict__["contract_kind"] = "public"
    return function


def view(function: F) -> F:
    """Mark a read-only method (answered by a node without a transaction)."""
    function.__dict__["contract_kind"] = "view"
    return function


def _outside(name: str) -> NotInContract:
    return NotInContract(f"alliance.contract.{name} is only available while a contract runs in the engine")


class _Unbound:
    """``ctx`` and ``storage`` outside an execution: every use says where they work."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> NoReturn:
        raise _outside(self._name)

    def __getitem__(self, key: object) -> NoReturn:
        raise _outside(self._name)

    def __setitem__(self, key: object, value: object) -> NoReturn:
        raise _outside(self._name)

    def __delitem__(self, key: object) -> NoReturn:
        raise _outside(self._name)

    def __contains__(self, key: object) -> NoReturn:
        raise _outside(self._name)

    def __repr__(self) -> str:
        return f"<alliance.contract.{self._name}: bound only inside a contract execution>"


ctx: Any = _Unbound("ctx")
storage: Any = _Unbound("storage")


def emit(name: str, **fields: object) -> None:
    # Typed as returning (it does inside a contract), so a type checker reads the code after it.
    raise _outside("emit")


def require(condition: object, reason: str) -> None:
    raise _outside("require")


def revert(reason: str) -> NoReturn:
    raise _outside("revert")


def call(target: str, method: str, args: list[Any]) -> Any:
    raise _outside("call")
