"""Helpers for tests that run real nodes in one process (tests of the runtime, the API, the SDK
and the CLI).

``alliance_homes(directory, nodes)`` creates an alliance with ``alliance init``'s own code and
returns the node homes, tuned for tests: the inline signature verifier (no worker processes per
node) and short timeouts. ``running_nodes`` runs them on the current event loop. ``api_node`` and
``governed_alliance`` run one node or a whole alliance serving the API, with ``wait_listening``,
``eventually``, ``signed_transfer`` (the SDK's) and ``run`` for the scenarios that use them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from alliance.api import api_service, create_app, serve_api
from alliance.api.app import Mount
from alliance.crypto.keys import AccountKey, load_account_key
from alliance.errors import OperationalError
from alliance.node.bootstrap import create_alliance
from alliance.node.config import ConsensusSection, MempoolSection, NodeConfig, NodeHome, save_config
from alliance.node.facade import NodeFacade
from alliance.node.service import Node, Service
from alliance.sdk.client import AsyncClient, signed_transfer


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


# --- a node serving its API, for tests of the API, the SDK and the CLI ------------------------------

TEST_BOUND_S = 90


@dataclass
class ApiNode:
    """One running node with its API: its URL, the node, the ``dev`` key and the chain's id."""

    url: str
    node: Node
    dev: AccountKey
    chain_id: str


def run(coroutine: Coroutine[Any, Any, None], bound_s: float = TEST_BOUND_S) -> None:
    """Run a test's scenario on a fresh event loop, bounded."""
    asyncio.run(asyncio.wait_for(coroutine, bound_s))


@contextlib.asynccontextmanager
async def api_node(directory: Path, *, mounts: Sequence[Mount] = ()) -> AsyncIterator[ApiNode]:
    """A one-validator alliance under ``directory`` serving its API (with ``mounts``) on this loop."""
    home = single_node_home(directory)
    config = home.load_config()

    async def serve(node: NodeFacade, node_config: NodeConfig) -> None:
        await serve_api(create_app(node, mounts=mounts), node_config.host, node_config.api_port)

    async with running_nodes([home], services=[serve]) as (node,):
        url = f"http://{config.host}:{config.api_port}"
        await wait_listening(config.host, config.api_port)
        yield ApiNode(url, node, load_account_key(directory / "keys" / "dev.key"), config.chain_id)


@dataclass
class GovernedAlliance:
    """A running governed alliance: the API of its first node and the keys ``alliance init`` made."""

    url: str
    directory: Path
    nodes: list[Node]
    keys: dict[str, AccountKey]  # org0-admin .. orgK-admin, supervisor, dev
    chain_id: str


@contextlib.asynccontextmanager
async def governed_alliance(directory: Path, nodes: int = 4) -> AsyncIterator[GovernedAlliance]:
    """``nodes`` validators of as many member organisations (org0..), every one serving its API."""
    homes = alliance_homes(directory, nodes)
    config = homes[0].load_config()
    keys = {path.stem: load_account_key(path) for path in sorted((directory / "keys").glob("*.key"))}
    async with running_nodes(homes, services=[api_service]) as running:
        await wait_listening(config.host, config.api_port)
        url = f"http://{config.host}:{config.api_port}"
        yield GovernedAlliance(url, directory, running, keys, config.chain_id)


async def wait_listening(host: str, port: int, timeout_s: float = 10.0) -> None:
    """Until ``host:port`` accepts a connection (``AssertionError`` after ``timeout_s``)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            _reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                where = f"{host}:{port}"
                raise AssertionError(f"the API did not listen on {where} within {timeout_s} s") from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return


async def until_committing(client: AsyncClient, timeout_s: float = 20.0) -> None:
    """Until the node behind ``client`` answers with a committed block (``AssertionError`` after
    ``timeout_s``); an answer it cannot give yet (still starting) is asked again."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        with contextlib.suppress(OperationalError):
            if (await client.status()).height >= 1:
                return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the node's API did not answer within {timeout_s} s")
        await asyncio.sleep(0.1)


async def eventually(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    """Until ``condition()`` holds (``AssertionError`` naming ``what`` after ``timeout_s``)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


__all__ = [
    "ApiNode", "GovernedAlliance", "alliance_homes", "api_node", "eventually", "governed_alliance", "run",
    "running_nodes", "signed_transfer", "single_node_home", "until_committing", "wait_listening",
]
