"""Properties of the versioned state tree (over ``MemoryNodeStore``), checked against a dict model.

- the root depends only on the final (key, value) set, never on the order or batching of updates;
- inclusion and exclusion proofs verify, and nothing else does: any single-bit flip in a proof, the
  value or the root, a proof moved to another key, or garbage proof fields give False, never raise;
- every kept version reads and proves its own content; pruning forgets exactly the older versions
  and deletes exactly the nodes no kept version reaches;
- deleting every key gives back ``EMPTY_ROOT``.

Most trees here use small buckets (``SMALL_BUCKET``), so that a few dozen keys already need internal
nodes, splits and collapses; some tests also run with one-entry buckets (the plain Jellyfish shape)
and with the chain's ``BUCKET_ENTRIES_MAX``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance import codec
from alliance.errors import NotFound, VersionPruned
from alliance.state.memory import MemoryNodeStore
from alliance.state.tree import (
    BUCKET_ENTRIES_MAX,
    EMPTY_CHILD,
    EMPTY_ROOT,
    NIBBLES_MAX,
    Bucket,
    Internal,
    StateProof,
    StateTree,
    decode_node,
    decode_root,
    encode_path,
    key_hash_of,
    nibble,
    node_key,
    set_nibble,
    value_hash_of,
    verify_state_proof,
)

SMALL_BUCKET = 2

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys_st = st.binary(min_size=1, max_size=6)
values_st = st.binary(max_size=12)
mappings_st = st.dictionaries(keys_st, values_st, max_size=40)
nonempty_mappings_st = st.dictionaries(keys_st, values_st, min_size=1, max_size=40)


class Versioned:
    """A tree over a memory store, with one version per ``apply`` and a model of each version."""

    def __init__(self, bucket_entries_max: int = SMALL_BUCKET) -> None:
        self.store = MemoryNodeStore()
        self.tree = StateTree(self.store, bucket_entries_max=bucket_entries_max)
        self.version: int | None = None
        self.models: dict[int, dict[bytes, bytes]] = {}

    def apply(self, updates: Mapping[bytes, bytes | None]) -> bytes:
        version = 0 if self.version is None else self.version + 1
        update = self.tree.apply(self.version, version, updates)
        self.store.persist(update)
        self.tree.committed(update)
        model = dict(self.models.get(version - 1, {}))
        for key, value in updates.items():
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
        self.models[version] = model
        self.version = version
        assert self.tree.root_hash(version) == update.root_hash
        return update.root_hash

    def root(self) -> bytes:
        assert self.version is not None
        return self.tree.root_hash(self.version)


def built(mapping: Mapping[bytes, bytes], bucket_entries_max: int = SMALL_BUCKET) -> Versioned:
    v = Versioned(bucket_entries_max)
    v.apply(dict(mapping))
    return v


def reachable_node_keys(tree: StateTree, store: MemoryNodeStore, version: int) -> Iterator[bytes]:
    """Node keys of every node reachable from ``version``'s root, walking the stored bytes."""
    raw = store.get_root(version)
    assert raw is not None
    ref = decode_root(raw)
    stack = [] if ref is None else [(ref.version, EMPTY_CHILD, 0)]
    while stack:
        ver, path_hash, depth = stack.pop()
        key = node_key(ver, encode_path(path_hash, depth))
        data = store.get_node(key)
        assert data is not None, f"node {key.hex()} reachable from version {version} is missing"
        yield key
        node = decode_node(data)
        if isinstance(node, Internal):
            for slot in range(16):
                child = node.child(slot)
                if child is not None:
                    stack.append((child.version, set_nibble(path_hash, depth, slot), depth + 1))
        else:
            assert isinstance(node, Bucket)


def check_version(v: Versioned, version: int) -> None:
    """Reads, items and proofs at ``version`` agree with that version's model."""
    model = v.models[version]
    root = v.tree.root_hash(version)
    assert dict(v.tree.items(version)) == model
    assert len(list(v.tree.items(version))) == len(model)
    for key, value in model.items():
        assert v.tree.get(version, key) == value
        assert verify_state_proof(root, key, value, v.tree.prove(version, key))
    for key in (b"absent-1", b"absent-2"):
        if key not in model:
            assert v.tree.get(version, key) is None
            assert verify_state_proof(root, key, None, v.tree.prove(version, key))


