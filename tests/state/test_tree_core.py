"""The compiled lean update path (``_treecore``) against the pure-Python reference.

Two trees over two memory stores take the same batches of updates, one with ``compiled=True`` and
one with ``compiled=False``; every ``TreeUpdate`` must be identical: root, new node keys and bytes,
decoded nodes, stale node keys (in order). Batches without deletions take the lean path (compiled
on one side); batches with deletions take the general path on both, which keeps the two trees'
stores alike for the next batch. Small buckets make splits, fresh slots and deep trees common;
a tiny node cache makes the compiled path load nodes through the Python loader.

Each comparison runs twice, once per build of the C source (the ``core`` fixture): the installed
module (the OpenSSL build wherever OpenSSL's headers are) and the build without OpenSSL, hashing
through hashlib, which ``treecore_build.py`` compiles into a temporary directory for this run.

The compiled module is part of the build (``pip install -e .`` compiles it). A missing module
fails here; only an explicit ``ALLIANCE_TREE_CORE=python`` skips these tests, and never in CI.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_tree_properties import CHAIN_LAYOUT_ROOT_HEX, pinned_data
from treecore_build import build_hashlib_core

from alliance.errors import InvariantViolation, UsageError
from alliance.state import tree as tree_module
from alliance.state.memory import MemoryNodeStore
from alliance.state.tree import (
    BUCKET_ENTRIES_MAX,
    StateTree,
    TreeUpdate,
    encode_node,
    key_hash_of,
    verify_state_proof,
)

# A developer may turn the core off; CI may not, so there the switch fails these tests (the core is
# "not available") rather than skipping them. tests/state/test_tree_core_switch.py checks both.
IN_CI = os.environ.get("CI", "").lower() not in {"", "0", "false"}
pytestmark = pytest.mark.skipif(
    os.environ.get("ALLIANCE_TREE_CORE", "") == "python" and not IN_CI,
    reason="compiled tree core turned off by ALLIANCE_TREE_CORE=python (never skipped in CI)",
)

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_compiled_core_is_built() -> None:
    assert tree_module.TREE_CORE == "c", tree_module._CORE_MISSING


@pytest.fixture(scope="module")
def hashlib_core(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return build_hashlib_core(tmp_path_factory.mktemp("treecore-hashlib"))


@pytest.fixture(scope="module", params=["installed", "hashlib"])
def core(request: pytest.FixtureRequest) -> ModuleType:
    """One build of the compiled core: the installed module, or the build without OpenSSL."""
    if request.param == "hashlib":
        built: ModuleType = request.getfixturevalue("hashlib_core")
        return built
    assert tree_module._CORE is not None, tree_module._CORE_MISSING
    return tree_module._CORE


def test_the_second_build_hashes_through_hashlib(hashlib_core: ModuleType) -> None:
    assert hashlib_core.OPENSSL is False
    assert hashlib_core is not tree_module._CORE
    with pytest.raises(RuntimeError, match="configured once"):
        tree_module.configure_core(hashlib_core)


def test_the_tree_core_in_use_is_named() -> None:
    core = tree_module._CORE
    assert core is not None
    expected = "compiled (openssl)" if core.OPENSSL else "compiled (hashlib)"
    assert tree_module.tree_core_in_use() == tree_module.tree_core_in_use(with_reason=True) == expected


def test_the_python_path_is_named_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree_module, "_CORE", None)
    monkeypatch.setattr(tree_module, "_CORE_MISSING", "not built (no compiler)")
    assert tree_module.tree_core_in_use() == "python"
    assert tree_module.tree_core_in_use(with_reason=True) == "python (not built (no compiler))"


class Pair:
    """The same history applied to a compiled tree (on the given build of the core) and a
    pure-Python one."""

    def __init__(self, core: ModuleType, bucket_entries_max: int, cache_nodes_max: int = 1_000_000) -> None:
        self.stores = (MemoryNodeStore(), MemoryNodeStore())
        self.trees = (
            StateTree(self.stores[0], cache_nodes_max, bucket_entries_max, compiled=True),
            StateTree(self.stores[1], cache_nodes_max, bucket_entries_max, compiled=False),
        )
        self.trees[0]._core = core
        self.version: int | None = None
        self.model: dict[bytes, bytes] = {}

    def apply(self, updates: Mapping[bytes, bytes | None]) -> TreeUpdate:
        version = 1 if self.version is None else self.version + 1
        results = [tree.apply(self.version, version, updates) for tree in self.trees]
        compiled, reference = results
        assert compiled.root_hash == reference.root_hash
        assert compiled.root == reference.root
        assert compiled.new_nodes == reference.new_nodes
        assert compiled.stale_node_keys == reference.stale_node_keys
        assert list(compiled.decoded) == list(reference.decoded)
        for key, node in compiled.decoded.items():
            assert node == reference.decoded[key]
            assert encode_node(node) == dict(compiled.new_nodes)[key]
        # Both paths drop what they replace from the cache as they go (``_Apply.retire``), so
        # ``committed`` only adds the new nodes.
        for tree in self.trees:
            assert not set(compiled.stale_node_keys) & set(tree._cache)
        for store, tree, update in zip(self.stores, self.trees, results, strict=True):
            store.persist(update)
            tree.committed(update)
        self.version = version
        for key, value in updates.items():
            if value is None:
                self.model.pop(key, None)
            else:
                self.model[key] = value
        return compiled


keys_st = st.binary(min_size=1, max_size=5)
values_st = st.binary(max_size=10)
batch_st = st.dictionaries(keys_st, st.one_of(values_st, st.none()), min_size=1, max_size=30)


@PROPERTY
@given(
    bucket=st.sampled_from([1, 2, 3, 32]),
    start=st.dictionaries(keys_st, values_st, min_size=1, max_size=60),
    batches=st.lists(batch_st, min_size=1, max_size=6),
    no_deletions=st.booleans(),
)
def test_compiled_and_python_trees_write_the_same_nodes(
    core: ModuleType,
    bucket: int,
    start: dict[bytes, bytes],
    batches: list[dict[bytes, bytes | None]],
    no_deletions: bool,
) -> None:
    pair = Pair(core, bucket)
    pair.apply(dict(start))
    for batch in batches:
        if no_deletions:
            update = pair.apply({k: (v if v is not None else b"x" + k) for k, v in batch.items()})
        else:
            update = pair.apply(batch)
    root = update.root_hash
    for key, value in pair.model.items():
        proof = pair.trees[0].prove(pair.version or 0, key)
        assert verify_state_proof(root, key, value, proof)
        assert pair.trees[0].get(pair.version or 0, key) == value


def test_large_random_batches_agree_with_chain_buckets(core: ModuleType) -> None:
    rng = random.Random(7)
    pair = Pair(core, BUCKET_ENTRIES_MAX)
    keys = [rng.randbytes(21) for _ in range(5_000)]
    pair.apply({k: rng.randbytes(40) for k in keys})
    for _ in range(4):
        batch: dict[bytes, bytes | None] = {rng.choice(keys): rng.randbytes(40) for _ in range(800)}
        fresh = [rng.randbytes(21) for _ in range(200)]  # new keys: fresh slots and splits
        keys += fresh
        batch.update({k: rng.randbytes(40) for k in fresh})
        pair.apply(batch)
    unchanged = {k: pair.model[k] for k in keys[:50]}  # the same values again: nothing changes
    update = pair.apply(dict(unchanged))
    assert update.new_nodes == []
    assert update.stale_node_keys == []


def test_the_pinned_chain_layout_root_comes_out_of_the_compiled_path(core: ModuleType) -> None:
    """The golden root of test_tree_properties.py, with nine of the ten batches on the lean path."""
    items = list(pinned_data().items())
    pair = Pair(core, BUCKET_ENTRIES_MAX)
    roots = [pair.apply(dict(items[i::10])).root_hash for i in range(10)]
    assert roots[-1].hex() == CHAIN_LAYOUT_ROOT_HEX


def test_value_and_key_lengths_at_every_msgpack_header_boundary_agree(core: ModuleType) -> None:
    rng = random.Random(5)
    pair = Pair(core, BUCKET_ENTRIES_MAX)
    keys = [rng.randbytes(21) for _ in range(300)]
    pair.apply(dict.fromkeys(keys, b"v"))
    sizes = [0, 1, 254, 255, 256, 65_535, 65_536, 70_000]
    for size in sizes:  # one value of each size into a bucket of ~20 entries (array16 header)
        pair.apply({keys[size % 300]: rng.randbytes(size), keys[(size + 1) % 300]: b"w" * (size % 7)})
    long_keys = {rng.randbytes(n): rng.randbytes(3) for n in (200, 255, 256)}
    pair.apply(long_keys)
    assert all(pair.trees[0].get(pair.version or 0, k) == v for k, v in pair.model.items())


def test_a_tiny_cache_makes_the_compiled_path_load_through_python(core: ModuleType) -> None:
    rng = random.Random(3)
    pair = Pair(core, 4, cache_nodes_max=8)
    keys = [rng.randbytes(8) for _ in range(400)]
    pair.apply({k: rng.randbytes(16) for k in keys})
    for _ in range(5):
        pair.apply({rng.choice(keys): rng.randbytes(16) for _ in range(60)})


def test_the_compiled_entry_point_rejects_malformed_items_with_typed_errors(core: ModuleType) -> None:
    pair = Pair(core, 2)
    pair.apply({bytes([i]): b"v" for i in range(20)})
    tree = pair.trees[0]
    ref = tree.root_ref(1)
    assert ref is not None
    old = (ref.hash, ref.version, ref.count, ref.is_bucket)
    job = tree_module._Apply(tree, 2)
    kh = key_hash_of(b"k")
    with pytest.raises(TypeError):
        core.internal_growing(job, tree._cache, old, 0, [(kh, kh.hex(), b"k", None)], 0, 1)
    with pytest.raises(TypeError):
        core.internal_growing(job, tree._cache, old, 0, [(kh[:5], "", b"k", b"v")], 0, 1)
    with pytest.raises(ValueError, match="sorted"):
        core.internal_growing(job, tree._cache, old, 0, [(kh, "", b"k", b"v")] * 2, 0, 2)
    with pytest.raises(ValueError):
        core.internal_growing(job, tree._cache, old, 0, [(kh, "", b"k", b"v")], 0, 5)
    assert job.new_nodes == [] and job.stale == []


@PROPERTY
@given(updates=st.dictionaries(keys_st, st.one_of(values_st, st.none()), max_size=50))
def test_sorted_items_match_the_python_loop(core: ModuleType, updates: dict[bytes, bytes | None]) -> None:
    expected = sorted((key_hash_of(k), key_hash_of(k).hex(), k, v) for k, v in updates.items())
    assert expected == tree_module._sorted_items(updates)
    assert core.sorted_items(updates, 256, 1024) == expected


def test_sorted_items_leave_out_of_bounds_updates_to_the_python_loop(core: ModuleType) -> None:
    assert core.sorted_items({b"": b"v"}, 256, 1024) is None
    assert core.sorted_items({b"k" * 257: b"v"}, 256, 1024) is None
    assert core.sorted_items({b"k": b"v" * 1025}, 256, 1024) is None
    assert core.sorted_items({b"k": "text"}, 256, 1024) is None
    for compiled in (True, False):
        tree = StateTree(MemoryNodeStore(), compiled=compiled)
        with pytest.raises(InvariantViolation, match="state key of 257 bytes"):
            tree.apply(None, 1, {b"k" * 257: b"v"})


def test_byte_like_values_that_are_not_bytes_stay_on_the_python_path(core: ModuleType) -> None:
    pair = Pair(core, 2)
    pair.apply({bytes([i]): b"v" for i in range(20)})
    results = [tree.apply(1, 2, {b"\x03": bytearray(b"new")}) for tree in pair.trees]  # type: ignore[dict-item]
    assert results[0].root_hash == results[1].root_hash
    assert results[0].new_nodes == results[1].new_nodes


def test_the_compiled_core_is_configured_once() -> None:
    core = tree_module._CORE
    assert core is not None
    with pytest.raises(RuntimeError, match="configured once"):
        core.configure(object, object, object(), None, None, None, b"", b"", b"")


def test_a_loader_that_empties_the_items_list_cannot_upset_the_compiled_path(core: ModuleType) -> None:
    class Meddling(tree_module._Apply):
        """Clears the caller's items list at every node load (the compiled path works on its own
        snapshot of the items, so the result must not change)."""

        items: list[tuple[bytes, str, bytes, bytes | None]] = []

        def load_bucket(self, key: bytes) -> tree_module.Bucket:
            self.items.clear()
            return super().load_bucket(key)

        def load_internal(self, key: bytes) -> tree_module.Internal:
            self.items.clear()
            return super().load_internal(key)

    rng = random.Random(11)
    pair = Pair(core, 2, cache_nodes_max=1)  # nothing stays cached: every load goes through Python
    keys = [rng.randbytes(6) for _ in range(200)]
    pair.apply(dict.fromkeys(keys, b"v"))
    updates = {k: rng.randbytes(9) for k in keys[:40]}
    expected = pair.trees[1].apply(1, 2, updates)
    tree = pair.trees[0]
    items = tree_module._sorted_items(updates)
    job = Meddling(tree, 2)
    Meddling.items = items
    ref = tree.root_ref(1)
    assert ref is not None
    result = core.internal_growing(
        job, tree._cache, (ref.hash, ref.version, ref.count, ref.is_bucket), 0, items, 0, len(items)
    )
    assert items == []
    assert result[0] == expected.root_hash
    assert sorted(job.new_nodes) == expected.new_nodes


def test_compiled_bucket_lookup_matches_the_python_one(core: ModuleType) -> None:
    rng = random.Random(13)
    pair = Pair(core, BUCKET_ENTRIES_MAX)
    keys = [rng.randbytes(21) for _ in range(3_000)]
    sizes = [0, 5, 40, 300]
    pair.apply({k: rng.randbytes(70_000 if i % 500 == 0 else rng.choice(sizes)) for i, k in enumerate(keys)})
    tree = pair.trees[0]
    buckets = [n for n in tree._cache.values() if isinstance(n, tree_module.Bucket)]
    assert len(buckets) > 50
    for bucket in buckets:
        pairs, _, values = bucket.parts()
        for entry, value in zip(pairs, values, strict=True):
            found = core.bucket_value(bucket.joined, bucket.encoded, entry[:32])
            assert found == bucket.value_of(entry[:32]) == bucket.value_of_reference(entry[:32]) == value
        absent = key_hash_of(rng.randbytes(9))
        assert core.bucket_value(bucket.joined, bucket.encoded, absent) is None
        assert bucket.value_of(absent) is None and bucket.value_of_reference(absent) is None
    bucket = buckets[0]
    kh = bucket.joined[:32]
    for broken in (bucket.encoded[:-1], b"B\x93" + bucket.encoded[2:], b"", b"B"):
        with pytest.raises(ValueError, match="malformed"):
            core.bucket_value(bucket.joined, broken, kh)
    with pytest.raises(ValueError):
        core.bucket_value(bucket.joined[:-1], bucket.encoded, kh)


def test_compiled_true_without_the_module_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree_module, "_CORE", None)
    with pytest.raises(UsageError, match="compiled state tree core"):
        StateTree(MemoryNodeStore(), compiled=True)
    assert StateTree(MemoryNodeStore())._core is None
