"""Binary Merkle trees over ordered lists (transactions in a block, receipts), with proofs.

Theory of operation: leaves are hashed under the leaf domain, inner nodes under the inner domain,
so a leaf can never be presented as an inner node (the second-preimage attack on naive trees).
The tree is the RFC 6962 shape: a list of n items splits at the largest power of two below n, so
there is no duplication of odd nodes (the Bitcoin CVE-2012-2459 ambiguity). The root of an empty
list is the hash of nothing under the leaf domain's sibling tag, a fixed constant.

The published root binds the item count: ``root = H(MERKLE_ROOT, count (8 bytes) || tree root)``.
Without it a proof could be presented for another (index, count) pair with the same path shape,
because the RFC 6962 tree alone does not commit to its size (RFC 6962 gets the size from the
signed tree head; a block header carries only the root, so the root must carry the size).

An inclusion proof is the list of sibling hashes from the leaf up; verification recomputes the
root from the index and the total count alone, so a proof cannot be moved to another position.
"""

from __future__ import annotations

from collections.abc import Sequence

from alliance.codec import Struct
from alliance.crypto.hashing import Domain, hash_domain, hasher_for


def bind_count(tree_root: bytes, count: int) -> bytes:
    """The published root: the tree root bound to the number of items."""
    return hash_domain(Domain.MERKLE_ROOT, count.to_bytes(8, "big") + tree_root)


EMPTY_ROOT = bind_count(b"", 0)


def leaf_hash(item: bytes) -> bytes:
    return hash_domain(Domain.MERKLE_LEAF, item)


def inner_hash(left: bytes, right: bytes) -> bytes:
    return hash_domain(Domain.MERKLE_INNER, left + right)


def _split(n: int) -> int:
    """Largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of_hashes(leaves: Sequence[bytes]) -> bytes:
    """The published root (count-bound) given the already-hashed leaves."""
    return bind_count(tree_root_of_hashes(leaves), len(leaves)) if leaves else EMPTY_ROOT


def tree_root_of_hashes(leaves: Sequence[bytes]) -> bytes:
    """The RFC 6962 tree root (not bound to the count) of one or more hashed leaves."""
    n = len(leaves)
    if n == 0:
        return b""
    level = list(leaves)
    # Bottom-up over the RFC 6962 shape: pair neighbours; an unpaired last node is carried up.
    # This equals the recursive split definition because the split point is a power of two.
    # (``_inner_many`` is ``inner_hash`` over a whole level, without a call and lookup per node.)
    while len(level) > 1:
        nxt = _inner_many(level)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def merkle_root(items: Sequence[bytes]) -> bytes:
    return root_of_hashes(_leaves(items))


# Blocks hash thousands of leaves and inner nodes per root; copying a prepared hasher in a tight
# loop costs half of calling ``hash_domain`` per item. Same bytes in, same hashes out.
_LEAF_HASHER = hasher_for(Domain.MERKLE_LEAF)
_INNER_HASHER = hasher_for(Domain.MERKLE_INNER)


def _leaves(items: Sequence[bytes]) -> list[bytes]:
    copy = _LEAF_HASHER.copy
    out = []
    for item in items:
        h = copy()
        h.update(item)
        out.append(h.digest())
    return out


def _inner_many(level: list[bytes]) -> list[bytes]:
    copy = _INNER_HASHER.copy
    out = []
    for i in range(0, len(level) - 1, 2):
        h = copy()
        h.update(level[i])
        h.update(level[i + 1])
        out.append(h.digest())
    return out


class MerkleProof(Struct):
    index: int
    total: int
    siblings: list[bytes]


def prove(items: Sequence[bytes], index: int) -> MerkleProof:
    hashes = [leaf_hash(x) for x in items]
    if not 0 <= index < len(hashes):
        raise IndexError(f"index {index} outside 0..{len(hashes) - 1}")
    siblings: list[bytes] = []
    _collect(hashes, index, siblings)
    return MerkleProof(index=index, total=len(hashes), siblings=siblings)


def _collect(hashes: Sequence[bytes], index: int, out: list[bytes]) -> None:
    # Recursive split: record the sibling subtree root at each level, innermost first.
    n = len(hashes)
    if n == 1:
        return
    k = _split(n)
    if index < k:
        _collect(hashes[:k], index, out)
        out.append(tree_root_of_hashes(hashes[k:]))
    else:
        _collect(hashes[k:], index - k, out)
        out.append(tree_root_of_hashes(hashes[:k]))


def verify_proof(root: bytes, item: bytes, proof: MerkleProof) -> bool:
    """True when ``item`` sits at ``proof.index`` of ``proof.total`` items under ``root``."""
    if not 0 <= proof.index < proof.total:
        return False
    computed = _fold(leaf_hash(item), proof.index, proof.total, list(proof.siblings))
    return computed is not None and bind_count(computed, proof.total) == root


def _fold(node: bytes, index: int, total: int, siblings: list[bytes]) -> bytes | None:
    # Walk the split decisions from the top to learn, for each level, which side the leaf is on;
    # then combine with siblings from the bottom up.
    sides: list[bool] = []  # True when the leaf is in the left part at that level
    n, i = total, index
    while n > 1:
        k = _split(n)
        if i < k:
            sides.append(True)
            n = k
        else:
            sides.append(False)
            i -= k
            n -= k
    if len(sides) != len(siblings):
        return None
    for left_side, sibling in zip(reversed(sides), siblings, strict=True):
        node = inner_hash(node, sibling) if left_side else inner_hash(sibling, node)
    return node
