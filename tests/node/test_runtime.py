"""The node runtime with real parts: several nodes in one process over TLS on 127.0.0.1.

Each test runs its own event loop under an overall bound, and every wait inside is bounded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest
from node_helpers import dev_key, eventually, run, transfer

from alliance import codec
from alliance.consensus.ready import PrepareProposal
from alliance.crypto.keys import AccountKey
from alliance.errors import InvalidMessage, VersionPruned
from alliance.execution.executor import VALIDATORS_KEY
from alliance.ledger.block import CommitCertificate
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.mempool.pool import Accepted
from alliance.node.config import StateSection, save_config
from alliance.node.driver import PrepareDue
from alliance.node.runtime import NodeRuntime
from alliance.node.service import Node
from alliance.node.sync import InFlight
from alliance.node.wire import SyncBlocks, SyncedBlock
from alliance.testing.nodes import alliance_homes, running_nodes


async def commit_transfers(
    runtime: NodeRuntime, key: AccountKey, to: bytes, amounts: list[int]
) -> list[bytes]:
    raws = [transfer(runtime, key, to, amount) for amount in amounts]
    results = await runtime.submit(raws)
    assert all(isinstance(r, Accepted) for r in results), results
    hashes = [tx_hash_of_canonical(raw) for raw in raws]
    for tx_hash in hashes:
        committed = await runtime.wait_committed(tx_hash, 20_000)
        assert committed is not None and committed.receipt.ok, committed
    return hashes


def test_four_nodes_commit_transfers_with_identical_state(tmp_path: Path) -> None:
    homes = alliance_homes(tmp_path, 4)
    bob = AccountKey.generate().address

    async def scenario() -> None:
        async with running_nodes(homes) as nodes:
            hashes = await commit_transfers(nodes[1].runtime, dev_key(tmp_path), bob, [5, 6, 7])
            top = max(n.runtime.committed_tx(h).height for n in nodes[:1] for h in hashes)
            await eventually(lambda: all(n.runtime.height >= top for n in nodes), "every node at the commit")
            for node in nodes:
                runtime = node.runtime
                assert runtime.balance(bob) == 18
                assert all(runtime.committed_tx(h).receipt.ok for h in hashes)
                assert runtime.query(b"acct/" + bob, height=top).app_hash == nodes[0].runtime.query(
                    b"acct/" + bob, height=top
                ).app_hash
                block, cert = runtime.block(top)
                assert cert is not None and cert.block_hash == block.hash()

    run(scenario())


def test_restart_resumes_at_the_same_height_and_state(tmp_path: Path) -> None:
    homes = alliance_homes(tmp_path, 4)
    bob = AccountKey.generate().address
    seen: dict[str, int] = {}

    async def first() -> None:
        async with running_nodes(homes) as nodes:
            hashes = await commit_transfers(nodes[0].runtime, dev_key(tmp_path), bob, [11])
            top = nodes[0].runtime.committed_tx(hashes[0]).height
            await eventually(lambda: all(n.runtime.height >= top for n in nodes), "every node at the commit")
            seen["height"] = min(n.runtime.height for n in nodes)

    async def second() -> None:
        async with running_nodes(homes) as nodes:
            for node in nodes:
                assert node.runtime.height >= seen["height"]
                assert node.runtime.balance(bob) == 11
            start = max(n.runtime.height for n in nodes)
            await eventually(lambda: all(n.runtime.height > start for n in nodes), "new blocks after restart")

    run(first())
    run(second())


def test_a_node_that_was_down_catches_up_by_block_sync(tmp_path: Path) -> None:
    homes = alliance_homes(tmp_path, 4)
    bob = AccountKey.generate().address

    async def scenario() -> None:
        async with running_nodes(homes[:3]) as nodes:
            await commit_transfers(nodes[0].runtime, dev_key(tmp_path), bob, [3, 4])
            await eventually(lambda: nodes[0].runtime.height >= 8, "three validators to reach height 8")
            async with Node(homes[3]) as late:
                runtime = late.runtime
                leader = nodes[0].runtime
                await eventually(lambda: runtime.height >= leader.height - 1, "the late node to catch up")
                height = runtime.height
                assert runtime.block(height)[0].hash() == nodes[0].runtime.block(height)[0].hash()
                assert runtime.balance(bob) == 7
                joined = lambda: runtime.driver.core.status.height > height  # noqa: E731
                await eventually(joined, "the late node to join in")

    run(scenario())


def test_undecodable_peer_message_is_a_peer_fault(tmp_path: Path) -> None:
    homes = alliance_homes(tmp_path, 1)

    async def scenario() -> None:
        async with running_nodes(homes) as nodes:
            with pytest.raises(InvalidMessage):
                nodes[0].runtime.on_peer_message(b"\x01" * 32, b"\xc1 not msgpack")

    run(scenario())


def test_synced_blocks_need_a_quorum_certificate_and_the_right_parent(tmp_path: Path) -> None:
    homes = alliance_homes(tmp_path, 4)
    store_of_leader: dict[int, tuple[bytes, bytes]] = {}

    async def leaders() -> None:
        async with running_nodes(homes[:3]) as nodes:
            await eventually(lambda: nodes[0].runtime.height >= 3, "height 3")
            store = nodes[0].runtime.store
            for h in (1, 2):
                store_of_leader[h] = (store.block(h), store.certificate(h))

    async def late_node() -> None:
        # The late node is not linked to anyone (the others are down): only our messages reach it.
        async with Node(homes[3]) as late:
            runtime = late.runtime
            block1, cert1 = store_of_leader[1]
            block2, cert2 = store_of_leader[2]
            stripped = codec.decode(CommitCertificate, cert1)
            unsigned = codec.encode(
                CommitCertificate(stripped.height, stripped.round, stripped.block_hash, signatures=[])
            )
            faults = runtime.peer_faults
            await deliver(runtime, [SyncedBlock(block1, unsigned)])
            assert runtime.height == 0 and runtime.peer_faults == faults + 1
            await deliver(runtime, [SyncedBlock(block2, cert2)])  # not the next height: ignored
            assert runtime.height == 0
            await deliver(runtime, [SyncedBlock(block1, cert1), SyncedBlock(block2, cert2)])
            assert runtime.height == 2
            assert runtime.block(2)[0].hash() == codec.decode(CommitCertificate, cert2).block_hash

    run(leaders())
    run(late_node())


async def deliver(runtime: NodeRuntime, blocks: list[SyncedBlock]) -> None:
    """An answer from a peer, to a request the node sent it (from its next height)."""
    peer = next(iter(runtime.status().validator_names))
    runtime.driver.sync.in_flight = InFlight(peer, runtime.monotonic_ms(), runtime.height + 1)
    runtime.on_peer_message(peer, codec.encode(SyncBlocks(blocks=blocks)))
    await asyncio.sleep(0.2)


def test_wait_committed_times_out_for_an_unknown_transaction(tmp_path: Path) -> None:
    homes = alliance_homes(tmp_path, 1)

    async def scenario() -> None:
        async with running_nodes(homes) as nodes:
            assert await nodes[0].runtime.wait_committed(b"\x00" * 32, 300) is None

    run(scenario())


def test_blocks_from_replays_stored_heights_then_follows(tmp_path: Path) -> None:
    homes = alliance_homes(tmp_path, 1)

    async def scenario() -> None:
        async with running_nodes(homes) as nodes:
            runtime = nodes[0].runtime
            await eventually(lambda: runtime.height >= 3, "height 3")
            seen: list[int] = []

            async def follow() -> None:
                async for height in runtime.blocks_from(1):
                    seen.append(height)
                    if len(seen) >= 5:
                        return

            await asyncio.wait_for(follow(), 10)
            assert seen == [1, 2, 3, 4, 5]

    run(scenario())


def test_a_node_whose_own_thread_verifies_too_admits_and_commits(tmp_path: Path) -> None:
    """``verifier_caller_verifies``: one worker process, the node's thread stealing chunks."""
    (home,) = alliance_homes(tmp_path, 1)
    config = home.load_config()
    mempool = msgspec.structs.replace(
        config.mempool, verifier="processes", verifier_workers=1, verifier_caller_verifies=True
    )
    save_config(home.config_path, msgspec.structs.replace(config, mempool=mempool))
    bob = AccountKey.generate().address

    async def scenario() -> None:
        async with running_nodes([home]) as (node,):
            assert node.runtime.mempool._verifier.caller_verifies
            assert len(node.runtime.mempool._verifier.worker_pids()) == 1
            await commit_transfers(node.runtime, dev_key(tmp_path), bob, [1] * 600)
            assert node.runtime.balance(bob) == 600

    run(scenario())


