"""Helpers for mempool tests: keys, signed transactions, a spy suite, the committed window."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from alliance import codec
from alliance.crypto.keys import AccountKey
from alliance.crypto.suite import Secp256k1Suite, register_suite
from alliance.ledger.genesis import ChainParams
from alliance.ledger.transaction import sign_tx
from alliance.mempool import Mempool

CHAIN_ID = "test-chain"
HEIGHT = 100
PARAMS = ChainParams(tx_gas_max=1_000_000, tx_window_blocks=50)
KEYS = [AccountKey(bytes([i + 1]) * 32) for i in range(8)]


class SpySuite(Secp256k1Suite):
    """secp256k1, counting the signatures it is asked to verify."""

    name = "spy-secp256k1"

    def __init__(self) -> None:
        self.verified = 0

    def verify_batch(self, items: Iterable[tuple[bytes, bytes, bytes]]) -> list[bool]:
        items = list(items)
        self.verified += len(items)
        return super().verify_batch(items)


SPY = SpySuite()
register_suite(SPY)


def make_raw(
    key: AccountKey = KEYS[0],
    *,
    valid_until: int = HEIGHT + 10,
    chain_id: str = CHAIN_ID,
    gas_limit: int = 50_000,
    args: object = None,
    nonce: bytes | None = None,
) -> bytes:
    tx = sign_tx(
        key,
        chain_id=chain_id,
        target="bank",
        method="transfer",
        args=[KEYS[1].address, 5] if args is None else args,
        valid_until=valid_until,
        gas_limit=gas_limit,
        nonce=nonce,
    )
    return codec.encode(tx)


class Committed:
    """The application's window of seen hashes, as a set."""

    def __init__(self) -> None:
        self.hashes: set[bytes] = set()

    def __call__(self, tx_hash: bytes) -> bool:
        return tx_hash in self.hashes


PoolFactory = Callable[..., Mempool]
