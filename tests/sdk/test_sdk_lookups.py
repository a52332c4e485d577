"""The lookups the explorer needs, through the SDK against a real node: pages of block headers, a
block by its hash, the validator set of a height, inclusion proofs, an account's transactions."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from alliance import errors
from alliance.api import api_service
from alliance.crypto import merkle
from alliance.crypto.keys import AccountKey, to_checksum_address
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.ledger.validators import Validator, ValidatorSet
from alliance.node.config import NodeHome, save_config
from alliance.sdk import AsyncClient
from alliance.testing.nodes import api_node, eventually, run, running_nodes, wait_listening


def test_block_headers_blocks_by_hash_and_validator_sets(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, AsyncClient(api.url, timeout_s=30) as client:
            bob = AccountKey.generate().address
            sent = await client.transfer(api.dev, bob, 4)
            assert sent.height is not None
            page = await client.blocks(before=sent.height + 1, limit=3)
            assert [b.height for b in page.blocks] == list(range(sent.height, max(0, sent.height - 3), -1))
            assert page.next_before == (page.blocks[-1].height if page.blocks[-1].height > 1 else 0)
            for head in page.blocks:
                block = await client.block(head.height)
                shared = set(msgspec.structs.asdict(head)) - {"txs"}
                assert {k: getattr(head, k) for k in shared} == {k: getattr(block, k) for k in shared}
                assert head.txs == len(block.txs) and head.certificate is not None
                assert await client.block_by_hash(block.hash) == block
                assert await client.block_by_hash(block.hash.hex()) == block
                validators = await client.validators(head.height)
                assert validators.validators_hash == block.validators_hash == head.validators_hash
                assert ValidatorSet.of(
                    [Validator(bytes(v.node_id), v.power) for v in validators.validators]
                ).hash() == validators.validators_hash
                assert validators.total_power == sum(v.power for v in validators.validators)
                assert validators.validators[0].name == "node0"
            newest = await client.blocks()
            assert newest.blocks[0].height == newest.height and len(newest.blocks) <= 20
            assert (await client.blocks(before=1)).blocks == ()
            with pytest.raises(errors.NotFound):
                await client.block_by_hash(b"\x01" * 32)
            with pytest.raises(errors.NotFound):
                await client.validators(newest.height + 10)
            with pytest.raises(errors.UsageError):
                await client.blocks(limit=101)

    run(scenario())


def test_inclusion_proofs_lead_to_the_blocks_tx_root(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, AsyncClient(api.url, timeout_s=30) as client:
            bob = AccountKey.generate().address
            raws = [await client.sign_transfer(api.dev, bob, 1) for _ in range(5)]
            assert (await client.submit_batch(raws)).accepted == 5
            views = [await client.wait(tx_hash_of_canonical(raw)) for raw in raws]
            for view in views:
                assert view.height is not None and view.index is not None
                proof = await client.tx_proof(view.hash)
                block = await client.block(view.height)
                assert (proof.hash, proof.height, proof.index, proof.total) == (
                    view.hash, view.height, view.index, len(block.txs)
                )
                assert bytes(proof.tx) in raws
                checked = merkle.MerkleProof(proof.index, proof.total, [bytes(s) for s in proof.siblings])
                assert merkle.verify_proof(block.tx_root, bytes(proof.tx), checked)
            with pytest.raises(errors.NotFound, match="not committed"):
                await client.tx_proof(b"\x02" * 32)

    run(scenario())


@contextlib.asynccontextmanager
async def _restarted(directory: Path) -> AsyncIterator[str]:
    """The alliance under ``directory`` (made by ``api_node``) started again, serving its API."""
    home = NodeHome(directory / "nodes" / "node0")
    config = home.load_config()
    async with running_nodes([home], services=[api_service]):
        await wait_listening(config.host, config.api_port)
        yield f"http://{config.host}:{config.api_port}"


def test_an_accounts_transactions_sent_and_received_page_by_page(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, AsyncClient(api.url, timeout_s=30) as client:
            bob = AccountKey.generate()
            carol = AccountKey.generate().address
            to_bob = [await client.transfer(api.dev, bob.address, 10) for _ in range(3)]
            from_bob = await client.transfer(bob, carol, 2)
            assert from_bob.height is not None

            def indexed() -> bool:
                return (api.node.runtime.indexer is not None) and (
                    api.node.runtime.indexer.indexed_height >= (from_bob.height or 0)
                )

            await eventually(indexed, "the account index to reach the last transfer")
            page = await client.account_txs(bob.address, limit=2)
            assert page.address == bob.address and to_checksum_address(bob.address)
            assert [(t.hash, t.sent) for t in page.txs] == [(from_bob.hash, True), (to_bob[2].hash, False)]
            assert page.indexed_height >= from_bob.height
            assert (page.next_before, page.next_before_index) == (to_bob[2].height, to_bob[2].index)
            rest = await client.account_txs(bob.address, before=(page.next_before, page.next_before_index))
            assert [t.hash for t in rest.txs] == [to_bob[1].hash, to_bob[0].hash]
            assert (rest.next_before, rest.next_before_index) == (None, None)
            first = rest.txs[-1]
            assert (first.target, first.method, first.status) == ("accounts", "transfer", "ok")
            assert [t.hash for t in (await client.account_txs(carol)).txs] == [from_bob.hash]
            nobody = await client.account_txs(AccountKey.generate().address)
            assert nobody.txs == () and nobody.next_before is None

    run(scenario())


def test_the_account_index_is_rebuilt_when_missing_and_can_be_turned_off(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with api_node(tmp_path) as api, AsyncClient(api.url, timeout_s=30) as client:
            bob = AccountKey.generate().address
            sent = await client.transfer(api.dev, bob, 5)
            index_dir = api.node.home.account_index_dir
        assert index_dir.is_dir()
        shutil.rmtree(index_dir)
        async with _restarted(tmp_path) as url, AsyncClient(url, timeout_s=30) as client:
            for _ in range(200):  # rebuilt from the chain store, after the start
                if (await client.account_txs(bob)).txs:
                    break
                await asyncio.sleep(0.05)
            assert [t.hash for t in (await client.account_txs(bob)).txs] == [sent.hash]
        home = NodeHome(tmp_path / "nodes" / "node0")
        save_config(home.config_path, msgspec.structs.replace(home.load_config(), account_index=False))
        async with _restarted(tmp_path) as url, AsyncClient(url, timeout_s=30) as client:
            with pytest.raises(errors.NotFound, match="keeps no index"):
                await client.account_txs(bob)

    run(scenario())
