"""A versioned, path-compressed 16-ary Merkle tree (Jellyfish-style) over the whole state.

Theory of operation
-------------------
Keys are placed by ``key_hash = H(STATE_KEY, key)``, read as 64 nibbles. A *leaf* holds one key and
its value; an *internal* node has 16 child slots. The tree is canonical: a subtree that holds one
leaf is replaced by that leaf at the highest slot it can occupy, and an internal node always has
at least two leaves below it. So the shape, and the root hash, depend only on the set of
``(key, value)`` pairs, never on the order of updates.

Hashes: ``leaf = H(STATE_LEAF, key_hash || H(STATE_LEAF, value))``, ``internal = H(STATE_INNER,
child_0 || ... || child_15)`` with 32 zero bytes for an empty slot; the empty tree's root is
``H(STATE_INNER, "")``.

Versions: every node is stored under a *node key* ``version (8 bytes, big endian) || path`` and is
never modified. Applying the updates of version v writes new nodes with prefix v and reports the
node keys they replaced as *stale since v*. Nodes of old versions stay readable until pruned, so
queries and proofs work at any version still kept, and the node keys of one version sort after
all earlier ones: the store appends them (LMDB append mode is ~8x faster than random puts here).
Because node keys are immutable, decoded nodes are cached without any invalidation.

A parent records, for each child, its hash, the version it was written at and whether it is a
leaf, which is everything needed to form the child's node key. Moving a leaf (when a sibling is
deleted and the path compresses) rewrites it at its new slot; a leaf whose slot and content are
unchanged keeps its old node key. During an update, a leaf that must move is carried up the
recursion *unplaced* and written once, where it settles, so compression does no wasted writes.

Proofs: the 16 child hashes of every internal node on the key's path (the on-path slot left
blank), then either the leaf found at the end of the path or nothing (an empty slot). The same
proof shape proves inclusion (the leaf is the key's) and exclusion (an empty slot, or a leaf of
another key sharing the path so far).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Protocol

import msgspec

from alliance.codec import Struct
from alliance.crypto.hashing import Domain, hash_domain, hasher_for
from alliance.errors import NotFound, VersionPruned
from alliance.types import fail_invariant, invariant

EMPTY_CHILD = b"\x00" * 32
EMPTY_ROOT = hash_domain(Domain.STATE_INNER, b"")
VERSION_SIZE_BYTES = 8
NIBBLES_MAX = 64
STATE_KEY_SIZE_BYTES_MAX = 256
STATE_VALUE_SIZE_BYTES_MAX = 1024 * 1024
CACHE_NODES_MAX = 2_000_000

_TAG_LEAF = 0x4C  # "L"
_TAG_INTERNAL = 0x49  # "I"
_VERSIONS = struct.Struct(">16Q")
_INTERNAL_SIZE_BYTES = 1 + 16 * 32 + _VERSIONS.size + 2
_HEX = {c: int(c, 16) for c in "0123456789abcdef"}


def key_hash_of(key: bytes) -> bytes:
    return hash_domain(Domain.STATE_KEY, key)


_leaf_hasher = hasher_for(Domain.STATE_LEAF)
_inner_hasher = hasher_for(Domain.STATE_INNER)


def value_hash_of(value: bytes) -> bytes:
    h = _leaf_hasher.copy()
    h.update(value)
    return h.digest()


def leaf_hash(key_hash: bytes, value_hash: bytes) -> bytes:
    h = _leaf_hasher.copy()
    h.update(key_hash + value_hash)
    return h.digest()


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


class Leaf:
    __slots__ = ("key", "key_hash", "value")

    def __init__(self, key_hash: bytes, key: bytes, value: bytes) -> None:
        self.key_hash = key_hash
        self.key = key
        self.value = value

    @property
    def hash(self) -> bytes:
        return leaf_hash(self.key_hash, value_hash_of(self.value))

    def encode(self) -> bytes:
        return bytes((_TAG_LEAF,)) + len(self.key).to_bytes(2, "big") + self.key + self.value


class Internal:
    """16 child slots as parallel lists (hash or EMPTY_CHILD, version) plus a bit mask of leaves."""

    __slots__ = ("hashes", "leaf_mask", "versions")

    def __init__(self, hashes: list[bytes], versions: list[int], leaf_mask: int) -> None:
        self.hashes = hashes
        self.versions = versions
        self.leaf_mask = leaf_mask

    def child(self, slot: int) -> ChildRef | None:
        h = self.hashes[slot]
        if h == EMPTY_CHILD:
            return None
        return ChildRef(h, self.versions[slot], bool(self.leaf_mask >> slot & 1))

    @property
    def hash(self) -> bytes:
        return internal_hash_joined(b"".join(self.hashes))

    def encode(self) -> bytes:
        return (
            bytes((_TAG_INTERNAL,))
            + b"".join(self.hashes)
            + _VERSIONS.pack(*self.versions)
            + self.leaf_mask.to_bytes(2, "big")
        )


Node = Leaf | Internal


@dataclass(frozen=True, slots=True)
class ChildRef:
    """What a parent knows of a child: enough to hash it and to find its node key."""

    hash: bytes
    version: int
    is_leaf: bool


def encode_node(node: Node) -> bytes:
    return node.encode()


def decode_node(data: bytes) -> Node:
    tag = data[0]
    if tag == _TAG_LEAF:
        key_len = int.from_bytes(data[1:3], "big")
        key = data[3 : 3 + key_len]
        return Leaf(key_hash_of(key), key, data[3 + key_len :])
    invariant(tag == _TAG_INTERNAL and len(data) == _INTERNAL_SIZE_BYTES, "malformed state tree node")
    hashes = [data[1 + 32 * i : 33 + 32 * i] for i in range(16)]
    versions = list(_VERSIONS.unpack_from(data, 513))
    return Internal(hashes, versions, int.from_bytes(data[-2:], "big"))


def encode_root(ref: ChildRef | None) -> bytes:
    if ref is None:
        return b""
    return ref.hash + ref.version.to_bytes(8, "big") + (b"\x01" if ref.is_leaf else b"\x00")


def decode_root(data: bytes) -> ChildRef | None:
    if not data:
        return None
    return ChildRef(data[:32], int.from_bytes(data[32:40], "big"), data[40] == 1)


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


# A slot's new content during an update: _SAME (unchanged), None (empty), a Leaf not yet written
# (it floats up until it settles), or (hash, version, is_leaf) of a written subtree.
_SAME = object()
_Written = tuple[bytes, int, bool]
_Item = tuple[bytes, str, bytes, bytes | None]  # key hash, its hex, key, value (None deletes)


class StateTree:
    """Reads, updates and proves over a ``NodeReader``, with a cache of decoded nodes."""

    def __init__(self, reader: NodeReader, cache_nodes_max: int = CACHE_NODES_MAX) -> None:
        self._reader = reader
        self._cache: dict[bytes, Node] = {}
        self._cache_nodes_max = cache_nodes_max

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
        data = self._reader.get_root(version)
        if data is None:
            raise NotFound(f"no state version {version}")
        return decode_root(data)

    def root_hash(self, version: int) -> bytes:
        ref = self.root_ref(version)
        return ref.hash if ref is not None else EMPTY_ROOT

    def get(self, version: int, key: bytes) -> bytes | None:
        kh = key_hash_of(key)
        ref = self.root_ref(version)
        depth = 0
        while ref is not None:
            node = self._load(node_key(ref.version, encode_path(kh, depth)))
            if isinstance(node, Leaf):
                return node.value if node.key == key else None
            ref = node.child(nibble(kh, depth))
            depth += 1
        return None

    def items(self, version: int) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) at ``version``, in key-hash order (for snapshots and audits)."""
        ref = self.root_ref(version)
        if ref is not None:
            yield from self._walk(ref, EMPTY_CHILD, 0)

    def _walk(self, ref: ChildRef, path_hash: bytes, depth: int) -> Iterator[tuple[bytes, bytes]]:
        node = self._load(node_key(ref.version, encode_path(path_hash, depth)))
        if isinstance(node, Leaf):
            yield node.key, node.value
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
        items: list[_Item] = []
        for key, value in updates.items():
            if len(key) > STATE_KEY_SIZE_BYTES_MAX or not key:
                fail_invariant(f"state key of {len(key)} bytes outside 1..{STATE_KEY_SIZE_BYTES_MAX}")
            if value is not None and len(value) > STATE_VALUE_SIZE_BYTES_MAX:
                fail_invariant(f"state value of {len(value)} bytes over {STATE_VALUE_SIZE_BYTES_MAX}")
            kh = key_hash_of(key)
            items.append((kh, kh.hex(), key, value))
        items.sort()
        root = self.root_ref(base_version) if base_version is not None else None
        job = _Apply(self, version)
        if not items:
            new_root = root
        else:
            old = (root.hash, root.version, root.is_leaf) if root is not None else None
            result = job.slot(old, 0, items, 0, len(items))
            if result is _SAME:
                new_root = root
            else:
                placed = job.place(result, 0)
                new_root = ChildRef(*placed) if placed is not None else None
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
        """Tell the tree ``update`` is durable, so its decoded nodes may be cached."""
        for key, node in update.decoded.items():
            self._remember(key, node)

    # -- proofs --

    def prove(self, version: int, key: bytes) -> StateProof:
        kh = key_hash_of(key)
        ref = self.root_ref(version)
        levels: list[list[bytes]] = []
        depth = 0
        while ref is not None:
            node = self._load(node_key(ref.version, encode_path(kh, depth)))
            if isinstance(node, Leaf):
                return StateProof(
                    levels=levels, leaf_key_hash=node.key_hash, leaf_value_hash=value_hash_of(node.value)
                )
            slot = nibble(kh, depth)
            level = list(node.hashes)
            level[slot] = b""
            levels.append(level)
            ref = node.child(slot)
            depth += 1
        return StateProof(levels=levels, leaf_key_hash=b"", leaf_value_hash=b"")


