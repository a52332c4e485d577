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
from alliance.abi import gov
from alliance.crypto.keys import AccountKey
from alliance.sdk import AsyncClient, BadResponse, Client, Timeout, Unreachable
from alliance.sdk.errors import error_classes, from_problem, from_receipt

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

    with client_answering(handler) as client:
        with pytest.raises(errors.UsageError):
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


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("permission_denied", errors.PermissionDenied),
        ("not_a_member", gov.NotAMember),
        ("already_voted", gov.AlreadyVoted),
        ("voting_closed", gov.VotingClosed),
        ("account_frozen", errors.AccountFrozen),
        ("invalid_arguments", errors.InvalidArguments),
        ("something_new", errors.ExecutionError),  # a code this SDK does not know
        ("timeout", errors.ExecutionError),  # a transport code never names an execution failure
    ],
)
def test_a_failed_receipt_raises_the_class_its_status_names(
    status: str, expected: type[errors.AllianceError]
) -> None:
    error = from_receipt(status, "the receipt's message")
    assert type(error) is expected and error.message == "the receipt's message"


def test_governance_arguments_are_refused_before_any_request() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request should be sent")

    key = AccountKey.generate()
    with client_answering(handler) as client:
        with pytest.raises(errors.UsageError, match="Action structs"):
            client.propose(key, gov.ProposeArgs(action=gov.RemoveMember(org="x")))  # type: ignore[arg-type]
        with pytest.raises(errors.UsageError, match="voting_blocks"):
            client.propose(key, gov.RemoveMember(org="x"), voting_blocks=-1)
        for bad_id in (0, -3, True):
            with pytest.raises(errors.UsageError, match="proposal id"):
                client.proposal(bad_id)
            with pytest.raises(errors.UsageError, match="proposal id"):
                client.vote(key, bad_id, True)
        with pytest.raises(errors.UsageError, match="limit"):
            client.proposals(limit=501)
        with pytest.raises(errors.UsageError):
            client.freeze(key, b"\x01" * 19, "too short an address")


def proposal_json(kind: str, action: dict[str, object]) -> dict[str, object]:
    address = "0x" + "ab" * 20
    return {
        "id": 4,
        "kind": kind,
        "status": "open",
        "action": {"kind": kind, **action},
        "proposer": address,
        "proposer_org": "org0",
        "created_height": 3,
        "deadline_height": 9,
        "threshold": "2/3",
        "votes": [{"org": "org0", "voter": address, "yes": True, "height": 3}],
        "decided_height": 0,
        "error": "",
    }


def test_a_proposal_s_action_is_the_governance_struct_or_bad_response() -> None:
    answers = {
        "/v1/gov/proposals/1": proposal_json("grant-role", {"account": "0x" + "cd" * 20, "role": "auditor"}),
        "/v1/gov/proposals/2": proposal_json(
            "add-validator", {"node_id": "ef" * 32, "org": "o", "name": "n"}
        ),
        "/v1/gov/proposals/3": proposal_json("set-param", {"name": "", "value": "1"}),  # below its bound
        "/v1/gov/proposals/4": proposal_json("paint-the-logo", {"colour": "blue"}),
        "/v1/gov/proposals/5": proposal_json(
            "add-member", {"org": "org9", "ca_certificate": "0102", "weight": 2, "admin": "0x" + "cd" * 20}
        ),
        "/v1/gov/proposals/6": proposal_json(
            "add-member", {"org": "org9", "ca_certificate": "0102", "weight": 1, "admin": None}
        ),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers[request.url.path])

    with client_answering(handler) as client:
        view = client.proposal(1)
        assert view.gov_action() == gov.GrantRole(account=b"\xcd" * 20, role="auditor", org="")
        assert view.votes[0].voter == b"\xab" * 20 and view.threshold == "2/3"
        assert client.proposal(2).gov_action() == gov.AddValidator(
            node_id=b"\xef" * 32, org="o", name="n", power=10
        )
        assert client.proposal(5).gov_action() == gov.AddMember("org9", b"\x01\x02", 2, admin=b"\xcd" * 20)
        assert client.proposal(6).gov_action() == gov.AddMember("org9", b"\x01\x02", 1, admin=None)
        for broken in (3, 4):
            with pytest.raises(BadResponse, match="proposal"):
                client.proposal(broken)


def test_a_failed_governance_receipt_raises_its_typed_error() -> None:
    tx_hash = "12" * 32

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/status":
            return httpx.Response(200, json=STATUS_JSON)
        if request.url.path == "/v1/txs":
            return httpx.Response(202, json={"hash": tx_hash, "accepted": True})
        return httpx.Response(
            200,
            json={
                "hash": tx_hash,
                "status": "not_a_member",
                "ok": False,
                "height": 12,
                "index": 0,
                "gas_used": 1,
                "error": "0xAb belongs to org9, which is not a member",
                "events": [],
            },
        )

    with client_answering(handler) as client:
        with pytest.raises(gov.NotAMember, match="org9, which is not a member"):
            client.propose(AccountKey.generate(), gov.SetParam(name="block_txs_max", value="9"))
        with pytest.raises(gov.NotAMember):
            client.vote(AccountKey.generate(), 1, True)
        with pytest.raises(gov.NotAMember):
            client.freeze(AccountKey.generate(), b"\x01" * 20, "why")
        view = client.call(AccountKey.generate(), "gov", "vote", gov.VoteArgs(proposal=1, yes=True))
        assert view.status == "not_a_member" and not view.ok  # call reports; only the helpers raise


STATUS_JSON = {
    "chain_id": "test",
    "node": "node0",
    "org": "org0",
    "node_id": "00" * 32,
    "genesis_hash": "00" * 32,
    "height": 10,
    "block_hash": "00" * 32,
    "app_hash": "00" * 32,
    "time_ms": 0,
    "validator": True,
    "round": 0,
    "syncing": False,
    "validators": [],
    "peers": [],
    "mempool": {"txs": 0, "bytes": 0},
    "tx_window_blocks": 100,
}