# --- order and batching independence ----------------------------------------------------------


@PROPERTY
@given(
    final=mappings_st,
    noise=st.dictionaries(keys_st, values_st, max_size=20),
    rnd=st.randoms(use_true_random=False),
)
def test_root_is_independent_of_update_order_and_batching(
    final: dict[bytes, bytes], noise: dict[bytes, bytes], rnd: random.Random
) -> None:
    one_batch = built(final)

    # Random sets and deletes over the final keys and some noise keys, then the writes that
    # bring every key to its final value (or delete it), all shuffled into random batches.
    universe = sorted(set(final) | set(noise))
    ops: list[tuple[bytes, bytes | None]] = []
    for _ in range(rnd.randrange(0, 3 * len(universe) + 1)):
        key = rnd.choice(universe)
        ops.append((key, None if rnd.random() < 0.3 else rnd.randbytes(rnd.randrange(0, 6))))
    closing = [(k, final.get(k)) for k in universe]
    rnd.shuffle(closing)
    # Interleave the closing writes with more random ops that are each undone by a later closing
    # write of the same key (so the end state is still ``final``).
    mixed: list[tuple[bytes, bytes | None]] = []
    for key, value in closing:
        if rnd.random() < 0.3:
            mixed.append((key, None))
        mixed.append((key, value))
    ops.extend(mixed)

    many = Versioned()
    i = 0
    while i < len(ops) or many.version is None:
        size = rnd.randrange(1, 8)
        # Later writes of a key in one batch win, as they would in sequence.
        batch: dict[bytes, bytes | None] = dict(ops[i : i + size])
        many.apply(batch)
        i += size

    assert many.models[many.version] == final  # type: ignore[index]
    assert dict(many.tree.items(many.version)) == final  # type: ignore[arg-type]
    assert many.root() == one_batch.root()
    # A fresh tree built from the final mapping in one apply, in another insertion order.
    reordered = dict(sorted(final.items(), reverse=True))
    assert built(reordered).root() == one_batch.root()


@FEW
@given(mapping=nonempty_mappings_st, rnd=st.randoms(use_true_random=False))
def test_deleting_every_key_returns_to_the_empty_root(
    mapping: dict[bytes, bytes], rnd: random.Random
) -> None:
    v = built(mapping)
    assert v.root() != EMPTY_ROOT
    keys = list(mapping)
    rnd.shuffle(keys)
    while keys:
        size = rnd.randrange(1, len(keys) + 1)
        v.apply(dict.fromkeys(keys[:size]))
        keys = keys[size:]
    assert v.root() == EMPTY_ROOT
    assert list(v.tree.items(v.version)) == []  # type: ignore[arg-type]
    assert v.store.get_root(v.version) == b""  # type: ignore[arg-type]


def test_empty_tree_has_the_empty_root_and_noop_updates_keep_roots() -> None:
    v = Versioned()
    assert v.apply({}) == EMPTY_ROOT
    assert v.apply({b"missing": None}) == EMPTY_ROOT
    root = v.apply({b"a": b"1", b"b": b"2"})
    assert v.apply({b"a": b"1"}) == root  # rewriting a value with itself
    assert v.apply({b"zzz": None}) == root  # deleting an absent key
    assert v.apply({}) == root
    assert v.apply({b"a": None, b"b": None}) == EMPTY_ROOT


