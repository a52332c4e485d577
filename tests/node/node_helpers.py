"""Helpers shared by the node runtime's tests: run a scenario with a bound, wait for a condition
(``testing.nodes.eventually``), sign a transfer, load the alliance's funded developer key."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from alliance import codec
from alliance.abi import gov
from alliance.crypto.keys import AccountKey, load_account_key
from alliance.node.runtime import NodeRuntime
from alliance.sdk.client import signed_transfer
from alliance.testing.nodes import eventually

TEST_BOUND_S = 60


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, TEST_BOUND_S))


def transfer(runtime: NodeRuntime, key: AccountKey, to: bytes, amount: int, *, chain_id: str = "") -> bytes:
    """A signed transfer valid for the next 50 blocks, on the node's chain unless ``chain_id``."""
    return signed_transfer(key, chain_id or runtime.genesis.chain_id, to, amount, runtime.height + 50)


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

__all__ = ["dev_key", "eventually", "member_orgs", "proposal", "run", "transfer"]
