"""The error tree, typed by fault.

Every error Alliance raises on purpose descends from ``AllianceError`` and falls into exactly one
fault class, which tells the caller what to do with it::

    AllianceError
    +-- PeerFault            a remote peer misbehaved: drop or penalise it, never crash
    |   +-- InvalidMessage   bytes from the network that do not decode or do not validate
    +-- UsageError           the caller misused an API or sent bad input: answer 4xx, exit non-zero
    |   +-- DecodeError          bytes that are malformed, non-canonical or over their size bound
    |   +-- InvalidTransaction   a transaction refused before execution (admission, proposal checks)
    |   |   +-- WrongChainId, TxExpired, TxTooFarAhead, DuplicateTx, BadSignature, TxTooLarge,
    |   |       GasLimitTooHigh, InvalidField
    |   +-- ExecutionError       a transaction that ran and failed: recorded in its receipt
    |   |   +-- InsufficientBalance, UnknownTarget, UnknownMethod, InvalidArguments, OutOfGas,
    |   |       AccountFrozen, PermissionDenied, ValueTooLarge, CallDepthExceeded, and each
    |   |       module's own errors (in its ``alliance.abi`` module, e.g. ``abi.gov.AlreadyVoted``)
    |   +-- NotFound             a queried block, transaction, key or version does not exist
    |   +-- VersionPruned        a query asked for a state version no longer kept
    |   +-- KeyFileError         a key file is missing, malformed or has unsafe permissions
    |   +-- StoreFormatError     a data directory in a storage format this version does not read
    +-- OperationalError     an expected operational failure: retry later or with less
    |   +-- MempoolFull, StoreFull
    +-- InvariantViolation   a bug or corrupted data: crash loudly, never continue

Each class has a stable ``code`` (snake case) that the API turns into its problem-JSON ``type`` and
the receipt records as its status, so clients can branch on it without parsing messages.
Convert foreign exceptions once, at the boundary where outside input enters.
"""

from __future__ import annotations


class AllianceError(Exception):
    """Base of every error Alliance raises on purpose."""

    code = "alliance_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the peer misbehaved -------------------------------------------------------------------------


class PeerFault(AllianceError):
    code = "peer_fault"


class InvalidMessage(PeerFault):
    code = "invalid_message"


# --- the caller misused an API --------------------------------------------------------------------


class UsageError(AllianceError):
    code = "usage_error"


class DecodeError(UsageError):
    code = "malformed_encoding"


class InvalidTransaction(UsageError):
    code = "invalid_transaction"


class WrongChainId(InvalidTransaction):
    code = "wrong_chain_id"


class TxExpired(InvalidTransaction):
    code = "tx_expired"


class TxTooFarAhead(InvalidTransaction):
    code = "tx_valid_until_too_far"


class DuplicateTx(InvalidTransaction):
    code = "duplicate_tx"


class BadSignature(InvalidTransaction):
    code = "bad_signature"


class TxTooLarge(InvalidTransaction):
    code = "tx_too_large"


class GasLimitTooHigh(InvalidTransaction):
    code = "gas_limit_too_high"


class InvalidField(InvalidTransaction):
    code = "invalid_field"


class ExecutionError(UsageError):
    code = "execution_error"


class InsufficientBalance(ExecutionError):
    code = "insufficient_balance"


class UnknownTarget(ExecutionError):
    code = "unknown_target"


class UnknownMethod(ExecutionError):
    code = "unknown_method"


class InvalidArguments(ExecutionError):
    code = "invalid_arguments"


class OutOfGas(ExecutionError):
    code = "out_of_gas"


class AccountFrozen(ExecutionError):
    code = "account_frozen"


class PermissionDenied(ExecutionError):
    code = "permission_denied"


class CallDepthExceeded(ExecutionError):
    """Nested calls went deeper than their bound."""

    code = "call_depth_exceeded"


class ValueTooLarge(ExecutionError):
    """A transaction tried to write a state value over the state tree's bound."""

    code = "value_too_large"


class TooManyEvents(ExecutionError):
    """A transaction emitted more events than a receipt holds."""

    code = "too_many_events"


class NotFound(UsageError):
    code = "not_found"


class VersionPruned(UsageError):
    code = "version_pruned"


class KeyFileError(UsageError):
    code = "key_file_error"


class StoreFormatError(UsageError):
    """A data directory written in a storage format this version does not read."""

    code = "store_format"


# --- expected operational failures ---------------------------------------------------------------


class OperationalError(AllianceError):
    code = "operational_error"


class MempoolFull(OperationalError):
    code = "mempool_full"


class StoreFull(OperationalError):
    code = "store_full"


# --- bugs ----------------------------------------------------------------------------------------


class InvariantViolation(AllianceError):
    code = "invariant_violation"
