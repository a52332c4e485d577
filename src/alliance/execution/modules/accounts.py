"""The accounts module: native coin balances and transfers.

State layout: ``b"acct/" + address`` holds the canonical ``Account``. An account that was never
credited reads as balance 0 and is not stored. Transfers emit a ``transfer`` event carrying
``TransferEvent`` so that explorers and subscribers see value move without re-executing.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from alliance import codec
from alliance.codec import Struct
from alliance.errors import DecodeError, InsufficientBalance, InvalidArguments, UnknownMethod
from alliance.execution.context import CallContext
from alliance.ledger.transaction import Amount, Bytes20

ACCOUNT_PREFIX = b"acct/"
MODULE_NAME = "accounts"


class Account(Struct):
    balance: Amount


class TransferArgs(Struct):
    to: Bytes20
    amount: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]


class TransferEvent(Struct):
    sender: Bytes20
    to: Bytes20
    amount: int




def decode_transfer_args(raw: bytes) -> TransferArgs:
    return codec.decode(TransferArgs, raw)


def account_key(address: bytes) -> bytes:
    return ACCOUNT_PREFIX + address


def encode_account(balance: int) -> bytes:
    return codec.encode(Account(balance=balance))


def decode_balance(raw: bytes | None) -> int:
    return 0 if raw is None else codec.decode_trusted(Account, raw).balance


class AccountsModule:
    name = MODULE_NAME

    def call(self, ctx: CallContext, method: str, args: bytes) -> None:
        if method == "transfer":
            self.transfer(ctx, args)
        else:
            raise UnknownMethod(f"module {self.name!r} has no method {method!r}; it has: transfer")

    def transfer(self, ctx: CallContext, raw_args: bytes) -> None:
        try:
            args = decode_transfer_args(raw_args)
        except DecodeError as exc:
            raise InvalidArguments(
                f"accounts.transfer takes (to: 20-byte address, amount >= 1): {exc}"
            ) from None
        sender_key = account_key(ctx.sender)
        balance = decode_balance(ctx.read(sender_key))
        if balance < args.amount:
            raise InsufficientBalance(f"balance {balance} is less than the amount {args.amount}")
        if args.to != ctx.sender:
            to_key = account_key(args.to)
            to_balance = decode_balance(ctx.read(to_key))
            if to_balance + args.amount > 2**63 - 1:
                raise InvalidArguments("the recipient's balance would overflow")
            ctx.write(sender_key, encode_account(balance - args.amount))
            ctx.write(to_key, encode_account(to_balance + args.amount))
        ctx.emit(
            self.name,
            "transfer",
            codec.encode(TransferEvent(sender=ctx.sender, to=args.to, amount=args.amount)),
        )
