"""Reads of the chain: the node's status, blocks and their receipts, transactions, accounts and state.

Theory of operation: every route reads committed state through the facade and answers a wire view
(``api.answers`` fills it). ``/v1/blocks/latest`` is declared before ``/v1/blocks/{height}`` so the
word is never read as a height. An account is two module queries (``accounts.balance`` and
``gov.account``) read at one height, in one step of the loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from alliance import codec
from alliance.abi import gov
from alliance.abi.accounts import BalanceQuery, BalanceView
from alliance.api import answers
from alliance.api.errors import RequestTimeout
from alliance.api.routes import (
    TX_HASH,
    AddressPath,
    HeightPath,
    HeightQuery,
    StateKeyPath,
    TxHashPath,
    WireJSON,
    answer,
    documented,
    hex_param,
)
from alliance.crypto.keys import parse_address
from alliance.errors import DecodeError, NotFound, UsageError
from alliance.node.facade import NodeFacade
from alliance.sdk import wire


def router(node: NodeFacade) -> APIRouter:
    routes = APIRouter(default_response_class=WireJSON)

    @routes.get("/v1/status", responses=documented(wire.Status), tags=["node"])
    async def status() -> Response:
        return answer(answers.status_view(node.status()))

    @routes.get("/v1/blocks/latest", responses=documented(wire.BlockView, refused=(404,)), tags=["blocks"])
    async def latest_block() -> Response:
        height = node.status().height
        if height < 1:
            raise NotFound("no block has been committed yet")
        return answer(answers.block_view(*node.block(height)))

    @routes.get("/v1/blocks/{height}", responses=documented(wire.BlockView, refused=(404,)), tags=["blocks"])
    async def block(height: HeightPath) -> Response:
        return answer(answers.block_view(*node.block(height)))

    @routes.get(
        "/v1/blocks/{height}/receipts",
        responses=documented(list[wire.ReceiptView], refused=(404,)),
        tags=["blocks"],
    )
    async def receipts(height: HeightPath) -> Response:
        block, _cert = node.block(height)
        hashes = answers.tx_hashes(block)
        return answer(
            [answers.receipt_view(h, r) for h, r in zip(hashes, node.receipts(height), strict=True)]
        )

    @routes.get(f"/v1/txs/{TX_HASH}", responses=documented(wire.TxView, refused=(400, 404)), tags=["txs"])
    async def tx(tx_hash: TxHashPath) -> Response:
        raw_hash = hex_param(tx_hash, "a transaction hash", size_bytes=32)
        try:
            return answer(answers.committed_tx_view(node.committed_tx(raw_hash)))
        except NotFound:
            if node.pending_tx(raw_hash) is not None:
                return answer(answers.pending_tx_view(raw_hash))
            raise NotFound(f"transaction {tx_hash} is neither committed nor pending here") from None

    @routes.get(
        f"/v1/txs/{TX_HASH}/wait", responses=documented(wire.TxView, refused=(400, 408)), tags=["txs"]
    )
    async def wait_tx(
        tx_hash: TxHashPath,
        timeout_ms: Annotated[
            int, Query(ge=0, le=wire.WAIT_TIMEOUT_MS_MAX, description="how long to wait")
        ] = wire.WAIT_TIMEOUT_MS_DEFAULT,
    ) -> Response:
        raw_hash = hex_param(tx_hash, "a transaction hash", size_bytes=32)
        committed = await node.wait_committed(raw_hash, timeout_ms)
        if committed is None:
            raise RequestTimeout(f"transaction {tx_hash} was not committed within {timeout_ms} ms")
        return answer(answers.committed_tx_view(committed))

    @routes.get("/v1/accounts/{address}", responses=documented(wire.Account, refused=(400,)), tags=["state"])
    async def account(address: AddressPath) -> Response:
        try:
            raw = parse_address(address)
        except UsageError as exc:
            raise DecodeError(exc.message) from None
        balance = node.query_module("accounts", "balance", codec.encode(BalanceQuery(raw)))
        args = codec.encode(gov.AccountQuery(raw))
        view = node.query_module(gov.MODULE_NAME, "account", args, height=balance.height)
        found: BalanceView = balance.value  # type: ignore[assignment]
        return answer(answers.account_view(found.balance, view.value, balance.height))  # type: ignore[arg-type]

    @routes.get(
        "/v1/state/{key}", responses=documented(wire.StateView, refused=(400, 404, 410)), tags=["state"]
    )
    async def state(key: StateKeyPath, height: HeightQuery = None, prove: bool = False) -> Response:
        raw_key = hex_param(key, "a state key", size_bytes_max=wire.STATE_KEY_BYTES_MAX)
        return answer(answers.state_view(node.query(raw_key, height=height, prove=prove)))

    return routes
