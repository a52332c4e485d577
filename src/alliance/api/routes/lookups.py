"""The chain looked up the ways a reader asks: pages of block headers, a block by its hash, the
validator set of a height, a transaction's inclusion proof, an account's transactions.

Theory of operation: every route reads bounded records by key through the facade, so none scans the
chain: a page of headers reads at most ``BLOCKS_LIMIT_MAX`` blocks' headers (their transactions stay
one undecoded array); a block by hash is the store's hash index; a validator set is the store's
history of sets (or the state while it keeps that version); a proof reads one block and hashes its
transactions; an account's transactions are one cursor walk of the node's account index (decision
017), which the node fills after blocks commit, so its answer says how far it has indexed.

``/v1/blocks/by-hash/{block_hash}`` is declared before the chain area's ``/v1/blocks/{height}/...``
routes would see ``by-hash`` as a height; ``/v1/txs/{hash}/proof`` reads like the wait route.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from alliance.api import answers
from alliance.api.routes import (
    TX_HASH,
    AddressPath,
    TxHashPath,
    WireJSON,
    answer,
    documented,
    hex_param,
)
from alliance.crypto import merkle
from alliance.crypto.keys import parse_address
from alliance.errors import DecodeError, NotFound, UsageError
from alliance.node.facade import NodeFacade
from alliance.sdk import wire
from alliance.sdk.wire import Hash32, NodeId

BlockHashPath = Annotated[
    str,
    Path(
        description="a block's hash: 64 hex digits",
        json_schema_extra={"pattern": wire.sized_hex_pattern(32)},
    ),
]
BeforeQuery = Annotated[
    int | None, Query(ge=1, le=wire.HEIGHT_MAX, description="below this height (default: from the newest)")
]


def router(node: NodeFacade) -> APIRouter:
    routes = APIRouter(default_response_class=WireJSON)

    @routes.get("/v1/blocks", responses=documented(wire.BlockHeadersPage), tags=["blocks"])
    async def blocks(
        before: BeforeQuery = None,
        limit: Annotated[
            int, Query(ge=1, le=wire.BLOCKS_LIMIT_MAX, description="how many at most")
        ] = wire.BLOCKS_LIMIT_DEFAULT,
    ) -> Response:
        height = node.status().height
        top = height if before is None else min(before - 1, height)
        lowest = max(1, top - limit + 1)
        heads = [answers.block_header_view(node.block_head(h)) for h in range(top, lowest - 1, -1)]
        next_before = lowest if heads and lowest > 1 else 0
        return answer(wire.BlockHeadersPage(height=height, blocks=tuple(heads), next_before=next_before))

    @routes.get(
        "/v1/blocks/by-hash/{block_hash}",
        responses=documented(wire.BlockView, refused=(400, 404)),
        tags=["blocks"],
    )
    async def block_by_hash(block_hash: BlockHashPath) -> Response:
        raw = hex_param(block_hash, "a block hash", size_bytes=32)
        return answer(answers.block_view(*node.block_by_hash(raw)))

    @routes.get(
        "/v1/validators", responses=documented(wire.ValidatorSetView, refused=(404, 410)), tags=["blocks"]
    )
    async def validators(
        height: Annotated[
            int | None,
            Query(ge=1, le=wire.HEIGHT_MAX, description="the set voting at this height (default: the last)"),
        ] = None,
    ) -> Response:
        status = node.status()
        at = max(1, status.height) if height is None else height
        found = node.validator_set(at)
        names = status.validator_names
        return answer(
            wire.ValidatorSetView(
                height=at,
                validators_hash=Hash32(found.hash()),
                total_power=found.total_power,
                validators=tuple(
                    wire.ValidatorView(node_id=NodeId(v.node_id), name=names.get(v.node_id), power=v.power)
                    for v in found.validators
                ),
            )
        )

    @routes.get(
        f"/v1/txs/{TX_HASH}/proof", responses=documented(wire.TxProofView, refused=(400, 404)), tags=["txs"]
    )
    async def tx_proof(tx_hash: TxHashPath) -> Response:
        raw_hash = hex_param(tx_hash, "a transaction hash", size_bytes=32)
        try:
            height, index = node.tx_location(raw_hash)
        except NotFound:
            pending = node.pending_tx(raw_hash) is not None
            why = "is still pending: it has no block yet" if pending else "is not committed here"
            raise NotFound(f"transaction {tx_hash} {why}") from None
        block, _cert = node.block(height)
        proof = merkle.prove(block.txs, index)
        return answer(
            wire.TxProofView(
                hash=Hash32(raw_hash),
                height=height,
                index=index,
                total=proof.total,
                tx=wire.Hex(block.txs[index]),
                siblings=tuple(Hash32(s) for s in proof.siblings),
            )
        )

    @routes.get(
        "/v1/accounts/{address}/txs",
        responses=documented(wire.AccountTxsPage, refused=(400, 404)),
        tags=["state"],
    )
    async def account_txs(
        address: AddressPath,
        before: BeforeQuery = None,
        before_index: Annotated[
            int | None,
            Query(ge=0, le=2**32 - 1, description="with before: below this position in block `before`"),
        ] = None,
        limit: Annotated[
            int, Query(ge=1, le=wire.ACCOUNT_TXS_LIMIT_MAX, description="how many at most")
        ] = wire.ACCOUNT_TXS_LIMIT_DEFAULT,
    ) -> Response:
        try:
            raw = parse_address(address)
        except UsageError as exc:
            raise DecodeError(exc.message) from None
        position = None if before is None else (before, 0 if before_index is None else before_index)
        found = node.account_txs(raw, position, limit)
        more = len(found.txs) == limit
        last = found.txs[-1] if more else None
        return answer(
            wire.AccountTxsPage(
                address=wire.Address(raw),
                txs=tuple(answers.account_tx_view(t) for t in found.txs),
                indexed_height=found.indexed_height,
                next_before=None if last is None else last.height,
                next_before_index=None if last is None else last.index,
            )
        )

    return routes
