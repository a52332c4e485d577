"""The node's REST and WebSocket API (spec/api.md), built against the ``NodeFacade`` only.

Theory of operation: ``create_app(node, mounts=...)`` returns a FastAPI application made of the
routers in ``api.routes`` (one file per area) and the mounts the composition root adds (the
explorer mounts its static pages at ``/``: ``api`` never imports it). Every answer is an
``sdk.wire`` Struct, encoded by msgspec, and the OpenAPI document declares it from that same
Struct (``api.openapi``). Input is checked at the edge: parameters by FastAPI as declared (422
``invalid_request``), hex and sizes by the routes (400 ``malformed_encoding``), request bodies by
msgspec into the wire's request Structs (422), everything about a transaction by the node's own
admission (its typed errors become problem JSON through ``api.errors``). Routes never catch broad
exceptions: a bug reaches ``GuardMiddleware``, which logs it and answers 500.

Every route is ``async def``: it runs on the node's own event loop, between the runtime's steps,
like everything else that touches the node. (FastAPI runs a plain ``def`` route in a thread pool,
where it would read the LMDB store's shared read transaction and the executor's caches while the
loop commits a block: a CI run caught ``mdb_get: Invalid argument`` from exactly that race.)

Middleware, outermost first: the guard (500s), request metrics (sees every status, 413s too), the
body bound (413 before a body is read whole).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from alliance.api.errors import (
    API_BODY_BYTES_MAX,
    BodyLimitMiddleware,
    GuardMiddleware,
    install_error_handlers,
)
from alliance.api.metrics import RequestMetricsMiddleware, make_registry
from alliance.api.openapi import install_openapi
from alliance.api.routes import chain, gov, lookups, modules, passes, stream, txs
from alliance.api.routes import metrics as metrics_routes
from alliance.node.facade import NodeFacade

STREAM_SEND_TIMEOUT_MS = 5_000

Mount = Callable[[FastAPI], None]
"""Adds routes or mounts to the app after the API's own (the explorer's static pages, at ``/``)."""


def create_app(
    node: NodeFacade,
    *,
    mounts: Sequence[Mount] = (),
    metrics: CollectorRegistry | None = None,
    body_bytes_max: int = API_BODY_BYTES_MAX,
    stream_send_timeout_ms: int = STREAM_SEND_TIMEOUT_MS,
) -> FastAPI:
    """The API of ``node``. ``metrics``: a registry to fill (a fresh one per app by default)."""
    app = FastAPI(
        title="Alliance node API",
        version="1",
        description="REST and WebSocket API of one Alliance node (spec/api.md).",
        redirect_slashes=False,  # a path with a trailing slash is a 404 problem, not a redirect
    )
    registry, request_counter = make_registry(node, metrics)
    app.state.registry = registry
    install_error_handlers(app)
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(BodyLimitMiddleware, body_bytes_max=body_bytes_max)
    app.add_middleware(RequestMetricsMiddleware, counter=request_counter)
    app.add_middleware(GuardMiddleware)
    # Submission first: /v1/txs/batch must be matched before /v1/txs/{tx_hash} takes it for a hash.
    areas = (
        txs.router(node),
        lookups.router(node),
        chain.router(node),
        gov.router(node),
        passes.router(node),
        modules.router(node),
        stream.router(node, stream_send_timeout_ms),
        metrics_routes.router(registry),
    )
    for area in areas:
        # The routes themselves, not FastAPI's lazy ``include_router`` wrapper: the route table stays
        # flat, so the request metrics label by route template and tests can read every route.
        app.router.routes.extend(area.routes)
    for mount in mounts:
        mount(app)
    install_openapi(app)
    return app
