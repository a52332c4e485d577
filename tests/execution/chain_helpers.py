"""Shared helpers for the execution and storage tests: keys, genesis, signed transfers, blocks.

Everything is deterministic from a seed, so two nodes (or a crashed and restarted child process)
build byte-identical transactions and blocks. Blocks are built the way a proposer does:
``prepare_proposal``, a header carrying ``tx_root`` and the app and results hashes of the previous
height, then ``process_proposal``, ``finalize_block`` and ``commit``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alliance import codec
from alliance.app.interface import FinalizeResult
from alliance.crypto.keys import AccountKey, NodeKey
from alliance.execution.executor import Executor
from alliance.execution.modules.accounts import (
    ACCOUNT_PREFIX,
    TransferArgs,
    account_key,
    decode_balance,
)
from alliance.ledger.block import Block, Header, tx_root
from alliance.ledger.genesis import ChainParams, Genesis, GenesisMember, GenesisRoles, make_genesis
from alliance.ledger.transaction import sign_tx
from alliance.ledger.validators import Validator
from alliance.storage.lmdb_store import ChainStore

CHAIN_ID = "test-chain"
BLOCK_TIME_MS = 1_000


def account_keys(count: int, seed: int) -> list[AccountKey]:
    rng = random.Random(seed)
    return [AccountKey(rng.randbytes(32)) for _ in range(count)]


def node_key(seed: int = 7) -> NodeKey:
    return NodeKey(random.Random(seed).randbytes(32))


def genesis_for(
    keys: list[AccountKey],
    balance: int,
    *,
    chain_id: str = CHAIN_ID,
    params: ChainParams | None = None,
    proposer: NodeKey | None = None,
) -> Genesis:
    nk = proposer or node_key()
    return make_genesis(
        chain_id,
        validators=[Validator(node_id=nk.node_id, power=10)],
        accounts=[(k.address, balance) for k in keys],
        params=params,
    )


def governed_genesis(
    keys: list[AccountKey], admins: list[AccountKey], supervisor: AccountKey, validators: list[NodeKey]
) -> Genesis:
    """A genesis with one member organisation per admin (``org<i>``, admin role), a supervisor,
    the validators at power 10 each, and ``keys`` funded with 10**9."""
    return make_genesis(
        CHAIN_ID,
        validators=[Validator(k.node_id, 10) for k in validators],
        accounts=[(k.address, 10**9) for k in keys],
        members=[GenesisMember(f"org{i}", b"ca-of-org%d" % i, 1) for i in range(len(admins))],
        roles=[
            *(GenesisRoles(k.address, f"org{i}", ["admin"]) for i, k in enumerate(admins)),
            GenesisRoles(supervisor.address, "", ["supervisor"]),
        ],
    )


def transfer(
    key: AccountKey,
    to: bytes,
    amount: int,
    *,
    valid_until: int,
    nonce: bytes,
    chain_id: str = CHAIN_ID,
    target: str = "accounts",
    method: str = "transfer",
    args: object | None = None,
    gas_limit: int = 100_000,
) -> bytes:
    """Canonical bytes of a signed call (a transfer unless target, method or args say otherwise)."""
    tx = sign_tx(
        key,
        chain_id=chain_id,
        target=target,
        method=method,
        args=TransferArgs(to=to, amount=amount) if args is None else args,
        valid_until=valid_until,
        gas_limit=gas_limit,
        nonce=nonce,
    )
    return codec.encode(tx)


@dataclass
class Node:
    """One executor over one store, with what it needs to propose blocks."""

    executor: Executor
    genesis: Genesis
    proposer: NodeKey

    @property
    def store(self) -> ChainStore:
        return self.executor.store

    def height(self) -> int:
        return self.executor.info().last_height

    def close(self) -> None:
        self.executor.store.close()


def signed_call(
    node: Node, key: AccountKey, target: str, method: str, args: object, *, nonce: bytes, gas_limit: int
) -> bytes:
    """A signed call of ``target.method`` valid for the next 100 blocks of ``node``'s chain."""
    return transfer(
        key,
        b"",
        0,
        target=target,
        method=method,
        args=args,
        valid_until=node.height() + 100,
        nonce=nonce,
        gas_limit=gas_limit,
    )


def open_node(
    path: Path | str,
    genesis: Genesis,
    *,
    proposer: NodeKey | None = None,
    state_versions_kept: int | None = None,
    sync: bool = False,
    **executor_options: Any,
) -> Node:
    """Open (or create) a store at ``path`` and make sure it holds ``genesis``."""
    if state_versions_kept is not None:
        executor_options["state_versions_kept"] = state_versions_kept
    executor = Executor(ChainStore(path, sync=sync), **executor_options)
    executor.init_chain(genesis)
    return Node(executor, genesis, proposer or node_key())


def make_block(
    node: Node,
    txs: list[bytes],
    *,
    height: int | None = None,
    use_prepare: bool = True,
    time_ms: int | None = None,
) -> Block:
    """A block for the next height over ``txs`` (filtered by ``prepare_proposal`` unless told not
    to), at ``time_ms`` (default: ``BLOCK_TIME_MS`` a height after genesis)."""
    ex = node.executor
    info = ex.info()
    h = info.last_height + 1 if height is None else height
    chosen = ex.prepare_proposal(h, txs).txs if use_prepare else list(txs)
    prev = Block.hash(codec.decode(Block, node.store.block(h - 1))) if h > 1 else b""
    header = Header(
        chain_id=node.genesis.chain_id,
        height=h,
        time_ms=node.genesis.genesis_time_ms + h * BLOCK_TIME_MS if time_ms is None else time_ms,
        prev_block_hash=prev,
        tx_root=tx_root(chosen),
        app_hash=info.last_app_hash,
        last_results_hash=info.last_results_hash,
        validators_hash=node.genesis.validators.hash(),
        proposer=node.proposer.node_id,
        last_commit_hash=b"",
    )
    return Block(header=header, txs=chosen)


def apply_block(node: Node, block: Block, *, check_proposal: bool = True) -> FinalizeResult:
    ex = node.executor
    if check_proposal:
        assert ex.process_proposal(block), "an honestly built block must be accepted"
    result = ex.finalize_block(block, None)
    ex.commit()
    return result


def run_block(node: Node, txs: list[bytes]) -> tuple[Block, FinalizeResult]:
    block = make_block(node, txs)
    return block, apply_block(node, block)


def balance(node: Node, address: bytes, height: int | None = None) -> int:
    return decode_balance(node.executor.query(account_key(address), height=height).value)


def total_balance(node: Node, version: int) -> int:
    """Sum of every account balance in the state tree at ``version``."""
    return sum(
        decode_balance(value)
        for key, value in node.executor.tree.items(version)
        if key.startswith(ACCOUNT_PREFIX)
    )
