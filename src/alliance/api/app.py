"""The node's REST and WebSocket API (spec/api.md), built against the ``NodeFacade`` only.

Theory of operation: ``create_app(node)`` returns a FastAPI application whose routes read the
node's committed state through the facade and turn the ledger's types into the schemas of
``api.schemas``. Input is checked at the edge: JSON shape by pydantic (422 ``invalid_request``),
hex and sizes by ``parse_hex`` (400 ``malformed_encoding``), everything about a transaction by the
node's own admission (its typed errors become problem JSON through ``api.errors``). Routes never
catch broad exceptions: a bug reaches ``GuardMiddleware``, which logs it and answers 500.

Every route is ``async def``: it runs on the node's own event loop, between the runtime's steps,
like everything else that touches the node. (FastAPI runs a plain ``def`` route in a thread pool,
where it would read the LMDB store's shared read transaction and the executor's caches while the
loop commits a block: a CI run caught ``mdb_get: Invalid argument`` from exactly that race.)

Middleware, outermost first: the guard (500s), request metrics (sees every status, 413s too), the
body bound (413 before a body is read whole). The binary batch path decodes one msgpack array
with msgspec, hands the raw transactions to ``node.submit`` unparsed (the mempool decodes them
once) and answers with msgspec-encoded JSON: it is the load path and builds no model per
transaction.

Governance routes (``/v1/gov...``) are reads of committed state through the facade, for audit:
the members, nodes, validators, access rules and freezes (with the height they were read at), and
every proposal with its votes and outcome. The CLI's ``gov`` views print exactly these answers.

The stream sends one JSON message per committed block. Each send has a deadline; a subscriber
that cannot take a message within it is closed with 1013 and may resume from the last height it
saw plus one (the node replays stored blocks first, so nothing is lost across the gap).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import msgspec
import pydantic
from fastapi import FastAPI, Path, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.responses import Response

from alliance import codec
from alliance.abi import gov
from alliance.api import schemas as s
from alliance.api.errors import (
    API_BODY_BYTES_MAX,
    BodyLimitMiddleware,
    GuardMiddleware,
    RequestTimeout,
    error_response,
    install_error_handlers,
)
from alliance.api.metrics import RequestMetricsMiddleware, make_registry
from alliance.crypto.keys import parse_address
from alliance.errors import AllianceError, DecodeError, NotFound, UsageError
from alliance.mempool.pool import Accepted
from alliance.node.facade import NodeFacade

MSGPACK_MEDIA_TYPE = "application/msgpack"
BINARY_BATCH_TXS_MAX = 50_000
WAIT_TIMEOUT_MS_DEFAULT = 10_000
WAIT_TIMEOUT_MS_MAX = 60_000
STREAM_SEND_TIMEOUT_MS = 5_000
WS_CLOSE_TRY_AGAIN_LATER = 1013
PROPOSALS_LIMIT_DEFAULT = 100
PROPOSALS_LIMIT_MAX = 500

_binary_batch_decoder = msgspec.msgpack.Decoder(
    Annotated[list[bytes], msgspec.Meta(max_length=BINARY_BATCH_TXS_MAX)]
)

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": s.Problem, "content": {"application/problem+json": {}}}
    for code in (400, 404, 408, 409, 410, 413, 422, 503)
}

_BATCH_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": s.BatchRequest.model_json_schema()},
            MSGPACK_MEDIA_TYPE: {
                "schema": {
                    "type": "array",
                    "maxItems": BINARY_BATCH_TXS_MAX,
                    "items": {"type": "string", "format": "binary"},
                    "description": "msgpack array of canonical transactions (bin); answered with "
                    "BinaryBatchResponse",
                }
            },
        },
    }
}


def create_app(
    node: NodeFacade,
    *,
    metrics: CollectorRegistry | None = None,
    body_bytes_max: int = API_BODY_BYTES_MAX,
    stream_send_timeout_ms: int = STREAM_SEND_TIMEOUT_MS,
) -> FastAPI:
    """The API of ``node``. ``metrics``: a registry to fill (a fresh one per app by default)."""
    app = FastAPI(
        title="Alliance node API",
        version="1",
        description="REST and WebSocket API of one Alliance node (spec/api.md).",
        responses=_PROBLEMS,
        redirect_slashes=False,  # a path with a trailing slash is a 404 problem, not a redirect
    )
    registry, request_counter = make_registry(node, metrics)
    app.state.registry = registry
    install_error_handlers(app)
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(BodyLimitMiddleware, body_bytes_max=body_bytes_max)
    app.add_middleware(RequestMetricsMiddleware, counter=request_counter)
    app.add_middleware(GuardMiddleware)
    _add_read_routes(app, node)
    _add_governance_routes(app, node)
    _add_submit_routes(app, node)
    _add_stream_route(app, node, stream_send_timeout_ms)

    @app.get("/metrics", include_in_schema=True, response_class=Response, tags=["node"])
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _tx_hash_param(text: str) -> bytes:
    return s.parse_hex(text, "a transaction hash", size_bytes=32)


def _add_read_routes(app: FastAPI, node: NodeFacade) -> None:
    @app.get("/v1/status", response_model=s.StatusModel, tags=["node"])
    async def status() -> s.StatusModel:
        return s.status_model(node.status())

    @app.get("/v1/blocks/latest", response_model=s.BlockModel, tags=["blocks"])
    async def latest_block() -> s.BlockModel:
        height = node.status().height
        if height < 1:
            raise NotFound("no block has been committed yet")
        return s.block_model(*node.block(height))

    @app.get("/v1/blocks/{height}", response_model=s.BlockModel, tags=["blocks"])
    async def block(height: Annotated[int, Path(ge=0, lt=2**63)]) -> s.BlockModel:
        return s.block_model(*node.block(height))

    @app.get("/v1/blocks/{height}/receipts", response_model=list[s.ReceiptModel], tags=["blocks"])
    async def receipts(height: Annotated[int, Path(ge=0, lt=2**63)]) -> list[s.ReceiptModel]:
        block, _cert = node.block(height)
        hashes = s.tx_hashes(block)
        return [s.receipt_model(h, r) for h, r in zip(hashes, node.receipts(height), strict=True)]

    @app.get("/v1/txs/{tx_hash}", response_model=s.TxModel, response_model_exclude_none=False, tags=["txs"])
    async def tx(tx_hash: str) -> s.TxModel:
        raw_hash = _tx_hash_param(tx_hash)
        try:
            return s.committed_tx_model(node.committed_tx(raw_hash))
        except NotFound:
            if node.pending_tx(raw_hash) is not None:
                return s.pending_tx_model(raw_hash)
            raise NotFound(f"transaction {tx_hash} is neither committed nor pending here") from None

    @app.get("/v1/txs/{tx_hash}/wait", response_model=s.TxModel, tags=["txs"])
    async def wait_tx(
        tx_hash: str,
        timeout_ms: Annotated[int, Query(ge=0, le=WAIT_TIMEOUT_MS_MAX)] = WAIT_TIMEOUT_MS_DEFAULT,
    ) -> s.TxModel:
        raw_hash = _tx_hash_param(tx_hash)
        committed = await node.wait_committed(raw_hash, timeout_ms)
        if committed is None:
            raise RequestTimeout(f"transaction {tx_hash} was not committed within {timeout_ms} ms")
        return s.committed_tx_model(committed)

    @app.get("/v1/accounts/{address}", response_model=s.AccountModel, tags=["state"])
    async def account(address: str) -> s.AccountModel:
        try:
            raw = parse_address(address)
        except UsageError as exc:
            raise DecodeError(exc.message) from None
        args = codec.encode(gov.AccountQuery(raw))
        balance = node.query_module("accounts", "balance", args)
        view = node.query_module(gov.MODULE_NAME, "account", args, height=balance.height)
        return s.account_model(balance.value.balance, view.value, balance.height)  # type: ignore[attr-defined,arg-type]

    @app.get("/v1/state/{key}", response_model=s.StateModel, tags=["state"])
    async def state(
        key: str,
        height: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
        prove: bool = False,
    ) -> s.StateModel:
        raw_key = s.parse_hex(key, "a state key")
        return s.state_model(node.query(raw_key, height=height, prove=prove))


def _add_governance_routes(app: FastAPI, node: NodeFacade) -> None:
    @app.get("/v1/gov", response_model=s.GovernanceModel, tags=["governance"])
    async def governance() -> s.GovernanceModel:
        # All reads in one step of the loop (no await between) and at one height.
        overview = node.query_module(gov.MODULE_NAME, "overview", b"")
        page = codec.encode(gov.PageQuery(0, gov.PAGE_LIMIT_MAX))
        frozen = node.query_module(gov.MODULE_NAME, "frozen", page, height=overview.height)
        return s.governance_model(overview.value, frozen.value, overview.height)  # type: ignore[arg-type]

    @app.get("/v1/gov/proposals", response_model=list[s.ProposalModel], tags=["governance"])
    async def proposals(
        from_id: Annotated[int, Query(ge=1, lt=2**63)] = 1,
        limit: Annotated[int, Query(ge=1, le=PROPOSALS_LIMIT_MAX)] = PROPOSALS_LIMIT_DEFAULT,
    ) -> list[s.ProposalModel]:
        answer = node.query_module(gov.MODULE_NAME, "proposals", codec.encode(gov.PageQuery(from_id, limit)))
        return [s.proposal_model(p, p.status_at(answer.height + 1)) for p in answer.value]  # type: ignore[attr-defined]

    # ge=0: id 0 is a well-formed id that names no proposal, so it is the node's 404, not a 422.
    @app.get("/v1/gov/proposals/{proposal_id}", response_model=s.ProposalModel, tags=["governance"])
    async def proposal(proposal_id: Annotated[int, Path(ge=0, lt=2**63)]) -> s.ProposalModel:
        answer = node.query_module(gov.MODULE_NAME, "proposal", codec.encode(gov.ProposalQuery(proposal_id)))
        found: gov.Proposal = answer.value  # type: ignore[assignment]
        return s.proposal_model(found, found.status_at(answer.height + 1))


def _add_submit_routes(app: FastAPI, node: NodeFacade) -> None:
    @app.post(
        "/v1/txs",
        status_code=202,
        response_model=s.SubmitResponse,
        tags=["txs"],
    )
    async def submit(request: s.SubmitRequest) -> Response:
        raw = s.parse_hex(request.tx, "the transaction")
        (result,) = await node.submit([raw])
        if isinstance(result, Accepted):
            return JSONResponse({"hash": result.tx_hash.hex(), "accepted": True}, status_code=202)
        return error_response(result)

    @app.post(
        "/v1/txs/batch",
        response_model=s.BatchResponse | s.BinaryBatchResponse,
        openapi_extra=_BATCH_BODY_DOC,
        tags=["txs"],
    )
    async def submit_batch(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        body = await request.body()
        if content_type == MSGPACK_MEDIA_TYPE:
            return await _binary_batch(node, body)
        return await _json_batch(node, body)


async def _binary_batch(node: NodeFacade, body: bytes) -> Response:
    try:
        raws = _binary_batch_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(
            f"the body is not a msgpack array of at most {BINARY_BATCH_TXS_MAX} binary transactions: {exc}"
        ) from None
    results = await node.submit(raws) if raws else []
    rejected = [
        {"index": i, "code": r.code, "detail": r.message}
        for i, r in enumerate(results)
        if not isinstance(r, Accepted)
    ]
    answer = {"accepted": len(results) - len(rejected), "rejected": rejected}
    return Response(msgspec.json.encode(answer), media_type="application/json")


async def _json_batch(node: NodeFacade, body: bytes) -> Response:
    try:
        request = s.BatchRequest.model_validate_json(body)
    except pydantic.ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    items: list[dict[str, Any] | None] = [None] * len(request.txs)
    raws: list[bytes] = []
    positions: list[int] = []
    for i, text in enumerate(request.txs):
        try:
            raws.append(s.parse_hex(text, "the transaction"))
            positions.append(i)
        except DecodeError as exc:
            items[i] = {"accepted": False, "code": exc.code, "detail": exc.message}
    results = await node.submit(raws) if raws else []
    accepted = 0
    for i, result in zip(positions, results, strict=True):
        if isinstance(result, Accepted):
            accepted += 1
            items[i] = {"hash": result.tx_hash.hex(), "accepted": True}
        else:
            items[i] = {"accepted": False, "code": result.code, "detail": result.message}
    answer = {"accepted": accepted, "results": items}
    return Response(msgspec.json.encode(answer), media_type="application/json")


def _add_stream_route(app: FastAPI, node: NodeFacade, send_timeout_ms: int) -> None:
    @app.websocket("/v1/stream")
    async def stream(
        websocket: WebSocket, from_height: Annotated[int | None, Query(ge=0, lt=2**63)] = None
    ) -> None:
        await websocket.accept()
        start = from_height if from_height is not None else node.status().height + 1
        sender = asyncio.create_task(_send_blocks(websocket, node, start, send_timeout_ms / 1000))
        # A reader notices the subscriber leaving while the sender waits for the next block.
        reader = asyncio.create_task(_wait_disconnect(websocket))
        try:
            await asyncio.wait([sender, reader], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, reader):
                task.cancel()
            for task in (sender, reader):
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                    await task
        if sender.done() and not sender.cancelled():
            sender.result()  # a bug in the sender surfaces here rather than vanishing


async def _wait_disconnect(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _send_blocks(websocket: WebSocket, node: NodeFacade, start: int, send_timeout_s: float) -> None:
    async for height in node.blocks_from(start):
        block, _cert = node.block(height)
        message = s.stream_block_message(block, node.receipts(height))
        try:
            await asyncio.wait_for(websocket.send_text(message), send_timeout_s)
        except TimeoutError:
            await _close(websocket, WS_CLOSE_TRY_AGAIN_LATER, f"too slow; resume from {height}")
            return
        except (WebSocketDisconnect, OSError, RuntimeError):
            return  # the subscriber left mid-send
    # The node ends the iterator when the subscriber fell behind its bound.
    await _close(websocket, WS_CLOSE_TRY_AGAIN_LATER, "fell behind; resume from the last height seen + 1")


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError, AllianceError):
        await asyncio.wait_for(websocket.close(code, reason), 1.0)
