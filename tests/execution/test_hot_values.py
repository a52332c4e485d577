"""The executor's hot values: genesis state starts hot, and hot or cold reads give the same chain."""

from __future__ import annotations

from pathlib import Path

import chain_helpers as ch
import pytest

from alliance.crypto.keys import AccountKey
from alliance.execution.modules.accounts import ACCOUNT_PREFIX
from alliance.state.tree import StateTree


def transfers(node: ch.Node, keys: list[AccountKey], rounds: int) -> list[bytes]:
    return [
        ch.transfer(
            keys[i % len(keys)],
            keys[(i * 7 + 3) % len(keys)].address,
            1 + i,
            valid_until=node.height() + 20,
            nonce=i.to_bytes(16, "big"),
        )
        for i in range(rounds)
    ]


def test_genesis_accounts_are_read_without_walking_the_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = ch.account_keys(40, seed=3)
    node = ch.open_node(tmp_path / "store", ch.genesis_for(keys, 10**9))
    walked: list[bytes] = []
    real_get = StateTree.get

    def spying_get(tree: StateTree, version: int, key: bytes) -> bytes | None:
        walked.append(key)
        return real_get(tree, version, key)

    monkeypatch.setattr(StateTree, "get", spying_get)
    try:
        _, result = ch.run_block(node, transfers(node, keys, 60))
        assert all(r.ok for r in result.receipts)
        assert not [key for key in walked if key.startswith(ACCOUNT_PREFIX)]
    finally:
        node.close()


def test_a_reopened_executor_reading_cold_computes_the_same_blocks(tmp_path: Path) -> None:
    keys = ch.account_keys(40, seed=4)
    genesis = ch.genesis_for(keys, 10**9)
    hot = ch.open_node(tmp_path / "hot", genesis)
    cold = ch.open_node(tmp_path / "cold", genesis)
    cold.close()
    cold = ch.open_node(tmp_path / "cold", genesis)  # reopened: nothing hot
    try:
        assert not cold.executor._hot
        assert len(hot.executor._hot) >= len(keys)
        for _ in range(3):
            block = ch.make_block(hot, transfers(hot, keys, 50))
            from_hot = ch.apply_block(hot, block)
            from_cold = ch.apply_block(cold, block)
            assert from_hot.app_hash == from_cold.app_hash
            assert from_hot.receipts == from_cold.receipts
    finally:
        hot.close()
        cold.close()
