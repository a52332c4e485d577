"""The API's edges that need no node: error mapping, problem JSON, body bounds, request shapes.

The app is built over ``RefusingNode``, which fails the test if any route reaches it: every case
here must be answered before the node is asked anything (that is the point of checking at the
edge). Everything that needs a node runs against a real one in ``test_api_node.py``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
import threading
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import httpx
import msgspec
import pytest

from alliance import errors
from alliance.api import ApiServer, create_app
from alliance.api.errors import BodyTooLarge, RequestTimeout, problem_body, status_of

TEST_BOUND_S = 20


class RefusingNode:
    """Stands where a node goes; any use is a test failure (the API asked too early)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the API called node.{name} for a request it should have refused itself")


class BrokenNode:
    """A node whose ``status`` hits a bug: checks that a bug becomes a logged 500, not a crash."""

    def status(self) -> Any:
        raise RuntimeError("simulated bug in the node")


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, TEST_BOUND_S))


def client_for(node: Any, **options: Any) -> httpx.AsyncClient:
    app = create_app(node, **options)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:alliance:{code}"
    assert body["code"] == code
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.DecodeError("x"), 400),
        (errors.BadSignature("x"), 400),
        (errors.WrongChainId("x"), 400),
        (errors.TxExpired("x"), 400),
        (errors.TxTooFarAhead("x"), 400),
        (errors.TxTooLarge("x"), 400),
        (errors.GasLimitTooHigh("x"), 400),
        (errors.DuplicateTx("x"), 409),
        (errors.NotFound("x"), 404),
        (errors.VersionPruned("x"), 410),
        (errors.KeyFileError("x"), 400),
        (errors.UsageError("x"), 400),
        (errors.MempoolFull("x"), 503),
        (errors.OperationalError("x"), 503),
        (errors.InvariantViolation("x"), 500),
        (BodyTooLarge("x"), 413),
        (RequestTimeout("x"), 408),
    ],
)
def test_status_follows_the_fault_class(error: errors.AllianceError, status: int) -> None:
    assert status_of(error) == status


def test_problem_body_is_rfc9457_with_the_code() -> None:
    assert problem_body(409, "duplicate_tx", "seen") == {
        "type": "urn:alliance:duplicate_tx",
        "title": "Conflict",
        "status": 409,
        "detail": "seen",
        "code": "duplicate_tx",
    }


def test_unknown_route_and_wrong_method_are_problems() -> None:
    async def scenario() -> None:
        async with client_for(RefusingNode()) as client:
            assert_problem(await client.get("/v1/nothing/here"), 404, "not_found")
            assert_problem(await client.get("/v1/status/"), 404, "not_found")  # not a redirect
            response = await client.delete("/v1/status")
            assert_problem(response, 405, "method_not_allowed")
            assert "GET" in response.headers["allow"]

    run(scenario())


def test_malformed_and_mistyped_json_are_422() -> None:
    async def scenario() -> None:
        async with client_for(RefusingNode()) as client:
            headers = {"content-type": "application/json"}
            bad = "invalid_request"
            assert_problem(await client.post("/v1/txs", content=b"{not json", headers=headers), 422, bad)
            assert_problem(await client.post("/v1/txs", json={"tx": 5}), 422, "invalid_request")
            assert_problem(await client.post("/v1/txs", json={"transaction": "00"}), 422, "invalid_request")
            assert_problem(await client.post("/v1/txs", json=["00"]), 422, "invalid_request")
            assert_problem(await client.post("/v1/txs/batch", content=b"[1,", headers=headers), 422, bad)
            assert_problem(await client.post("/v1/txs/batch", json={"txs": "00"}), 422, "invalid_request")
            too_many = {"txs": ["00"] * 10_001}
            assert_problem(await client.post("/v1/txs/batch", json=too_many), 422, "invalid_request")
            assert_problem(await client.get("/v1/blocks/abc"), 422, "invalid_request")
            assert_problem(await client.get("/v1/blocks/-1"), 422, "invalid_request")
            assert_problem(await client.get("/v1/txs/" + "00" * 32 + "/wait?timeout_ms=60001"), 422, bad)
            # JSON Python's parser cannot read (FastAPI's own "error parsing the body") is 422 too.
            for unreadable in (b"\xff", b"[" * 100_000, b'{"tx": ' + b"9" * 4301 + b"}"):
                assert_problem(await client.post("/v1/txs", content=unreadable, headers=headers), 422, bad)

    run(scenario())


