"""The SDK against a real running node: typed views, typed refusals, batches, waiting, streaming."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import msgspec
import pytest

from alliance import codec, errors
from alliance.crypto.keys import AccountKey, to_checksum_address
from alliance.execution.modules.accounts import account_key
from alliance.ledger.transaction import Transaction, tx_hash_of_canonical
from alliance.sdk import AsyncClient, BlockView, Client, Status, Timeout, TxView, Unreachable
from alliance.testing.nodes import api_node, run, signed_transfer


def test_async_client_views(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, AsyncClient(api.url, timeout_s=30) as client:
            status = await client.status()
            assert isinstance(status, Status) and status.chain_id == api.chain_id and status.validator
            assert len(status.node_id) == 32 and status.validators[0].node_id == status.node_id
            bob = AccountKey.generate().address

            view = await client.transfer(api.dev, bob, 9)
            assert isinstance(view, TxView) and view.committed and view.ok and view.status == "ok"
            assert view.sender == api.dev.address and (view.target, view.method) == ("accounts", "transfer")
            assert view.events[0].fields == {
                "sender": to_checksum_address(api.dev.address), "to": to_checksum_address(bob), "amount": 9
            }
            assert (await client.tx(view.hash)) == view
            assert (await client.tx(view.hash.hex())) == view

            for address in (bob, to_checksum_address(bob), bob.hex()):
                account = await client.account(address)
                assert account.address == bob and account.balance == 9
                assert (account.org, account.roles, account.frozen) == ("", (), None)
            assert view.height is not None
            block = await client.block(view.height)
            assert isinstance(block, BlockView) and view.hash in block.txs
            assert block.certificate is not None and block.certificate.block_hash == block.hash
            assert (await client.block("latest")).height >= block.height
            receipts = await client.receipts(view.height)
            assert [r.tx_hash for r in receipts] == list(block.txs)

            state = await client.query(account_key(bob), prove=True)
            assert state.value is not None and state.proof is not None and state.key == account_key(bob)
            assert (await client.query(account_key(bob), height=state.height)).value == state.value

            raw = await client.sign_transfer(api.dev, bob, 1, valid_for_blocks=5)
            tx = codec.decode(Transaction, raw)
            assert tx.body.valid_until <= (await client.status()).height + 5
            pending = await client.transfer(api.dev, bob, 1, wait=False)
            assert pending.status == "pending" and pending.height is None
            assert (await client.wait(pending.hash, timeout_s=20)).ok

            with pytest.raises(errors.NotFound):
                await client.block(10**9)
            with pytest.raises(errors.NotFound):
                await client.tx(b"\xab" * 32)

    run(scenario())


def test_async_client_raises_the_typed_refusals(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, AsyncClient(api.url, timeout_s=30) as client:
            bob = AccountKey.generate().address
            height = (await client.status()).height
            good = signed_transfer(api.dev, api.chain_id, bob, 1, height + 50)
            forged = codec.encode(
                msgspec.structs.replace(codec.decode(Transaction, good), signature=b"\x00" * 63 + b"\x01")
            )
            with pytest.raises(errors.BadSignature):
                await client.submit(forged)
            with pytest.raises(errors.WrongChainId):
                await client.submit(signed_transfer(api.dev, "other", bob, 1, height + 50))
            with pytest.raises(errors.TxExpired):
                await client.submit(signed_transfer(api.dev, api.chain_id, bob, 1, 0))
            with pytest.raises(errors.TxTooFarAhead):
                await client.submit(signed_transfer(api.dev, api.chain_id, bob, 1, height + 10**7))
            with pytest.raises(errors.DecodeError):
                await client.submit(b"\x01\x02")
            assert await client.submit(good) == tx_hash_of_canonical(good).hex()
            with pytest.raises(errors.DuplicateTx):
                await client.submit(good)
            with pytest.raises(Timeout):
                await client.wait(b"\xcd" * 32, timeout_s=0.2)

    run(scenario())


def test_batches_binary_and_json(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, AsyncClient(api.url, timeout_s=30) as client:
            bob = AccountKey.generate().address
            height = (await client.status()).height
            raws = [signed_transfer(api.dev, api.chain_id, bob, 1, height + 50) for _ in range(40)]
            result = await client.submit_batch([*raws[:20], b"junk", raws[0]])
            assert result.accepted == 20
            refused = [(r.index, r.code) for r in result.rejected]
            assert refused == [(20, "malformed_encoding"), (21, "duplicate_tx")]
            result = await client.submit_batch([*raws[20:], raws[1]], binary=False)
            assert result.accepted == 20 and [r.index for r in result.rejected] == [20]
            assert result.hashes[:20] == tuple(tx_hash_of_canonical(r) for r in raws[20:])
            assert result.hashes[20] is None
            for raw in raws:
                assert (await client.wait(tx_hash_of_canonical(raw), timeout_s=30)).ok
            assert (await client.account(bob)).balance == 40

    run(scenario())


def test_subscribe_follows_blocks_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, AsyncClient(api.url, timeout_s=30) as client:
            view = await client.transfer(api.dev, AccountKey.generate().address, 3)
            assert view.height is not None
            heights = []
            async with contextlib.aclosing(client.subscribe(from_height=1)) as events:
                async for event in events:
                    heights.append(event.height)
                    if event.height == view.height:
                        assert event.txs >= 1
                        [transfer] = [e for e in event.events if e.name == "transfer"]
                        assert transfer.tx_hash == view.hash and transfer.fields == view.events[0].fields
                        break
            assert heights == list(range(1, view.height + 1))
            now = (await client.status()).height
            async with contextlib.aclosing(client.subscribe()) as events:
                first = await asyncio.wait_for(anext(events), 10)
            assert first.height > now

    run(scenario())


def test_sync_client_against_a_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api:
            bob = AccountKey.generate().address

            def use_sync_client() -> TxView:  # in a thread: the node runs on this loop
                with Client(api.url, timeout_s=30) as client:
                    view = client.transfer(api.dev, bob, 2)
                    assert client.account(bob).balance == 2
                    assert view.height is not None and view.hash in client.block(view.height).txs
                    raw = client.sign_transfer(api.dev, bob, 1)
                    client.submit(raw)
                    with pytest.raises(errors.DuplicateTx):
                        client.submit(raw)
                    return view

            view = await asyncio.to_thread(use_sync_client)
            assert view.ok
            url = api.url
        with Client(url, timeout_s=5) as client, pytest.raises(Unreachable, match=url):
            await asyncio.to_thread(client.status)

    run(scenario())
