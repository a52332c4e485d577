"""An in-memory node store for the state tree: used by tests and the simulator.

It keeps the same contract as the LMDB store: a version's nodes, root and stale list land
together in ``persist``; ``prune`` drops nodes that went stale at or before the oldest kept version.
"""

from __future__ import annotations

from alliance.state.tree import TreeUpdate
from alliance.types import invariant


class MemoryNodeStore:
    def __init__(self) -> None:
        self.nodes: dict[bytes, bytes] = {}
        self.roots: dict[int, bytes] = {}
        self.stale: dict[int, list[bytes]] = {}
        self._oldest = 0

    def get_node(self, key: bytes) -> bytes | None:
        return self.nodes.get(key)

    def get_root(self, version: int) -> bytes | None:
        return self.roots.get(version)

    def oldest_version(self) -> int:
        return self._oldest

    def persist(self, update: TreeUpdate) -> None:
        for key, data in update.new_nodes:
            invariant(key not in self.nodes, f"state tree node {key.hex()} written twice")
            self.nodes[key] = data
        self.roots[update.version] = update.root
        self.stale[update.version] = list(update.stale_node_keys)

    def prune(self, oldest_kept: int) -> int:
        """Forget versions below ``oldest_kept``; return how many nodes were deleted."""
        deleted = 0
        for version in sorted(v for v in self.stale if v <= oldest_kept):
            for key in self.stale.pop(version):
                if self.nodes.pop(key, None) is not None:
                    deleted += 1
        for version in [v for v in self.roots if v < oldest_kept]:
            del self.roots[version]
        self._oldest = max(self._oldest, oldest_kept)
        return deleted