def test_bad_hex_and_bad_addresses_are_400_before_the_node_is_asked() -> None:
    async def scenario() -> None:
        async with client_for(RefusingNode()) as client:
            body = assert_problem(await client.post("/v1/txs", json={"tx": "zz"}), 400, "malformed_encoding")
            assert "not hex" in body["detail"]
            assert_problem(await client.get("/v1/txs/xyz"), 400, "malformed_encoding")
            assert_problem(await client.get("/v1/txs/" + "ab" * 31), 400, "malformed_encoding")
            spaced = " ".join(["ab"] * 32)  # bytes.fromhex alone would take it
            assert_problem(await client.get(f"/v1/txs/{spaced}"), 400, "malformed_encoding")
            assert_problem(await client.get("/v1/txs/" + "ab" * 31 + "/wait"), 400, "malformed_encoding")
            assert_problem(await client.get("/v1/accounts/0x1234"), 400, "malformed_encoding")
            assert_problem(await client.get("/v1/accounts/" + "g" * 40), 400, "malformed_encoding")
            bad_checksum = "0x" + "aB" * 20
            assert_problem(await client.get(f"/v1/accounts/{bad_checksum}"), 400, "malformed_encoding")
            assert_problem(await client.get("/v1/state/q1"), 400, "malformed_encoding")

    run(scenario())


def test_binary_batch_that_does_not_decode_is_400() -> None:
    async def scenario() -> None:
        headers = {"content-type": "application/msgpack"}
        async with client_for(RefusingNode()) as client:
            for body in (
                b"\xc1",  # never-used msgpack byte
                msgspec.msgpack.encode({"txs": []}),  # a map, not an array
                msgspec.msgpack.encode(["text, not bin"]),
                msgspec.msgpack.encode([b"\x00"] * 50_001),  # over the binary bound
            ):
                response = await client.post("/v1/txs/batch", content=body, headers=headers)
                assert_problem(response, 400, "malformed_encoding")

    run(scenario())


def test_empty_batches_are_answered_without_the_node() -> None:
    async def scenario() -> None:
        async with client_for(RefusingNode()) as client:
            response = await client.post(
                "/v1/txs/batch",
                content=msgspec.msgpack.encode([]),
                headers={"content-type": "application/msgpack"},
            )
            assert response.status_code == 200 and response.json() == {"accepted": 0, "rejected": []}
            response = await client.post("/v1/txs/batch", json={"txs": []})
            assert response.status_code == 200 and response.json() == {"accepted": 0, "results": []}

    run(scenario())


def test_declared_body_over_the_bound_is_413_without_reading_it() -> None:
    async def scenario() -> None:
        async with client_for(RefusingNode(), body_bytes_max=1000) as client:
            body = assert_problem(await client.post("/v1/txs", content=b"x" * 1001), 413, "body_too_large")
            assert "1001" in body["detail"]
            # Exactly at the bound the body is read, and judged on its content.
            assert_problem(await client.post("/v1/txs", content=b"x" * 1000), 422, "invalid_request")

    run(scenario())


def test_streamed_body_over_the_bound_is_413_while_reading() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b'{"txs": ["' + b"0" * 200 + b'"]'  # no content-length: counted as it arrives

    async def scenario() -> None:
        async with client_for(RefusingNode(), body_bytes_max=1000) as client:
            response = await client.post("/v1/txs/batch", content=chunks())
            assert "content-length" not in response.request.headers
            assert_problem(response, 413, "body_too_large")

    run(scenario())


