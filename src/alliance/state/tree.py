"""A versioned 16-ary Merkle tree over the whole state whose bottom nodes are buckets of leaves.

Theory of operation
-------------------
Keys are placed by ``key_hash = H(STATE_KEY, key)``, read as 64 nibbles. The tree has two node
kinds. A *bucket* holds every ``(key, value)`` pair of one subtree, sorted by key hash; an
*internal* node has 16 child slots. The shape is canonical: a subtree of at most
``bucket_entries_max`` keys (``BUCKET_ENTRIES_MAX`` on a chain) is one bucket at the highest slot
it can occupy, a larger one is an internal node, an empty one an empty slot. So the shape, and
the root hash, depend only on the set of ``(key, value)`` pairs, never on the order of updates.
(With ``bucket_entries_max=1`` this is the plain Jellyfish layout: one leaf per bucket.)

Hashes: ``bucket = H(STATE_LEAF, kh_1 || vh_1 || ... || kh_n || vh_n)`` in key-hash order with
``vh = H(STATE_LEAF, value)`` (a one-entry bucket hashes exactly as a Jellyfish leaf);
``internal = H(STATE_INNER, child_0 || ... || child_15)`` with 32 zero bytes for an empty slot; the
empty tree's root is ``H(STATE_INNER, "")``.

Why buckets: the cost of an update is Python work per rewritten node, not hashing. A block that
changes 10,000 random keys of 1M rewrote ~30,000 nodes with one leaf per key; with buckets of up
to 32 it rewrites ~9,300 buckets and ~4,000 internal nodes (~4,800 nodes in all at 100k keys), and
a bucket rewrite is a few C-level sequence and bytes operations (docs/decisions/002).

Decoded nodes are immutable msgspec structs declared ``gc=False`` that hold their content flat: a
bucket is its joined ``kh || vh`` entries plus its stored bytes, an internal node its stored bytes
(tuples are unpacked on demand). The cache holds hundreds of thousands of them (the latest
version's, and older ones' recently read); the cyclic garbage collector must not walk them, and an
update should touch a few contiguous strings per node, not dozens of small objects.

Updates without deletions (every block of transfers) take a compiled path when ``_treecore`` is
built (docs/decisions/007): the same rewrite in C, byte for byte the nodes of the Python methods
below, which stay the reference and the fallback.

Roots of versions, once read or committed, are remembered too (a stored root never changes;
whether a version is pruned is checked on every read).

Versions: every node is stored under a *node key* ``version (8 bytes, big endian) || path`` and is
never modified. Applying the updates of version v writes new nodes with prefix v and reports the
node keys they replaced as *stale since v*. Nodes of old versions stay readable until pruned, so
queries and proofs work at any version still kept, and the node keys of one version sort after
all earlier ones: the store appends them. Because node keys are immutable, decoded nodes are
cached without any invalidation.

A parent records, for each child, its hash, the version it was written at, its number of keys
and whether it is a bucket: everything needed to form the child's node key and to decide, after
an update, whether the subtree still needs an internal node. During an update a bucket is built
*floating* (not yet written) and carried up the recursion: if the parent's subtree shrinks to at
most ``bucket_entries_max`` keys, the parent collapses into one floating bucket holding all its
children's entries, and only the bucket that settles is written. A bucket that outgrows the bound
splits into an internal node over smaller buckets. An update without deletions (every block of
transfers) cannot shrink a subtree, so it takes a lean path that writes each child as soon as it
is rebuilt; a test holds it to writing exactly what the general path writes.

Proofs: the 16 child hashes of every internal node on the key's path (the on-path slot left
blank), then the ``kh || vh`` entries of the bucket found at the end of the path, or none (an empty
slot). The same shape proves inclusion (the key's entry is in the bucket with the value's hash)
and exclusion (an empty slot, or a bucket for the key's path that does not list the key: the
bucket at a path holds every key under it).
"""

from __future__ import annotations

import functools
import os
import struct
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Protocol

import msgspec

from alliance.codec import Struct, decode
from alliance.crypto.hashing import Domain, hash_domain, hasher_for
from alliance.errors import DecodeError, NotFound, UsageError, VersionPruned
from alliance.types import fail_invariant, invariant

EMPTY_CHILD = b"\x00" * 32
EMPTY_ROOT = hash_domain(Domain.STATE_INNER, b"")
VERSION_SIZE_BYTES = 8
NIBBLES_MAX = 64
STATE_KEY_SIZE_BYTES_MAX = 256
STATE_VALUE_SIZE_BYTES_MAX = 1024 * 1024
CACHE_NODES_MAX = 2_000_000
BUCKET_ENTRIES_MAX = 32  # a chain constant: it decides the shape, so the root hash
PROOF_BUCKET_ENTRIES_MAX = 1024  # the verifier's bound on a proof's bucket (work and size)

_TAG_BUCKET = 0x42  # "B"
_TAG_INTERNAL = 0x49  # "I"
_META = struct.Struct(">16Q16I")  # child versions, child key counts
_INTERNAL_SIZE_BYTES = 1 + 16 * 32 + _META.size + 2
_VERSIONS, _VERSIONS_AT = struct.Struct(">16Q"), 1 + 16 * 32
_COUNTS, _COUNTS_AT = struct.Struct(">16I"), _VERSIONS_AT + 16 * 8
_U64, _U32 = struct.Struct(">Q"), struct.Struct(">I")
_HASHES = struct.Struct("32s" * 16)  # an internal node's child hashes, in one call
_HEX = {c: int(c, 16) for c in "0123456789abcdef"}
_PAIR_SIZE_BYTES = 64
_VERSION_PACK = struct.Struct(">Q").pack
_ROOTS_CACHED_MAX = 256
_DEPTH_BYTE = [bytes((d,)) for d in range(NIBBLES_MAX + 1)]
_HIGH_NIBBLE = [bytes((b & 0xF0,)) for b in range(256)]
_bucket_payload = msgspec.msgpack.Decoder(tuple[tuple[bytes, ...], tuple[bytes, ...]])
_encode_payload = msgspec.msgpack.Encoder().encode


