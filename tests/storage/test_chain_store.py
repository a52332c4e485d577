"""The LMDB chain store: blocks land in order, one whole transaction each, survive a reopen, and
pruning keeps exactly the last state versions (driven through the executor, as in a node)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import lmdb
import pytest

from alliance import codec
from alliance.abi.chain import VALIDATORS_KEY
from alliance.errors import InvariantViolation, NotFound, StoreFormatError, UsageError, VersionPruned
from alliance.execution.executor import STATE_PRUNE_BATCH_VERSIONS_MAX, Executor
from alliance.execution.modules.accounts import account_key, decode_balance
from alliance.ledger.block import Block, CommitCertificate, CommitSig, Receipt, results_hash
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.state.tree import (
    EMPTY_CHILD,
    Internal,
    StateTree,
    decode_node,
    decode_root,
    encode_path,
    set_nibble,
    verify_state_proof,
)
from alliance.state.tree import node_key as tree_node_key
from alliance.storage.lmdb_store import STORE_FORMAT, BlockWrite, ChainStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "execution"))
import chain_helpers as ch

MAP_SIZE_BYTES = 256 * 1024**2


def write_for(store: ChainStore, height: int, state: dict[bytes, bytes | None], **kw: object) -> BlockWrite:
    """A minimal BlockWrite at ``height`` whose tree update is computed over ``store``."""
    tree = StateTree(store)
    base = store.last_height()
    update = tree.apply(base, kw.pop("version", height), state)  # type: ignore[arg-type]
    fields: dict[str, object] = {
        "height": height,
        "block_hash": bytes([height]) * 32 if height else b"",
        "block": f"block {height}".encode() if height else b"",
        "certificate": None,
        "receipts": codec.encode([]),
        "tx_hashes": [],
        "state": state,
        "tree": update,
    }
    fields.update(kw)
    return BlockWrite(**fields)  # type: ignore[arg-type]


def test_a_store_in_another_format_is_refused_not_misread(tmp_path: Path) -> None:
    store = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)
    store.commit_block(write_for(store, 0, {b"k": b"0"}, genesis=b"genesis"))
    store.close()
    reopened = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)  # its own format: fine
    assert reopened.get_state(b"k") == b"0"
    reopened.close()

    def set_format(value: bytes | None) -> None:
        env = lmdb.open(str(tmp_path), max_dbs=16)
        try:
            with env.begin(write=True, db=env.open_db(b"meta")) as txn:
                if value is None:
                    txn.delete(b"format")  # as a store written before formats were recorded
                else:
                    txn.put(b"format", value)
        finally:
            env.close()

    newer = STORE_FORMAT + 1
    for value, found in ((None, "format 1"), (newer.to_bytes(8, "big"), f"format {newer}")):
        set_format(value)
        with pytest.raises(StoreFormatError) as info:
            ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)
        assert found in info.value.message and f"reads format {STORE_FORMAT}" in info.value.message
        assert isinstance(info.value, UsageError)


def test_blocks_commit_in_order_only(tmp_path: Path) -> None:
    store = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)
    assert store.last_height() is None
    with pytest.raises(InvariantViolation, match="in order"):
        store.commit_block(write_for(store, 1, {b"k": b"1"}))
    assert store.last_height() is None

    store.commit_block(write_for(store, 0, {b"k": b"0"}, genesis=b"genesis"))
    assert store.last_height() == 0
    with pytest.raises(InvariantViolation, match="in order"):
        store.commit_block(write_for(store, 0, {b"k": b"again"}, version=1))
    with pytest.raises(InvariantViolation, match="in order"):
        store.commit_block(write_for(store, 2, {b"k": b"2"}))
    with pytest.raises(InvariantViolation, match="state version"):
        store.commit_block(write_for(store, 1, {b"k": b"1"}, version=2))
    assert store.last_height() == 0
    assert store.get_state(b"k") == b"0"
    with pytest.raises(NotFound):
        store.block(2)

    store.commit_block(write_for(store, 1, {b"k": b"1"}))
    store.commit_block(write_for(store, 2, {b"k": b"2"}))
    assert store.last_height() == 2
    assert store.block(1) == b"block 1" and store.block(2) == b"block 2"
    assert store.get_state(b"k") == b"2"
    with pytest.raises(InvariantViolation, match="in order"):
        store.commit_block(write_for(store, 1, {b"k": b"x"}, version=3))
    store.close()


def test_a_failed_commit_writes_nothing(tmp_path: Path) -> None:
    """A write refused inside the LMDB transaction (a transaction hash indexed twice) leaves no
    trace: not the block, not the state, not the root, not the height."""
    store = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)
    store.commit_block(write_for(store, 0, {b"k": b"0"}))
    store.commit_block(write_for(store, 1, {b"k": b"1"}, tx_hashes=[(b"t" * 32, 0)]))
    bad = write_for(store, 2, {b"k": b"2", b"new": b"n"}, tx_hashes=[(b"u" * 32, 0), (b"t" * 32, 1)])
    with pytest.raises(InvariantViolation, match="committed before"):
        store.commit_block(bad)
    for reopen in (False, True):
        if reopen:
            store.close()
            store = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)
        assert store.last_height() == 1
        assert store.get_state(b"k") == b"1" and store.get_state(b"new") is None
        assert store.get_root(2) is None
        assert not store.has_tx(b"u" * 32)
        assert store.tx_location(b"t" * 32) == (1, 0)
        with pytest.raises(NotFound):
            store.block(2)
        with pytest.raises(NotFound):
            store.height_of(b"\x02" * 32)
    # The same height commits fine once the write is right.
    store.commit_block(write_for(store, 2, {b"k": b"2"}, tx_hashes=[(b"u" * 32, 0)]))
    assert store.last_height() == 2 and store.tx_location(b"u" * 32) == (2, 0)
    store.close()


def build_chain(
    path: Path, blocks: int, *, kept: int | None = None, prune_batch: int = 1, seed: int = 1
) -> dict[str, object]:
    """Run ``blocks`` blocks of transfers and return what was committed, for checks after reopen."""
    keys = ch.account_keys(20, seed)
    genesis = ch.genesis_for(keys, 1_000)
    node = ch.open_node(path, genesis, state_versions_kept=kept, state_prune_batch_versions=prune_batch)
    rnd = random.Random(seed)
    balances = {k.address: 1_000 for k in keys}
    history: list[dict[bytes, int]] = [dict(balances)]
    blocks_out: list[Block] = []
    receipts: list[list[Receipt]] = []
    app_hashes: list[bytes] = [node.executor.info().last_app_hash]
    for h in range(1, blocks + 1):
        txs = []
        for _ in range(8):
            src, dst = rnd.sample(keys, 2)
            amount = rnd.randrange(1, 300)
            txs.append(ch.transfer(src, dst.address, amount, valid_until=h + 5, nonce=rnd.randbytes(16)))
            if balances[src.address] >= amount:  # the model: transfers apply in block order
                balances[src.address] -= amount
                balances[dst.address] += amount
        block, result = ch.run_block(node, txs)
        blocks_out.append(block)
        receipts.append(result.receipts)
        app_hashes.append(result.app_hash)
        history.append(dict(balances))
    return {
        "node": node,
        "keys": keys,
        "genesis": genesis,
        "history": history,
        "blocks": blocks_out,
        "receipts": receipts,
        "app_hashes": app_hashes,
    }


def test_reads_after_reopen(tmp_path: Path) -> None:
    run = build_chain(tmp_path, 6)
    node: ch.Node = run["node"]  # type: ignore[assignment]
    info = node.executor.info()
    node.close()

    store = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES)
    assert store.last_height() == 6
    assert store.genesis() == codec.encode(run["genesis"])
    blocks: list[Block] = run["blocks"]  # type: ignore[assignment]
    receipts: list[list[Receipt]] = run["receipts"]  # type: ignore[assignment]
    for h, block in enumerate(blocks, start=1):
        raw = store.block(h)
        assert raw == codec.encode(block)
        assert codec.decode(Block, raw).hash() == block.hash()
        assert store.height_of(block.hash()) == h
        assert store.receipts(h) == codec.encode(receipts[h - 1])
        for i, tx in enumerate(block.txs):
            assert store.has_tx(tx_hash_of_canonical(tx))
            assert store.tx_location(tx_hash_of_canonical(tx)) == (h, i)
    assert [h for h, _ in store.iter_heights(2, 4)] == [2, 3, 4]
    assert [raw for _, raw in store.iter_heights(5, 100)] == [codec.encode(b) for b in blocks[4:]]
    history: list[dict[bytes, int]] = run["history"]  # type: ignore[assignment]
    for address, amount in history[-1].items():
        assert decode_balance(store.get_state(account_key(address))) == amount

    executor = Executor(store)
    assert executor.info() == info
    assert executor.info().last_results_hash == results_hash(receipts[-1])
    app_hashes: list[bytes] = run["app_hashes"]  # type: ignore[assignment]
    for h in range(7):
        assert executor.tree.root_hash(h) == app_hashes[h]
        for address, amount in history[h].items():
            q = executor.query(account_key(address), height=h, prove=True)
            assert decode_balance(q.value) == amount
            assert q.app_hash == app_hashes[h]
            assert verify_state_proof(q.app_hash, q.key, q.value, q.proof)  # type: ignore[arg-type]
    for h in range(2, 7):
        assert blocks[h - 1].header.app_hash == app_hashes[h - 1]
        assert blocks[h - 1].header.prev_block_hash == blocks[h - 2].hash()
    store.close()


def test_lookups_of_missing_things_raise_not_found(tmp_path: Path) -> None:
    run = build_chain(tmp_path, 2)
    node: ch.Node = run["node"]  # type: ignore[assignment]
    store = node.store
    for call in (
        lambda: store.tx_location(b"\x01" * 32),
        lambda: store.block(3),
        lambda: store.block(0),  # genesis has no block
        lambda: store.receipts(3),
        lambda: store.height_of(b"\x02" * 32),
        lambda: store.certificate(1),  # committed without a certificate
        lambda: node.executor.query(b"acct/x", height=3),
        lambda: node.executor.tree.root_hash(3),
    ):
        with pytest.raises(NotFound) as info:
            call()
        assert info.value.message
    assert not store.has_tx(b"\x01" * 32)
    assert store.get_state(b"no such key") is None
    node.close()


def test_a_certificate_is_stored_with_its_block(tmp_path: Path) -> None:
    keys = ch.account_keys(2, 3)
    node = ch.open_node(tmp_path, ch.genesis_for(keys, 10))
    block = ch.make_block(node, [ch.transfer(keys[0], keys[1].address, 1, valid_until=3, nonce=b"n" * 16)])
    cert = CommitCertificate(
        height=1,
        round=0,
        block_hash=block.hash(),
        signatures=[CommitSig(node_id=node.proposer.node_id, signature=b"s" * 64)],
    )
    assert node.executor.process_proposal(block)
    node.executor.finalize_block(block, cert)
    node.executor.commit()
    node.close()
    store = ChainStore(tmp_path)
    assert codec.decode(CommitCertificate, store.certificate(1)) == cert
    store.close()


def reachable_nodes(store: ChainStore, version: int) -> set[bytes]:
    raw = store.get_root(version)
    assert raw is not None, f"no root for version {version}"
    ref = decode_root(raw)
    seen: set[bytes] = set()
    stack = [] if ref is None else [(ref.version, EMPTY_CHILD, 0)]
    while stack:
        ver, path_hash, depth = stack.pop()
        key = tree_node_key(ver, encode_path(path_hash, depth))
        data = store.get_node(key)
        assert data is not None, f"node {key.hex()} of version {version} is missing"
        seen.add(key)
        node = decode_node(data)
        if isinstance(node, Internal):
            for slot in range(16):
                child = node.child(slot)
                if child is not None:
                    stack.append((child.version, set_nibble(path_hash, depth, slot), depth + 1))
    return seen


def all_keys(path: Path, db_name: bytes) -> set[bytes]:
    env = lmdb.open(str(path), max_dbs=16, readonly=True, lock=False)
    try:
        db = env.open_db(db_name, create=False)
        with env.begin(db=db) as txn:
            return {bytes(k) for k in txn.cursor().iternext(keys=True, values=False)}
    finally:
        env.close()


KEPT = 3
BLOCKS = 10


def oldest_after(blocks: int, kept: int, batch: int) -> int:
    """The model of pruning: after each block, versions older than ``height - kept`` go, but only
    once ``batch`` of them have aged out since the last prune."""
    oldest = 0
    for height in range(1, blocks + 1):
        if height - kept - oldest >= batch:
            oldest = height - kept
    return oldest


def test_the_pruning_model_keeps_the_last_versions_and_at_most_a_batch_more() -> None:
    assert oldest_after(BLOCKS, KEPT, 1) == BLOCKS - KEPT
    assert oldest_after(BLOCKS, KEPT, 3) == 6  # pruned after blocks 6 (to 3) and 9 (to 6)
    assert oldest_after(KEPT + 2, KEPT, 3) == 0
    for blocks in range(30):
        for batch in (1, 2, 3, 4):
            oldest = oldest_after(blocks, KEPT, batch)
            assert blocks - KEPT - batch < oldest <= max(0, blocks - KEPT)


def test_pruning_parameters_out_of_bounds_are_refused(tmp_path: Path) -> None:
    store = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)
    for options in (
        {"state_versions_kept": 0},
        {"state_prune_batch_versions": 0},
        {"state_prune_batch_versions": STATE_PRUNE_BATCH_VERSIONS_MAX + 1},
    ):
        with pytest.raises(UsageError, match="state_versions_kept must be at least 1"):
            Executor(store, **options)
    store.close()


def test_a_pruning_backlog_drains_two_batches_a_commit(tmp_path: Path) -> None:
    """A node restarted with fewer versions kept does not delete the whole backlog in one commit."""
    run = build_chain(tmp_path, 12, kept=10, prune_batch=1)
    node: ch.Node = run["node"]  # type: ignore[assignment]
    assert node.store.oldest_version() == 2
    node.close()
    node = ch.open_node(tmp_path, run["genesis"], state_versions_kept=2, state_prune_batch_versions=1)  # type: ignore[arg-type]
    keys: list[ch.AccountKey] = run["keys"]  # type: ignore[assignment]
    oldest_seen = [node.store.oldest_version()]
    for height in range(13, 21):
        nonce = height.to_bytes(16, "big")
        transfer = ch.transfer(keys[0], keys[1].address, 1, valid_until=height + 2, nonce=nonce)
        ch.run_block(node, [transfer])
        oldest = node.store.oldest_version()
        assert oldest == min(height - 2, oldest_seen[-1] + 2)  # at most two batches of one a commit
        assert node.executor.tree.root_hash(oldest) is not None
        oldest_seen.append(oldest)
    assert oldest_seen == [2, 4, 6, 8, 10, 12, 14, 16, 18]  # caught up with the window at height 20
    with pytest.raises(VersionPruned):
        node.executor.tree.root_hash(17)
    node.close()


@pytest.mark.parametrize("batch", [1, 3])
def test_pruning_keeps_the_last_versions_and_drops_older_ones(tmp_path: Path, batch: int) -> None:
    run = build_chain(tmp_path, BLOCKS, kept=KEPT, prune_batch=batch)
    node: ch.Node = run["node"]  # type: ignore[assignment]
    history: list[dict[bytes, int]] = run["history"]  # type: ignore[assignment]
    app_hashes: list[bytes] = run["app_hashes"]  # type: ignore[assignment]
    executor = node.executor
    oldest = oldest_after(BLOCKS, KEPT, batch)
    assert 0 < oldest <= BLOCKS - KEPT

    def check(executor: Executor) -> None:
        assert executor.store.oldest_version() == oldest
        for version in range(BLOCKS + 1):
            address = next(iter(history[version]))
            if version < oldest:
                for call in (
                    lambda v=version: executor.tree.root_hash(v),
                    lambda v=version, a=address: executor.query(account_key(a), height=v),
                    lambda v=version, a=address: executor.query(account_key(a), height=v, prove=True),
                ):
                    with pytest.raises(VersionPruned) as info:
                        call()
                    assert str(oldest) in info.value.message
                assert executor.store.get_root(version) is None
                continue
            assert executor.tree.root_hash(version) == app_hashes[version]
            for addr, amount in history[version].items():
                q = executor.query(account_key(addr), height=version, prove=True)
                assert decode_balance(q.value) == amount
                assert verify_state_proof(app_hashes[version], q.key, q.value, q.proof)  # type: ignore[arg-type]

    # The last KEPT versions (and the one they are counted back from) stay readable, and with
    # batches the versions not yet pruned.
    check(executor)
    kept_versions = range(oldest, BLOCKS + 1)
    assert len(kept_versions) >= KEPT + 1
    node.close()

    # After a reopen: the same, read cold from disk, and the nodes table holds exactly what the
    # kept versions reach (pruning deleted the rest and nothing still reachable).
    store = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES)
    check(Executor(store, state_versions_kept=KEPT, state_prune_batch_versions=batch))
    reachable: set[bytes] = set()
    for version in kept_versions:
        reachable |= reachable_nodes(store, version)
    store.close()
    assert all_keys(tmp_path, b"nodes") == reachable
    assert all(int.from_bytes(k[:8], "big") > oldest for k in all_keys(tmp_path, b"stale"))
    assert {int.from_bytes(k, "big") for k in all_keys(tmp_path, b"roots")} == set(kept_versions)

    # The chain continues on the reopened, pruned store and keeps pruning as the model says.
    node = ch.open_node(
        tmp_path,
        run["genesis"],
        state_versions_kept=KEPT,
        state_prune_batch_versions=batch,  # type: ignore[arg-type]
    )
    keys: list[ch.AccountKey] = run["keys"]  # type: ignore[assignment]
    next_prune_height = oldest + KEPT + batch  # when a whole batch more has aged out
    for height in range(BLOCKS + 1, next_prune_height + 1):
        transfer = ch.transfer(
            keys[0], keys[1].address, 1, valid_until=height + 2, nonce=height.to_bytes(16, "big")
        )
        ch.run_block(node, [transfer])
        expected = oldest if height < next_prune_height else oldest + batch
        assert node.store.oldest_version() == expected == oldest_after(height, KEPT, batch)
    pruned_to = node.store.oldest_version()
    with pytest.raises(VersionPruned):
        node.executor.tree.root_hash(pruned_to - 1)
    assert node.executor.tree.root_hash(pruned_to) == app_hashes[pruned_to]
    node.close()


def test_every_validator_set_is_kept_by_the_version_that_wrote_it(tmp_path: Path) -> None:
    # Sets written at genesis and at heights 3 and 6: any version answers the last one written at
    # or before it, however far the state versions that held it have been pruned.
    store = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)
    sets = {0: b"set-0", 3: b"set-3", 6: b"set-6"}
    for height in range(8):
        state: dict[bytes, bytes | None] = {b"k": bytes([height])}
        if height in sets:
            state[VALIDATORS_KEY] = sets[height]
        store.commit_block(write_for(store, height, state, **({"genesis": b"g"} if height == 0 else {})))
    expected = {v: sets[max(h for h in sets if h <= v)] for v in range(8)}
    assert {v: store.validators_at(v) for v in range(8)} == expected
    assert store.validators_at(8) is None  # past the last committed version
    assert store.validator_history_from() == 0
    store.close()
    reopened = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)
    assert {v: reopened.validators_at(v) for v in range(8)} == expected
    reopened.close()


def test_a_store_made_before_the_validator_history_starts_it_where_it_stands(tmp_path: Path) -> None:
    store = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)
    for height in range(5):
        state: dict[bytes, bytes | None] = {b"k": bytes([height])}
        if height in (0, 2):
            state[VALIDATORS_KEY] = f"set-{height}".encode()
        store.commit_block(write_for(store, height, state, **({"genesis": b"g"} if height == 0 else {})))
    store.close()
    env = lmdb.open(str(tmp_path), max_dbs=16)  # as a store written before the history existed
    with env.begin(write=True) as txn:
        txn.drop(env.open_db(b"valsets", txn=txn), delete=True)
        txn.delete(b"validators_from", db=env.open_db(b"meta", txn=txn))
    env.close()
    reopened = ChainStore(tmp_path, map_size_bytes=MAP_SIZE_BYTES, sync=False)
    assert reopened.validator_history_from() == 4
    assert reopened.validators_at(4) == b"set-2"  # read from the state tree when it started
    assert reopened.validators_at(3) is None  # before the history: the caller asks the state
    reopened.commit_block(write_for(reopened, 5, {VALIDATORS_KEY: b"set-5"}))
    assert [reopened.validators_at(v) for v in (4, 5)] == [b"set-2", b"set-5"]
    reopened.close()