def test_a_bug_is_a_logged_500_problem(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with client_for(BrokenNode()) as client:
            body = assert_problem(await client.get("/v1/status"), 500, "internal_error")
            assert "simulated bug" not in body["detail"]  # internals stay in the log
            # The app still serves afterwards.
            assert (await client.get("/openapi.json")).status_code == 200

    with caplog.at_level(logging.ERROR, logger="alliance.api"):
        run(scenario())
    assert any("simulated bug" in (r.exc_text or "") for r in caplog.records)


def test_openapi_documents_every_route() -> None:
    async def scenario() -> None:
        async with client_for(RefusingNode()) as client:
            spec = (await client.get("/openapi.json")).json()
            docs = await client.get("/docs")
            assert docs.status_code == 200 and "swagger" in docs.text.lower()
        paths = spec["paths"]
        for path in (
            "/v1/status",
            "/v1/blocks/latest",
            "/v1/blocks/{height}",
            "/v1/blocks/{height}/receipts",
            "/v1/txs/{tx_hash}",
            "/v1/txs/{tx_hash}/wait",
            "/v1/accounts/{address}",
            "/v1/state/{key}",
            "/v1/txs",
            "/v1/txs/batch",
            "/v1/gov",
            "/v1/gov/proposals",
            "/v1/gov/proposals/{proposal_id}",
            "/metrics",
        ):
            assert path in paths, path
        batch_body = paths["/v1/txs/batch"]["post"]["requestBody"]["content"]
        assert set(batch_body) == {"application/json", "application/msgpack"}

    run(scenario())


def test_each_app_has_its_own_metrics_registry() -> None:
    first = create_app(RefusingNode())
    second = create_app(RefusingNode())
    assert first.state.registry is not second.state.registry


def test_server_runs_in_this_loop_stops_and_refuses_a_taken_port() -> None:
    async def scenario() -> None:
        server = ApiServer(create_app(RefusingNode()), "127.0.0.1", 0)
        task = asyncio.create_task(server.serve())
        await asyncio.wait_for(server.started.wait(), 10)
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
            assert (await client.get("/openapi.json")).status_code == 200
            taken = ApiServer(create_app(RefusingNode()), "127.0.0.1", server.port)
            with pytest.raises(errors.OperationalError, match=f"127.0.0.1:{server.port}"):
                await taken.serve()
            server.stop()
            await asyncio.wait_for(task, 10)
            with pytest.raises(httpx.ConnectError):
                await client.get("/openapi.json")

    run(scenario())


def test_connections_to_the_api_send_without_waiting_for_acks() -> None:
    """TCP_NODELAY on every accepted connection: without it each answer waited for the client's
    delayed ACK (~40 ms a request on Linux), since asyncio sets it only on sockets made with
    protocol IPPROTO_TCP."""

    async def scenario() -> None:
        server = ApiServer(create_app(RefusingNode()), "127.0.0.1", 0)
        task = asyncio.create_task(server.serve())
        await asyncio.wait_for(server.started.wait(), 10)
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
            assert (await client.get("/openapi.json")).status_code == 200  # the connection stays open
            assert server._server is not None
            connections = list(server._server.server_state.connections)
            assert connections
            for connection in connections:
                sock = connection.transport.get_extra_info("socket")
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        server.stop()
        await asyncio.wait_for(task, 10)

    run(scenario())


def test_cancelling_the_server_closes_its_port() -> None:
    async def scenario() -> None:
        server = ApiServer(create_app(RefusingNode()), "127.0.0.1", 0)
        task = asyncio.create_task(server.serve())
        await asyncio.wait_for(server.started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/openapi.json")

    run(scenario())


def test_governance_queries_out_of_bounds_are_422() -> None:
    async def scenario() -> None:
        async with client_for(RefusingNode()) as client:
            for params in ({"limit": 501}, {"limit": 0}, {"from_id": 0}, {"from_id": "x"}):
                response = await client.get("/v1/gov/proposals", params=params)
                assert_problem(response, 422, "invalid_request")
            assert_problem(await client.get("/v1/gov/proposals/abc"), 422, "invalid_request")
            assert_problem(await client.get("/v1/gov/proposals/-1"), 422, "invalid_request")
            assert_problem(await client.get(f"/v1/gov/proposals/{2**63}"), 422, "invalid_request")

    run(scenario())


class ThreadRecordingNode:
    """Records the thread each node call runs on, then fails it (the answer does not matter here)."""

    def __init__(self) -> None:
        self.threads: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.threads.add(threading.get_ident())
            raise errors.NotFound(f"{name}: nothing here")

        return call


def test_every_route_runs_on_the_node_s_event_loop() -> None:
    """A plain ``def`` route runs in FastAPI's thread pool, where it would race the node's commits
    on the store's read transaction (CI once saw ``mdb_get: Invalid argument``)."""
    from fastapi.routing import APIRoute, APIWebSocketRoute

    app = create_app(RefusingNode())
    routes = [r for r in app.routes if isinstance(r, APIRoute | APIWebSocketRoute)]
    assert len(routes) >= 10
    sync = [r.path for r in routes if not inspect.iscoroutinefunction(r.endpoint)]
    assert sync == [], f"routes that would run in a thread pool: {sync}"

    node = ThreadRecordingNode()

    async def scenario() -> None:
        loop_thread = threading.get_ident()
        async with client_for(node) as client:
            paths = ("/v1/status", "/v1/blocks/3", "/v1/blocks/3/receipts", "/v1/gov", "/v1/gov/proposals/1")
            for path in (*paths, "/v1/accounts/0x" + "11" * 20):
                await client.get(path)
        assert node.threads == {loop_thread}

    run(scenario())
