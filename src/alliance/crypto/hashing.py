"""Domain-separated hashing.

Theory of operation: every hashed or signed object kind has its own domain tag, and its digest is
``SHA-256(tag || canonical bytes)``. Tags are distinct, fixed strings ending in a NUL byte, so no
digest of one kind can be passed off as a digest of another (a transaction hash as a block hash, a
Merkle leaf as an inner node). Each tag's hasher state is prepared once and copied per use, which
saves the prefix work on the hot paths (state tree nodes, transactions).

``keccak256`` is the Ethereum hash, used only to derive account addresses so that wallets and
keys interoperate.
"""

from __future__ import annotations

import hashlib
from enum import Enum

from Crypto.Hash import keccak


class Domain(Enum):
    TX = b"alliance/tx/v1\x00"
    BLOCK_HEADER = b"alliance/header/v1\x00"
    VOTE = b"alliance/vote/v1\x00"
    MERKLE_LEAF = b"alliance/merkle-leaf/v1\x00"
    MERKLE_INNER = b"alliance/merkle-inner/v1\x00"
    MERKLE_ROOT = b"alliance/merkle-root/v1\x00"
    STATE_LEAF = b"alliance/state-leaf/v1\x00"
    STATE_INNER = b"alliance/state-inner/v1\x00"
    STATE_KEY = b"alliance/state-key/v1\x00"
    VALIDATORS = b"alliance/validators/v1\x00"
    COMMIT = b"alliance/commit/v1\x00"
    RECEIPT = b"alliance/receipt/v1\x00"
    EVIDENCE = b"alliance/evidence/v1\x00"
    GENESIS = b"alliance/genesis/v1\x00"
    PROPOSAL = b"alliance/proposal/v1\x00"
    CONTRACT_CODE = b"alliance/contract-code/v1\x00"
    CONTRACT_ACCOUNT = b"alliance/contract-account/v1\x00"
    MODULE_ACCOUNT = b"alliance/module-account/v1\x00"


_prepared = {domain: hashlib.sha256(domain.value) for domain in Domain}


def hash_domain(domain: Domain, data: bytes) -> bytes:
    """SHA-256 of ``data`` under ``domain``: 32 bytes."""
    h = _prepared[domain].copy()
    h.update(data)
    return h.digest()


def hasher_for(domain: Domain) -> hashlib._Hash:
    """A fresh hasher already fed the domain tag, for callers that stream several parts."""
    return _prepared[domain].copy()


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()
