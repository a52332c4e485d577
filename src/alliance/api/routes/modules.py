"""Every module's read-only queries, generically: ``GET /v1/modules/{module}/{query}``.

Theory of operation: the routes are made from the registered module descriptors
(``execution.modules.builtin_modules``), one concrete path per query, so a new module's reads
need no new route and each one is documented exactly. The query's arguments come as URL query
parameters, one per field of its args Struct, typed by the field's declared type (numbers,
text, addresses and hex by the wire's rules); they are converted into that Struct, encoded
canonically, and asked of the node (``NodeFacade.query_module``) against committed state. The
answer is the query's result shown by the wire's generic rule (``wire.to_wire``: addresses
checksummed by declared type, other bytes hex, tagged Structs with their ``kind``) with the height
it was read at. Areas with a nicer URL (``/v1/gov``...) keep theirs; both read the same queries.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from starlette.responses import Response

from alliance import codec
from alliance.api.errors import InvalidRequest
from alliance.api.routes import REF_TEMPLATE, WireJSON, answer, documented
from alliance.execution.modules import Query, builtin_modules
from alliance.node.facade import NodeFacade
from alliance.sdk import wire

QUERY_PARAMS_MAX = 32


def result_type(query: Query) -> Any:
    """The declared return type of a query's function (``Any`` when it declares none it can name)."""
    annotation = getattr(query.run, "__annotations__", {}).get("return")
    if isinstance(annotation, str):
        try:
            annotation = eval(annotation, getattr(query.run, "__globals__", {}))  # noqa: S307 - its own annotation
        except (NameError, SyntaxError, TypeError):
            return Any
    return Any if annotation is None else annotation


@cache  # one Struct per query, whatever the number of apps made: its schema name is unique
def answer_type_of(module: str, query: Query) -> type[msgspec.Struct]:
    """The answer of ``module.query``'s routes: the height it was read at and its value's JSON twin."""
    value = wire.json_type(result_type(query))
    name = f"{module}.{query.name}.Answer"
    return msgspec.defstruct(
        name, [("height", int), ("value", value)], frozen=True, kw_only=True, module=wire.__name__
    )


def _parameters(query: Query) -> list[dict[str, Any]]:
    """The OpenAPI query parameters of ``query``: its args Struct's fields, each with its schema."""
    if query.args is None:
        return []
    twin = wire.json_type(query.args)
    schema, components = wire.schema_components([twin], REF_TEMPLATE)
    fields = components[twin.__name__]
    required = set(fields.get("required", ()))
    out = []
    for name, declared in fields["properties"].items():
        field = dict(declared)
        if field.get("pattern") == wire.ADDRESS_PATTERN:
            field["pattern"] = wire.ADDRESS_INPUT_PATTERN  # checksums: see ADDRESS_INPUT_PATTERN
        out.append({"name": name, "in": "query", "required": name in required, "schema": field})
    del schema
    return out


def _add_query_route(routes: APIRouter, node: NodeFacade, module: str, query: Query) -> None:
    answer_type = answer_type_of(module, query)
    args_kind = query.args

    async def read(request: Request) -> Response:
        params = dict(request.query_params)
        if len(request.query_params) > QUERY_PARAMS_MAX:
            raise InvalidRequest(f"at most {QUERY_PARAMS_MAX} query parameters")
        raw_args = b""
        if args_kind is not None:
            try:
                raw_args = codec.encode(wire.query_args_from_params(args_kind, params))
            except msgspec.ValidationError as exc:
                raise InvalidRequest(f"the arguments of {module}.{query.name}: {exc}") from None
        found = node.query_module(module, query.name, raw_args)
        return answer(answer_type(height=found.height, value=wire.to_wire(found.value)))

    routes.add_api_route(
        f"/v1/modules/{module}/{query.name}",
        read,
        methods=["GET"],
        name=f"{module}.{query.name}",
        summary=f"{module}.{query.name}: {query.doc}",
        responses=documented(answer_type, description=query.doc, refused=(404,)),
        openapi_extra={"parameters": _parameters(query)},
        tags=["modules"],
    )


def router(node: NodeFacade) -> APIRouter:
    routes = APIRouter(default_response_class=WireJSON)
    for module in builtin_modules():
        for query in module.queries.values():
            _add_query_route(routes, node, module.name, query)
    return routes
