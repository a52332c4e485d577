"""Proof of existence: who registered a document's hash, and when.

``register(doc_hash)`` records the sender as the owner and the block's time under the hash (the
SHA-256 of the document: the document itself never goes on chain). A hash is registered once: a
second registration is refused, whoever sends it. ``verify(doc_hash)`` answers ``(owner, time_ms)``
without a transaction, and refuses a hash nobody registered.
"""

from alliance.contract import Address, ctx, emit, public, require, storage, view

HASH_SIZE_BYTES = 32


@public
def register(doc_hash: bytes) -> None:
    require(len(doc_hash) == HASH_SIZE_BYTES, "a document hash is 32 bytes (its SHA-256)")
    require(("doc", doc_hash) not in storage, "this document hash is already registered")
    storage[("doc", doc_hash)] = (ctx.sender, ctx.time_ms)
    emit("registered", doc_hash=doc_hash, owner=ctx.sender, time_ms=ctx.time_ms)


@view
def verify(doc_hash: bytes) -> tuple[Address, int]:
    record = storage.get(("doc", doc_hash))
    require(record is not None, "this document hash is not registered")
    owner, time_ms = record
    return (owner, time_ms)
