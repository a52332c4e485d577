"""The REST and WebSocket API of a real running node, over HTTP on 127.0.0.1 (spec/api.md).

These tests speak raw HTTP (httpx, websockets) so they check the JSON contract itself; the SDK's
tests check the typed views. Each test runs one node on its own loop, bounded by ``run``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import msgspec
from websockets.asyncio.client import connect as ws_connect

from alliance import codec
from alliance.api import api_service
from alliance.crypto.keys import AccountKey, load_account_key, to_checksum_address
from alliance.execution.modules.accounts import account_key
from alliance.ledger.transaction import Transaction, tx_hash_of_canonical
from alliance.testing.nodes import (
    ApiNode,
    alliance_homes,
    api_node,
    run,
    running_nodes,
    signed_transfer,
    wait_listening,
)

HEX = re.compile(r"^[0-9a-f]*$")


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:alliance:{code}" and body["code"] == code and body["status"] == status
    return body


def sample(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found is not None, f"{name} is not in the metrics"
    return float(found.group(1))


async def height_of(client: httpx.AsyncClient) -> int:
    height: int = (await client.get("/v1/status")).json()["height"]
    return height


async def commit_transfer(api: ApiNode, client: httpx.AsyncClient, to: bytes, amount: int) -> dict[str, Any]:
    raw = signed_transfer(api.dev, api.chain_id, to, amount, await height_of(client) + 50)
    submitted = await client.post("/v1/txs", json={"tx": raw.hex()})
    assert submitted.status_code == 202, submitted.text
    assert submitted.json() == {"hash": tx_hash_of_canonical(raw).hex(), "accepted": True}
    waited = await client.get(f"/v1/txs/{submitted.json()['hash']}/wait", params={"timeout_ms": 20_000})
    assert waited.status_code == 200, waited.text
    view: dict[str, Any] = waited.json()
    return view


def test_status_transfer_blocks_receipts_tx_and_state(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            status = (await client.get("/v1/status")).json()
            assert status["chain_id"] == api.chain_id and status["node"] == "node0" and status["validator"]
            assert {"org", "node_id", "genesis_hash", "block_hash", "app_hash", "time_ms", "round",
                    "syncing", "peers", "tx_window_blocks"} <= set(status)
            assert status["mempool"].keys() == {"txs", "bytes"}
            [validator] = status["validators"]
            assert validator == {"node_id": status["node_id"], "name": "node0", "power": validator["power"]}

            bob = AccountKey.generate().address
            view = await commit_transfer(api, client, bob, 7)
            assert view["status"] == "ok" and view["ok"] is True and view["height"] >= 1
            assert view["sender"] == to_checksum_address(api.dev.address)
            assert (view["target"], view["method"], view["index"]) == ("accounts", "transfer", 0)
            [event] = view["events"]
            assert event["emitter"] == "accounts" and event["name"] == "transfer" and HEX.match(event["data"])
            assert event["fields"] == {
                "sender": to_checksum_address(api.dev.address), "to": to_checksum_address(bob), "amount": 7
            }
            assert (await client.get(f"/v1/txs/{view['hash']}")).json() == view

            block = (await client.get(f"/v1/blocks/{view['height']}")).json()
            assert block["height"] == view["height"] and view["hash"] in block["txs"]
            assert block["chain_id"] == api.chain_id
            cert = block["certificate"]
            assert cert["height"] == block["height"] and cert["block_hash"] == block["hash"]
            assert cert["signatures"] and cert["signatures"][0]["node_id"] == status["node_id"]
            for field in ("hash", "proposer", "prev_block_hash", "app_hash", "tx_root", "last_results_hash",
                          "validators_hash", "last_commit_hash"):
                assert HEX.match(block[field]), field

            receipts = (await client.get(f"/v1/blocks/{view['height']}/receipts")).json()
            assert [r["tx_hash"] for r in receipts] == block["txs"]
            mine = receipts[block["txs"].index(view["hash"])]
            assert mine["status"] == "ok" and mine["ok"] and mine["gas_used"] == view["gas_used"]
            assert mine["events"] == view["events"] and mine["error"] == ""

            latest = (await client.get("/v1/blocks/latest")).json()
            assert latest["height"] >= block["height"]

            for address in (to_checksum_address(bob), bob.hex(), "0x" + bob.hex().upper()):
                account = (await client.get(f"/v1/accounts/{address}")).json()
                assert account["address"] == to_checksum_address(bob) and account["balance"] == 7
                assert account["height"] >= view["height"]
            stranger = AccountKey.generate().address
            assert (await client.get(f"/v1/accounts/{stranger.hex()}")).json()["balance"] == 0

            key = account_key(bob).hex()
            state = (await client.get(f"/v1/state/{key}", params={"prove": "true"})).json()
            assert state["key"] == key and state["value"] and state["proof"] and HEX.match(state["app_hash"])
            plain = (await client.get(f"/v1/state/{key}")).json()
            assert plain["proof"] is None and plain["value"] == state["value"]
            missing = (await client.get(f"/v1/state/{account_key(stranger).hex()}")).json()
            assert missing["value"] is None

            assert_problem(await client.get(f"/v1/blocks/{latest['height'] + 1000}"), 404, "not_found")
            beyond = latest["height"] + 1000
            assert_problem(await client.get(f"/v1/blocks/{beyond}/receipts"), 404, "not_found")
            assert_problem(await client.get("/v1/txs/" + "ab" * 32), 404, "not_found")

    run(scenario())


def test_bad_transactions_get_their_problem_and_the_node_still_commits(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            bob = AccountKey.generate().address
            height = await height_of(client)

            async def refused(raw: bytes, status: int, code: str) -> None:
                assert_problem(await client.post("/v1/txs", json={"tx": raw.hex()}), status, code)

            headers = {"content-type": "application/json"}
            truncated = await client.post("/v1/txs", content=b'{"tx": ', headers=headers)
            assert_problem(truncated, 422, "invalid_request")
            assert_problem(await client.post("/v1/txs", json={"tx": ["00"]}), 422, "invalid_request")
            assert_problem(await client.post("/v1/txs", json={"tx": "0g"}), 400, "malformed_encoding")
            await refused(b"\x93\x01\x02\x03", 400, "malformed_encoding")
            await refused(os.urandom(70 * 1024), 400, "tx_too_large")

            good = signed_transfer(api.dev, api.chain_id, bob, 1, height + 50)
            tx = codec.decode(Transaction, good)
            forged = codec.encode(msgspec.structs.replace(tx, signature=bytes(64 - 1) + b"\x01"))
            await refused(forged, 400, "bad_signature")
            other_chain = signed_transfer(api.dev, "another-chain", bob, 1, height + 50)
            await refused(other_chain, 400, "wrong_chain_id")
            await refused(signed_transfer(api.dev, api.chain_id, bob, 1, 0), 400, "tx_expired")
            await refused(signed_transfer(api.dev, api.chain_id, bob, 1, height + 10**6), 400,
                          "tx_valid_until_too_far")

            accepted = await client.post("/v1/txs", json={"tx": good.hex()})
            assert accepted.status_code == 202
            await refused(good, 409, "duplicate_tx")  # in the pool
            tx_hash = accepted.json()["hash"]
            waited = await client.get(f"/v1/txs/{tx_hash}/wait", params={"timeout_ms": 20_000})
            assert waited.status_code == 200 and waited.json()["status"] == "ok"
            await refused(good, 409, "duplicate_tx")  # committed: a replay

            never = "cd" * 32
            body = assert_problem(await client.get(f"/v1/txs/{never}/wait", params={"timeout_ms": 50}), 408,
                                  "timeout")
            assert never in body["detail"]

            view = await commit_transfer(api, client, bob, 2)
            assert view["status"] == "ok"
            assert (await client.get(f"/v1/accounts/{bob.hex()}")).json()["balance"] == 3

    run(scenario())


def test_a_declared_body_over_16_mib_is_refused_before_it_is_sent(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api:
            host, port = api.url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            size = 16 * 1024 * 1024 + 1
            writer.write(
                f"POST /v1/txs HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {size}\r\n\r\n".encode() + b'{"tx": "'
            )
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 413"), head
            assert b"application/problem+json" in head
            writer.close()
            async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
                view = await commit_transfer(api, client, AccountKey.generate().address, 1)
                assert view["ok"]

    run(scenario())


def test_batches_json_and_binary(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            bob = AccountKey.generate().address
            height = await height_of(client)
            raws = [signed_transfer(api.dev, api.chain_id, bob, 1, height + 50) for _ in range(3)]
            answer = await client.post(
                "/v1/txs/batch", json={"txs": [raws[0].hex(), "zz", raws[1].hex(), raws[0].hex()]}
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["accepted"] == 2
            first, bad_hex, second, again = body["results"]
            assert first == {"hash": tx_hash_of_canonical(raws[0]).hex(), "accepted": True}
            assert bad_hex["accepted"] is False and bad_hex["code"] == "malformed_encoding"
            assert second["accepted"] is True
            assert again["accepted"] is False and again["code"] == "duplicate_tx" and again["detail"]

            binary = msgspec.msgpack.encode([raws[2], b"\x00\x01", raws[1]])
            answer = await client.post(
                "/v1/txs/batch", content=binary, headers={"content-type": "application/msgpack"}
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["accepted"] == 1
            assert [(r["index"], r["code"]) for r in body["rejected"]] == [
                (1, "malformed_encoding"), (2, "duplicate_tx")
            ]
            for raw in raws:
                waited = await client.get(f"/v1/txs/{tx_hash_of_canonical(raw).hex()}/wait",
                                          params={"timeout_ms": 20_000})
                assert waited.status_code == 200 and waited.json()["ok"]
            assert (await client.get(f"/v1/accounts/{bob.hex()}")).json()["balance"] == 3

    run(scenario())


def test_a_pending_transaction_shows_as_pending(tmp_path: Path) -> None:
    """One of two validators runs: nothing can commit, so an admitted transaction stays pending."""

    async def scenario() -> None:
        homes = alliance_homes(tmp_path, 2)
        config = homes[0].load_config()
        url = f"http://{config.host}:{config.api_port}"
        async with running_nodes(homes[:1], services=[api_service]):
            await wait_listening(config.host, config.api_port)
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                dev = load_account_key(tmp_path / "keys" / "dev.key")
                raw = signed_transfer(dev, config.chain_id, AccountKey.generate().address, 1, 50)
                submitted = await client.post("/v1/txs", json={"tx": raw.hex()})
                assert submitted.status_code == 202, submitted.text
                tx_hash = tx_hash_of_canonical(raw).hex()
                looked = await client.get(f"/v1/txs/{tx_hash}")
                assert looked.status_code == 200
                pending = looked.json()
                assert pending == {**pending, "hash": tx_hash, "status": "pending", "height": None}
                status = (await client.get("/v1/status")).json()
                assert status["mempool"]["txs"] == 1 and status["mempool"]["bytes"] == len(raw)
                assert_problem(await client.get("/v1/blocks/latest"), 404, "not_found")
                waited = await client.get(f"/v1/txs/{tx_hash}/wait", params={"timeout_ms": 100})
                assert_problem(waited, 408, "timeout")

    run(scenario())


def test_stream_sends_blocks_in_order_and_resumes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            bob = AccountKey.generate().address
            view = await commit_transfer(api, client, bob, 4)
            ws_url = api.url.replace("http://", "ws://") + "/v1/stream"
            seen: list[dict[str, Any]] = []
            async with ws_connect(f"{ws_url}?from_height=1", open_timeout=10) as ws:
                while len(seen) < view["height"] + 1:
                    seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            assert [m["height"] for m in seen] == list(range(1, view["height"] + 2))
            mine = seen[view["height"] - 1]
            assert mine["type"] == "block" and mine["txs"] >= 1
            [event] = view["events"]
            assert {"tx_hash": view["hash"], "emitter": "accounts", "name": "transfer",
                    "data": event["data"], "fields": event["fields"]} in mine["events"]
            block = (await client.get(f"/v1/blocks/{mine['height']}")).json()
            assert (mine["hash"], mine["time_ms"]) == (block["hash"], block["time_ms"])

            resume = seen[-1]["height"] + 1
            async with ws_connect(f"{ws_url}?from_height={resume}", open_timeout=10) as ws:
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["height"] == resume

            now = await height_of(client)
            async with ws_connect(ws_url, open_timeout=10) as ws:  # default: the next block
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["height"] > now

    run(scenario())


def test_metrics_count_requests_and_follow_the_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            before = sample((await client.get("/metrics")).text, "alliance_txs_committed_total")
            view = await commit_transfer(api, client, AccountKey.generate().address, 1)
            await client.get("/v1/blocks/999999")
            text = (await client.get("/metrics")).text
            assert 'alliance_api_requests_total{route="/v1/status",status="200"}' in text
            assert 'alliance_api_requests_total{route="/v1/blocks/{height}",status="404"}' in text
            assert 'alliance_api_requests_total{route="/v1/txs",status="202"}' in text
            assert sample(text, "alliance_height") >= view["height"]
            assert sample(text, "alliance_txs_committed_total") >= before + 1
            assert sample(text, "alliance_blocks_applied_total") >= 1
            assert sample(text, "alliance_block_execute_seconds_total") > 0
            assert sample(text, "alliance_block_commit_seconds_total") > 0
            assert re.search(r"^alliance_mempool_txs \S+$", text, re.M)

    run(scenario())


def test_api_stops_with_the_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api:
            url = api.url
            ws = await ws_connect(url.replace("http://", "ws://") + "/v1/stream", open_timeout=10)
        # The node has stopped: its stream subscriber was closed, its port refuses.
        await asyncio.wait_for(ws.wait_closed(), 10)
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            try:
                await client.get("/v1/status")
            except httpx.ConnectError:
                pass
            else:
                raise AssertionError("the API still answers after the node stopped")

    run(scenario())
