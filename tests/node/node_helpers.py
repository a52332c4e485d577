"""Helpers shared by the node runtime's tests: run a scenario with a bound, wait for a condition,
sign a transfer, load the alliance's funded developer key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from alliance import codec
from alliance.crypto.keys import AccountKey, load_account_key
from alliance.execution.modules.accounts import TransferArgs
from alliance.ledger.transaction import sign_tx
from alliance.node.runtime import NodeRuntime

TEST_BOUND_S = 60


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, TEST_BOUND_S))


async def eventually(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


def transfer(runtime: NodeRuntime, key: AccountKey, to: bytes, amount: int, *, chain_id: str = "") -> bytes:
    """A signed transfer valid for the next 50 blocks, on the node's chain unless ``chain_id``."""
    tx = sign_tx(
        key,
        chain_id=chain_id or runtime.genesis.chain_id,
        target="accounts",
        method="transfer",
        args=TransferArgs(to=to, amount=amount),
        valid_until=runtime.height + 50,
    )
    return codec.encode(tx)


def dev_key(tmp_path: Path) -> AccountKey:
    return load_account_key(tmp_path / "keys" / "dev.key")