@functools.cache
def _pairs_struct(entries: int) -> struct.Struct:
    """Splits a bucket's joined entries in one call (one struct per bucket size met)."""
    return struct.Struct(f"{_PAIR_SIZE_BYTES}s" * entries)


def key_hash_of(key: bytes) -> bytes:
    return hash_domain(Domain.STATE_KEY, key)


_leaf_hasher = hasher_for(Domain.STATE_LEAF)
_inner_hasher = hasher_for(Domain.STATE_INNER)
_key_hasher = hasher_for(Domain.STATE_KEY)


def value_hash_of(value: bytes) -> bytes:
    h = _leaf_hasher.copy()
    h.update(value)
    return h.digest()


def bucket_hash_joined(joined: bytes) -> bytes:
    """Hash of a bucket from its sorted ``key_hash || value_hash`` entries, joined."""
    h = _leaf_hasher.copy()
    h.update(joined)
    return h.digest()


def bucket_hash(pairs: Sequence[bytes]) -> bytes:
    """Hash of a bucket from its sorted ``key_hash || value_hash`` entries."""
    return bucket_hash_joined(b"".join(pairs))


def internal_hash_joined(joined: bytes) -> bytes:
    h = _inner_hasher.copy()
    h.update(joined)
    return h.digest()


def internal_hash(child_hashes: list[bytes]) -> bytes:
    return internal_hash_joined(b"".join(child_hashes))


def nibble(key_hash: bytes, depth: int) -> int:
    byte = key_hash[depth >> 1]
    return (byte >> 4) if depth % 2 == 0 else (byte & 0x0F)


def encode_path(key_hash: bytes, depth: int) -> bytes:
    """The first ``depth`` nibbles of ``key_hash`` as ``count byte || packed nibbles``."""
    if depth % 2 == 0:
        return bytes((depth,)) + key_hash[: depth >> 1]
    i = depth >> 1
    return bytes((depth,)) + key_hash[:i] + bytes((key_hash[i] & 0xF0,))


def set_nibble(key_hash: bytes, depth: int, value: int) -> bytes:
    """``key_hash`` with nibble ``depth`` replaced by ``value`` (to name a sibling slot's path)."""
    i = depth >> 1
    old = key_hash[i]
    new = ((value << 4) | (old & 0x0F)) if depth % 2 == 0 else ((old & 0xF0) | value)
    return key_hash[:i] + bytes((new,)) + key_hash[i + 1 :]


def node_key(version: int, path: bytes) -> bytes:
    return version.to_bytes(VERSION_SIZE_BYTES, "big") + path


# --- nodes ----------------------------------------------------------------------------------------


class Bucket(msgspec.Struct, gc=False):
    """A bucket as two flat byte strings: ``joined``, its ``kh || vh`` entries (64 bytes each) in
    key-hash order, and ``encoded``, its stored form (``"B"`` + msgpack ``[[keys], [values]]``).

    Flat, because an update touches a bucket as a whole: hashing it reads ``joined``, writing it
    produces ``encoded``, and two contiguous strings cost a fraction of the memory traffic of ~3
    small objects per entry scattered over a heap of a million keys (docs/decisions/006). The
    entries as tuples (``parts``, ``pairs``) are rebuilt on demand, for proofs, walks and the
    general update path. Nodes are immutable and hold only bytes, so they are kept out of the cyclic
    garbage collector (``gc=False``): the tree caches hundreds of thousands of them.
    """

    joined: bytes
    encoded: bytes

    @classmethod
    def of(cls, pairs: Sequence[bytes], keys: Sequence[bytes], values: Sequence[bytes]) -> Bucket:
        """From sorted parallel ``kh || vh`` entries, keys and values."""
        return cls(b"".join(pairs), bytes((_TAG_BUCKET,)) + _encode_payload((tuple(keys), tuple(values))))

    @property
    def size(self) -> int:
        return len(self.joined) >> 6

    @property
    def pairs(self) -> tuple[bytes, ...]:
        joined = self.joined
        pairs: tuple[bytes, ...] = _pairs_struct(len(joined) >> 6).unpack(joined)
        return pairs

    def parts(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]]:
        """``(pairs, keys, values)``: the entries as sorted parallel tuples."""
        keys, values = _bucket_payload.decode(memoryview(self.encoded)[1:])
        return self.pairs, keys, values

    def find(self, kh: bytes) -> int:
        """The index of key hash ``kh`` among the entries, or -1: a binary search over ``joined``."""
        joined = self.joined
        lo, hi = 0, len(joined) >> 6
        while lo < hi:
            mid = (lo + hi) >> 1
            at = mid << 6
            if joined[at : at + 32] < kh:
                lo = mid + 1
            else:
                hi = mid
        at = lo << 6
        return lo if joined[at : at + 32] == kh else -1

    def value_of(self, kh: bytes) -> bytes | None:
        """The value under key hash ``kh``, or None: compiled when the tree core is built."""
        if _CORE is not None:
            value: bytes | None = _CORE.bucket_value(self.joined, self.encoded, kh)
            return value
        return self.value_of_reference(kh)

    def value_of_reference(self, kh: bytes) -> bytes | None:
        i = self.find(kh)
        return None if i < 0 else _bucket_payload.decode(memoryview(self.encoded)[1:])[1][i]

    @property
    def hash(self) -> bytes:
        return bucket_hash_joined(self.joined)

    def encode(self) -> bytes:
        return self.encoded