@pytest.mark.parametrize("bucket_entries_max", [1, SMALL_BUCKET, BUCKET_ENTRIES_MAX])
def test_the_lean_path_writes_exactly_what_the_general_path_writes(bucket_entries_max: int) -> None:
    """Updates without deletions take ``apply``'s lean path; one deletion of an absent key (a
    no-op) sends the same updates down the general path. Both must produce the same version:
    root, new nodes (bytes and keys), stale keys. Batches mix new keys (splits of full buckets,
    empty slots filled), changed values, rewrites with the same value, and several updates into
    one bucket."""
    rnd = random.Random(7)
    keys = [rnd.randbytes(rnd.randrange(1, 30)) for _ in range(2000)]
    base = Versioned(bucket_entries_max)
    base.apply({k: rnd.randbytes(rnd.randrange(0, 20)) for k in keys[:600]})
    for version_round in range(6):
        present = list(base.models[base.version])  # type: ignore[index]
        batch: dict[bytes, bytes | None] = {k: rnd.randbytes(4) for k in rnd.sample(present, 150)}
        batch.update({k: base.models[base.version][k] for k in rnd.sample(present, 20)})  # type: ignore[index]
        fresh = keys[600 + 200 * version_round : 700 + 200 * version_round]
        batch.update({k: rnd.randbytes(6) for k in fresh})
        assert all(value is not None for value in batch.values())
        lean = base.tree.apply(base.version, base.version + 1, batch)  # type: ignore[operator]
        general = base.tree.apply(base.version, base.version + 1, {**batch, b"absent-key": None})  # type: ignore[operator]
        assert lean.root_hash == general.root_hash
        assert lean.new_nodes == general.new_nodes
        assert sorted(lean.stale_node_keys) == sorted(general.stale_node_keys)
        assert lean.decoded == general.decoded
        assert base.apply(batch) == lean.root_hash
    check_version(base, base.version)  # type: ignore[arg-type]


