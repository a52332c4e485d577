"""The accounts module: native coin balances and transfers.

State layout: ``b"acct/" + address`` holds the canonical ``Account``. An account that was never
credited reads as balance 0 and is not stored. Transfers emit a ``transfer`` event carrying
``TransferEvent`` so that explorers and subscribers see value move without re-executing.

Transfers are most of a busy chain's load, so their path avoids generic helpers where a direct
call to msgspec gives the same bytes and the same errors (see ``decode_transfer_args``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from alliance import codec
from alliance.abi.accounts import (
    ACCOUNT_PREFIX,
    AMOUNT_MAX,
    EVENTS,
    MODULE_NAME,
    Account,
    BalanceQuery,
    BalanceView,
    TransferArgs,
    TransferEvent,
    account_key,
    decode_balance,
    encode_account,
)
from alliance.errors import DecodeError, InsufficientBalance, InvalidArguments
from alliance.execution.context import CallContext
from alliance.execution.modules import Method, ModuleBase, Query

if TYPE_CHECKING:
    from alliance.execution.collections import StateReader

# The codec's encoder and decoder are these same msgspec objects (default options); holding them
# here saves the codec's per-call lookups on the transfer path.
_encode = msgspec.msgpack.Encoder().encode
_decode_args = msgspec.msgpack.Decoder(TransferArgs).decode


def decode_transfer_args(raw: bytes) -> TransferArgs:
    """``codec.decode(TransferArgs, raw)``: the same typed decoding and canonical check (re-encoding
    gives back the input), done directly. Whatever that path would refuse goes to ``codec.decode``
    itself, so a refusal is the same ``DecodeError`` with the same message."""
    if type(raw) is bytes:
        try:
            args = _decode_args(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            pass
        else:
            # Canonical bytes of a TransferArgs are a few dozen bytes, far below the codec's size
            # bound, so passing this comparison also passes that check.
            if _encode(args) == raw:
                return args
    return codec.decode(TransferArgs, raw)


class AccountsModule(ModuleBase):
    name = MODULE_NAME
    methods = (Method("transfer", TransferArgs, "move native coin to another account"),)
    events = EVENTS

    def __init__(self) -> None:
        balance = Query("balance", query_balance, BalanceQuery, "an account's native balance")
        self.queries = {balance.name: balance}

    def call(self, ctx: CallContext, method: str, args: bytes) -> bytes | None:
        if method != "transfer":
            raise self.unknown_method(method)
        self.transfer(ctx, args)
        return None

    def transfer(self, ctx: CallContext, raw_args: bytes) -> None:
        try:
            args = decode_transfer_args(raw_args)
        except DecodeError:
            # The decoder's own wording stays out of the receipt (it differs between versions).
            raise InvalidArguments("accounts.transfer takes (to: 20-byte address, amount >= 1)") from None
        sender = ctx.sender
        to = args.to
        amount = args.amount
        sender_key = account_key(sender)
        balance = decode_balance(ctx.read(sender_key))
        if balance < amount:
            raise InsufficientBalance(f"balance {balance} is less than the amount {amount}")
        if to != sender:
            to_key = account_key(to)
            to_balance = decode_balance(ctx.read(to_key))
            if to_balance + amount > AMOUNT_MAX:
                raise InvalidArguments("the recipient's balance would overflow")
            ctx.write(sender_key, encode_account(balance - amount))
            ctx.write(to_key, encode_account(to_balance + amount))
        ctx.emit(self.name, "transfer", _encode(TransferEvent(sender, to, amount)))


def query_balance(state: StateReader, args: BalanceQuery) -> BalanceView:
    return BalanceView(args.address, decode_balance(state.read(account_key(args.address))))


__all__ = [
    "ACCOUNT_PREFIX",
    "MODULE_NAME",
    "Account",
    "AccountsModule",
    "TransferArgs",
    "TransferEvent",
    "account_key",
    "decode_balance",
    "decode_transfer_args",
    "encode_account",
]
