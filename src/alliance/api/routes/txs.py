"""Submitting transactions: one as JSON hex, or a batch as JSON or as one msgpack array.

Theory of operation: request bodies are decoded by msgspec into the wire's request Structs: a body
that is not JSON of that shape is a 422 ``invalid_request``; hex that does not parse is a 400
``malformed_encoding``, before the node is asked. Everything about a transaction itself is the
node's admission's to judge (its typed errors become problem JSON). The binary batch path hands
the raw transactions to ``node.submit`` unparsed (the mempool decodes them once): it is the load
path and builds no view per transaction, only one answer.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Request
from starlette.responses import Response

from alliance.api.errors import InvalidRequest, error_response
from alliance.api.routes import WireJSON, answer, documented, refusals, schema_of
from alliance.errors import DecodeError, UsageError
from alliance.mempool.pool import Accepted
from alliance.node.facade import NodeFacade
from alliance.sdk import wire
from alliance.sdk.wire import Hash32

_binary_batch_decoder = msgspec.msgpack.Decoder(
    Annotated[list[bytes], msgspec.Meta(max_length=wire.BINARY_BATCH_TXS_MAX)]
)


def _body(kind: Any) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema_of(kind)}}}}


_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": schema_of(wire.BatchRequest)},
            wire.MSGPACK_MEDIA_TYPE: {
                "schema": {
                    "type": "array",
                    "maxItems": wire.BINARY_BATCH_TXS_MAX,
                    "items": {"type": "string", "format": "binary"},
                    "description": "msgpack array of canonical transactions (bin); answered with "
                    "BinaryBatchResponse",
                }
            },
        },
    }
}

_BATCH_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "one result per transaction (JSON body), or the count and the refusals (msgpack body)",
        "content": {
            "application/json": {
                "schema": {"anyOf": [schema_of(wire.BatchResponse), schema_of(wire.BinaryBatchResponse)]}
            }
        },
    }
}


def _decoded(kind: type[Any], body: bytes) -> Any:
    try:
        return wire.decode(kind, body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidRequest(f"the body is not a {kind.__name__}: {exc}") from None


def _tx_hex(text: str) -> bytes:
    try:
        return wire.parse_hex(text, "the transaction")
    except UsageError as exc:
        raise DecodeError(exc.message) from None


def router(node: NodeFacade) -> APIRouter:
    routes = APIRouter(default_response_class=WireJSON)

    @routes.post(
        "/v1/txs",
        status_code=202,
        responses=documented(wire.SubmitResponse, 202, "admitted to the mempool", refused=(400, 409, 503)),
        openapi_extra=_body(wire.SubmitRequest),
        tags=["txs"],
    )
    async def submit(request: Request) -> Response:
        body: wire.SubmitRequest = _decoded(wire.SubmitRequest, await request.body())
        raw = _tx_hex(body.tx)
        (result,) = await node.submit([raw])
        if isinstance(result, Accepted):
            return answer(wire.SubmitResponse(hash=Hash32(result.tx_hash), accepted=True), 202)
        return error_response(result)

    @routes.post(
        "/v1/txs/batch",
        responses={**_BATCH_ANSWERS, **refusals(400)},
        openapi_extra=_BATCH_BODY,
        tags=["txs"],
    )
    async def submit_batch(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        body = await request.body()
        if content_type == wire.MSGPACK_MEDIA_TYPE:
            return await _binary_batch(node, body)
        return await _json_batch(node, _decoded(wire.BatchRequest, body))

    return routes


async def _binary_batch(node: NodeFacade, body: bytes) -> Response:
    try:
        raws = _binary_batch_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        bound = wire.BINARY_BATCH_TXS_MAX
        what = f"a msgpack array of at most {bound} binary transactions"
        raise DecodeError(f"the body is not {what}: {exc}") from None
    results = await node.submit(raws) if raws else []
    rejected = tuple(
        wire.Rejection(index=i, code=r.code, detail=r.message)
        for i, r in enumerate(results)
        if not isinstance(r, Accepted)
    )
    return answer(wire.BinaryBatchResponse(accepted=len(results) - len(rejected), rejected=rejected))


async def _json_batch(node: NodeFacade, request: wire.BatchRequest) -> Response:
    items: list[wire.BatchItem | None] = [None] * len(request.txs)
    raws: list[bytes] = []
    positions: list[int] = []
    for i, text in enumerate(request.txs):
        try:
            raws.append(_tx_hex(text))
            positions.append(i)
        except DecodeError as exc:
            items[i] = wire.BatchItem(accepted=False, code=exc.code, detail=exc.message)
    results = await node.submit(raws) if raws else []
    accepted = 0
    for i, result in zip(positions, results, strict=True):
        if isinstance(result, Accepted):
            accepted += 1
            items[i] = wire.BatchItem(accepted=True, hash=Hash32(result.tx_hash))
        else:
            items[i] = wire.BatchItem(accepted=False, code=result.code, detail=result.message)
    return answer(wire.BatchResponse(accepted=accepted, results=tuple(i for i in items if i is not None)))
