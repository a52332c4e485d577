"""Merkle roots and inclusion proofs against a straightforward RFC 6962 reference written here.

The reference hashes with ``hashlib`` and the tags spelled out, so it also pins the domain tags. The
published root binds the item count, so a proof cannot claim another total, nor move to another
(index, total) whose path has the same shape.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance import codec
from alliance.crypto.merkle import (
    EMPTY_ROOT,
    MerkleProof,
    leaf_hash,
    merkle_root,
    prove,
    root_of_hashes,
    verify_proof,
)
from alliance.ledger.block import Block, Header

LEAF_TAG = b"alliance/merkle-leaf/v1\x00"
INNER_TAG = b"alliance/merkle-inner/v1\x00"
ROOT_TAG = b"alliance/merkle-root/v1\x00"
PROPERTY = settings(max_examples=100, deadline=None)

item_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=40)
# Where a proof is moved to another position, the item must not also sit there legitimately.
distinct_item_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=40, unique=True)


def ref_leaf(item: bytes) -> bytes:
    return hashlib.sha256(LEAF_TAG + item).digest()


def ref_inner(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(INNER_TAG + left + right).digest()


def ref_split(n: int) -> int:
    """RFC 6962: the largest power of two smaller than n."""
    k = 1
    while 2 * k < n:
        k *= 2
    return k


def ref_tree_root(items: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 section 2.1 (n >= 1)."""
    if len(items) == 1:
        return ref_leaf(items[0])
    k = ref_split(len(items))
    return ref_inner(ref_tree_root(items[:k]), ref_tree_root(items[k:]))


def ref_root(items: list[bytes]) -> bytes:
    """The published root: the RFC 6962 tree root bound to the item count (empty: no tree root)."""
    tree_root = ref_tree_root(items) if items else b""
    return hashlib.sha256(ROOT_TAG + len(items).to_bytes(8, "big") + tree_root).digest()


