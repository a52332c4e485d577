"""The contract engine's errors, typed by fault.

A contract refused at deploy is a ``UsageError`` (``InvalidContract``, code ``invalid_contract``):
the deployer sent bad source. Everything that stops a running call is an ``ExecutionError`` and
ends up as the receipt's status: ``ContractError`` (code ``contract_error``) is ``require`` or
``revert`` with the contract's reason, and its subclasses are the engine's own stops, each with its
code. Running out of gas is ``alliance.errors.OutOfGas`` itself, so receipts say ``out_of_gas``
whatever ran out. None of these classes descends from a builtin exception a contract may name in
an ``except`` clause, so contract code can never catch the engine's stops.
"""

from __future__ import annotations

from alliance.errors import ExecutionError, UsageError


class InvalidContract(UsageError):
    """Source refused at deploy: the message names the line and the construct."""

    code = "invalid_contract"

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class NotInContract(UsageError):
    """``alliance.contract``'s execution objects used outside an execution (plain Python)."""

    code = "not_in_contract"


class ContractError(ExecutionError):
    """``require``/``revert`` failed the call; the message is the contract's reason."""

    code = "contract_error"


class ContractFault(ContractError):
    """Contract code raised an exception it did not catch (a bug in the contract)."""

    code = "contract_fault"


class IntTooLarge(ContractError):
    code = "int_too_large"


class CallDepthExceeded(ContractError):
    code = "call_depth_exceeded"


class WriteLimitExceeded(ContractError):
    code = "write_limit_exceeded"


class ReentrantCall(ContractError):
    code = "reentrant_call"


class ReadOnlyViolation(ContractError):
    """A view (or any read-only invocation) tried to write storage or emit an event."""

    code = "readonly_violation"


class ValueTooLarge(ContractError):
    """A value over its size bound: storage key or value, argument, result, event, or nesting."""

    code = "value_too_large"


class InvalidValue(ContractError):
    """A value the canonical codec cannot hold or that does not match its declared type."""

    code = "invalid_value"


class ForbiddenOperation(ContractError):
    """An operation refused at run time: one that would make a float, or format an object."""

    code = "forbidden_operation"


class MemoryExhausted(ContractError):
    code = "memory_exhausted"


class AlreadyInitialised(ContractError):
    code = "already_initialised"
