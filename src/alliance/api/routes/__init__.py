"""The API's routes, one ``APIRouter`` per area, and what they share.

Theory of operation: each area is a module with ``router(node) -> APIRouter`` (``chain``: status,
blocks, transactions and state reads; ``lookups``: pages of headers, blocks by hash, validator
sets by height, inclusion proofs, an account's transactions; ``txs``: submission; ``gov``:
governance reads; ``passes``: passes and contracts; ``modules``: every module's read-only
queries; ``stream``: the block stream; ``metrics``: Prometheus). ``create_app`` includes the
submit routes first (so that ``/v1/txs/batch`` is never taken for a transaction hash when the
router names the methods a path allows), then ``lookups`` before ``chain`` (so
``/v1/blocks/by-hash/...`` is never read as a height). A route answers an ``sdk.wire`` view with
``answer``; ``documented`` declares that view as the route's answer in the OpenAPI document
(``api.openapi`` adds the view's schema, from the same Struct). Path and query parameters declare
every constraint the route enforces (hex patterns, sizes, ranges), but hex is checked by the route
itself, so malformed hex is a 400 ``malformed_encoding`` as spec/api.md says, not a shape refusal.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.responses import JSONResponse, Response

from alliance.errors import DecodeError, UsageError
from alliance.sdk import wire

JSON_MEDIA_TYPE = "application/json"
REF_TEMPLATE = "#/components/schemas/{name}"

DOCUMENTED: set[Any] = set()
"""Every wire type a route declares as its answer: ``api.openapi`` adds their schemas."""


class WireJSON(JSONResponse):
    """Names the media type of the routes' answers for the document (routes answer with ``answer``)."""


def answer(view: object, status_code: int = 200) -> Response:
    return Response(wire.encode(view), status_code=status_code, media_type=JSON_MEDIA_TYPE)


def schema_of(kind: Any) -> dict[str, Any]:
    """A reference to ``kind``'s schema (``list[X]``: an array of them), recorded for the document."""
    if getattr(kind, "__origin__", None) is list:
        (item,) = kind.__args__
        return {"type": "array", "items": schema_of(item)}
    DOCUMENTED.add(kind)
    return {"$ref": REF_TEMPLATE.format(name=kind.__name__)}


# Every route may give these: a body over the bound (the middleware, before any route), and
# parameters or a body not of the declared shape.
EVERY_ROUTE_REFUSES = (413, 422)


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem answers (RFC 9457, ``wire.Problem``) with these statuses, and the ones every route
    may give."""
    schema = {"$ref": REF_TEMPLATE.format(name=wire.Problem.__name__)}
    DOCUMENTED.add(wire.Problem)
    return {
        status: {
            "description": "a refusal (RFC 9457)",
            "content": {wire.PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in sorted({*statuses, *EVERY_ROUTE_REFUSES})
    }


def documented(
    kind: Any, status: int = 200, description: str = "OK", *, refused: tuple[int, ...] = ()
) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route answering ``kind`` with ``status``, or a problem with a status
    of ``refused`` (or one every route may give)."""
    answers: dict[int | str, dict[str, Any]] = {
        status: {"description": description, "content": {JSON_MEDIA_TYPE: {"schema": schema_of(kind)}}}
    }
    return {**answers, **refusals(*refused)}


def hex_param(
    text: str, what: str, *, size_bytes: int | None = None, size_bytes_max: int | None = None
) -> bytes:
    try:
        return wire.parse_hex(text, what, size_bytes=size_bytes, size_bytes_max=size_bytes_max)
    except UsageError as exc:
        raise DecodeError(exc.message) from None


TX_HASH_PATTERN = wire.sized_hex_pattern(32)


class TxHashSegment(StringConvertor):
    """A path segment read as a transaction hash: any segment but ``batch``, which names the
    batch submission path, so that ``GET /v1/txs/batch`` is a 405 naming POST, not a malformed
    hash. (Other malformed hashes still reach the route: a 400 ``malformed_encoding``.)"""

    regex = "(?!batch$)[^/]+"


register_url_convertor("tx_hash", TxHashSegment())
TX_HASH = "{tx_hash:tx_hash}"  # in a route's path: the parameter ``tx_hash`` (OpenAPI: {tx_hash})

HeightPath = Annotated[int, Path(ge=0, le=wire.HEIGHT_MAX, description="a block height")]
TxHashPath = Annotated[
    str,
    Path(description="a transaction's hash: 64 hex digits", json_schema_extra={"pattern": TX_HASH_PATTERN}),
]
AddressPath = Annotated[
    str, Path(description=wire.ADDRESS_DOC, json_schema_extra={"pattern": wire.ADDRESS_INPUT_PATTERN})
]
StateKeyPath = Annotated[
    str,
    Path(
        description=f"a state key: 1 to {wire.STATE_KEY_BYTES_MAX} bytes in hex",
        json_schema_extra={
            "pattern": rf"^(0[xX])?([0-9a-fA-F]{{2}}){{1,{wire.STATE_KEY_BYTES_MAX}}}$",
        },
    ),
]
HeightQuery = Annotated[int | None, Query(ge=0, le=wire.HEIGHT_MAX, description="read at this height")]