def test_a_proposal_request_the_chain_moved_past_is_dropped_not_prepared(tmp_path: Path) -> None:
    """A proposer waiting for transactions can see its height decided without it (a restarted node
    catching up): new transactions, or the empty-block timer, must not prepare that height."""
    (home,) = alliance_homes(tmp_path, 1)
    bob = AccountKey.generate().address

    async def scenario() -> None:
        async with running_nodes([home]) as (node,):
            runtime = node.runtime
            await eventually(lambda: runtime.height >= 2, "two blocks")
            driver = runtime.driver
            pokes = (
                lambda: driver.transactions_admitted([], gossip=False),
                lambda: driver.on_timer(PrepareDue(driver._prepare_serial)),
            )
            for poke in pokes:
                decided = runtime.height  # committed already: a request for it is stale
                driver._pending_prepare = PrepareProposal(height=decided, round=0, prev_block_hash=b"")
                poke()  # before the fix: InvariantViolation("proposing N after N")
                assert driver._pending_prepare is None
            await commit_transfers(runtime, dev_key(tmp_path), bob, [3])  # and the node goes on
            assert runtime.balance(bob) == 3

    run(scenario())


def test_a_node_keeps_and_prunes_state_versions_as_its_config_says(tmp_path: Path) -> None:
    """``[state]``: two versions kept back from the head, older ones pruned three at a time."""
    (home,) = alliance_homes(tmp_path, 1)
    config = home.load_config()
    save_config(
        home.config_path,
        msgspec.structs.replace(
            config,
            consensus=msgspec.structs.replace(config.consensus, empty_block_interval_ms=20),
            state=StateSection(versions_kept=2, prune_batch_versions=3),
        ),
    )

    async def scenario() -> None:
        async with running_nodes([home]) as (node,):
            runtime = node.runtime
            await eventually(lambda: runtime.height >= 9, "nine blocks")
            height, oldest = runtime.store.last_height() or 0, runtime.store.oldest_version()
            # Versions height-2..height stay; at most two more wait for the next batch of three.
            assert height - 2 - 3 < oldest <= height - 2
            runtime.executor.query(VALIDATORS_KEY, height=height - 2)
            with pytest.raises(VersionPruned):
                runtime.executor.query(VALIDATORS_KEY, height=oldest - 1)

    run(scenario())