class Internal(msgspec.Struct, gc=False):
    """16 child slots (hash or EMPTY_CHILD, version, key count) and a bit mask of the children that
    are buckets, held flat in the stored form: ``"I" || 16 hashes || 16 x u64 versions || 16 x u32
    counts || u16 mask`` (``_INTERNAL_SIZE_BYTES``). Flat for the reason ``Bucket`` is; the slots
    as tuples are unpacked on demand. Untracked by the garbage collector, as ``Bucket``."""

    encoded: bytes

    @classmethod
    def of(
        cls, hashes: Sequence[bytes], versions: Sequence[int], counts: Sequence[int], mask: int
    ) -> Internal:
        meta = _META.pack(*versions, *counts)
        return cls(bytes((_TAG_INTERNAL,)) + b"".join(hashes) + meta + mask.to_bytes(2, "big"))

    @property
    def hashes(self) -> tuple[bytes, ...]:
        hashes: tuple[bytes, ...] = _HASHES.unpack_from(self.encoded, 1)
        return hashes

    @property
    def versions(self) -> tuple[int, ...]:
        return _VERSIONS.unpack_from(self.encoded, _VERSIONS_AT)

    @property
    def counts(self) -> tuple[int, ...]:
        return _COUNTS.unpack_from(self.encoded, _COUNTS_AT)

    @property
    def bucket_mask(self) -> int:
        return int.from_bytes(self.encoded[-2:], "big")

    def child(self, slot: int) -> ChildRef | None:
        data = self.encoded
        count: int = _U32.unpack_from(data, _COUNTS_AT + 4 * slot)[0]
        if not count:
            return None
        return ChildRef(
            data[1 + 32 * slot : 33 + 32 * slot],
            _U64.unpack_from(data, _VERSIONS_AT + 8 * slot)[0],
            count,
            bool(self.bucket_mask >> slot & 1),
        )

    @property
    def hash(self) -> bytes:
        h = _inner_hasher.copy()
        h.update(memoryview(self.encoded)[1:_VERSIONS_AT])
        return h.digest()

    def encode(self) -> bytes:
        return self.encoded


Node = Bucket | Internal


@dataclass(frozen=True, slots=True)
class ChildRef:
    """What a parent knows of a child: enough to hash it, find its node key and size it."""

    hash: bytes
    version: int
    count: int
    is_bucket: bool


def encode_node(node: Node) -> bytes:
    return node.encode()


def decode_node(data: bytes) -> Node:
    tag = data[0]
    if tag == _TAG_BUCKET:
        keys, values = _bucket_payload.decode(data[1:])
        invariant(len(keys) == len(values) and keys, "malformed state tree bucket")
        pairs = []
        for key, value in zip(keys, values, strict=True):
            h = _key_hasher.copy()
            h.update(key)
            pairs.append(h.digest() + value_hash_of(value))
        return Bucket(b"".join(pairs), bytes(data))
    invariant(tag == _TAG_INTERNAL and len(data) == _INTERNAL_SIZE_BYTES, "malformed state tree node")
    return Internal(bytes(data))


def encode_root(ref: ChildRef | None) -> bytes:
    if ref is None:
        return b""
    return (
        ref.hash
        + ref.version.to_bytes(8, "big")
        + ref.count.to_bytes(8, "big")
        + (b"\x01" if ref.is_bucket else b"\x00")
    )


def decode_root(data: bytes) -> ChildRef | None:
    if not data:
        return None
    return ChildRef(
        data[:32], int.from_bytes(data[32:40], "big"), int.from_bytes(data[40:48], "big"), data[48] == 1
    )


# --- storage interface ----------------------------------------------------------------------------


class NodeReader(Protocol):
    """Read side of the tree's storage; the write side is the ``TreeUpdate`` the caller persists."""

    def get_node(self, key: bytes) -> bytes | None: ...

    def get_root(self, version: int) -> bytes | None: ...

    def oldest_version(self) -> int: ...


@dataclass(frozen=True, slots=True)
class TreeUpdate:
    """Everything one version's apply produced, for the caller to persist in one transaction."""

    version: int
    root_hash: bytes
    root: bytes  # encoded root ref, stored under the version
    new_nodes: list[tuple[bytes, bytes]]  # (node key, encoded node), sorted by node key
    stale_node_keys: list[bytes]  # nodes no longer reachable from this version on
    decoded: dict[bytes, Node]


# A slot's new content during an update: _SAME (unchanged), None (empty), a Bucket not yet written
# (it floats up until it settles), or (hash, version, count, is_bucket) of a written subtree.
_SAME = object()
_Written = tuple[bytes, int, int, bool]
_Item = tuple[bytes, str, bytes, bytes | None]  # key hash, its hex, key, value (None deletes)
_FEW_UPDATES = 8  # up to this many updates into one bucket: insert in place, else merge via a dict