def ref_path(index: int, items: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 section 2.1.1: sibling roots, leaf level first."""
    if len(items) <= 1:
        return []
    k = ref_split(len(items))
    if index < k:
        return [*ref_path(index, items[:k]), ref_tree_root(items[k:])]
    return [*ref_path(index - k, items[k:]), ref_tree_root(items[:k])]


def flips(data: bytes) -> list[bytes]:
    out = []
    for bit in range(8 * len(data)):
        mutated = bytearray(data)
        mutated[bit // 8] ^= 1 << (bit % 8)
        out.append(bytes(mutated))
    return out


# --- roots -------------------------------------------------------------------------------------------


@PROPERTY
@given(st.lists(st.binary(max_size=12), max_size=70))
def test_root_matches_rfc6962_reference(items: list[bytes]) -> None:
    assert merkle_root(items) == ref_root(items)
    assert root_of_hashes([ref_leaf(x) for x in items]) == ref_root(items)


def test_empty_and_single_roots() -> None:
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(ROOT_TAG + bytes(8)).digest()
    assert merkle_root([b"x"]) == ref_root([b"x"])
    assert leaf_hash(b"x") == ref_leaf(b"x")
    assert merkle_root([b""]) != EMPTY_ROOT


@pytest.mark.parametrize("n", range(1, 34))
def test_every_size_up_to_33_matches_reference(n: int) -> None:
    items = [i.to_bytes(2, "big") for i in range(n)]
    assert merkle_root(items) == ref_root(items)


def test_odd_leaf_is_not_duplicated() -> None:
    # Bitcoin's tree made [a, b, c] and [a, b, c, c] share a root (CVE-2012-2459); RFC 6962's does not.
    assert merkle_root([b"a", b"b", b"c"]) != merkle_root([b"a", b"b", b"c", b"c"])


def test_leaf_cannot_pose_as_inner_node() -> None:
    left, right = ref_leaf(b"a"), ref_leaf(b"b")
    assert merkle_root([b"a", b"b"]) != merkle_root([left + right])


# --- proofs --------------------------------------------------------------------------------------------


@PROPERTY
@given(item_lists)
def test_every_index_proof_verifies(items: list[bytes]) -> None:
    root = merkle_root(items)
    for index, item in enumerate(items):
        proof = prove(items, index)
        assert (proof.index, proof.total) == (index, len(items))
        assert proof.siblings == ref_path(index, items)
        assert verify_proof(root, item, proof)
        assert codec.decode(MerkleProof, codec.encode(proof)) == proof


@PROPERTY
@given(item_lists, st.data())
def test_single_bit_tamper_of_item_or_sibling_fails(items: list[bytes], data: st.DataObject) -> None:
    root = merkle_root(items)
    index = data.draw(st.integers(0, len(items) - 1), label="index")
    item, proof = items[index], prove(items, index)
    for bad_item in flips(item):
        assert not verify_proof(root, bad_item, proof)
    for level, sibling in enumerate(proof.siblings):
        for bad in flips(sibling):
            siblings = [*proof.siblings[:level], bad, *proof.siblings[level + 1 :]]
            assert not verify_proof(root, item, MerkleProof(index=index, total=len(items), siblings=siblings))
    for bad_root in flips(root):
        assert not verify_proof(bad_root, item, proof)


@PROPERTY
@given(distinct_item_lists, st.data())
def test_single_bit_tamper_of_index_fails(items: list[bytes], data: st.DataObject) -> None:
    root = merkle_root(items)
    index = data.draw(st.integers(0, len(items) - 1), label="index")
    proof = prove(items, index)
    for bit in range(len(items).bit_length() + 2):
        moved = MerkleProof(index=index ^ (1 << bit), total=proof.total, siblings=proof.siblings)
        assert not verify_proof(root, items[index], moved)
    negative = MerkleProof(index=-1, total=proof.total, siblings=proof.siblings)
    assert not verify_proof(root, items[index], negative)


@PROPERTY
@given(distinct_item_lists, st.data())
def test_single_bit_tamper_of_total_fails(items: list[bytes], data: st.DataObject) -> None:
    root = merkle_root(items)
    index = data.draw(st.integers(0, len(items) - 1), label="index")
    proof = prove(items, index)
    for bit in range(len(items).bit_length() + 2):
        tampered = MerkleProof(index=index, total=proof.total ^ (1 << bit), siblings=proof.siblings)
        assert not verify_proof(root, items[index], tampered)


@PROPERTY
@given(item_lists, item_lists)
def test_proofs_do_not_verify_against_another_lists_root(first: list[bytes], second: list[bytes]) -> None:
    if first == second:
        return
    other_root = merkle_root(second)
    for index, item in enumerate(first):
        assert not verify_proof(other_root, item, prove(first, index))


@pytest.mark.parametrize(
    "proof",
    [
        MerkleProof(index=0, total=0, siblings=[]),
        MerkleProof(index=3, total=3, siblings=[b"\x00" * 32] * 2),
        MerkleProof(index=-1, total=3, siblings=[b"\x00" * 32] * 2),
        MerkleProof(index=0, total=3, siblings=[]),
        MerkleProof(index=0, total=3, siblings=[b"\x00" * 32] * 3),
    ],
)
def test_malformed_proofs_fail_without_raising(proof: MerkleProof) -> None:
    assert verify_proof(merkle_root([b"a", b"b", b"c"]), b"a", proof) is False


def test_single_item_proof_is_empty() -> None:
    proof = prove([b"only"], 0)
    assert proof.siblings == []
    assert verify_proof(merkle_root([b"only"]), b"only", proof)
    assert not verify_proof(merkle_root([b"only"]), b"other", proof)


@pytest.mark.parametrize(("items", "index"), [([], 0), ([b"a"], 1), ([b"a", b"b"], -1), ([b"a"], 5)])
def test_prove_refuses_an_index_outside_the_list(items: list[bytes], index: int) -> None:
    with pytest.raises(IndexError):
        prove(items, index)


# --- the root binds the item count -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "total", "forged_index", "forged_total"),
    [(4, 5, 8, 9), (0, 5, 0, 7), (2, 3, 4, 5)],
)
def test_proof_cannot_move_to_a_same_shape_position(
    index: int, total: int, forged_index: int, forged_total: int
) -> None:
    # Each forged (index, total) takes the same turns from the root as the real one, so the bare
    # RFC 6962 tree root would accept it; the count bound into the root refuses it.
    items = [bytes([i]) for i in range(total)]
    proof = prove(items, index)
    forged = MerkleProof(index=forged_index, total=forged_total, siblings=proof.siblings)
    assert not verify_proof(merkle_root(items), items[index], forged)


def _block_over(txs: list[bytes], root: bytes) -> Block:
    header = Header(
        chain_id="memo", height=1, time_ms=0, prev_block_hash=b"", tx_root=root, app_hash=b"\0" * 32,
        last_results_hash=b"\0" * 32, validators_hash=b"\0" * 32, proposer=b"\1" * 32, last_commit_hash=b"",
    )
    return Block(header=header, txs=txs)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=20), st.data())
def test_a_remembered_tx_root_never_vouches_for_other_transactions(
    txs: list[bytes], data: st.DataObject
) -> None:
    """``Block.txs_match_root`` remembers the last match; a changed list must still be caught:
    mutated in place after the match, or another list under the same root."""
    root = merkle_root(txs)
    block = _block_over(txs, root)
    assert block.txs_match_root() and block.txs_match_root()  # the second answer from the memo
    at = data.draw(st.integers(0, len(txs) - 1))
    changed = [*txs[:at], txs[at] + b"x", *txs[at + 1 :]]
    assert not _block_over(changed, root).txs_match_root()
    block.txs[at] = txs[at] + b"x"  # in place, after the match was remembered
    assert not block.txs_match_root()
    block.txs.append(b"extra")
    assert not block.txs_match_root()