def test_the_runtime_holds_only_timeouts_that_have_not_fired(tmp_path: Path) -> None:
    """Each height schedules the core's timeouts, and most fire after the height was decided. A
    fired handle is not "cancelled", so the runtime must drop each as it fires: before the fix every
    timeout since start stayed in its set, and each firing rebuilt the whole set (memory and time
    growing with the chain's age)."""
    (home,) = alliance_homes(tmp_path, 1)
    config = home.load_config()
    consensus = msgspec.structs.replace(config.consensus, timeout_propose_ms=100, empty_block_interval_ms=20)
    save_config(home.config_path, msgspec.structs.replace(config, consensus=consensus))
    fired: list[object] = []

    async def scenario() -> None:
        async with running_nodes([home]) as (node,):
            runtime = node.runtime
            fire = runtime._fire

            def counting_fire(*args: Any) -> None:
                fired.append(args)
                fire(*args)

            runtime._fire = counting_fire  # type: ignore[method-assign]
            await eventually(lambda: len(fired) >= 60, "sixty timeouts to fire")
            loop = asyncio.get_running_loop()
            pending = list(runtime._timers.values())
            # Every handle left is still to fire (0.25 s of slack: a due one may wait its turn).
            kept = [h for h in pending if h.cancelled() or h.when() <= loop.time() - 0.25]
            assert not kept, f"{len(kept)} fired timeouts kept"

    run(scenario())
