"""A signature worker that dies in the middle of a block never stops the node (audit M5).

The executor checks the signatures a proposal or a synced block carries through the node's
``BatchVerifier``. A dead or hung worker makes the verifier raise ``OperationalError``; the
mempool caught it, ``process_proposal`` and ``finalize_block`` did not, so the node's consensus
task failed. Now the executor asks once more (the verifier starts fresh workers) and then verifies
inline: the answer is the same, only slower.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Sequence
from pathlib import Path

import pytest
from chain_helpers import account_keys, apply_block, genesis_for, make_block, open_node, transfer

from alliance.errors import OperationalError
from alliance.mempool.verifier import INLINE_ITEMS_MAX, BatchVerifier

TXS = 2 * INLINE_ITEMS_MAX  # enough to go to the workers


def signed_transfers(count: int) -> tuple[list[bytes], list[bytes]]:
    keys = account_keys(count, seed=21)
    rng = random.Random(4)
    txs = [transfer(k, b"\x07" * 20, 1, valid_until=100, nonce=rng.randbytes(16)) for k in keys]
    return txs, [k.address for k in keys]


def test_a_worker_killed_before_a_proposal_is_checked_costs_a_retry_not_the_node(tmp_path: Path) -> None:
    txs, _senders = signed_transfers(TXS)
    genesis = genesis_for(account_keys(TXS, seed=21), 1_000)
    with BatchVerifier("processes", workers=1) as verifier:
        proposer = open_node(tmp_path / "proposer", genesis)
        block = make_block(proposer, txs)
        assert len(block.txs) == TXS
        node = open_node(tmp_path / "node", genesis, verify_batch=verifier.verify_batch)
        (pid,) = verifier.worker_pids()
        os.kill(pid, signal.SIGKILL)  # the worker dies with the node's next batch on its way
        result = apply_block(node, block)  # process_proposal, then finalize_block and commit
        assert [r.status for r in result.receipts] == ["ok"] * TXS
        assert verifier.worker_pids() and verifier.worker_pids() != [pid]  # a fresh worker took over
        proposer.close()
        node.close()


def test_a_verifier_that_keeps_failing_is_replaced_by_inline_checks(tmp_path: Path) -> None:
    txs, _ = signed_transfers(TXS)
    genesis = genesis_for(account_keys(TXS, seed=21), 1_000)
    calls = [0]

    def failing(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
        calls[0] += 1
        raise OperationalError("a signature worker died; workers restart on the next batch")

    proposer = open_node(tmp_path / "proposer", genesis)
    block = make_block(proposer, txs)
    node = open_node(tmp_path / "node", genesis, verify_batch=failing)
    result = apply_block(node, block)
    assert [r.status for r in result.receipts] == ["ok"] * TXS
    assert calls[0] == 2  # asked twice, then verified inline
    # A forged signature is still refused on the inline path.
    forged = bytearray(txs[0])
    forged[-1] ^= 1
    bad = make_block(node, [bytes(forged)], use_prepare=False)
    assert node.executor.process_proposal(bad) is False
    proposer.close()
    node.close()


@pytest.mark.parametrize("failures", [1, 2])
def test_failures_are_counted_in_the_log(
    tmp_path: Path, failures: int, caplog: pytest.LogCaptureFixture
) -> None:
    txs, _ = signed_transfers(TXS)
    genesis = genesis_for(account_keys(TXS, seed=21), 1_000)
    inline = BatchVerifier("inline")
    left = [failures]

    def flaky(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
        if left[0]:
            left[0] -= 1
            raise OperationalError("signature workers hung; restarting them")
        return inline.verify_batch(items)

    proposer = open_node(tmp_path / "proposer", genesis)
    node = open_node(tmp_path / "node", genesis, verify_batch=flaky)
    result = apply_block(node, make_block(proposer, txs))
    assert all(r.ok for r in result.receipts)
    warnings = [r.message for r in caplog.records if r.levelname == "WARNING"]
    assert sum("signature verifier failed" in w for w in warnings) == failures
    assert any("inline" in w for w in warnings) == (failures == 2)
    proposer.close()
    node.close()
