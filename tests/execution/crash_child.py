"""The child process of the crash-consistency test: commits blocks of transfers until killed.

Run as ``python crash_child.py STORE_DIR``. It opens (or creates) the store with ``sync=True``,
stores genesis if the store has none, and then, forever: builds the next block from transfers
that depend only on the height (so a restarted child continues the same chain), runs it through
the executor and prints ``committed H`` once ``commit`` has returned. The parent SIGKILLs it at
random moments and checks the store after each kill. Everything the parent needs to know about
the workload (keys, balances, addresses) comes from the functions here.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chain_helpers as ch

from alliance.crypto.keys import AccountKey
from alliance.ledger.genesis import Genesis

SEED = 4242
ACCOUNTS = 30
BALANCE = 5_000
OUTSIDERS = 20
TXS_PER_BLOCK = 20
STATE_VERSIONS_KEPT = 4  # small, so crashes also land in the middle of pruning
STATE_PRUNE_BATCH_VERSIONS = 2  # every other block prunes two versions in one write


def keys() -> list[AccountKey]:
    return ch.account_keys(ACCOUNTS, SEED)


def outsiders() -> list[bytes]:
    rng = random.Random(SEED + 1)
    return [rng.randbytes(20) for _ in range(OUTSIDERS)]


def genesis() -> Genesis:
    return ch.genesis_for(keys(), BALANCE)


class Transfer(NamedTuple):
    sender: AccountKey
    to: bytes
    amount: int
    nonce: bytes


def block_transfers(height: int, ks: list[AccountKey], others: list[bytes]) -> list[Transfer]:
    """The transfers of block ``height``, in order; some overdraw and fail on purpose."""
    rng = random.Random(f"{SEED}/{height}")
    transfers = []
    for _ in range(TXS_PER_BLOCK):
        src = rng.choice(ks)
        to = rng.choice(others) if rng.random() < 0.3 else rng.choice(ks).address
        amount = rng.randrange(1, 2 * BALANCE // 10) if rng.random() < 0.95 else 10 * BALANCE
        transfers.append(Transfer(src, to, amount, rng.randbytes(16)))
    return transfers


def block_txs(height: int, ks: list[AccountKey], others: list[bytes]) -> list[bytes]:
    return [
        ch.transfer(t.sender, t.to, t.amount, valid_until=height + 3, nonce=t.nonce)
        for t in block_transfers(height, ks, others)
    ]


def main() -> None:
    ks, others = keys(), outsiders()
    node = ch.open_node(
        sys.argv[1],
        genesis(),
        sync=True,
        state_versions_kept=STATE_VERSIONS_KEPT,
        state_prune_batch_versions=STATE_PRUNE_BATCH_VERSIONS,
    )
    print("ready", node.height(), flush=True)
    while True:
        height = node.height() + 1
        ch.run_block(node, block_txs(height, ks, others))
        print("committed", height, flush=True)


if __name__ == "__main__":
    main()