class _Apply:
    """One version's update: the recursion over sorted items, its new nodes and the stale ones."""

    def __init__(self, tree: StateTree, version: int) -> None:
        self.load = tree._load
        self.version = version
        self.prefix = version.to_bytes(VERSION_SIZE_BYTES, "big")
        self.new_nodes: list[tuple[bytes, bytes]] = []
        self.stale: list[bytes] = []
        self.decoded: dict[bytes, Node] = {}

    def load_leaf(self, key: bytes) -> Leaf:
        node = self.load(key)
        if type(node) is not Leaf:
            fail_invariant(f"state tree node {key.hex()} is marked a leaf but is not one")
        return node

    def load_internal(self, key: bytes) -> Internal:
        node = self.load(key)
        if type(node) is not Internal:
            fail_invariant(f"state tree node {key.hex()} is marked internal but is not")
        return node

    def write_leaf(self, leaf: Leaf, depth: int) -> _Written:
        key = self.prefix + encode_path(leaf.key_hash, depth)
        self.new_nodes.append((key, leaf.encode()))
        self.decoded[key] = leaf
        return (leaf_hash(leaf.key_hash, value_hash_of(leaf.value)), self.version, True)

    def write_internal(self, node: Internal, path_hash: bytes, depth: int) -> _Written:
        key = self.prefix + encode_path(path_hash, depth)
        joined = b"".join(node.hashes)
        self.new_nodes.append(
            (key, b"I" + joined + _VERSIONS.pack(*node.versions) + node.leaf_mask.to_bytes(2, "big"))
        )
        self.decoded[key] = node
        return (internal_hash_joined(joined), self.version, False)

    def place(self, result: object, depth: int) -> _Written | None:
        """Settle a slot's result at ``depth``: a floating leaf is written there."""
        if type(result) is Leaf:
            return self.write_leaf(result, depth)
        return result  # type: ignore[return-value]

    def slot(self, old: _Written | None, depth: int, items: list[_Item], lo: int, hi: int) -> object:
        """New content of the slot at ``depth`` that ``items[lo:hi]`` fall into; ``old`` is its ref."""
        if old is not None and not old[2]:
            return self.internal(old, depth, items, lo, hi)
        kh0 = items[lo][0]
        if hi - lo == 1:
            return self.single(old, depth, items[lo])
        leaves: list[Leaf] = []
        old_leaf: Leaf | None = None
        if old is not None:
            old_key = node_key(old[1], encode_path(kh0, depth))
            old_leaf = self.load_leaf(old_key)
            okh = old_leaf.key_hash
            touched = False
            for i in range(lo, hi):
                if items[i][0] == okh:
                    touched = True
                    value = items[i][3]
                    if value == old_leaf.value:
                        if hi - lo == 1:
                            return _SAME
                        leaves.append(old_leaf)
                        touched = False
            if not touched and not leaves:
                leaves.append(old_leaf)
        for i in range(lo, hi):
            kh, _, key, value = items[i]
            if (value is not None and (old_leaf is None or kh != old_leaf.key_hash)) or (
                value is not None
                and old_leaf is not None
                and kh == old_leaf.key_hash
                and value != old_leaf.value
            ):
                leaves.append(Leaf(kh, key, value))
        if old is not None:
            if len(leaves) == 1 and leaves[0] is old_leaf:
                return _SAME
            self.stale.append(old_key)
        if not leaves:
            return None
        if len(leaves) == 1:
            return leaves[0]
        leaves.sort(key=lambda leaf: leaf.key_hash)
        return self.build(leaves, depth)

    def single(self, old: _Written | None, depth: int, item: _Item) -> object:
        """The common case: one update lands in a slot that is empty or holds one leaf."""
        kh, _, key, value = item
        if old is None:
            return Leaf(kh, key, value) if value is not None else None
        old_key = node_key(old[1], encode_path(kh, depth))
        old_leaf = self.load_leaf(old_key)
        if old_leaf.key_hash != kh:
            if value is None:
                return _SAME  # deleting an absent key
            self.stale.append(old_key)
            pair = sorted((old_leaf, Leaf(kh, key, value)), key=lambda leaf: leaf.key_hash)
            return self.build(pair, depth)
        if value == old_leaf.value:
            return _SAME
        self.stale.append(old_key)
        return Leaf(kh, key, value) if value is not None else None

    def build(self, leaves: list[Leaf], depth: int) -> _Written:
        """A fresh internal node at ``depth`` over two or more leaves sharing the path so far."""
        hashes = [EMPTY_CHILD] * 16
        versions = [0] * 16
        leaf_mask = 0
        start = 0
        n = len(leaves)
        while start < n:
            slot = nibble(leaves[start].key_hash, depth)
            end = start + 1
            while end < n and nibble(leaves[end].key_hash, depth) == slot:
                end += 1
            if end - start == 1:
                h, v, _ = self.write_leaf(leaves[start], depth + 1)
                leaf_mask |= 1 << slot
            else:
                h, v, _ = self.build(leaves[start:end], depth + 1)
            hashes[slot] = h
            versions[slot] = v
            start = end
        return self.write_internal(Internal(hashes, versions, leaf_mask), leaves[0].key_hash, depth)

    def internal(self, old: _Written, depth: int, items: list[_Item], lo: int, hi: int) -> object:
        path_hash = items[lo][0]
        old_key = node_key(old[1], encode_path(path_hash, depth))
        node = self.load_internal(old_key)
        old_hashes = node.hashes
        old_versions = node.versions
        old_mask = node.leaf_mask
        results: dict[int, object] = {}
        i = lo
        while i < hi:
            c = items[i][1][depth]
            j = i + 1
            while j < hi and items[j][1][depth] == c:
                j += 1
            s = _HEX[c]
            h = old_hashes[s]
            child = None if h == EMPTY_CHILD else (h, old_versions[s], bool(old_mask >> s & 1))
            r = self.slot(child, depth + 1, items, i, j)
            if r is not _SAME and not (r is None and child is None):
                results[s] = r
            i = j
        if not results:
            return _SAME
        self.stale.append(old_key)
        hashes = list(old_hashes)
        versions = list(old_versions)
        mask = old_mask
        floating: dict[int, Leaf] = {}
        for s, r in results.items():
            if r is None:
                hashes[s] = EMPTY_CHILD
                versions[s] = 0
                mask &= ~(1 << s)
            elif type(r) is Leaf:
                floating[s] = r
                hashes[s] = b"F"  # placeholder: present, written below once the shape is known
            else:
                written: _Written = r  # type: ignore[assignment]
                hashes[s], versions[s], is_leaf = written
                mask = (mask | (1 << s)) if is_leaf else (mask & ~(1 << s))
        present = 16 - hashes.count(EMPTY_CHILD)
        if present == 0:
            return None
        if present == 1:
            s = next(k for k in range(16) if hashes[k] != EMPTY_CHILD)
            if s in floating:
                return floating[s]
            if mask >> s & 1:
                # The one remaining child is an untouched leaf: it moves up and is rewritten.
                leaf_key = node_key(versions[s], encode_path(set_nibble(path_hash, depth, s), depth + 1))
                leaf = self.load_leaf(leaf_key)
                self.stale.append(leaf_key)
                return leaf
        for s, leaf in floating.items():
            hashes[s], versions[s], _ = self.write_leaf(leaf, depth + 1)
            mask |= 1 << s
        return self.write_internal(Internal(hashes, versions, mask), path_hash, depth)


