"""The SDK's HTTP error handling, with ``httpx.MockTransport`` standing for the network.

Only the mapping of answers and failures to typed errors is tested here; what the answers of a
real node look like, and the views built from them, is tested against a real node in
``test_sdk_node.py``.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable

import httpx
import pytest

from alliance import errors
from alliance.sdk import AsyncClient, BadResponse, Client, Timeout, Unreachable
from alliance.sdk.errors import error_classes, from_problem

Handler = Callable[[httpx.Request], httpx.Response]


def problem(status: int, code: str, detail: str = "why") -> httpx.Response:
    body = {"type": f"urn:alliance:{code}", "title": "t", "status": status, "detail": detail, "code": code}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def client_answering(handler: Handler) -> Client:
    return Client("http://node.test", transport=httpx.MockTransport(handler))


def test_every_error_code_of_alliance_errors_is_known() -> None:
    classes = error_classes()
    for name in dir(errors):
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.AllianceError):
            assert classes[cls.code] is cls


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (409, "duplicate_tx", errors.DuplicateTx),
        (400, "bad_signature", errors.BadSignature),
        (400, "wrong_chain_id", errors.WrongChainId),
        (400, "tx_expired", errors.TxExpired),
        (400, "tx_valid_until_too_far", errors.TxTooFarAhead),
        (400, "malformed_encoding", errors.DecodeError),
        (404, "not_found", errors.NotFound),
        (410, "version_pruned", errors.VersionPruned),
        (503, "mempool_full", errors.MempoolFull),
        (408, "timeout", Timeout),
        (422, "invalid_request", errors.UsageError),  # the API's own code: falls back by status
        (413, "body_too_large", errors.UsageError),
        (500, "internal_error", errors.OperationalError),
        (502, "something_new", errors.OperationalError),
    ],
)
def test_problem_code_raises_its_class(status: int, code: str, expected: type[errors.AllianceError]) -> None:
    client = client_answering(lambda _request: problem(status, code, "the detail"))
    with client, pytest.raises(expected) as caught:
        client.status()
    assert type(caught.value) is expected
    assert caught.value.message == "the detail"


def test_an_answer_that_is_not_problem_json_still_raises_by_status() -> None:
    client = client_answering(lambda _request: httpx.Response(502, text="<html>bad gateway</html>"))
    expected = re.escape("HTTP 502 from http://node.test/v1/status")
    with client, pytest.raises(errors.OperationalError, match=expected):
        client.status()
    client = client_answering(lambda _request: httpx.Response(404, text="nope"))
    with client, pytest.raises(errors.UsageError):
        client.block(3)


def test_a_success_that_is_not_the_api_json_is_bad_response() -> None:
    client = client_answering(lambda _request: httpx.Response(200, text="<html>"))
    with client, pytest.raises(BadResponse):
        client.status()
    client = client_answering(lambda _request: httpx.Response(200, json={"height": 1}))
    with client, pytest.raises(BadResponse, match="status"):
        client.status()
    assert issubclass(BadResponse, errors.OperationalError)


def test_a_closed_port_is_unreachable_with_the_url_on_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    with Client(f"http://127.0.0.1:{port}", timeout_s=5) as client, pytest.raises(Unreachable) as caught:
        client.status()
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}/v1/status" in message and "\n" not in message
    assert isinstance(caught.value, errors.OperationalError)


def test_a_read_timeout_is_timeout_and_a_connect_timeout_unreachable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    def silent(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no route", request=request)

    with client_answering(slow) as client, pytest.raises(Timeout):
        client.status()
    with client_answering(silent) as client, pytest.raises(Unreachable):
        client.status()


def test_wait_asks_again_after_the_node_s_408_until_its_own_deadline() -> None:
    asked: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(int(request.url.params["timeout_ms"]))
        return problem(408, "timeout")

    with client_answering(handler) as client, pytest.raises(Timeout, match="not committed within"):
        client.wait(b"\x01" * 32, timeout_s=0.3)
    assert asked and all(0 < t <= 300 for t in asked)


def test_bad_addresses_and_heights_are_refused_before_any_request() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request should be sent")

    with client_answering(handler) as client, pytest.raises(errors.UsageError):
        client.account(b"\x01" * 19)
        with pytest.raises(errors.UsageError):
            client.account("0x1234")
        with pytest.raises(errors.UsageError):
            client.block("earliest")  # type: ignore[arg-type]


def test_async_client_maps_problems_too() -> None:
    async def scenario() -> None:
        transport = httpx.MockTransport(lambda _request: problem(409, "duplicate_tx"))
        async with AsyncClient("http://node.test", transport=transport) as client:
            with pytest.raises(errors.DuplicateTx):
                await client.submit(b"\x00")

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_from_problem_bounds_the_detail() -> None:
    error = from_problem(400, b'{"code": "bad_signature", "detail": "' + b"x" * 10_000 + b'"}', "http://n")
    assert isinstance(error, errors.BadSignature) and len(error.message) <= 2000
