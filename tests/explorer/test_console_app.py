"""The console's application in this process (its login, refusals, forwarding and actions), against
the real alliance: the same checks as the browser's, at the HTTP level, where coverage sees them."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from explorer_helpers import Alliance, Seed
from websockets.sync.client import connect as ws_connect

from alliance.cli.keyring import keys_new
from alliance.explorer.console import Console


@pytest.fixture
def console(chain: Alliance) -> Iterator[Console]:
    """A console serving in a thread of this process (as ``run_console`` serves it, without signals)."""
    made = Console(chain.directory, port=0)
    listening = threading.Event()
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        await made.serve(lambda _url: listening.set())

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="console", daemon=True)
    thread.start()
    assert listening.wait(20), "the console did not listen within 20 s"
    yield made
    loops[0].call_soon_threadsafe(made.stop)
    thread.join(20)
    assert not thread.is_alive(), "the console did not stop"


@pytest.fixture
def client(console: Console) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{console.port}", timeout=60) as made:
        yield made


def login(console: Console, client: httpx.Client) -> None:
    answer = client.get(f"/?token={console.login.token}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"


def act(client: httpx.Client, name: str, body: dict[str, Any]) -> Any:
    answer = client.post(
        f"/console/api/actions/{name}", json=body, headers={"origin": str(client.base_url).rstrip("/")}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_token_is_exchanged_once_for_a_session(console: Console, client: httpx.Client) -> None:
    token = console.login.token
    assert console.login_url() == f"http://127.0.0.1:{console.port}/?token={token}"
    assert client.get("/console/api/session").json() == {"authenticated": False}
    refused = client.get("/?token=wrong", follow_redirects=False)
    assert refused.headers["location"] == "/console?login=refused"
    login(console, client)
    assert (
        client.get(f"/?token={token}", follow_redirects=False).headers["location"] == "/console?login=refused"
    )
    session = client.get("/console/api/session").json()
    assert session["authenticated"] is True
    assert {"dev", "supervisor", "org0-admin", "org1-admin"} <= {k["name"] for k in session["keys"]}
    assert "add-member" in session["kinds"] and session["orgs"] == ["org0", "org1"]
    assert [n["name"] for n in session["nodes"]] == ["node0", "node1"]
    assert 'data-mode="console"' in client.get("/console").text


def test_actions_are_refused_without_the_session_the_origin_or_json(
    console: Console, client: httpx.Client
) -> None:
    body = {"from": "dev", "to": "bob", "amount": 1}
    unauthorized = client.post("/console/api/actions/transfer", json=body)
    assert unauthorized.status_code == 401
    assert unauthorized.headers["content-type"] == "application/problem+json"
    login(console, client)
    assert (
        client.post(
            "/console/api/actions/transfer", json=body, headers={"origin": "http://x.example"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/console/api/actions/transfer", json=body, headers={"sec-fetch-site": "cross-site"}
        ).status_code
        == 403
    )
    plain = client.post(
        "/console/api/actions/transfer", content=b"{}", headers={"content-type": "text/plain"}
    )
    assert plain.status_code == 415
    extra = client.post("/console/api/actions/transfer", json={**body, "memo": "x"})
    assert extra.status_code == 422 and extra.json()["code"] == "invalid_request"
    unknown = client.post("/console/api/actions/propose", json={"from": "org0-admin", "kind": "make-king"})
    assert unknown.status_code == 400 and "unknown kind" in unknown.json()["detail"]
    no_key = client.post("/console/api/actions/transfer", json={**body, "from": "nobody"})
    assert no_key.status_code == 400 and "no key named" in no_key.json()["detail"]
    wrong_host = client.get("/v1/status", headers={"host": "rebound.example"})
    assert wrong_host.status_code == 403


def test_reads_and_the_stream_are_forwarded_to_a_node(
    chain: Alliance, console: Console, client: httpx.Client
) -> None:
    assert client.get("/v1/status").json()["chain_id"] == chain.get("/v1/status")["chain_id"]
    missing = client.get("/v1/blocks/999999999")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    with ws_connect(f"ws://127.0.0.1:{console.port}/v1/stream?from_height=1", open_timeout=10) as stream:
        first = json.loads(stream.recv(timeout=10))
        assert first["type"] == "block" and first["height"] == 1


def test_proposing_voting_and_freezing_answer_with_receipts(
    chain: Alliance, console: Console, client: httpx.Client, seed: Seed
) -> None:
    login(console, client)
    proposed = act(client, "propose", {
        "from": "org0-admin", "kind": "set-access", "module": "accounts", "method": "transfer", "roles": "",
    })  # fmt: skip
    assert proposed["tx"]["ok"] is True and proposed["proposal"] is not None
    assert proposed["summary"] == f"Proposal #{proposed['proposal']} (set-access) is open."
    voted = act(client, "vote", {"from": "org1-admin", "proposal": proposed["proposal"], "yes": True})
    assert voted["summary"].endswith("it passed.") and voted["proposal"] == proposed["proposal"]
    assert chain.get(f"/v1/gov/proposals/{proposed['proposal']}")["status"] == "passed"
    again = act(client, "vote", {"from": "org1-admin", "proposal": proposed["proposal"], "yes": False})
    assert again["tx"]["ok"] is False and again["summary"].startswith("The chain refused the vote")

    target = keys_new(chain.directory, "eve")["address"]
    frozen = act(client, "freeze", {"from": "supervisor", "account": "eve", "reason": "test freeze"})
    assert frozen["tx"]["ok"] is True and frozen["summary"] == "Froze eve."
    assert chain.get(f"/v1/accounts/{target}")["frozen"]["reason"] == "test freeze"
    refused = act(client, "transfer", {"from": "eve", "to": "dev", "amount": 1})
    assert refused["tx"]["ok"] is False and refused["summary"].startswith("The chain refused the transfer")
