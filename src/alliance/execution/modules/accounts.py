"""The accounts module: native coin balances and transfers.

State layout: ``b"acct/" + address`` holds the canonical ``Account``. An account that was never
credited reads as balance 0 and is not stored. Transfers emit a ``transfer`` event carrying
``TransferEvent`` so that explorers and subscribers see value move without re-executing.

Transfers are most of a busy chain's load, so their path avoids generic helpers where a direct
call to msgspec gives the same bytes and the same errors (see ``decode_transfer_args``).
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


# The codec's encoder and decoders are these same msgspec objects (default options); holding them
# here saves the codec's per-call lookups on the transfer path.
_encode = msgspec.msgpack.Encoder().encode
_decode_args = msgspec.msgpack.Decoder(TransferArgs).decode
_decode_account = msgspec.msgpack.Decoder(Account).decode


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


def account_key(address: bytes) -> bytes:
    return ACCOUNT_PREFIX + address


def encode_account(balance: int) -> bytes:
    return _encode(Account(balance))


def decode_balance(raw: bytes | None) -> int:
    # = codec.decode_trusted(Account, raw): state values are bytes this node wrote itself.
    return 0 if raw is None else _decode_account(raw).balance


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
            if to_balance + amount > 2**63 - 1:
                raise InvalidArguments("the recipient's balance would overflow")
            ctx.write(sender_key, encode_account(balance - amount))
            ctx.write(to_key, encode_account(to_balance + amount))
        ctx.emit(self.name, "transfer", _encode(TransferEvent(sender, to, amount)))
