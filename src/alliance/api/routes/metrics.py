"""``GET /metrics``: the node's Prometheus metrics (``api.metrics`` fills the registry)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.responses import Response

from alliance.api.routes import refusals

_TEXT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus text exposition",
        "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
    }
}


def router(registry: CollectorRegistry) -> APIRouter:
    routes = APIRouter()

    @routes.get("/metrics", response_class=Response, responses={**_TEXT, **refusals()}, tags=["node"])
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return routes
