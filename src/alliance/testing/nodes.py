"""Helpers for tests that run real nodes in one process (tests of the runtime, the API and the SDK).

``alliance_homes(directory, nodes)`` creates an alliance with ``alliance init``'s own code and
returns the node homes, tuned for tests: the inline signature verifier (no worker processes per
node) and short timeouts. ``running_nodes`` runs them on the current event loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import msgspec

from alliance.node.bootstrap import create_alliance
from alliance.node.config import ConsensusSection, MempoolSection, NodeHome, save_config
from alliance.node.service import Node, Service


def alliance_homes(directory: Path, nodes: int = 1, *, empty_block_interval_ms: int = 200) -> list[NodeHome]:
    """A fresh alliance of ``nodes`` validators under ``directory``; its node homes, in order."""
    create_alliance(directory, nodes)
    homes = sorted((directory / "nodes").iterdir(), key=lambda p: int(p.name.removeprefix("node")))
    result = []
    for root in homes:
        home = NodeHome(root)
        config = home.load_config()
        tuned = msgspec.structs.replace(
            config,
            consensus=ConsensusSection(
                timeout_propose_ms=1000,
                timeout_prevote_ms=300,
                timeout_precommit_ms=300,
                empty_block_interval_ms=empty_block_interval_ms,
            ),
            mempool=MempoolSection(verifier="inline"),
        )
        save_config(home.config_path, tuned)
        result.append(home)
    return result


def single_node_home(directory: Path) -> NodeHome:
    """A one-validator alliance under ``directory``; its node's home."""
    return alliance_homes(directory, 1)[0]


@contextlib.asynccontextmanager
async def running_nodes(
    homes: Sequence[NodeHome], *, services: Sequence[Service] = ()
) -> AsyncIterator[list[Node]]:
    """Run every home's node on this event loop; stop them all on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(Node(home, services=services)) for home in homes]
        yield nodes
