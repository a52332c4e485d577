"""Running one real node with its API for a test, on the test's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alliance import codec
from alliance.api import api_service
from alliance.crypto.keys import AccountKey, load_account_key
from alliance.execution.modules.accounts import TransferArgs
from alliance.ledger.transaction import sign_tx
from alliance.node.service import Node
from alliance.testing.nodes import running_nodes, single_node_home

TEST_BOUND_S = 90


@dataclass
class ApiNode:
    url: str
    node: Node
    dev: AccountKey
    chain_id: str


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, TEST_BOUND_S))


@contextlib.asynccontextmanager
async def api_node(tmp_path: Path) -> AsyncIterator[ApiNode]:
    home = single_node_home(tmp_path)
    config = home.load_config()
    async with running_nodes([home], services=[api_service]) as (node,):
        url = f"http://{config.host}:{config.api_port}"
        await wait_listening(config.host, config.api_port)
        yield ApiNode(url, node, load_account_key(tmp_path / "keys" / "dev.key"), config.chain_id)


async def wait_listening(host: str, port: int, timeout_s: float = 10.0) -> None:
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


async def eventually(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


def signed_transfer(
    key: AccountKey,
    chain_id: str,
    to: bytes,
    amount: int,
    valid_until: int,
    *,
    nonce: bytes | None = None,
) -> bytes:
    tx = sign_tx(
        key,
        chain_id=chain_id,
        target="accounts",
        method="transfer",
        args=TransferArgs(to=to, amount=amount),
        valid_until=valid_until,
        nonce=nonce,
    )
    return codec.encode(tx)