# --- proofs ---------------------------------------------------------------------------------------

Hash32 = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]


class StateProof(Struct):
    """Child hashes of each internal node on the path (on-path slot b""), then the final leaf, if any."""

    levels: Annotated[
        list[Annotated[list[bytes], msgspec.Meta(min_length=16, max_length=16)]],
        msgspec.Meta(max_length=NIBBLES_MAX),
    ]
    leaf_key_hash: bytes  # b"" when the path ends in an empty slot
    leaf_value_hash: bytes


def verify_state_proof(root: bytes, key: bytes, value: bytes | None, proof: StateProof) -> bool:
    """True when ``proof`` shows ``key`` holding ``value`` (or absent, for None) under ``root``."""
    kh = key_hash_of(key)
    depth = len(proof.levels)
    if depth > NIBBLES_MAX:
        return False
    if proof.leaf_key_hash:
        if len(proof.leaf_key_hash) != 32 or len(proof.leaf_value_hash) != 32:
            return False
        if value is not None:
            if proof.leaf_key_hash != kh or proof.leaf_value_hash != value_hash_of(value):
                return False
        elif proof.leaf_key_hash == kh or any(
            nibble(proof.leaf_key_hash, d) != nibble(kh, d) for d in range(depth)
        ):
            return False
        node = leaf_hash(proof.leaf_key_hash, proof.leaf_value_hash)
    else:
        if value is not None or proof.leaf_value_hash:
            return False
        if depth == 0:
            return root == EMPTY_ROOT
        node = EMPTY_CHILD
    for d in range(depth - 1, -1, -1):
        level = proof.levels[d]
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