class StateTree:
    """Reads, updates and proves over a ``NodeReader``, with a cache of decoded nodes.

    ``compiled``: whether updates take the compiled lean path (``_treecore``); None (the default)
    uses it when it is built and ``ALLIANCE_TREE_CORE`` is not ``python``. Both paths produce the
    same nodes, byte for byte; tests run them side by side."""

    def __init__(
        self,
        reader: NodeReader,
        cache_nodes_max: int = CACHE_NODES_MAX,
        bucket_entries_max: int = BUCKET_ENTRIES_MAX,
        compiled: bool | None = None,
    ) -> None:
        invariant(1 <= bucket_entries_max <= PROOF_BUCKET_ENTRIES_MAX, "bucket bound out of range")
        if compiled and _CORE is None:
            raise UsageError(f"the compiled state tree core is not available: {_CORE_MISSING}")
        self._core = _CORE if compiled is None or compiled else None
        self._reader = reader
        self._cache: dict[bytes, Node] = {}
        self._cache_nodes_max = cache_nodes_max
        self._roots: dict[int, ChildRef | None] = {}
        self.bucket_entries_max = bucket_entries_max

    # -- reading --

    def _load(self, key: bytes) -> Node:
        node = self._cache.get(key)
        if node is None:
            data = self._reader.get_node(key)
            if data is None:
                fail_invariant(f"state tree node {key.hex()} is missing")
            node = decode_node(data)
            self._remember(key, node)
        return node

    def _remember(self, key: bytes, node: Node) -> None:
        cache = self._cache
        if len(cache) >= self._cache_nodes_max:
            # Drop the oldest eighth (dicts keep insertion order); node keys never go stale.
            for k in list(cache)[: max(1, self._cache_nodes_max // 8)]:
                del cache[k]
        cache[key] = node

    def root_ref(self, version: int) -> ChildRef | None:
        oldest = self._reader.oldest_version()
        if version < oldest:
            raise VersionPruned(f"state version {version} is pruned; the oldest kept is {oldest}")
        roots = self._roots
        if version in roots:
            return roots[version]
        data = self._reader.get_root(version)
        if data is None:
            raise NotFound(f"no state version {version}")
        ref = decode_root(data)
        self._remember_root(version, ref)
        return ref

    def _remember_root(self, version: int, ref: ChildRef | None) -> None:
        # A stored root never changes (versions are written once); pruning is checked above.
        if len(self._roots) >= _ROOTS_CACHED_MAX:
            self._roots.clear()
        self._roots[version] = ref

    def root_hash(self, version: int) -> bytes:
        ref = self.root_ref(version)
        return ref.hash if ref is not None else EMPTY_ROOT

    def _bucket_on_path(self, version: int, kh: bytes, levels: list[list[bytes]] | None) -> Bucket | None:
        """The bucket on ``kh``'s path at ``version`` (None: an empty slot), recording the
        internal nodes' child hashes into ``levels`` when given."""
        ref = self.root_ref(version)
        if ref is None:
            return None
        node_version, is_bucket = ref.version, ref.is_bucket
        depth = 0
        while True:
            node = self._load(node_key(node_version, encode_path(kh, depth)))
            if is_bucket:
                if type(node) is not Bucket:
                    fail_invariant("a state tree node marked a bucket is not one")
                return node
            if type(node) is not Internal:
                fail_invariant("a state tree node marked internal is not one")
            slot = nibble(kh, depth)
            data = node.encoded
            if levels is not None:
                level = list(_HASHES.unpack_from(data, 1))
                level[slot] = b""
                levels.append(level)
            if not _U32.unpack_from(data, _COUNTS_AT + 4 * slot)[0]:
                return None
            node_version = _U64.unpack_from(data, _VERSIONS_AT + 8 * slot)[0]
            is_bucket = bool(int.from_bytes(data[-2:], "big") >> slot & 1)
            depth += 1

    def get(self, version: int, key: bytes) -> bytes | None:
        """The value of ``key`` at ``version`` (None: absent). The executor reads current state
        here, so this is the walk of ``_bucket_on_path`` without its generality."""
        h = _key_hasher.copy()
        h.update(key)
        kh = h.digest()
        ref = self.root_ref(version)
        if ref is None:
            return None
        node_version = ref.version
        is_bucket = ref.is_bucket
        cache = self._cache
        depth = 0
        while True:
            half = depth >> 1
            if depth % 2 == 0:
                key_of_node = _VERSION_PACK(node_version) + _DEPTH_BYTE[depth] + kh[:half]
            else:
                key_of_node = (
                    _VERSION_PACK(node_version) + _DEPTH_BYTE[depth] + kh[:half] + _HIGH_NIBBLE[kh[half]]
                )
            node = cache.get(key_of_node)
            if node is None:
                node = self._load(key_of_node)
            if is_bucket:
                if type(node) is not Bucket:
                    fail_invariant("a state tree node marked a bucket is not one")
                return node.value_of(kh)
            if type(node) is not Internal:
                fail_invariant("a state tree node marked internal is not one")
            slot = nibble(kh, depth)
            data = node.encoded
            if not _U32.unpack_from(data, _COUNTS_AT + 4 * slot)[0]:
                return None
            node_version = _U64.unpack_from(data, _VERSIONS_AT + 8 * slot)[0]
            is_bucket = bool(int.from_bytes(data[-2:], "big") >> slot & 1)
            depth += 1

    def items(self, version: int) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) at ``version``, in key-hash order (for snapshots and audits)."""
        ref = self.root_ref(version)
        if ref is not None:
            yield from self._walk(ref, EMPTY_CHILD, 0)

    def _walk(self, ref: ChildRef, path_hash: bytes, depth: int) -> Iterator[tuple[bytes, bytes]]:
        node = self._load(node_key(ref.version, encode_path(path_hash, depth)))
        if isinstance(node, Bucket):
            _, keys, values = node.parts()
            yield from zip(keys, values, strict=True)
            return
        for i in range(16):
            child = node.child(i)
            if child is not None:
                yield from self._walk(child, set_nibble(path_hash, depth, i), depth + 1)

    # -- updating --

    def apply(
        self, base_version: int | None, version: int, updates: Mapping[bytes, bytes | None]
    ) -> TreeUpdate:
        """Compute version ``version`` from ``base_version`` (None: the empty tree) and ``updates``
        (value None deletes). Nothing is written: the caller persists the returned ``TreeUpdate``
        and then calls ``committed``."""
        invariant(base_version is None or version > base_version, "tree versions must increase")
        items: list[_Item] | None = None
        core = self._core
        if core is not None and type(updates) is dict:
            # None when a key or value is out of bounds or not bytes: the loop below then names
            # it, and the update stays on the Python path (the compiled one takes bytes only).
            items = core.sorted_items(updates, STATE_KEY_SIZE_BYTES_MAX, STATE_VALUE_SIZE_BYTES_MAX)
        if items is None:
            core = None
            items = _sorted_items(updates)
        root = self.root_ref(base_version) if base_version is not None else None
        job = _Apply(self, version)
        new_root: ChildRef | None = root
        if items:
            old = (root.hash, root.version, root.count, root.is_bucket) if root is not None else None
            if old is not None and not old[3] and all(item[3] is not None for item in items):
                # No deletion: no subtree can shrink into a bucket, so the lean path applies.
                if core is not None:
                    result = core.internal_growing(job, self._cache, old, 0, items, 0, len(items))
                else:
                    result = job.internal_growing(old, 0, items, 0, len(items))
            else:
                result = job.slot(old, 0, items, 0, len(items))
            if result is not _SAME:
                if result is None:
                    new_root = None
                else:
                    if type(result) is Bucket:
                        result = job.write_bucket(result, 0)
                    new_root = ChildRef(*result)
        job.new_nodes.sort()
        return TreeUpdate(
            version=version,
            root_hash=new_root.hash if new_root is not None else EMPTY_ROOT,
            root=encode_root(new_root),
            new_nodes=job.new_nodes,
            stale_node_keys=job.stale,
            decoded=job.decoded,
        )

    def committed(self, update: TreeUpdate) -> None:
        """Tell the tree ``update`` is durable, so its decoded nodes and root may be cached.

        The nodes it made stale left the cache when ``apply`` replaced them (``_Apply.retire``):
        kept, they would fill it with superseded versions, ~12 MB a block at 1M keys, until the
        bound evicts in bulk; dropped while hot, they cost no second pass over the cache."""
        self._remember_root(update.version, decode_root(update.root))
        cache = self._cache
        if len(cache) + len(update.decoded) >= self._cache_nodes_max:
            for key, node in update.decoded.items():
                self._remember(key, node)
        else:
            cache.update(update.decoded)

    # -- proofs --

    def prove(self, version: int, key: bytes) -> StateProof:
        levels: list[list[bytes]] = []
        bucket = self._bucket_on_path(version, key_hash_of(key), levels)
        return StateProof(levels=levels, bucket=list(bucket.pairs) if bucket is not None else [])


def _sorted_items(updates: Mapping[bytes, bytes | None]) -> list[_Item]:
    """``(key hash, its hex, key, value)`` for each update, sorted by key hash, with each key and
    value checked against its bound (``_treecore.sorted_items`` is the compiled equivalent)."""
    items: list[_Item] = []
    for key, value in updates.items():
        if len(key) > STATE_KEY_SIZE_BYTES_MAX or not key:
            fail_invariant(f"state key of {len(key)} bytes outside 1..{STATE_KEY_SIZE_BYTES_MAX}")
        if value is not None and len(value) > STATE_VALUE_SIZE_BYTES_MAX:
            fail_invariant(f"state value of {len(value)} bytes over {STATE_VALUE_SIZE_BYTES_MAX}")
        h = _key_hasher.copy()
        h.update(key)
        kh = h.digest()
        items.append((kh, kh.hex(), key, value))
    items.sort()
    return items


def _update_in_place(
    pairs: list[bytes], keys: list[bytes], values: list[bytes], items: list[_Item], lo: int, hi: int
) -> bool:
    """Apply ``items[lo:hi]`` to a bucket's sorted parallel lists (value None deletes); whether
    anything changed. For a few updates: each is a bisect and one list edit."""
    changed = False
    for i in range(lo, hi):
        kh, _, key, value = items[i]
        j = bisect_left(pairs, kh)
        found = j < len(pairs) and pairs[j].startswith(kh)
        if value is None:
            if not found:
                continue
            del pairs[j], keys[j], values[j]
        elif found:
            if values[j] == value:
                continue
            pairs[j] = kh + value_hash_of(value)
            values[j] = value
        else:
            pairs.insert(j, kh + value_hash_of(value))
            keys.insert(j, key)
            values.insert(j, value)
        changed = True
    return changed


def _merged(
    pairs: Sequence[bytes],
    keys: Sequence[bytes],
    values: Sequence[bytes],
    items: list[_Item],
    lo: int,
    hi: int,
) -> tuple[list[bytes], list[bytes], list[bytes]] | None:
    """A bucket's sorted parallel lists with ``items[lo:hi]`` applied (value None deletes), or None
    if nothing changed. For many updates into one bucket: one dict, one sort."""
    merged = {p[:32]: (p, k, v) for p, k, v in zip(pairs, keys, values, strict=True)}
    changed = False
    for i in range(lo, hi):
        kh, _, key, value = items[i]
        cur = merged.get(kh)
        if value is None:
            if cur is not None:
                del merged[kh]
                changed = True
        elif cur is None or cur[2] != value:
            merged[kh] = (kh + value_hash_of(value), key, value)
            changed = True
    if not changed:
        return None
    ordered = [merged[kh] for kh in sorted(merged)]
    return [e[0] for e in ordered], [e[1] for e in ordered], [e[2] for e in ordered]


def _slot_runs(items: list[_Item], lo: int, hi: int, depth: int) -> list[tuple[int, int, int]]:
    """The runs of ``items[lo:hi]`` (sorted by key hash) that share nibble ``depth``: (slot, start,
    end) for each child slot the updates fall into."""
    runs = []
    i = lo
    while i < hi:
        c = items[i][1][depth]
        j = i + 1
        while j < hi and items[j][1][depth] == c:
            j += 1
        runs.append((_HEX[c], i, j))
        i = j
    return runs


class _Apply:
    """One version's update: the recursion over sorted items, its new nodes and the stale ones."""

    def __init__(self, tree: StateTree, version: int) -> None:
        self.load = tree._load
        self.bmax = tree.bucket_entries_max
        self.version = version
        self.prefix = version.to_bytes(VERSION_SIZE_BYTES, "big")
        self.new_nodes: list[tuple[bytes, bytes]] = []
        self.stale: list[bytes] = []
        self.decoded: dict[bytes, Node] = {}
        self.evict = tree._cache.pop

    def retire(self, key: bytes) -> None:
        """Record that the node under ``key`` goes stale at this version, and drop it from the cache
        now, while it is hot: a stale node serves only reads of older versions, which load it
        again. (If the update is never committed, the cache merely lacks a node that is still
        valid, and a read loads it.) ``_treecore`` does the same for the nodes it replaces."""
        self.stale.append(key)
        self.evict(key, None)

    def load_bucket(self, key: bytes) -> Bucket:
        node = self.load(key)
        if type(node) is not Bucket:
            fail_invariant(f"state tree node {key.hex()} is marked a bucket but is not one")
        return node

    def load_internal(self, key: bytes) -> Internal:
        node = self.load(key)
        if type(node) is not Internal:
            fail_invariant(f"state tree node {key.hex()} is marked internal but is not")
        return node

    def write_bucket(self, bucket: Bucket, depth: int) -> _Written:
        joined = bucket.joined
        key = self.prefix + encode_path(joined[:32], depth)
        self.new_nodes.append((key, bucket.encoded))
        self.decoded[key] = bucket
        return (bucket.hash, self.version, len(joined) >> 6, True)

    def write_internal(self, node: Internal, path_hash: bytes, depth: int, count: int) -> _Written:
        key = self.prefix + encode_path(path_hash, depth)
        self.new_nodes.append((key, node.encoded))
        self.decoded[key] = node
        return (node.hash, self.version, count, False)

    # -- the lean path: updates without deletions (every transfer, most blocks) --
    #
    # Without deletions no subtree shrinks, so nothing collapses and every rewritten child can be
    # written at once (no floating buckets). A bucket child that takes one update, the common
    # case, is rebuilt by slicing its unpacked tuples. ``_treecore.internal_growing`` is this path
    # compiled; tests/state/test_tree_core.py holds the two to the same nodes.

    def internal_growing(self, old: _Written, depth: int, items: list[_Item], lo: int, hi: int) -> object:
        path = encode_path(items[lo][0], depth)
        old_key = _VERSION_PACK(old[1]) + path
        node = self.load_internal(old_key)
        hashes, versions, counts = list(node.hashes), list(node.versions), list(node.counts)
        mask = node.bucket_mask
        changed = False
        child_depth = depth + 1
        for s, i, j in _slot_runs(items, lo, hi, depth):
            if not counts[s]:
                result = self.fresh(child_depth, items, i, j)
            elif mask >> s & 1:
                result = self.bucket_growing(versions[s], child_depth, items, i, j)
            else:
                child = (hashes[s], versions[s], counts[s], False)
                result = self.internal_growing(child, child_depth, items, i, j)
            if result is not _SAME:
                written: _Written = result  # type: ignore[assignment]  # not _SAME: a written child
                hashes[s], versions[s], counts[s] = written[0], written[1], written[2]
                mask = mask | (1 << s) if written[3] else mask & ~(1 << s)
                changed = True
        if not changed:
            return _SAME
        self.retire(old_key)
        key = self.prefix + path
        node = Internal.of(hashes, versions, counts, mask)
        self.new_nodes.append((key, node.encoded))
        self.decoded[key] = node
        return (node.hash, self.version, sum(counts), False)

    def bucket_growing(self, version: int, depth: int, items: list[_Item], lo: int, hi: int) -> object:
        path = encode_path(items[lo][0], depth)
        old_key = _VERSION_PACK(version) + path
        base = self.load_bucket(old_key)
        pairs, keys, values = base.parts()
        if hi - lo == 1:
            kh, _, key, value = items[lo]
            if value is None:
                fail_invariant("a deletion on the state tree's lean path")
            j = bisect_left(pairs, kh)
            found = j < len(pairs) and pairs[j].startswith(kh)
            if found and values[j] == value:
                return _SAME
            pair = kh + value_hash_of(value)
            if found:
                pairs = (*pairs[:j], pair, *pairs[j + 1 :])
                values = (*values[:j], value, *values[j + 1 :])
            else:
                pairs = (*pairs[:j], pair, *pairs[j:])
                keys = (*keys[:j], key, *keys[j:])
                values = (*values[:j], value, *values[j:])
        elif hi - lo <= _FEW_UPDATES:
            pair_list, key_list, value_list = list(pairs), list(keys), list(values)
            if not _update_in_place(pair_list, key_list, value_list, items, lo, hi):
                return _SAME
            pairs, keys, values = tuple(pair_list), tuple(key_list), tuple(value_list)
        else:
            merged = _merged(pairs, keys, values, items, lo, hi)
            if merged is None:
                return _SAME
            pairs, keys, values = tuple(merged[0]), tuple(merged[1]), tuple(merged[2])
        self.retire(old_key)
        n = len(pairs)
        if n > self.bmax:
            return self.build(list(pairs), list(keys), list(values), 0, n, depth)
        key_of_node = self.prefix + path
        bucket = Bucket.of(pairs, keys, values)
        self.new_nodes.append((key_of_node, bucket.encoded))
        self.decoded[key_of_node] = bucket
        return (bucket.hash, self.version, n, True)

    def fresh(self, depth: int, items: list[_Item], lo: int, hi: int) -> object:
        """New keys into an empty slot: one bucket, or an internal node over several."""
        result = self.slot(None, depth, items, lo, hi)
        return self.write_bucket(result, depth) if type(result) is Bucket else result

    # -- the general path: any updates, deletions included --

    def slot(self, old: _Written | None, depth: int, items: list[_Item], lo: int, hi: int) -> object:
        """New content of the slot at ``depth`` that ``items[lo:hi]`` fall into; ``old`` is its ref."""
        if old is not None and not old[3]:
            return self.internal(old, depth, items, lo, hi)
        old_key = b""
        if old is None:
            pairs: list[bytes] = []
            keys: list[bytes] = []
            values: list[bytes] = []
        else:
            old_key = node_key(old[1], encode_path(items[lo][0], depth))
            base = self.load_bucket(old_key)
            pairs, keys, values = (list(part) for part in base.parts())
        changed = False
        if hi - lo <= _FEW_UPDATES:
            changed = _update_in_place(pairs, keys, values, items, lo, hi)
        else:
            merged = _merged(pairs, keys, values, items, lo, hi)
            if merged is not None:
                changed = True
                pairs, keys, values = merged
        if not changed:
            return _SAME
        if old is not None:
            self.retire(old_key)
        n = len(pairs)
        if n == 0:
            return None
        if n <= self.bmax:
            return Bucket.of(pairs, keys, values)
        return self.build(pairs, keys, values, 0, n, depth)

    def build(
        self, pairs: list[bytes], keys: list[bytes], values: list[bytes], lo: int, hi: int, depth: int
    ) -> _Written:
        """A fresh internal node at ``depth`` over entries ``lo:hi`` (more than a bucket holds),
        which share the path so far."""
        hashes = [EMPTY_CHILD] * 16
        versions = [0] * 16
        counts = [0] * 16
        mask = 0
        start = lo
        shift = 4 if depth % 2 == 0 else 0
        i = depth >> 1
        while start < hi:
            s = (pairs[start][i] >> shift) & 0x0F
            # The entries of slot s end before the first key hash whose nibble is past s.
            if s == 15:
                end = hi
            else:
                bound = pairs[start][:i] + bytes(
                    ((s + 1) << 4,) if shift else (((pairs[start][i] & 0xF0) | (s + 1)),)
                )
                end = bisect_left(pairs, bound, start, hi)
            if end - start <= self.bmax:
                h, v, c, _ = self.write_bucket(
                    Bucket.of(pairs[start:end], keys[start:end], values[start:end]),
                    depth + 1,
                )
                mask |= 1 << s
            else:
                h, v, c, _ = self.build(pairs, keys, values, start, end, depth + 1)
            hashes[s] = h
            versions[s] = v
            counts[s] = c
            start = end
        return self.write_internal(
            Internal.of(hashes, versions, counts, mask), pairs[lo], depth, hi - lo
        )

    def internal(self, old: _Written, depth: int, items: list[_Item], lo: int, hi: int) -> object:
        path_hash = items[lo][0]
        old_key = node_key(old[1], encode_path(path_hash, depth))
        node = self.load_internal(old_key)
        old_hashes = node.hashes
        old_versions = node.versions
        old_counts = node.counts
        old_mask = node.bucket_mask
        results: dict[int, object] = {}
        for s, i, j in _slot_runs(items, lo, hi, depth):
            n = old_counts[s]
            child = (old_hashes[s], old_versions[s], n, bool(old_mask >> s & 1)) if n else None
            r = self.slot(child, depth + 1, items, i, j)
            if r is not _SAME:
                results[s] = r
        if not results:
            return _SAME
        self.retire(old_key)
        counts = list(old_counts)
        for s, r in results.items():
            if r is None:
                counts[s] = 0
            elif type(r) is Bucket:
                counts[s] = r.size
            else:
                counts[s] = r[2]  # type: ignore[index]
        total = sum(counts)
        if total <= self.bmax:
            # The subtree fits one bucket: collapse every child (each a bucket, being smaller
            # still) into one floating bucket, in slot order, which is key-hash order.
            if total == 0:
                return None
            pairs: list[bytes] = []
            keys: list[bytes] = []
            values: list[bytes] = []
            for s in range(16):
                if not counts[s]:
                    continue
                r = results.get(s, _SAME)
                if r is _SAME:
                    child_key = node_key(
                        old_versions[s], encode_path(set_nibble(path_hash, depth, s), depth + 1)
                    )
                    b = self.load_bucket(child_key)
                    self.retire(child_key)
                elif type(r) is Bucket:
                    b = r
                else:
                    fail_invariant("a collapsing state tree node has an internal child")
                b_pairs, b_keys, b_values = b.parts()
                pairs += b_pairs
                keys += b_keys
                values += b_values
            return Bucket.of(pairs, keys, values)
        hashes = list(old_hashes)
        versions = list(old_versions)
        mask = old_mask
        for s, r in results.items():
            if r is None:
                hashes[s] = EMPTY_CHILD
                versions[s] = 0
                mask &= ~(1 << s)
            elif type(r) is Bucket:
                hashes[s], versions[s], _, _ = self.write_bucket(r, depth + 1)
                mask |= 1 << s
            else:
                hashes[s], versions[s], _, _ = r  # type: ignore[misc]
                mask &= ~(1 << s)
        return self.write_internal(
            Internal.of(hashes, versions, counts, mask), path_hash, depth, total
        )


# --- the compiled lean path -----------------------------------------------------------------------


def configure_core(core: ModuleType) -> ModuleType:
    """Give a freshly loaded build of ``_treecore`` this module's node types, sentinel and prepared
    hashers; each loaded module takes this once. The import below does it for the installed build;
    tests do it for a second build (without OpenSSL) that they compile themselves."""
    core.configure(
        Bucket,
        Internal,
        _SAME,
        _leaf_hasher,
        _inner_hasher,
        _key_hasher,
        Domain.STATE_LEAF.value,
        Domain.STATE_INNER.value,
        Domain.STATE_KEY.value,
    )
    return core


def _load_core() -> tuple[ModuleType | None, str]:
    """The compiled module, configured, or None and why not (never built: no C compiler at install
    time; or turned off with ``ALLIANCE_TREE_CORE=python``)."""
    if os.environ.get("ALLIANCE_TREE_CORE", "") == "python":
        return None, "turned off by ALLIANCE_TREE_CORE=python"
    try:
        from alliance.state import _treecore  # noqa: PLC0415  # optional: built only with a C compiler
    except ImportError as exc:
        return None, f"not built ({exc}); reinstall with a C compiler (pip install -e .)"
    return configure_core(_treecore), ""


_CORE, _CORE_MISSING = _load_core()
TREE_CORE = "c" if _CORE is not None else "python"  # which lean update path StateTree uses by default


def tree_core_in_use(*, with_reason: bool = False) -> str:
    """Which update path a ``StateTree`` takes by default: ``"compiled (openssl)"`` or ``"compiled
    (hashlib)"`` (the ``_treecore`` build, and how it hashes), or ``"python"``. With ``with_reason``
    the last one says why, e.g. ``"python (turned off by ALLIANCE_TREE_CORE=python)"``. The Python
    path gives the same roots, only slower (docs/decisions/007), so a node logs this at start."""
    if _CORE is not None:
        return "compiled (openssl)" if _CORE.OPENSSL else "compiled (hashlib)"
    return f"python ({_CORE_MISSING})" if with_reason else "python"


# --- proofs ---------------------------------------------------------------------------------------

Hash32 = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]


