"""Acceptance criterion: execution is deterministic.

The same 10,000 signed transactions (200 funded senders, random recipients, a fixed seed; some fail:
insufficient balance, unknown method, unknown target, invalid arguments) run in 20 blocks of 500
on two fresh nodes, each with its own store, give identical app hashes at every height,
byte-identical receipts and byte-identical stored blocks. One node admits every transaction
through ``check_tx`` first (so its signature cache is warm) and the other does not, so the two
take different paths to the same result. A plain Python model of the transfers predicts every
receipt status and the final balances.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chain_helpers as ch
import msgspec
import pytest

from alliance import codec
from alliance.crypto.keys import AccountKey
from alliance.execution.modules.accounts import ACCOUNT_PREFIX, decode_balance
from alliance.ledger.block import Block
from alliance.ledger.transaction import Transaction, decode_tx

SEED = 20240611
SENDERS = 200
BALANCE = 10_000
TXS = 10_000
BLOCK_TXS = 500
BLOCKS = TXS // BLOCK_TXS


@dataclass(frozen=True)
class Workload:
    keys: list[AccountKey]
    txs: list[bytes]
    expected_status: list[str]
    expected_balances: dict[bytes, int]


def make_workload() -> Workload:
    rng = random.Random(SEED)
    keys = ch.account_keys(SENDERS, SEED)
    outsiders = [rng.randbytes(20) for _ in range(300)]
    balances = {k.address: BALANCE for k in keys}
    txs: list[bytes] = []
    status: list[str] = []
    for _ in range(TXS):
        src = rng.choice(keys)
        to = rng.choice(keys).address if rng.random() < 0.6 else rng.choice(outsiders)
        amount = rng.randrange(1, 400) if rng.random() < 0.97 else BALANCE * 3  # some cannot pay
        kind = rng.random()
        extra: dict[str, object] = {}
        if kind < 0.01:
            extra["method"] = "mint"
            expected = "unknown_method"
        elif kind < 0.02:
            extra["target"] = "bank"
            expected = "unknown_target"
        elif kind < 0.03:
            extra["args"] = [to, 0]  # amount below 1
            expected = "invalid_arguments"
        elif balances[src.address] < amount:
            expected = "insufficient_balance"
        else:
            expected = "ok"
            balances[src.address] -= amount
            balances[to] = balances.get(to, 0) + amount
        txs.append(
            ch.transfer(src, to, amount, valid_until=BLOCKS + 5, nonce=rng.randbytes(16), **extra)  # type: ignore[arg-type]
        )
        status.append(expected)
    return Workload(keys, txs, status, balances)


@pytest.fixture(scope="module")
def workload() -> Workload:
    return make_workload()


@pytest.fixture
def two_nodes(tmp_path: Path, workload: Workload) -> Iterator[tuple[ch.Node, ch.Node]]:
    genesis = ch.genesis_for(workload.keys, BALANCE)
    a = ch.open_node(tmp_path / "a", genesis)
    b = ch.open_node(tmp_path / "b", genesis)
    yield a, b
    a.close()
    b.close()


def test_the_workload_covers_every_outcome(workload: Workload) -> None:
    counts = {s: workload.expected_status.count(s) for s in set(workload.expected_status)}
    assert set(counts) == {
        "ok",
        "insufficient_balance",
        "unknown_method",
        "unknown_target",
        "invalid_arguments",
    }
    assert all(n >= 50 for n in counts.values()), counts
    assert len(set(workload.txs)) == TXS


def test_determinism_same_txs_on_two_nodes_give_identical_app_hashes_receipts_and_blocks(
    workload: Workload, two_nodes: tuple[ch.Node, ch.Node]
) -> None:
    a, b = two_nodes
    assert a.executor.info() == b.executor.info()
    statuses: list[str] = []
    for h in range(1, BLOCKS + 1):
        txs = workload.txs[(h - 1) * BLOCK_TXS : h * BLOCK_TXS]
        for raw in txs:  # only node a admits through its mempool path
            a.executor.check_tx(raw)
        block_a = ch.make_block(a, txs)
        block_b = ch.make_block(b, txs)
        assert block_a.txs == txs
        assert codec.encode(block_a) == codec.encode(block_b)
        assert a.executor.process_proposal(block_b) and b.executor.process_proposal(block_a)
        result_a = ch.apply_block(a, block_a)
        result_b = ch.apply_block(b, block_b)
        assert result_a.app_hash == result_b.app_hash, f"app hashes differ at height {h}"
        assert result_a.results_hash == result_b.results_hash
        assert codec.encode(result_a.receipts) == codec.encode(result_b.receipts)
        assert len(result_a.receipts) == BLOCK_TXS
        assert a.executor.info() == b.executor.info()
        assert a.store.block(h) == b.store.block(h) == codec.encode(block_a)
        assert a.store.receipts(h) == b.store.receipts(h) == codec.encode(result_a.receipts)
        statuses.extend(r.status for r in result_a.receipts)

    assert statuses == workload.expected_status
    assert a.executor.info().last_height == BLOCKS
    items_a = list(a.executor.tree.items(BLOCKS))
    assert items_a == list(b.executor.tree.items(BLOCKS))
    balances = {
        k[len(ACCOUNT_PREFIX) :]: decode_balance(v) for k, v in items_a if k.startswith(ACCOUNT_PREFIX)
    }
    assert balances == {addr: bal for addr, bal in workload.expected_balances.items() if bal}
    assert sum(balances.values()) == SENDERS * BALANCE
    for key, value in items_a:  # the flat state agrees with the tree on both nodes
        assert a.store.get_state(key) == b.store.get_state(key) == value
    for h in range(BLOCKS + 1):
        assert a.executor.tree.root_hash(h) == b.executor.tree.root_hash(h)


def test_replaying_stored_blocks_on_a_third_node_gives_the_same_hashes(
    workload: Workload, two_nodes: tuple[ch.Node, ch.Node], tmp_path: Path
) -> None:
    """A node that catches up by executing the stored blocks (no mempool, no proposals of its own)
    reaches the same app hash and receipts at every height."""
    a, _ = two_nodes
    blocks = 4
    for h in range(1, blocks + 1):
        ch.run_block(a, workload.txs[(h - 1) * BLOCK_TXS : h * BLOCK_TXS])
    c = ch.open_node(tmp_path / "c", a.genesis)
    from alliance.ledger.block import Block

    for h in range(1, blocks + 1):
        block = codec.decode(Block, a.store.block(h))
        result = ch.apply_block(c, block)
        assert result.app_hash == a.executor.tree.root_hash(h)
        assert codec.encode(result.receipts) == a.store.receipts(h)
    assert c.executor.info() == a.executor.info()
    c.close()


def test_a_cached_signature_does_not_change_the_outcome(
    workload: Workload, two_nodes: tuple[ch.Node, ch.Node]
) -> None:
    """The signature cache is an optimisation only: a block whose transaction carries a forged
    signature over a body node a admitted earlier must get the same verdict and the same receipts
    on node a (cache warm) as on node b (cache cold). (Regression: a cache keyed by the body hash
    alone let node a execute the forged transaction while node b recorded ``bad_signature``.)"""
    a, b = two_nodes
    raw = workload.txs[0]
    a.executor.check_tx(raw)
    forged_tx = msgspec.structs.replace(decode_tx(raw), signature=b"\x01" * 64)
    forged = codec.encode(forged_tx)
    assert isinstance(decode_tx(forged), Transaction)
    block = ch.make_block(a, [forged], use_prepare=False)
    assert a.executor.process_proposal(block) == b.executor.process_proposal(block)
    result_a = ch.apply_block(a, block, check_proposal=False)
    result_b = ch.apply_block(b, block, check_proposal=False)
    assert [r.status for r in result_a.receipts] == [r.status for r in result_b.receipts]
    assert result_a.app_hash == result_b.app_hash


def test_finalizing_the_accepted_proposal_reuses_its_checks_with_the_same_outcome(
    workload: Workload, two_nodes: tuple[ch.Node, ch.Node]
) -> None:
    """Node a finalizes the block its ``process_proposal`` accepted (the checks are reused); node b
    finalizes it cold. Then both are offered one block and finalize another at the same height:
    the other block's forged transaction must be checked, not taken from the accepted one."""
    a, b = two_nodes
    for h in range(1, 4):
        block = ch.make_block(a, workload.txs[(h - 1) * BLOCK_TXS : h * BLOCK_TXS])
        result_a = ch.apply_block(a, block, check_proposal=True)
        result_b = ch.apply_block(b, block, check_proposal=False)
        assert result_a.app_hash == result_b.app_hash
        assert codec.encode(result_a.receipts) == codec.encode(result_b.receipts)

    txs = workload.txs[3 * BLOCK_TXS : 4 * BLOCK_TXS]
    offered = ch.make_block(a, txs)
    forged = codec.encode(msgspec.structs.replace(decode_tx(txs[0]), signature=b"\x01" * 64))
    decided = ch.make_block(a, [forged, *offered.txs[1:]], use_prepare=False)
    assert a.executor.process_proposal(offered) and b.executor.process_proposal(offered)
    result_a = ch.apply_block(a, decided, check_proposal=False)
    result_b = ch.apply_block(b, decided, check_proposal=False)
    assert result_a.receipts[0].status == result_b.receipts[0].status == "bad_signature"
    assert result_a.app_hash == result_b.app_hash


