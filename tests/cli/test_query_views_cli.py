"""``alliance query block`` and ``alliance query tx`` print the node's answer as it was.

The node is ``httpx.MockTransport``. Addresses are told from other bytes by the view's declared
field types, never by a value's length: a 20-byte event ``data`` or a 20-byte ``last_commit_hash``
stays hex, while a transaction's ``sender`` is checksummed (the old renderer printed any 20 bytes
as an address).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from alliance.cli import localnet
from alliance.cli.main import main
from alliance.crypto.keys import to_checksum_address
from alliance.sdk import Client

ADDRESS = bytes(range(20))
TWENTY = bytes(range(100, 120))  # 20 bytes that are no address
HASH = bytes(range(32))

TX_ANSWER: dict[str, Any] = {
    "hash": HASH.hex(), "status": "ok", "ok": True, "height": 4, "index": 0, "gas_used": 21, "error": "",
    "events": [{"emitter": "accounts", "name": "transfer", "data": TWENTY.hex(),
                "fields": {"sender": to_checksum_address(ADDRESS), "to": to_checksum_address(ADDRESS),
                           "amount": 7}}],
    "result": "", "sender": to_checksum_address(ADDRESS), "target": "accounts", "method": "transfer",
    "valid_until": 90,
}
BLOCK_ANSWER: dict[str, Any] = {
    "height": 4, "hash": HASH.hex(), "time_ms": 1_700_000_000_000, "chain_id": "c1", "proposer": HASH.hex(),
    "prev_block_hash": HASH.hex(), "app_hash": HASH.hex(), "tx_root": HASH.hex(),
    "last_results_hash": HASH.hex(), "validators_hash": HASH.hex(), "last_commit_hash": TWENTY.hex(),
    "txs": [HASH.hex()], "certificate": None,
}


@pytest.fixture
def node(monkeypatch: pytest.MonkeyPatch) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/v1/txs/{HASH.hex()}":
            return httpx.Response(200, json=TX_ANSWER)
        assert request.url.path == "/v1/blocks/4", request.url.path
        return httpx.Response(200, json=BLOCK_ANSWER)

    def open_client(directory: Path, api: str | None) -> Client:
        return Client("http://node.test", transport=httpx.MockTransport(handle))

    monkeypatch.setattr(localnet, "open_client", open_client)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main([*args, "--api", "http://node.test", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.usefixtures("node")
def test_query_tx_prints_twenty_bytes_as_hex_and_the_sender_as_an_address(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shown = run(capsys, "query", "tx", HASH.hex())
    assert shown["events"][0]["data"] == TWENTY.hex()
    assert shown["sender"] == to_checksum_address(ADDRESS)
    assert shown == TX_ANSWER


@pytest.mark.usefixtures("node")
def test_query_block_prints_twenty_bytes_as_hex(capsys: pytest.CaptureFixture[str]) -> None:
    shown = run(capsys, "query", "block", "4")
    assert shown["last_commit_hash"] == TWENTY.hex()
    assert shown == BLOCK_ANSWER
