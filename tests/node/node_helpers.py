"""Helpers shared by the node runtime's tests: run a scenario with a bound, wait for a condition,
sign a transfer, load the alliance's funded developer key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from alliance import codec
from alliance.abi import gov
from alliance.abi.accounts import TransferArgs
from alliance.crypto.keys import AccountKey, load_account_key
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


def proposal(runtime: NodeRuntime, proposal_id: int) -> tuple[gov.Proposal, str]:
    """A proposal and its status now, through the governance module's query."""
    answer = runtime.query_module("gov", "proposal", codec.encode(gov.ProposalQuery(proposal_id)))
    found: gov.Proposal = answer.value  # type: ignore[assignment]
    return found, found.status_at(answer.height + 1)


def member_orgs(runtime: NodeRuntime) -> list[str]:
    overview: gov.Overview = runtime.query_module("gov", "overview", b"").value  # type: ignore[assignment]
    return [m.org for m in overview.members]
