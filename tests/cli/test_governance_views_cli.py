"""The CLI's governance views print the API's answers: ``gov show``, ``gov list``, ``gov members``.

One real node with its API runs on the test's event loop (a one-member alliance: org0 alone
passes every proposal in the transaction that makes it). Each command runs in-process, in a thread,
against it (``--api``), and its ``--json`` output is compared with the raw answer of the route it
stands for. A proposal's 20-byte CA certificate (the chain checks no certificate's form, so any
bytes can be one) must come out as hex, never as an address: the old CLI renderer guessed
addresses by length. How ``gov list`` pages runs against ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_helpers import one_line

from alliance.abi import gov
from alliance.api import api_service
from alliance.cli.commands.gov import PROPOSALS_LISTED_MAX, list_proposals
from alliance.cli.main import main
from alliance.crypto.keys import AccountKey, load_account_key, to_checksum_address
from alliance.sdk import AsyncClient, Client, wire
from alliance.testing.nodes import running_nodes, single_node_home, wait_listening

TEST_BOUND_S = 90
LISTEN_WAIT_S = 10.0
# 20 bytes that are no address: a CA certificate as the chain takes it (it checks no form).
FAKE_CA = bytes(range(100, 120))


@contextlib.asynccontextmanager
async def one_node(directory: Path) -> AsyncIterator[tuple[str, httpx.AsyncClient, AsyncClient]]:
    """A one-validator alliance in ``directory`` (keys in ``directory/keys``), serving its API: its
    URL, a raw HTTP client and an SDK client of it."""
    home = single_node_home(directory)
    config = home.load_config()
    async with running_nodes([home], services=[api_service]):
        await wait_listening(config.host, config.api_port, LISTEN_WAIT_S)
        url = f"http://{config.host}:{config.api_port}"
        async with (
            httpx.AsyncClient(base_url=url, timeout=30) as http,
            AsyncClient(url, timeout_s=30) as client,
        ):
            yield url, http, client


async def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``alliance ARGS`` in a thread (the node runs on this loop): exit status, stdout, stderr."""
    code = await asyncio.to_thread(main, list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = await cli(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


async def get_json(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_gov_views_print_the_api_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        async with one_node(tmp_path) as (url, http, client):
            api = ("--api", url)
            granted = await cli_json(
                capsys, "gov", "propose", "grant-role", "--account", "dev", "--role", "auditor",
                "--org", "org0", "--from", "org0-admin", "--dir", str(tmp_path), *api,
            )
            assert (granted["proposal"], granted["kind"], granted["status"]) == (1, "grant-role", "passed")
            admin = load_account_key(tmp_path / "keys" / "org0-admin.key")
            added = await client.propose(admin, gov.AddMember(org="org9", ca_certificate=FAKE_CA))
            assert (added.proposal, added.proposal_status) == (2, "passed")

            # gov show ID --json is GET /v1/gov/proposals/ID's answer, whatever its action.
            for pid in (1, 2):
                shown = await cli_json(capsys, "gov", "show", str(pid), *api)
                assert shown == await get_json(http, f"/v1/gov/proposals/{pid}")
            action = {
                "kind": "add-member", "org": "org9", "ca_certificate": FAKE_CA.hex(), "weight": 1,
                "admin": None, "nodes": [],
            }
            assert shown["action"] == action
            assert shown["proposer"] == to_checksum_address(admin.address)
            code, text, _ = await cli(capsys, "gov", "show", "2", *api)
            assert code == 0 and '"ca_certificate": "<20 bytes>"' in text
            assert to_checksum_address(FAKE_CA).lower() not in text.lower()
            assert "status passed, threshold more than 2/3" in text

            # gov list --json is one page of GET /v1/gov/proposals, oldest first.
            listed = await cli_json(capsys, "gov", "list", *api)
            assert listed == await get_json(http, "/v1/gov/proposals", from_id=1, limit=PROPOSALS_LISTED_MAX)
            assert [(p["id"], p["kind"], p["status"]) for p in listed] == [
                (1, "grant-role", "passed"), (2, "add-member", "passed"),
            ]
            code, text, _ = await cli(capsys, "gov", "list", *api)
            assert code == 0
            assert [line.split()[:3] for line in text.splitlines()] == [
                ["1", "grant-role", "passed"], ["2", "add-member", "passed"],
            ]

            # gov members --json is GET /v1/gov's answer; only the height moves between the two reads.
            members = await cli_json(capsys, "gov", "members", *api)
            overview = await get_json(http, "/v1/gov")
            assert 1 <= members["height"] <= overview["height"]
            assert {**members, "height": overview["height"]} == overview
            assert {"org": "org9", "weight": 1, "ca_certificate": FAKE_CA.hex()} in members["members"]
            status = await get_json(http, "/v1/status")
            [validator] = status["validators"]
            assert members["validators"] == [validator]  # {node_id, name: "node0", power}
            assert members["proposals"] == 2
            code, text, _ = await cli(capsys, "gov", "members", *api)
            assert code == 0
            assert "total weight 2, 2 proposals made" in text
            assert f"member org9  weight 1  CA sha256 {hashlib.sha256(FAKE_CA).hexdigest()[:16]}" in text
            assert f"node node0 of org0  power {validator['power']}  id {validator['node_id'][:16]}" in text

            # A proposal that does not exist: the API's 404 as a one-line usage error.
            code, _, err = await cli(capsys, "gov", "show", "99", *api, "--json")
            assert code == 2 and "there is no proposal 99" in one_line(err)

    asyncio.run(asyncio.wait_for(scenario(), TEST_BOUND_S))


def proposal_answer(proposal_id: int) -> dict[str, Any]:
    address = to_checksum_address(bytes(range(20)))
    return {
        "id": proposal_id, "kind": "add-member", "status": "expired",
        "action": {
            "kind": "add-member", "org": "org9", "ca_certificate": FAKE_CA.hex(), "weight": 2,
            "admin": address, "nodes": [],
        },
        "proposer": address, "proposer_org": "org0", "created_height": 3, "deadline_height": 9,
        "threshold": "2/3", "votes": [{"org": "org0", "voter": address, "yes": True, "height": 3}],
        "decided_height": 0, "error": "",
    }


@pytest.mark.parametrize(("made", "first", "count"), [(0, None, 0), (3, 1, 3), (250, 51, 200)])
def test_gov_list_reads_the_newest_page(made: int, first: int | None, count: int) -> None:
    pages: list[dict[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/gov":
            return httpx.Response(200, json={
                "members": [], "nodes": [], "access": [], "frozen": [], "proposals": made,
                "height": 40, "validators": [],
            })
        assert request.url.path == "/v1/gov/proposals"
        pages.append(dict(request.url.params))
        start = int(request.url.params["from_id"])
        last = min(made, start + int(request.url.params["limit"]) - 1)
        return httpx.Response(200, json=[proposal_answer(i) for i in range(start, last + 1)])

    with Client("http://node.test", transport=httpx.MockTransport(handle)) as client:
        listed = list_proposals(client)
    expected_pages = [] if first is None else [{"from_id": str(first), "limit": str(PROPOSALS_LISTED_MAX)}]
    assert pages == expected_pages
    assert len(listed) == count
    if listed:  # the node's answer, as it was: the 20-byte certificate stays hex
        assert wire.to_builtins(listed[-1]) == proposal_answer(made)
        assert listed[0].id == first


def test_gov_frozen_pages_the_frozen_accounts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``gov frozen --json`` is ``GET /v1/gov/frozen``'s answer, which the SDK's ``frozen`` decodes."""

    async def scenario() -> None:
        async with one_node(tmp_path) as (url, http, client):
            supervisor = load_account_key(tmp_path / "keys" / "supervisor.key")
            frozen = [AccountKey.generate().address for _ in range(3)]
            for k, address in enumerate(frozen):
                await client.freeze(supervisor, address, f"reason {k}")
            page = await client.frozen(1, 5)
            assert (page.total, page.start) == (3, 1)
            assert [(e.address, e.reason, e.by) for e in page.frozen] == [
                (frozen[1], "reason 1", supervisor.address), (frozen[2], "reason 2", supervisor.address),
            ]
            raw = await get_json(http, "/v1/gov/frozen", start=1, limit=5)
            assert wire.to_builtins(page) == {**raw, "height": page.height}
            shown = await cli_json(capsys, "gov", "frozen", "--start", "1", "--limit", "5", "--api", url)
            assert {**shown, "height": raw["height"]} == raw and shown["frozen"][0]["reason"] == "reason 1"
            first = await get_json(http, "/v1/gov/frozen", limit=1)
            assert [e["address"] for e in first["frozen"]] == [to_checksum_address(frozen[0])]
            assert (await get_json(http, "/v1/gov"))["frozen_count"] == 3
            refused = await http.get("/v1/gov/frozen", params={"limit": 501})
            assert refused.status_code == 422

    asyncio.run(asyncio.wait_for(scenario(), TEST_BOUND_S))
