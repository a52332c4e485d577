"""The route table: the mount hook for the composition root, and the generic module-query routes.

``create_app(node, mounts=...)`` lets whoever composes a node add pages (the explorer will mount its
static files at ``/``) without ``api`` importing them. ``GET /v1/modules/{module}/{query}`` reads
any registered module's query with its arguments as URL query parameters; the routes are made
from the module descriptors, so these checks name no route of their own for a module's reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from alliance.abi import gov
from alliance.api import create_app
from alliance.crypto.keys import to_checksum_address
from alliance.execution.modules import builtin_modules
from alliance.testing.nodes import api_node, run


class RefusingNode:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the API called node.{name} for a request it should have refused itself")


def mount_front_page(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False, response_class=PlainTextResponse)
    async def front_page() -> str:
        return "the explorer"


def test_a_mount_adds_its_page_beside_the_api(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path, mounts=[mount_front_page]) as api, httpx.AsyncClient(
            base_url=api.url, timeout=10
        ) as client:
            page = await client.get("/")
            assert (page.status_code, page.text) == (200, "the explorer")
            assert (await client.get("/v1/status")).json()["chain_id"] == api.chain_id
            assert "/" not in (await client.get("/openapi.json")).json()["paths"]

    run(scenario())


def test_without_a_mount_the_front_page_is_a_problem() -> None:
    async def scenario() -> None:
        app = create_app(RefusingNode())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            answer = await client.get("/")
            assert answer.status_code == 404 and answer.json()["code"] == "not_found"

    run(scenario())


def test_every_module_query_has_its_route_and_documented_arguments() -> None:
    document = create_app(RefusingNode()).openapi()
    for module in builtin_modules():
        for query in module.queries.values():
            operation = document["paths"][f"/v1/modules/{module.name}/{query.name}"]["get"]
            names = {p["name"] for p in operation.get("parameters", [])}
            expected = set() if query.args is None else set(query.args.__struct_fields__)
            assert names == expected, (module.name, query.name)
    account = document["paths"]["/v1/modules/gov/account"]["get"]["parameters"]
    assert account[0]["required"] and "[0-9a-f]{40}" in account[0]["schema"]["pattern"]


def test_module_queries_answer_their_result_with_the_height(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, httpx.AsyncClient(base_url=api.url, timeout=10) as client:
            dev = api.dev.address
            balance = (await client.get("/v1/modules/accounts/balance", params={"address": dev.hex()})).json()
            assert balance["value"].keys() == {"address", "balance"}
            assert balance["value"]["address"] == to_checksum_address(dev)
            account = (await client.get(f"/v1/accounts/{dev.hex()}")).json()
            assert balance["value"]["balance"] == account["balance"] > 0 and balance["height"] >= 0

            overview = (await client.get("/v1/modules/gov/overview")).json()["value"]
            assert [m["org"] for m in overview["members"]] == ["org0"] and overview["frozen_count"] == 0

            page = await client.get("/v1/modules/gov/frozen", params={"start": 0, "limit": 5})
            assert page.status_code == 200 and page.json()["value"] == []
            missing = await client.get("/v1/modules/gov/proposal", params={"id": 99})
            assert missing.status_code == 404 and "no proposal 99" in missing.json()["detail"]
            for params in ({"address": "0x12"}, {}):
                refused = await client.get("/v1/modules/gov/account", params=params)
                assert refused.status_code == 422 and refused.json()["code"] == "invalid_request"
            over = await client.get("/v1/modules/gov/proposals", params={"limit": gov.PAGE_LIMIT_MAX + 1})
            assert over.status_code == 422
            assert (await client.get("/v1/modules/gov/nonsense")).status_code == 404

    run(scenario())