class StateProof(Struct):
    """Child hashes of each internal node on the path (on-path slot b""), then the ``kh || vh``
    entries of the bucket that ends the path ([] when the path ends in an empty slot)."""

    levels: Annotated[
        list[Annotated[list[bytes], msgspec.Meta(min_length=16, max_length=16)]],
        msgspec.Meta(max_length=NIBBLES_MAX),
    ]
    bucket: Annotated[list[bytes], msgspec.Meta(max_length=PROOF_BUCKET_ENTRIES_MAX)]


def _shares_path(entry: bytes, kh: bytes, depth: int) -> bool:
    """Whether the key hash in ``entry`` has the same first ``depth`` nibbles as ``kh``."""
    half = depth >> 1
    if entry[:half] != kh[:half]:
        return False
    return depth % 2 == 0 or (entry[half] >> 4) == (kh[half] >> 4)


def verify_state_proof(root: bytes, key: bytes, value: bytes | None, proof: StateProof | bytes) -> bool:
    """True when ``proof`` shows ``key`` holding ``value`` (or absent, for None) under ``root``.

    ``proof`` may be a ``StateProof`` or its canonical bytes as the API and SDK return them; bytes
    that do not decode to one prove nothing (False)."""
    if not isinstance(proof, StateProof):
        try:
            proof = decode(StateProof, proof)
        except DecodeError:
            return False
    kh = key_hash_of(key)
    levels = proof.levels
    bucket = proof.bucket
    depth = len(levels)
    if depth > NIBBLES_MAX or len(bucket) > PROOF_BUCKET_ENTRIES_MAX:
        return False
    if bucket:
        previous = b""
        for entry in bucket:
            # Entries are 64 bytes, strictly increasing, and all under the key's path.
            if (
                len(entry) != _PAIR_SIZE_BYTES
                or entry[:32] <= previous[:32]
                or not _shares_path(entry, kh, depth)
            ):
                return False
            previous = entry
        i = bisect_left(bucket, kh)
        found = i < len(bucket) and bucket[i][:32] == kh
        if value is None:
            if found:
                return False
        elif not found or bucket[i][32:] != value_hash_of(value):
            return False
        node = bucket_hash(bucket)
    else:
        if value is not None:
            return False
        if depth == 0:
            return root == EMPTY_ROOT
        node = EMPTY_CHILD
    for d in range(depth - 1, -1, -1):
        level = levels[d]
        slot = nibble(kh, d)
        if (
            len(level) != 16
            or level[slot] != b""
            or any(len(h) != 32 for i, h in enumerate(level) if i != slot)
        ):
            return False
        children = list(level)
        children[slot] = node
        node = internal_hash(children)
    return node == root