def test_a_block_changed_in_place_after_acceptance_is_checked_again(
    workload: Workload, two_nodes: tuple[ch.Node, ch.Node]
) -> None:
    a, _ = two_nodes
    txs = workload.txs[:BLOCK_TXS]
    block = ch.make_block(a, txs)
    assert a.executor.process_proposal(block)
    block.txs[0] = codec.encode(msgspec.structs.replace(decode_tx(txs[0]), signature=b"\x01" * 64))
    result = ch.apply_block(a, block, check_proposal=False)
    assert result.receipts[0].status == "bad_signature"


def test_the_proposer_finalizes_its_prepared_block_with_the_checks_prepare_made(
    workload: Workload, two_nodes: tuple[ch.Node, ch.Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The consensus core never asks a node to check its own proposal, so ``prepare_proposal``
    keeps its rows for ``finalize_block``: node a finalizes its prepared block without checking it
    again, with the outcome of node b's cold checks. A different block decided at that height
    (a forged signature in place of a prepared transaction) is checked, not taken from the memo."""
    a, b = two_nodes
    checked_again: list[int] = []
    check = a.executor._checked_block_txs

    def counting_check(block: Block) -> list[Any]:
        checked_again.append(block.header.height)
        return check(block)

    monkeypatch.setattr(a.executor, "_checked_block_txs", counting_check)
    for h in range(1, 3):
        block = ch.make_block(a, workload.txs[(h - 1) * BLOCK_TXS : h * BLOCK_TXS])  # prepare_proposal
        result_a = ch.apply_block(a, block, check_proposal=False)
        result_b = ch.apply_block(b, block, check_proposal=False)
        assert result_a.app_hash == result_b.app_hash
        assert codec.encode(result_a.receipts) == codec.encode(result_b.receipts)
    assert checked_again == []

    # Another proposer's block accepted after this node prepared its own (a later round): the
    # prepared block is still finalized from its memo, and the accepted one from its own.
    for h, decide_prepared in ((3, True), (4, False)):
        txs = workload.txs[(h - 1) * BLOCK_TXS : h * BLOCK_TXS]
        prepared = ch.make_block(a, txs[: BLOCK_TXS // 2])
        other = ch.make_block(a, txs[BLOCK_TXS // 2 :], use_prepare=False)
        assert a.executor.process_proposal(other)
        decided = prepared if decide_prepared else other
        result_a = ch.apply_block(a, decided, check_proposal=False)
        result_b = ch.apply_block(b, decided, check_proposal=False)
        assert codec.encode(result_a.receipts) == codec.encode(result_b.receipts)
        assert result_a.app_hash == result_b.app_hash
    assert checked_again == []

    txs = workload.txs[4 * BLOCK_TXS : 5 * BLOCK_TXS]
    prepared = ch.make_block(a, txs)
    forged = codec.encode(msgspec.structs.replace(decode_tx(prepared.txs[0]), signature=b"\x01" * 64))
    decided = ch.make_block(a, [forged, *prepared.txs[1:]], use_prepare=False)
    result_a = ch.apply_block(a, decided, check_proposal=False)
    result_b = ch.apply_block(b, decided, check_proposal=False)
    assert checked_again == [5]
    assert result_a.receipts[0].status == result_b.receipts[0].status == "bad_signature"
    assert result_a.app_hash == result_b.app_hash