@pytest.mark.parametrize("bucket_entries_max", [1, SMALL_BUCKET, BUCKET_ENTRIES_MAX])
def test_a_large_tree_matches_many_small_batches(bucket_entries_max: int) -> None:
    rnd = random.Random(1)
    final = {rnd.randbytes(rnd.randrange(1, 40)): rnd.randbytes(rnd.randrange(0, 50)) for _ in range(3000)}
    one = built(final, bucket_entries_max)
    many = Versioned(bucket_entries_max)
    items = list(final.items())
    extra = [rnd.randbytes(8) for _ in range(500)]
    for start in range(0, len(items), 97):
        batch: dict[bytes, bytes | None] = dict(items[start : start + 97])
        batch.update((k, b"tmp") for k in extra[start // 97 :: 31])
        many.apply(batch)
    many.apply(dict.fromkeys(extra))
    assert many.root() == one.root()
    assert dict(many.tree.items(many.version)) == final  # type: ignore[arg-type]
    for key in list(final)[:200]:
        assert verify_state_proof(one.root(), key, final[key], one.tree.prove(0, key))
    # Deleting most keys collapses internal nodes back into buckets: same root as a fresh build.
    survivors = dict(list(final.items())[:40])
    many.apply(dict.fromkeys(k for k in final if k not in survivors))
    assert many.root() == built(survivors, bucket_entries_max).root()
    check_version(many, many.version)  # type: ignore[arg-type]


# --- proofs -------------------------------------------------------------------------------------


def flip_bit(data: bytes, bit: int) -> bytes:
    i = bit // 8
    return data[:i] + bytes((data[i] ^ (1 << (bit % 8)),)) + data[i + 1 :]


def proof_variants(proof: StateProof) -> Iterator[tuple[str, StateProof]]:
    """Every proof that differs from ``proof`` in exactly one bit of one of its byte fields."""
    for d, level in enumerate(proof.levels):
        for s, h in enumerate(level):
            for bit in range(len(h) * 8):
                levels = [list(x) for x in proof.levels]
                levels[d][s] = flip_bit(h, bit)
                yield f"level {d} slot {s} bit {bit}", StateProof(levels, proof.bucket)
    for e, entry in enumerate(proof.bucket):
        for bit in range(len(entry) * 8):
            bucket = list(proof.bucket)
            bucket[e] = flip_bit(entry, bit)
            yield f"bucket entry {e} bit {bit}", StateProof(proof.levels, bucket)


def proof_bit_count(proof: StateProof) -> int:
    return 8 * (sum(len(h) for level in proof.levels for h in level) + sum(len(e) for e in proof.bucket))


def proof_with_bit_flipped(proof: StateProof, bit: int) -> StateProof:
    for level_index, level in enumerate(proof.levels):
        for slot, h in enumerate(level):
            if bit < len(h) * 8:
                levels = [list(x) for x in proof.levels]
                levels[level_index][slot] = flip_bit(h, bit)
                return StateProof(levels, proof.bucket)
            bit -= len(h) * 8
    for e, entry in enumerate(proof.bucket):
        if bit < len(entry) * 8:
            bucket = list(proof.bucket)
            bucket[e] = flip_bit(entry, bit)
            return StateProof(proof.levels, bucket)
        bit -= len(entry) * 8
    raise AssertionError("bit out of range")


@PROPERTY
@given(mapping=mappings_st, absent=st.lists(keys_st, max_size=8))
def test_inclusion_and_exclusion_proofs_verify(mapping: dict[bytes, bytes], absent: list[bytes]) -> None:
    v = built(mapping)
    root = v.root()
    for key, value in mapping.items():
        proof = v.tree.prove(0, key)
        assert verify_state_proof(root, key, value, proof)
        assert not verify_state_proof(root, key, None, proof)
        assert not verify_state_proof(root, key, value + b"x", proof)
    for key in absent:
        if key in mapping:
            continue
        proof = v.tree.prove(0, key)
        assert verify_state_proof(root, key, None, proof)
        assert not verify_state_proof(root, key, b"", proof)
        assert not verify_state_proof(root, key, b"x", proof)


@PROPERTY
@given(mapping=nonempty_mappings_st, absent=keys_st, data=st.data())
def test_proofs_verify_as_the_api_sends_them_canonical_bytes(
    mapping: dict[bytes, bytes], absent: bytes, data: st.DataObject
) -> None:
    """A light client gets a proof as bytes (``codec.encode(StateProof)``) and checks those; bytes
    that are not a canonical proof, or a flipped bit, prove nothing and never raise."""
    v = built(mapping)
    root = v.root()
    key = data.draw(st.sampled_from(sorted(mapping)), label="key")
    for k, value in ((key, mapping[key]), (absent, mapping.get(absent))):
        raw = codec.encode(v.tree.prove(0, k))
        assert verify_state_proof(root, k, value, raw)
        assert not verify_state_proof(root, k, b"other", raw) or value == b"other"
        bit = data.draw(st.integers(0, len(raw) * 8 - 1), label="bit")
        assert verify_state_proof(root, k, value, flip_bit(raw, bit)) is False
        assert verify_state_proof(root, k, value, raw + b"\x00") is False  # trailing bytes
    assert verify_state_proof(root, key, mapping[key], b"") is False


def test_exclusion_in_the_empty_tree_and_a_one_key_tree() -> None:
    empty = built({})
    assert empty.root() == EMPTY_ROOT
    proof = empty.tree.prove(0, b"k")
    assert proof == StateProof(levels=[], bucket=[])
    assert verify_state_proof(EMPTY_ROOT, b"k", None, proof)
    assert not verify_state_proof(EMPTY_ROOT, b"k", b"", proof)
    assert not verify_state_proof(flip_bit(EMPTY_ROOT, 0), b"k", None, proof)

    one = built({b"only": b"value"})
    root = one.root()
    inclusion = one.tree.prove(0, b"only")
    assert inclusion.levels == []
    assert verify_state_proof(root, b"only", b"value", inclusion)
    for other in (b"k", b"other", b"onlx"):
        exclusion = one.tree.prove(0, other)
        assert exclusion.levels == []
        assert exclusion.bucket == [key_hash_of(b"only") + value_hash_of(b"value")]
        assert verify_state_proof(root, other, None, exclusion)
        assert not verify_state_proof(root, other, b"value", exclusion)
        # The empty-slot form of exclusion proves nothing against a non-empty root.
        assert not verify_state_proof(root, other, None, StateProof([], []))


def deep_tree(bucket_entries_max: int) -> tuple[Versioned, bytes, bytes, bytes]:
    """A 2,000-key tree and three keys with proofs of at least three levels: ``present`` (an
    inclusion proof), ``absent_on_leaf`` (exclusion by a bucket of other keys on the path) and
    ``absent_in_slot`` (exclusion by an empty slot)."""
    rnd = random.Random(5)
    mapping = {rnd.randbytes(8): rnd.randbytes(4) for _ in range(2000)}
    v = built(mapping, bucket_entries_max)
    present = max(mapping, key=lambda k: len(v.tree.prove(0, k).levels))
    absent_on_leaf = absent_in_slot = None
    i = 0
    while absent_on_leaf is None or absent_in_slot is None:
        candidate = i.to_bytes(4, "big")
        i += 1
        proof = v.tree.prove(0, candidate)
        if candidate in mapping or len(proof.levels) < 3:
            continue
        if proof.bucket and absent_on_leaf is None:
            absent_on_leaf = candidate
        elif not proof.bucket and absent_in_slot is None:
            absent_in_slot = candidate
    return v, present, absent_on_leaf, absent_in_slot


@pytest.mark.parametrize("bucket_entries_max", [1, SMALL_BUCKET])
def test_every_single_bit_flip_of_a_deep_proof_fails(bucket_entries_max: int) -> None:
    v, present, absent_on_leaf, absent_in_slot = deep_tree(bucket_entries_max)
    root = v.root()
    value = v.models[0][present]
    cases = [
        (present, value, v.tree.prove(0, present)),
        (absent_on_leaf, None, v.tree.prove(0, absent_on_leaf)),
        (absent_in_slot, None, v.tree.prove(0, absent_in_slot)),
    ]
    assert len(cases[0][2].levels) >= 4
    on_leaf = cases[1][2].bucket  # a bucket of other keys
    assert on_leaf and all(e[:32] != key_hash_of(absent_on_leaf) for e in on_leaf)
    assert cases[2][2].bucket == []  # an empty slot
    for key, val, proof in cases:
        assert verify_state_proof(root, key, val, proof)
        checked = 0
        for where, bad in proof_variants(proof):
            assert not verify_state_proof(root, key, val, bad), f"{key!r}: flipped {where} still verifies"
            checked += 1
        assert checked == proof_bit_count(proof)
        for bit in range(256):
            assert not verify_state_proof(flip_bit(root, bit), key, val, proof)
    for bit in range(len(value) * 8):
        assert not verify_state_proof(root, present, flip_bit(value, bit), cases[0][2])


@PROPERTY
@given(mapping=nonempty_mappings_st, data=st.data())
def test_a_random_bit_flip_anywhere_fails(mapping: dict[bytes, bytes], data: st.DataObject) -> None:
    v = built(mapping)
    root = v.root()
    key = data.draw(st.sampled_from(sorted(mapping)) | keys_st, label="key")
    value = mapping.get(key)
    proof = v.tree.prove(0, key)
    assert verify_state_proof(root, key, value, proof)
    part = data.draw(st.sampled_from(["proof", "root", "value"]), label="part")
    if part == "proof" and proof_bit_count(proof):
        bit = data.draw(st.integers(0, proof_bit_count(proof) - 1), label="bit")
        assert not verify_state_proof(root, key, value, proof_with_bit_flipped(proof, bit))
    elif part == "root":
        bit = data.draw(st.integers(0, 255), label="bit")
        assert not verify_state_proof(flip_bit(root, bit), key, value, proof)
    elif value:
        bit = data.draw(st.integers(0, len(value) * 8 - 1), label="bit")
        assert not verify_state_proof(root, key, flip_bit(value, bit), proof)


@PROPERTY
@given(mapping=nonempty_mappings_st, others=st.lists(keys_st, max_size=6))
def test_a_proof_verifies_only_what_the_tree_holds(mapping: dict[bytes, bytes], others: list[bytes]) -> None:
    """Soundness: whichever key a proof was made for, it verifies (root, k, v) only when the tree
    maps k to v (or v is None and k is absent). A proof shows one whole bucket, so it also proves
    the other entries of that bucket, but never a value of another key that it does not list."""
    v = built(mapping)
    root = v.root()
    keys = sorted(set(mapping) | set(others))
    values = sorted(set(mapping.values()) | {b"", b"other"})
    proofs = {k: v.tree.prove(0, k) for k in keys}
    for made_for, proof in proofs.items():
        for key in keys:
            for candidate in [None, *values]:
                ok = verify_state_proof(root, key, candidate, proof)
                if ok:
                    assert mapping.get(key) == candidate, (made_for, key, candidate)
                if key != made_for and candidate is not None and ok:
                    shown = key_hash_of(key) + value_hash_of(candidate)
                    assert shown in proof.bucket, (
                        f"the proof of {made_for!r} verifies {key!r} = {candidate!r}"
                    )


hash_like = st.one_of(
    st.binary(min_size=32, max_size=32), st.binary(max_size=40), st.just(b""), st.just(EMPTY_CHILD)
)
entry_like = st.binary(min_size=64, max_size=64) | hash_like
# Deep proofs repeat a few drawn levels (drawing 64 distinct levels would exceed hypothesis' buffer).
levels_st = st.lists(st.lists(hash_like, min_size=0, max_size=18), max_size=12) | st.builds(
    lambda pattern, depth: [list(pattern[i % len(pattern)]) for i in range(depth)],
    st.lists(st.lists(hash_like, min_size=16, max_size=16), min_size=1, max_size=3),
    st.integers(NIBBLES_MAX - 1, NIBBLES_MAX + 3),
)


@settings(max_examples=200, deadline=None)
@given(
    levels=levels_st,
    bucket=st.lists(entry_like, max_size=4),
    key=keys_st,
    value=st.none() | values_st,
    root=hash_like,
)
def test_garbage_proofs_return_false_and_never_raise(
    levels: list[list[bytes]],
    bucket: list[bytes],
    key: bytes,
    value: bytes | None,
    root: bytes,
) -> None:
    proof = StateProof(levels=levels, bucket=bucket)
    assert verify_state_proof(root, key, value, proof) is False
    assert verify_state_proof(EMPTY_ROOT, key, value, proof) is (
        value is None and levels == [] and bucket == []
    )


@PROPERTY
@given(mapping=nonempty_mappings_st, data=st.data())
def test_mangled_real_proofs_return_false_and_never_raise(
    mapping: dict[bytes, bytes], data: st.DataObject
) -> None:
    v = built(mapping)
    root = v.root()
    key = data.draw(st.sampled_from(sorted(mapping)) | keys_st, label="key")
    value = mapping.get(key)
    proof = v.tree.prove(0, key)
    levels = [list(level) for level in proof.levels]
    how = data.draw(
        st.sampled_from(
            [
                "extra level",
                "drop level",
                "short level",
                "long level",
                "short hash",
                "fill on-path slot",
                "blank a slot",
                "many levels",
                "short bucket entry",
                "drop bucket entry",
                "duplicate bucket entry",
                "reverse bucket",
            ]
        ),
        label="how",
    )
    bucket = list(proof.bucket)
    if how == "extra level":
        levels.insert(data.draw(st.integers(0, len(levels))), [EMPTY_CHILD] * 15 + [b""])
    elif how == "drop level" and levels:
        del levels[data.draw(st.integers(0, len(levels) - 1))]
    elif how in ("short level", "long level", "short hash", "fill on-path slot", "blank a slot") and levels:
        level = levels[data.draw(st.integers(0, len(levels) - 1))]
        if how == "short level":
            level.pop()
        elif how == "long level":
            level.append(EMPTY_CHILD)
        elif how == "short hash":
            i = next(i for i, h in enumerate(level) if h)
            level[i] = level[i][:-1]
        elif how == "fill on-path slot":
            level[level.index(b"")] = EMPTY_CHILD
        else:
            level[next(i for i, h in enumerate(level) if h)] = b""
    elif how == "many levels":
        levels = levels + [[EMPTY_CHILD] * 16] * (NIBBLES_MAX + 1)
    elif how == "short bucket entry" and bucket:
        i = data.draw(st.integers(0, len(bucket) - 1))
        bucket[i] = bucket[i][:63]
    elif how == "drop bucket entry" and bucket:
        del bucket[data.draw(st.integers(0, len(bucket) - 1))]
    elif how == "duplicate bucket entry" and bucket:
        i = data.draw(st.integers(0, len(bucket) - 1))
        bucket.insert(i, bucket[i])
    elif how == "reverse bucket" and len(bucket) > 1:
        bucket.reverse()
    else:
        return  # the mangling does not apply to this proof shape
    mangled = StateProof(levels=levels, bucket=bucket)
    assert verify_state_proof(root, key, value, mangled) is False


# --- versions and pruning ---------------------------------------------------------------------


def random_versions(rnd: random.Random, count: int) -> Versioned:
    v = Versioned()
    pool = [rnd.randbytes(rnd.randrange(1, 5)) for _ in range(60)]
    for _ in range(count):
        batch: dict[bytes, bytes | None] = {}
        for _ in range(rnd.randrange(0, 15)):
            key = rnd.choice(pool)
            batch[key] = None if rnd.random() < 0.35 else rnd.randbytes(rnd.randrange(0, 4))
        v.apply(batch)
    return v


@FEW
@given(rnd=st.randoms(use_true_random=False), count=st.integers(2, 14), data=st.data())
def test_versions_read_and_prune_correctly(rnd: random.Random, count: int, data: st.DataObject) -> None:
    v = random_versions(rnd, count)
    last = count - 1
    for version in range(count):
        check_version(v, version)
    with pytest.raises(NotFound):
        v.tree.root_hash(count)

    # Prune in one or two steps; after each, exactly the versions below the oldest are gone.
    steps = sorted(data.draw(st.lists(st.integers(1, last), min_size=1, max_size=2), label="prune at"))
    for oldest in steps:
        v.store.prune(oldest)
        for version in range(oldest):
            with pytest.raises(VersionPruned):
                v.tree.root_hash(version)
            with pytest.raises(VersionPruned):
                v.tree.get(version, b"k")
            with pytest.raises(VersionPruned):
                list(v.tree.items(version))
            with pytest.raises(VersionPruned):
                v.tree.prove(version, b"k")
        # A fresh tree (no decoded-node cache) proves that the nodes are really still stored.
        fresh = StateTree(v.store)
        for version in range(oldest, count):
            check_version(v, version)
            assert dict(fresh.items(version)) == v.models[version]
        # The store keeps exactly the nodes some kept version reaches: no early deletes, no leaks.
        reachable: set[bytes] = set()
        for version in range(oldest, count):
            reachable.update(reachable_node_keys(fresh, v.store, version))
        assert set(v.store.nodes) == reachable

    # The tree keeps working on top of a pruned store.
    v.apply({b"after-prune": b"1"})
    check_version(v, v.version)  # type: ignore[arg-type]


def test_unpruned_store_keeps_exactly_the_nodes_of_all_versions() -> None:
    v = random_versions(random.Random(3), 30)
    reachable: set[bytes] = set()
    for version in range(30):
        reachable.update(reachable_node_keys(v.tree, v.store, version))
    assert set(v.store.nodes) == reachable
    # Every stale node key was written by an earlier version and is reachable from the one before.
    for version, stale in v.store.stale.items():
        before = set(reachable_node_keys(v.tree, v.store, version - 1)) if version else set()
        after = set(reachable_node_keys(v.tree, v.store, version))
        assert set(stale) == before - after, f"version {version}"


def test_the_cache_keeps_the_latest_version_not_the_superseded_ones() -> None:
    v = random_versions(random.Random(5), 25)
    latest = set(reachable_node_keys(StateTree(v.store), v.store, 24))
    assert set(v.tree._cache) == latest  # every stale node left the cache when it went stale
    for version in range(25):  # older versions load their nodes from the store again
        check_version(v, version)
    assert latest < set(v.tree._cache)


def test_prune_everything_but_the_last_version() -> None:
    v = random_versions(random.Random(11), 20)
    v.store.prune(19)
    check_version(v, 19)
    assert set(v.store.nodes) == set(reachable_node_keys(v.tree, v.store, 19))


def test_keys_on_a_long_shared_path() -> None:
    """Keys whose hashes share many nibbles build a chain of internal nodes; deleting one of them
    collapses the chain back to a single bucket at the top."""
    target = key_hash_of(b"base")
    partner = None
    for i in range(200_000):
        candidate = i.to_bytes(4, "big")
        kh = key_hash_of(candidate)
        if kh[:2] == target[:2]:
            partner = candidate
            break
    assert partner is not None
    shared = 0
    while nibble(key_hash_of(partner), shared) == nibble(target, shared):
        shared += 1
    v = Versioned(1)  # one-entry buckets: two keys need internal nodes down to where they part
    v.apply({b"base": b"1", partner: b"2"})
    proof = v.tree.prove(0, b"base")
    assert len(proof.levels) == shared + 1
    check_version(v, 0)
    single_root = built({b"base": b"1"}, 1).root()
    assert v.apply({partner: None}) == single_root
    assert v.tree.prove(1, b"base").levels == []
    check_version(v, 1)


def pinned_data() -> dict[bytes, bytes]:
    """The ~500 pairs both golden roots below are over."""
    rnd = random.Random(2026)
    return {rnd.randbytes(rnd.randrange(1, 12)): rnd.randbytes(rnd.randrange(0, 9)) for _ in range(500)}


# The root of pinned_data() in the chain's layout (buckets of up to BUCKET_ENTRIES_MAX = 32). It
# was computed once from the pure-Python reference (compiled=False) when the layout had been in use
# for a while, then pinned: the differential tests (test_tree_core.py) only hold the compiled and
# Python paths to each other, so a change to both at once shows only here.
CHAIN_LAYOUT_ROOT_HEX = "f8984d1731d75c7d58e8f79d3629adac10b1a4017d2b1aeedc2b7e870db4ff2f"


def test_one_entry_buckets_give_the_plain_jellyfish_roots() -> None:
    """With one-entry buckets the shape and hashes are those of the plain Jellyfish layout (a
    one-entry bucket hashes as a leaf): the root below was computed by that layout's own
    implementation, before buckets replaced it (docs/decisions/002-state-tree-layout.md)."""
    data = pinned_data()
    v = built(data, 1)
    assert v.root().hex() == "5cfcdacba6a2095584ffda896eeff16c409692e0eb48a04a3022aacb58d3b3d2"
    assert built(data, BUCKET_ENTRIES_MAX).root() != v.root()  # the bucket bound is part of the shape


def in_batches(data: Mapping[bytes, bytes], batches: int, *, compiled: bool | None) -> bytes:
    """The root after ``data`` goes in as ``batches`` successive versions; every batch after the
    first adds keys without deleting any, so it takes the compiled path when ``compiled`` allows."""
    store = MemoryNodeStore()
    tree = StateTree(store, bucket_entries_max=BUCKET_ENTRIES_MAX, compiled=compiled)
    items = list(data.items())
    version: int | None = None
    for i in range(batches):
        update = tree.apply(version, i, dict(items[i::batches]))
        store.persist(update)
        tree.committed(update)
        version = i
    assert version is not None
    return tree.root_hash(version)


def test_the_chain_bucket_layout_gives_its_pinned_root() -> None:
    data = pinned_data()
    buckets = [n for n in built(data, BUCKET_ENTRIES_MAX).tree._cache.values() if isinstance(n, Bucket)]
    assert max(len(b.joined) // 64 for b in buckets) == BUCKET_ENTRIES_MAX  # full buckets occur
    assert built(data, BUCKET_ENTRIES_MAX).root().hex() == CHAIN_LAYOUT_ROOT_HEX  # one batch: general path
    assert in_batches(data, 10, compiled=False).hex() == CHAIN_LAYOUT_ROOT_HEX
    # The default path a node runs: compiled when built (test_tree_core.py checks each build too).
    assert in_batches(data, 10, compiled=None).hex() == CHAIN_LAYOUT_ROOT_HEX
