"""A chain of many committed transfers, built straight into a node's store (for bench_explorer.py).

Loading a million transfers through the API took about 25 minutes on the project's 2-core machine:
every transfer is admitted, gossiped, proposed, voted on and committed at the pace of consensus
(and the loader waits for blocks). The explorer's timings need the *store* a node would have after
that, not the pace of getting there, so this module writes the same chain the way the node's own
executor does, without consensus in between:

- ``alliance init``'s code makes a one-validator alliance (its genesis dated back, so the blocks can
  be a second apart and end about now, as a chain that ran for that long);
- the executor of the node's home commits block after block over the node's own store: real
  signed transfers (``dev`` funds ``senders`` accounts, which then pay random recipients among
  ``recipients`` addresses), headers linked and filled as the consensus core fills them (previous
  hash, tx root, app and results hashes, validators hash, proposer, last commit hash), and a commit
  certificate signed by the validator's own node key, so every in-page check of the explorer (block
  hashes, signatures, quorum, inclusion proofs) runs on real data;
- first the committee (one member: its admin's proposal passes at once) makes the admin an issuer,
  the admin declares the pass scheme ``BENCH`` and mints it to the first payers, submits the
  example ``token.py`` contract and proposes it live (so the passes and contracts pages have data,
  and a scheme's history is read back over the whole chain);
- each block passes ``process_proposal`` before it is finalized and committed, as on a node that
  received it. The signatures were made here, so they go into the executor's signature cache as a
  node's admission leaves them (``bench_executor.py`` does the same); nothing else is skipped.

The node is then started on that home as ``alliance node start`` would (``bench_explorer.py``): it
finds its store at the last height, carries on from there, and builds its account index from the
store in the background (the report says how long that took).
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any
from unittest import mock

from alliance import codec
from alliance.abi import contracts, gov, passes
from alliance.abi.accounts import TransferArgs
from alliance.cli.keyring import load_named_key
from alliance.contracts import engine
from alliance.crypto.keys import AccountKey, NodeSigner, load_node_key
from alliance.execution.executor import Executor
from alliance.ledger.block import (
    Block,
    CommitCertificate,
    CommitSig,
    Header,
    VoteType,
    tx_root,
    vote_sign_bytes,
)
from alliance.ledger.transaction import sign_tx, tx_hash_of_canonical
from alliance.node.config import NodeHome
from alliance.node.service import load_genesis
from alliance.storage.lmdb_store import ChainStore
from alliance.testing.nodes import alliance_homes

BLOCK_INTERVAL_MS = 1000
SENDER_FUNDS = 10**9
VALID_FOR_BLOCKS = 10
EMPTY_BLOCK_INTERVAL_MS = 1000
SCHEME = "BENCH"
CONTRACT = "token"
PASS_HOLDERS = 100
TOKEN_SOURCE = Path(__file__).resolve().parents[1] / "examples" / "contracts" / "token.py"
SETUP_BLOCKS = 6


def build_chain(
    directory: Path, *, txs: int, block_txs: int, senders: int, recipients: int, seed: int = 1
) -> tuple[NodeHome, dict[str, Any]]:
    """A one-validator alliance under ``directory`` whose node's store holds ``txs`` committed
    transfers (after the ``senders`` funding ones); its home and what was built."""
    started = time.monotonic()
    blocks = SETUP_BLOCKS + -(-senders // block_txs) + -(-txs // block_txs)
    dated_back_s = (blocks + 2) * BLOCK_INTERVAL_MS / 1000
    real_time = time.time
    with mock.patch("alliance.node.bootstrap.time.time", lambda: real_time() - dated_back_s):
        (home,) = alliance_homes(directory, 1, empty_block_interval_ms=EMPTY_BLOCK_INTERVAL_MS)
    genesis = load_genesis(home, home.load_config())
    node_key = load_node_key(home.node_key_path)
    signer = NodeSigner(node_key)
    store = ChainStore(home.data_dir, sync=False)  # one fsync at the end: the node reopens it
    executor = Executor(store)
    executor.init_chain(genesis)
    rng = random.Random(seed)
    dev = load_named_key(directory, "dev")
    payers = [AccountKey(rng.randbytes(32)) for _ in range(senders)]
    payees = [rng.randbytes(20) for _ in range(recipients)]
    chain_id = genesis.chain_id
    validators_hash = genesis.validators.hash()
    state: dict[str, Any] = {"height": 0, "prev": b"", "cert": None}

    def commit(raws: list[bytes]) -> None:
        height = state["height"] + 1
        info = executor.info()
        header = Header(
            chain_id=chain_id,
            height=height,
            time_ms=genesis.genesis_time_ms + height * BLOCK_INTERVAL_MS,
            prev_block_hash=state["prev"],
            tx_root=tx_root(raws),
            app_hash=info.last_app_hash,
            last_results_hash=info.last_results_hash,
            validators_hash=validators_hash,
            proposer=node_key.node_id,
            last_commit_hash=state["cert"].hash() if state["cert"] is not None else b"",
        )
        block = Block(header=header, txs=raws)
        if not executor.process_proposal(block):
            raise SystemExit(f"block {height} was refused by process_proposal")
        block_hash = block.hash()
        message = vote_sign_bytes(chain_id, VoteType.PRECOMMIT, height, 0, block_hash)
        cert = CommitCertificate(height, 0, block_hash, [CommitSig(node_key.node_id, signer.sign(message))])
        result = executor.finalize_block(block, cert)
        executor.commit()
        failed = [r for r in result.receipts if not r.ok]
        if failed:
            raise SystemExit(f"{len(failed)} transfers failed in block {height}: {failed[0].error}")
        state.update(height=height, prev=block_hash, cert=cert)

    def signed_call(key: AccountKey, target: str, method: str, args: object, gas_limit: int = 10**5) -> bytes:
        tx = sign_tx(
            key, chain_id=chain_id, target=target, method=method, args=args, gas_limit=gas_limit,
            valid_until=state["height"] + VALID_FOR_BLOCKS,
        )  # fmt: skip
        raw = codec.encode(tx)
        executor.sigcache.add(tx_hash_of_canonical(raw), tx.signature, key.address)
        return raw

    def signed(key: AccountKey, to: bytes, amount: int) -> bytes:
        return signed_call(key, "accounts", "transfer", TransferArgs(to=to, amount=amount))

    admin = load_named_key(directory, "org0-admin")
    source = TOKEN_SOURCE.read_text()
    big = 10_000_000
    deploy = gov.DeployContract(CONTRACT, engine.code_hash(source), codec.encode([admin.address]))
    scheme = passes.CreateArgs(SCHEME, "Benchmark pass", "fungible", "A unit of nothing")
    setup = [
        ("gov", "propose", gov.ProposeArgs(gov.GrantRole(admin.address, passes.ISSUER, "org0")), big),
        ("passes", "create", scheme, big),
        ("contracts", "submit", contracts.SubmitArgs(source), big),
        ("gov", "propose", gov.ProposeArgs(deploy), big),
    ]
    for target, method, args, gas in setup:
        commit([signed_call(admin, target, method, args, gas)])
    entries = [passes.MintEntry(k.address, 10) for k in payers[:PASS_HOLDERS]]
    commit([signed_call(admin, "passes", "mint_batch", passes.MintBatchArgs(SCHEME, entries), big)])
    commit([signed_call(admin, CONTRACT, "mint", [payers[0].address, 1_000], big)])
    for start in range(0, senders, block_txs):
        commit([signed(dev, k.address, SENDER_FUNDS) for k in payers[start : start + block_txs]])
    sent = 0
    while sent < txs:
        size = min(block_txs, txs - sent)
        payer = [payers[(sent + i) % senders] for i in range(size)]
        commit([signed(key, rng.choice(payees), 1 + rng.randrange(100)) for key in payer])
        sent += size
    store.close()
    return home, {
        "built_txs": txs + senders,
        "built_blocks": state["height"],
        "block_txs": block_txs,
        "senders": senders,
        "recipients": recipients,
        "build_s": round(time.monotonic() - started, 1),
        "first_payer": payers[0].address.hex(),
        "a_payee": payees[0].hex(),
    }
