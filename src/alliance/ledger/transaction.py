"""Transactions: a signed call.

Theory of operation: a transaction's body names the chain, carries a random 128-bit nonce and a
``valid_until`` height (replay protection without per-account sequence numbers, so one account can
submit in parallel: a node rejects a body hash it has seen within the window), a call
``(target, method, args)`` and a gas limit, and the sender's public key. The transaction hash is
the domain-separated hash of the body's canonical bytes; the sender signs that hash. The signature
is outside the hash, so signature malleability cannot create a second transaction id.

``args`` is canonical msgpack in its own right: each module decodes it into its own typed
arguments, which keeps one call interface for native modules and, later, Python contracts.
"""

from __future__ import annotations

import os
from typing import Annotated

import msgspec
import msgspec.inspect

from alliance import codec
from alliance.codec import Struct
from alliance.crypto.hashing import Domain, hash_domain
from alliance.crypto.keys import SIGNATURE_SIZE_BYTES, AccountKey
from alliance.errors import GasLimitTooHigh, TxExpired, TxTooFarAhead, WrongChainId

NONCE_SIZE_BYTES = 16
TX_SIZE_BYTES_MAX = 64 * 1024
NAME_LENGTH_MAX = 64

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME_LENGTH_MAX)]
Bytes32 = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]
Bytes20 = Annotated[bytes, msgspec.Meta(min_length=20, max_length=20)]
Nonce = Annotated[bytes, msgspec.Meta(min_length=NONCE_SIZE_BYTES, max_length=NONCE_SIZE_BYTES)]
PublicKeyBytes = Annotated[bytes, msgspec.Meta(min_length=33, max_length=33)]
SignatureBytes = Annotated[bytes, msgspec.Meta(min_length=64, max_length=64)]
Height = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Amount = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]  # msgpack integers are 64-bit
Gas = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


def is_address_type(field_type: msgspec.inspect.Type) -> bool:
    """A declared field type that holds an address: ``Bytes20``, or ``Bytes20 | None``."""
    if isinstance(field_type, msgspec.inspect.UnionType):
        others = [t for t in field_type.types if not isinstance(t, msgspec.inspect.NoneType)]
        if len(others) != 1:
            return False
        field_type = others[0]
    return isinstance(field_type, msgspec.inspect.BytesType) and (
        field_type.min_length == field_type.max_length == 20
    )


class Call(Struct):
    target: Name
    method: Name
    args: bytes


class TxBody(Struct):
    chain_id: Name
    nonce: Nonce
    valid_until: Height
    call: Call
    gas_limit: Gas
    sender: PublicKeyBytes


class Transaction(Struct):
    body: TxBody
    signature: SignatureBytes


def tx_hash_of_body(body: TxBody) -> bytes:
    return hash_domain(Domain.TX, codec.encode(body))


def tx_hash(tx: Transaction) -> bytes:
    return tx_hash_of_body(tx.body)


SIGNATURE_TAIL_BYTES = 2 + SIGNATURE_SIZE_BYTES
"""The bytes after the body in a canonical transaction: bin8 header (0xc4, 0x40), the signature."""


def tx_hash_of_canonical(raw: bytes) -> bytes:
    """The hash of a transaction from its canonical bytes, without re-encoding the body.

    Canonical bytes are ``0x92 || body || 0xc4 0x40 || signature`` (an array of two, the
    signature as bin8), so the body is a slice. Only valid for bytes ``decode_tx`` accepted."""
    return hash_domain(Domain.TX, raw[1:-SIGNATURE_TAIL_BYTES])


StaticProblem = WrongChainId | TxExpired | TxTooFarAhead | GasLimitTooHigh


def static_problem(
    body: TxBody, chain_id: str, first_height: int, last_height: int, gas_max: int
) -> StaticProblem | None:
    """What is wrong with a transaction before its signature and replay are looked at: another
    chain, a ``valid_until`` outside ``first_height..last_height``, a gas limit over the bound. The
    one statement of these rules, for admission (the mempool) and for execution (the executor)."""
    if body.chain_id != chain_id:
        return WrongChainId(f"transaction is for chain {body.chain_id!a}, this is {chain_id!a}")
    if body.valid_until < first_height:
        return TxExpired(f"valid_until {body.valid_until} is before height {first_height}; sign it again")
    if body.valid_until > last_height:
        return TxTooFarAhead(
            f"valid_until {body.valid_until} is beyond height {last_height} (the chain's window)"
        )
    if body.gas_limit > gas_max:
        return GasLimitTooHigh(f"gas_limit {body.gas_limit} is over the bound of {gas_max}")
    return None


def decode_tx(raw: bytes) -> Transaction:
    """Decode canonical transaction bytes (``DecodeError`` otherwise, including over the size bound)."""
    return codec.decode(Transaction, raw, size_bytes_max=TX_SIZE_BYTES_MAX)


DEFAULT_GAS_LIMIT = 100_000
"""The gas limit a transaction is signed with unless its signer says otherwise (a native transfer
uses a small part of it)."""


def sign_tx(
    key: AccountKey,
    *,
    chain_id: str,
    target: str,
    method: str,
    args: object,
    valid_until: int,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    nonce: bytes | None = None,
) -> Transaction:
    """Build and sign a transaction. ``args`` is any codec-encodable value (usually a Struct)."""
    body = TxBody(
        chain_id=chain_id,
        nonce=nonce if nonce is not None else os.urandom(NONCE_SIZE_BYTES),
        valid_until=valid_until,
        call=Call(target=target, method=method, args=codec.encode(args)),
        gas_limit=gas_limit,
        sender=key.public_key,
    )
    return Transaction(body=body, signature=key.sign_digest(tx_hash_of_body(body)))
