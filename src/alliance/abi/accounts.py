"""Native coin: balances and transfers (the ``accounts`` module's public types).

State layout: ``b"acct/" + address`` holds the canonical ``Account``. An account that was never
credited reads as balance 0 and is not stored. A transfer emits ``accounts.transfer`` carrying
``TransferEvent``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from alliance.codec import Struct
from alliance.ledger.transaction import Amount, Bytes20

ACCOUNT_PREFIX = b"acct/"
MODULE_NAME = "accounts"
AMOUNT_MAX = 2**63 - 1


class Account(Struct):
    balance: Amount


class TransferArgs(Struct):
    to: Bytes20
    amount: Annotated[int, msgspec.Meta(ge=1, le=AMOUNT_MAX)]


class TransferEvent(Struct):
    sender: Bytes20
    to: Bytes20
    amount: int


EVENTS: dict[str, type[Struct]] = {"transfer": TransferEvent}


class BalanceQuery(Struct):
    address: Bytes20


class BalanceView(Struct):
    address: Bytes20
    balance: int


# The codec's encoder and decoder are these same msgspec objects (default options); holding them
# here saves the codec's per-call lookups on the transfer path.
_encode = msgspec.msgpack.Encoder().encode
_decode_account = msgspec.msgpack.Decoder(Account).decode


def account_key(address: bytes) -> bytes:
    return ACCOUNT_PREFIX + address


def encode_account(balance: int) -> bytes:
    return _encode(Account(balance))


def decode_balance(raw: bytes | None) -> int:
    """A stored account's balance (0 when never credited). Values are bytes a node wrote itself."""
    return 0 if raw is None else _decode_account(raw).balance
