"""The Application protocol: what consensus asks of the business logic, ABCI-style.

Theory of operation: the node runtime drives an ``Application`` through a fixed life cycle per
height h:

1. ``check_tx`` for each incoming transaction (mempool admission; may run at any time).
2. ``prepare_proposal`` when this node proposes h: choose transactions and report the app hash and
   results hash of h-1, which the header of h carries (execution is pipelined one block behind).
3. ``process_proposal`` when another validator proposes h: accept or reject the block.
4. ``finalize_block`` once h is decided: execute it, return receipts, the new app hash and any
   validator updates (which consensus applies at a fixed later height).
5. ``commit`` makes everything of h durable in one atomic write; after a crash the application
   restarts at the last committed height, which ``info`` reports.

``query`` reads committed state at a kept height, optionally with a proof against that height's
app hash. Determinism requirements are numbered in spec/app-interface.md; every implementation
must meet them, because all honest nodes must compute byte-identical results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from alliance.ledger.block import Block, CommitCertificate, Receipt
from alliance.ledger.genesis import Genesis
from alliance.ledger.validators import Validator, ValidatorSet
from alliance.state.tree import StateProof


@dataclass(frozen=True, slots=True)
class AppInfo:
    last_height: int  # last committed height (0: only genesis)
    last_app_hash: bytes  # state root after that height
    last_results_hash: bytes  # receipts root of that height


@dataclass(frozen=True, slots=True)
class CheckTxResult:
    tx_hash: bytes
    sender: bytes  # verified sender address
    gas_limit: int


@dataclass(frozen=True, slots=True)
class PreparedProposal:
    txs: list[bytes]
    app_hash: bytes  # state root after height h-1
    last_results_hash: bytes  # receipts root of height h-1


@dataclass(frozen=True, slots=True)
class FinalizeResult:
    height: int
    app_hash: bytes
    results_hash: bytes
    receipts: list[Receipt]
    tx_hashes: list[bytes]
    """The hashes of the transactions the block committed (every row that passed its checks,
    whatever its execution status), in block order: what the node's mempool drops and its commit
    waiters wake for. A refused row is not committed (its hash may be another transaction's)."""
    validator_updates: list[Validator] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueryResult:
    height: int
    key: bytes
    value: bytes | None
    proof: StateProof | None
    app_hash: bytes


class Application(Protocol):
    def info(self) -> AppInfo: ...

    def init_chain(self, genesis: Genesis) -> ValidatorSet: ...

    def check_tx(self, raw: bytes) -> CheckTxResult: ...

    def prepare_proposal(self, height: int, candidates: list[bytes]) -> PreparedProposal: ...

    def process_proposal(self, block: Block) -> bool: ...

    def finalize_block(self, block: Block, certificate: CommitCertificate | None) -> FinalizeResult: ...

    def commit(self) -> AppInfo: ...

    def query(self, key: bytes, *, height: int | None = None, prove: bool = False) -> QueryResult: ...
