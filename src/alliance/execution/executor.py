"""The executor: the Application that runs transactions against the authenticated state.

Theory of operation
-------------------
Heights and versions coincide: state version h is the state after block h, version 0 is genesis.
``finalize_block(h)`` runs every transaction of block h in order over a ``BlockState`` buffer,
producing one receipt each; it then applies the buffered writes to the state tree as one batch,
giving the app hash of h, which the header of h+1 carries. ``commit`` hands the block, its
certificate, receipts, transaction index and tree nodes to the store as one write. Committed state
is read through the executor's own ``StateTree`` (its cache of decoded nodes holds the hot part
of the tree), at version h-1 while h executes.

Every check here is deterministic, so honest nodes agree byte for byte: a transaction that fails
its checks inside a block (wrong chain, outside its validity window, a replay, a bad signature)
gets a failed receipt and changes nothing; ``process_proposal`` refuses blocks that contain any
such transaction, so an honest proposer never includes one. Signatures are checked once per node:
the signature cache filled by mempool admission is consulted first, and only the rest is verified,
in one batch.

Replay protection: a transaction hash that is in the committed transaction index is refused, and
``valid_until`` bounds how long any hash could come back, so the index is the exact window.

Modules: the executor knows none by name. It runs the registered descriptors
(``execution.modules``): their genesis state at ``init_chain``, their block policies before every
call (governance's freezes and access table), their ``call`` for a transaction's target, their
queries for ``query_module``.

Receipts: a failed receipt's message is stored but not hashed (``Receipt.hashed_form``), so
nothing a library or the interpreter words can split the chain; the status code is consensus.

Signature checks that the node's verifier workers cannot finish (a worker died or hung) are retried
once and then done inline: a verifier failure never stops a node (``_verify``).

Decoding once: a transaction's decoding and hash are a pure function of its bytes, so the
successful decodings of the mempool's admission (``remember_decoded``), ``check_tx``,
``prepare_proposal`` and ``process_proposal`` are kept in a map from raw bytes, and later steps
reuse them; every check that depends on the height or the state still runs. A finalized block's
entries leave the map (a committed transaction is only ever a duplicate after that), so it holds
about what the mempool holds; its bound, larger than a mempool, drops the oldest half if reached.
Receipts are encoded once, for both the results hash and the stored receipt list.

Hot values: committed state is read through the executor's ``StateTree``, in front of which a
bounded map keeps the current value of keys read or written recently (the active accounts). It
holds values of the last committed height only: genesis and each commit write their writes into
it, and it is emptied whenever the height it describes is not the one read. A read it answers costs
a dict lookup; one through the tree walks up to five cached nodes (~7 us at 1M keys). A node that
restarts starts cold and warms up as keys are read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from itertools import islice

import msgspec

from alliance import codec
from alliance.abi.accounts import account_key, encode_account
from alliance.abi.chain import PARAMS_KEY, VALIDATORS_KEY
from alliance.app.interface import AppInfo, CheckTxResult, FinalizeResult, PreparedProposal, QueryResult
from alliance.crypto import merkle
from alliance.crypto.hashing import Domain, hash_domain
from alliance.crypto.sigcache import SignatureCache
from alliance.crypto.suite import Suite, suite_by_name
from alliance.errors import (
    AllianceError,
    BadSignature,
    DecodeError,
    DuplicateTx,
    ExecutionError,
    InvalidTransaction,
    NotFound,
    OperationalError,
    TxTooLarge,
    UnknownTarget,
    UsageError,
)
from alliance.execution.context import BlockState, CallContext
from alliance.execution.gas import DEFAULT_GAS_SCHEDULE, GasMeter, GasSchedule
from alliance.execution.modules import BlockPolicy, Module, builtin_modules
from alliance.ledger.block import Block, CommitCertificate, Receipt, results_hash
from alliance.ledger.genesis import ChainParams, Genesis
from alliance.ledger.store import BlockWrite, ChainStoreProtocol
from alliance.ledger.transaction import (
    TX_SIZE_BYTES_MAX,
    Transaction,
    decode_tx,
    static_problem,
    tx_hash_of_canonical,
)
from alliance.ledger.validators import Validator, ValidatorSet
from alliance.state.tree import EMPTY_ROOT, StateTree, TreeUpdate
from alliance.types import invariant

STATE_VERSIONS_KEPT_DEFAULT = 100
STATE_PRUNE_BATCH_VERSIONS_DEFAULT = 2
"""Prune old state versions two at a time, not one a block (decision 008). The nodes a version
leaves stale are spread over thousands of LMDB pages, and the first delete on a page in a write
transaction copies it, so versions deleted together share those copies: at 1M accounts the mean
commit fell by ~15-20%, for a commit ~1.5 times the longest unbatched one every other block.
Batches of four gained little more and doubled that peak."""
STATE_PRUNE_BATCH_VERSIONS_MAX = 100
"""A bound on one commit's pruning: at 1M accounts a version's stale nodes take ~10 ms to delete."""
EMPTY_RESULTS_HASH = results_hash([])

DECODED_ENTRIES_MAX = 200_000  # above the default mempool bound (100,000) with room for gossip
HOT_VALUES_MAX = 2_000_000
"""About 42 bytes an entry of its own (the keys and values are mostly the tree cache's objects): up to
~85 MB, so a state of a million accounts stays hot whole."""

_NOT_HOT = object()
logger = logging.getLogger("alliance.execution")

VerifyBatch = Callable[[Sequence[tuple[bytes, bytes, bytes]]], list[bool]]

_encode = msgspec.msgpack.Encoder().encode


def _array_header(n: int) -> bytes:
    """The canonical msgpack header of an array of ``n`` items."""
    if n < 16:
        return bytes((0x90 | n,))
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


# A block's transaction after the checks: (tx, hash, verified sender, None), or (None, hash, None,
# the error that refuses it).
_Row = tuple[Transaction | None, bytes, bytes | None, AllianceError | None]


class _AcceptedBlock:
    __slots__ = ("block_hash", "height", "last_app_hash", "rows", "txs")

    def __init__(
        self, height: int, last_app_hash: bytes, block_hash: bytes | None, txs: list[bytes], rows: list[_Row]
    ) -> None:
        self.height = height
        self.last_app_hash = last_app_hash
        self.block_hash = block_hash
        self.txs = txs
        self.rows = rows


class _Pending:
    """A finalized block waiting for ``commit``."""

    __slots__ = ("result", "rows", "write")

    def __init__(self, write: BlockWrite, result: FinalizeResult, rows: list[_Row]) -> None:
        self.write = write
        self.result = result
        self.rows = rows


class Executor:
    """Implements ``alliance.app.interface.Application`` over a ``ChainStore``."""

    def __init__(
        self,
        store: ChainStoreProtocol,
        *,
        sigcache: SignatureCache | None = None,
        verify_batch: VerifyBatch | None = None,
        modules: Sequence[Module] = (),
        state_versions_kept: int = STATE_VERSIONS_KEPT_DEFAULT,
        state_prune_batch_versions: int = STATE_PRUNE_BATCH_VERSIONS_DEFAULT,
        gas_schedule: GasSchedule = DEFAULT_GAS_SCHEDULE,
    ) -> None:
        self.store = store
        self.tree = StateTree(store)
        self.sigcache = sigcache if sigcache is not None else SignatureCache()
        registered = [*builtin_modules(), *modules]
        self.modules: dict[str, Module] = {m.name: m for m in registered}
        invariant(len(self.modules) == len(registered), "two modules share a name")
        routers = [m for m in registered if m.routes_targets]
        invariant(len(routers) <= 1, "one module at most answers for targets that are no module's")
        self._router: Module | None = routers[0] if routers else None
        if state_versions_kept < 1 or not 1 <= state_prune_batch_versions <= STATE_PRUNE_BATCH_VERSIONS_MAX:
            raise UsageError(
                "state_versions_kept must be at least 1 and state_prune_batch_versions between 1 and "
                f"{STATE_PRUNE_BATCH_VERSIONS_MAX}"
            )
        self._state_versions_kept = state_versions_kept
        self._prune_batch_versions = state_prune_batch_versions
        self._schedule = gas_schedule
        self._pending: _Pending | None = None
        self._info: AppInfo | None = None
        self.chain_id = ""
        self.params = ChainParams()
        self.suite: Suite = suite_by_name()
        self._verify_batch = verify_batch
        self._decoded: dict[bytes, tuple[Transaction, bytes]] = {}
        # The last block ``process_proposal`` accepted, and the last block this node's
        # ``prepare_proposal`` built, with their checked rows, so that finalizing either (the usual
        # case) does not decode, check and look up every tx again. Two slots: preparing a proposal
        # in a later round must not push out a block accepted earlier at that height.
        self._accepted: _AcceptedBlock | None = None
        self._prepared: _AcceptedBlock | None = None
        self._policies: list[BlockPolicy] = []  # the block policies of the block executing now
        self._hot: dict[bytes, bytes | None] = {}  # key -> value at the last committed height
        self._hot_height: int | None = None
        genesis_raw = store.genesis()
        if genesis_raw is not None:
            self._load_chain(codec.decode_trusted(Genesis, genesis_raw))

    def _load_chain(self, genesis: Genesis) -> None:
        self.chain_id = genesis.chain_id
        self.suite = suite_by_name(genesis.suite)
        raw = self.store.get_state(PARAMS_KEY)
        self.params = codec.decode_trusted(ChainParams, raw) if raw is not None else genesis.params
        height = self.store.last_height()
        invariant(height is not None, "a stored genesis has a height")
        last_results = EMPTY_RESULTS_HASH
        if height:
            last_results = results_hash(codec.decode_trusted(list[Receipt], self.store.receipts(height)))
        self._info = AppInfo(height or 0, self.tree.root_hash(height or 0), last_results)

    # -- life cycle --------------------------------------------------------------------------

    def info(self) -> AppInfo:
        if self._info is None:
            raise UsageError("the chain has no genesis yet: call init_chain first")
        return self._info

    def init_chain(self, genesis: Genesis) -> ValidatorSet:
        """Store genesis as version 0, or check that the stored genesis is this one."""
        stored = self.store.genesis()
        if stored is not None:
            if stored != codec.encode(genesis):
                raise UsageError("this store holds another chain's genesis")
            return genesis.validators
        _check_params(genesis.params)
        state: dict[bytes, bytes | None] = {
            PARAMS_KEY: codec.encode(genesis.params),
            VALIDATORS_KEY: codec.encode(genesis.validators),
        }
        for account in genesis.accounts:
            state[account_key(account.address)] = encode_account(account.balance)
        for module in self.modules.values():
            state.update(module.genesis_state(genesis))
        update = self.tree.apply(None, 0, state)
        self.store.commit_block(
            BlockWrite(
                height=0,
                block_hash=b"",
                block=b"",
                certificate=None,
                receipts=b"",
                tx_hashes=[],
                state=state,
                tree=update,
                genesis=codec.encode(genesis),
            )
        )
        self.tree.committed(update)
        self._remember_hot(0, state)
        self._load_chain(genesis)
        return genesis.validators

    def check_tx(self, raw: bytes) -> CheckTxResult:
        """Admission checks for one transaction; raises the specific ``InvalidTransaction``."""
        info = self.info()
        tx, tx_hash = self._decode(raw)
        self._check_static(tx, tx_hash, info.last_height + 1)
        sender = self._senders([(tx, tx_hash)])[0]
        if sender is None:
            raise BadSignature("the signature does not verify against the sender's public key")
        return CheckTxResult(tx_hash=tx_hash, sender=sender, gas_limit=tx.body.gas_limit)

    def prepare_proposal(self, height: int, candidates: list[bytes]) -> PreparedProposal:
        """Pick, in order, the candidates that pass this block's checks and fit its bounds."""
        info = self.info()
        invariant(height == info.last_height + 1, f"proposing {height} after {info.last_height}")
        chosen: list[bytes] = []
        size = gas = 0
        seen: set[bytes] = set()
        decoded = []
        for raw in candidates:
            try:
                tx, tx_hash = self._decode(raw)
                self._check_static(tx, tx_hash, height)
            except InvalidTransaction:
                continue
            if tx_hash not in seen:
                seen.add(tx_hash)
                decoded.append((raw, tx, tx_hash))
        senders = self._senders([(tx, h) for _, tx, h in decoded])
        params = self.params
        rows: list[_Row] = []
        for (raw, tx, tx_hash), sender in zip(decoded, senders, strict=True):
            if sender is None:
                continue
            if len(chosen) >= params.block_txs_max or size + len(raw) > params.block_bytes_max:
                break
            if gas + tx.body.gas_limit > params.block_gas_max:
                break
            chosen.append(raw)
            rows.append((tx, tx_hash, sender, None))
            size += len(raw)
            gas += tx.body.gas_limit
        # The consensus core does not ask to check its own node's proposal (the application built
        # it), so the proposer keeps these rows for finalize_block, as process_proposal does: they
        # hold for any block of exactly these transactions at this height and state.
        self._prepared = _AcceptedBlock(height, info.last_app_hash, None, list(chosen), rows)
        return PreparedProposal(
            txs=chosen, app_hash=info.last_app_hash, last_results_hash=info.last_results_hash
        )

    def process_proposal(self, block: Block) -> bool:
        """Accept only a block every transaction of which passes the checks, within the bounds."""
        info = self.info()
        header = block.header
        if header.height != info.last_height + 1 or header.chain_id != self.chain_id:
            return False
        if header.app_hash != info.last_app_hash or header.last_results_hash != info.last_results_hash:
            return False
        if not block.txs_match_root():
            return False
        params = self.params
        if len(block.txs) > params.block_txs_max or sum(len(t) for t in block.txs) > params.block_bytes_max:
            return False
        decoded = []
        seen: set[bytes] = set()
        gas = 0
        for raw in block.txs:
            try:
                tx, tx_hash = self._decode(raw)
                self._check_static(tx, tx_hash, header.height)
            except InvalidTransaction:
                return False
            if tx_hash in seen:
                return False
            seen.add(tx_hash)
            gas += tx.body.gas_limit
            decoded.append((tx, tx_hash))
        if gas > params.block_gas_max:
            return False
        senders = self._senders(decoded)
        if any(s is None for s in senders):
            return False
        rows: list[_Row] = [
            (tx, tx_hash, sender, None) for (tx, tx_hash), sender in zip(decoded, senders, strict=True)
        ]
        # A copy of the list, so a later change to ``block.txs`` in place cannot pass for this block.
        txs = list(block.txs)
        self._accepted = _AcceptedBlock(header.height, info.last_app_hash, block.hash(), txs, rows)
        return True

    def _accepted_rows(self, block: Block, last_app_hash: bytes) -> list[_Row] | None:
        """The rows ``process_proposal`` checked for this very block at this very state, or this
        node's ``prepare_proposal`` for these very transactions at this very state, if any."""
        memos = (self._accepted, self._prepared)
        self._accepted = self._prepared = None
        for memo in memos:
            rows = self._memo_rows(memo, block, last_app_hash)
            if rows is not None:
                return rows
        return None

    @staticmethod
    def _memo_rows(accepted: _AcceptedBlock | None, block: Block, last_app_hash: bytes) -> list[_Row] | None:
        if accepted is None or accepted.height != block.header.height:
            return None
        if accepted.last_app_hash != last_app_hash:
            return None
        if accepted.block_hash is not None and accepted.block_hash != block.hash():
            return None
        # The header commits to the tx root, but a Block object's list is only bound to it by a
        # check; comparing is cheap (identical objects compare by identity first).
        return accepted.rows if accepted.txs == block.txs else None

    def finalize_block(self, block: Block, certificate: CommitCertificate | None) -> FinalizeResult:
        info = self.info()
        header = block.header
        height = header.height
        invariant(self._pending is None, "finalize_block twice without commit")
        invariant(height == info.last_height + 1, f"finalizing {height} after {info.last_height}")
        invariant(header.chain_id == self.chain_id, "finalizing another chain's block")
        state = BlockState(self._committed_reader(height - 1))
        receipts: list[Receipt] = []
        tx_hashes: list[tuple[bytes, int]] = []
        checked = self._accepted_rows(block, info.last_app_hash) or self._checked_block_txs(block)
        decoded = self._decoded
        for raw in block.txs:
            decoded.pop(raw, None)  # done with: see "Decoding once" above
        read_committed = self._committed_reader(height - 1)
        policies = [p for m in self.modules.values() if (p := m.block_policy(read_committed)) is not None]
        self._policies = policies
        run = self._run
        time_ms = header.time_ms
        for index, (tx, tx_hash, sender, error) in enumerate(checked):
            if error is not None:
                # A refused row is not indexed: its hash may be committed already, or come again
                # later in a valid form; only transactions that passed their checks consume it.
                receipts.append(Receipt(error.code, 0, [], error.message))
                continue
            tx_hashes.append((tx_hash, index))
            receipts.append(run(tx, sender, height, time_ms, state, policies))  # type: ignore[arg-type]
        update = self.tree.apply(height - 1, height, state.writes)
        encoded_receipts = [_encode(r) for r in receipts]
        # The hashed form of an ok receipt is the receipt itself (no message): encoded once.
        hashed = [
            e if r.ok else _encode(r.hashed_form()) for e, r in zip(encoded_receipts, receipts, strict=True)
        ]
        result = FinalizeResult(
            height=height,
            app_hash=update.root_hash,
            results_hash=merkle.merkle_root(hashed),  # = results_hash(receipts)
            receipts=receipts,
            validator_updates=self._validator_updates(height, state.writes),
            tx_hashes=[tx_hash for tx_hash, _ in tx_hashes],
        )
        write = BlockWrite(
            height=height,
            block_hash=block.hash(),
            block=codec.encode(block),
            certificate=codec.encode(certificate) if certificate is not None else None,
            receipts=_array_header(len(receipts)) + b"".join(encoded_receipts),  # = codec.encode
            tx_hashes=tx_hashes,
            state=state.writes,
            tree=update,
            prune_below=self._prune_below(height),
        )
        self._pending = _Pending(write, result, checked)
        return result

    def _prune_below(self, height: int) -> int | None:
        """The oldest version to keep after ``height``, or None while too few have aged to prune.

        Versions ``height - state_versions_kept`` to ``height`` stay readable (after a node raised
        its ``state_versions_kept``, once the window has refilled); older ones go once
        ``state_prune_batch_versions`` of them have aged out, together in one block's commit. One
        commit prunes at most two batches, so a backlog (after ``state_versions_kept`` was lowered)
        drains over several blocks rather than stalling one.
        """
        oldest_kept = height - self._state_versions_kept
        oldest = self.store.oldest_version()
        if oldest_kept - oldest < self._prune_batch_versions:
            return None
        return min(oldest_kept, oldest + 2 * self._prune_batch_versions)

    def commit(self) -> AppInfo:
        pending = self._pending
        invariant(pending is not None, "commit without finalize_block")
        self.store.commit_block(pending.write)  # type: ignore[union-attr]
        self.tree.committed(pending.write.tree)  # type: ignore[union-attr]
        self._pending = None
        self._forget_senders(pending.rows)  # type: ignore[union-attr]
        self._remember_hot(pending.write.height, pending.write.state)  # type: ignore[union-attr]
        result = pending.result  # type: ignore[union-attr]
        if PARAMS_KEY in pending.write.state:  # type: ignore[union-attr]
            raw = self.store.get_state(PARAMS_KEY)
            invariant(raw is not None, "chain parameters are never deleted")
            self.params = codec.decode_trusted(ChainParams, raw)  # type: ignore[arg-type]
        self._info = AppInfo(result.height, result.app_hash, result.results_hash)
        return self._info

    def query(self, key: bytes, *, height: int | None = None, prove: bool = False) -> QueryResult:
        version = self._version(height)
        value = self.tree.get(version, key)
        proof = self.tree.prove(version, key) if prove else None
        return QueryResult(
            height=version, key=key, value=value, proof=proof, app_hash=self.tree.root_hash(version)
        )

    def query_module(
        self, module: str, query: str, args: bytes, *, height: int | None = None
    ) -> ModuleAnswer:
        """Run a module's read-only query over committed state at ``height`` (default: the last).
        ``args`` is the canonical encoding of the query's argument Struct (empty when it takes none)."""
        target = self.modules.get(module)
        if target is None:
            raise NotFound(f"no module named {module!a}")
        spec = target.queries.get(query)
        if spec is None:
            known = ", ".join(sorted(target.queries)) or "none"
            raise NotFound(f"module {module} has no query {query!a}; it has: {known}")
        decoded = None if spec.args is None else codec.decode(spec.args, args)
        version = self._version(height)
        state = _VersionReader(self.tree, version, self._time_at(version))
        return ModuleAnswer(version, spec.run(state, decoded))

    def _time_at(self, version: int) -> int:
        """The block time of ``version`` (genesis time at 0): the time a query judges expiry at."""
        if version == 0:
            raw = self.store.genesis()
            invariant(raw is not None, "a chain with state has a genesis")
            return codec.decode_trusted(Genesis, raw).genesis_time_ms  # type: ignore[arg-type]
        return codec.decode_trusted(Block, self.store.block(version)).header.time_ms

    def _version(self, height: int | None) -> int:
        info = self.info()
        version = info.last_height if height is None else height
        if version > info.last_height or version < 0:
            raise NotFound(f"no state at height {version}; the last committed height is {info.last_height}")
        return version

    # -- helpers -----------------------------------------------------------------------------

    def _validator_updates(self, height: int, writes: dict[bytes, bytes | None]) -> list[Validator]:
        """The block's change to the validator set, as updates (power 0 removes).

        Modules change the set by writing the whole new set under ``VALIDATORS_KEY``; the set
        written while executing height h votes from height h + 2 (the consensus core's rule).
        """
        raw = writes.get(VALIDATORS_KEY)
        if VALIDATORS_KEY not in writes:
            return []
        invariant(raw is not None, "the validator set is never deleted")
        before = self._read_committed(height - 1, VALIDATORS_KEY)
        invariant(before is not None, "the validator set is always in state")
        old = codec.decode_trusted(ValidatorSet, before)  # type: ignore[arg-type]
        new = codec.decode_trusted(ValidatorSet, raw)  # type: ignore[arg-type]
        invariant(bool(new.validators), f"block {height} would leave no validators")
        powers = {v.node_id: v.power for v in new.validators}
        removed = [Validator(v.node_id, 0) for v in old.validators if v.node_id not in powers]
        changed = [v for v in new.validators if old.power_of(v.node_id) != v.power]
        return sorted(removed + changed, key=lambda v: v.node_id)

    def _read_committed(self, version: int, key: bytes) -> bytes | None:
        """``key``'s value at ``version``, the last committed height: hot values first."""
        return self._committed_reader(version)(key)

    def _committed_reader(self, version: int) -> Callable[[bytes], bytes | None]:
        """``_read_committed`` at ``version`` as a function of the key, for one block's reads:
        the hot map is made to describe ``version`` once here rather than checked on every read
        (nothing else runs while a block executes, so it stays at ``version`` meanwhile)."""
        hot = self._hot
        if self._hot_height != version:
            hot.clear()  # another height (a restart, or a caller reading elsewhere): start afresh
            self._hot_height = version
        hot_get = hot.get
        tree_get = self.tree.get
        hot_put = self._hot_put

        def read(key: bytes) -> bytes | None:
            value = hot_get(key, _NOT_HOT)
            if value is _NOT_HOT:
                value = tree_get(version, key)
                hot_put(key, value)
            return value  # type: ignore[return-value]

        return read

    def _remember_hot(self, height: int, writes: dict[bytes, bytes | None]) -> None:
        """After ``height`` committed: its writes are the current values of their keys."""
        hot = self._hot
        if self._hot_height != height - 1:
            hot.clear()
        self._hot_height = height
        if len(hot) + len(writes) <= HOT_VALUES_MAX:
            hot.update(writes)  # = _hot_put of each: no put can reach the bound
            return
        for key, value in writes.items():
            self._hot_put(key, value)

    def _hot_put(self, key: bytes, value: bytes | None) -> None:
        hot = self._hot
        if len(hot) >= HOT_VALUES_MAX:
            # Drop the oldest eighth (dicts keep insertion order).
            for k in list(islice(hot, HOT_VALUES_MAX // 8)):
                del hot[k]
        hot[key] = value

    def _decode(self, raw: bytes) -> tuple[Transaction, bytes]:
        cacheable = type(raw) is bytes
        if cacheable:
            hit = self._decoded.get(raw)
            if hit is not None:
                return hit
        if len(raw) > TX_SIZE_BYTES_MAX:
            raise TxTooLarge(f"transaction is {len(raw)} bytes, over the bound of {TX_SIZE_BYTES_MAX}")
        try:
            tx = decode_tx(raw)
        except DecodeError as exc:
            raise _MalformedTx(exc.message) from None
        decoded = (tx, tx_hash_of_canonical(raw))
        if cacheable:
            self.remember_decoded(raw, tx, decoded[1])
        return decoded

    def remember_decoded(self, raw: bytes, tx: Transaction, tx_hash: bytes) -> None:
        """Keep a canonical decoding made elsewhere (the mempool's admission) for the proposal
        checks and the execution of this transaction. Only for ``raw`` proven canonical and
        ``tx_hash`` its hash: both are pure functions of the bytes, so any height may use them."""
        decoded = self._decoded
        if len(decoded) >= DECODED_ENTRIES_MAX:
            for old in list(islice(decoded, DECODED_ENTRIES_MAX // 2)):  # the oldest half
                del decoded[old]
        decoded[raw] = (tx, tx_hash)

    def _check_static(self, tx: Transaction, tx_hash: bytes, height: int) -> None:
        """Checks that need no signature: chain, window, gas bound, replay."""
        params = self.params
        problem = static_problem(
            tx.body, self.chain_id, height, height + params.tx_window_blocks, params.tx_gas_max
        )
        if problem is not None:
            raise problem
        if self.store.has_tx(tx_hash):
            raise DuplicateTx(f"transaction {tx_hash.hex()} is already committed")

    def _senders(self, txs: Sequence[tuple[Transaction, bytes]]) -> list[bytes | None]:
        """Verified sender addresses (None where the signature fails), verifying only cache misses."""
        cache = self.sigcache
        out: list[bytes | None] = [cache.get(h, tx.signature) for tx, h in txs]
        missing = [i for i, s in enumerate(out) if s is None]
        if missing:
            items = [(txs[i][0].body.sender, txs[i][1], txs[i][0].signature) for i in missing]
            for i, ok in zip(missing, self._verify(items), strict=True):
                if ok:
                    sender = self.suite.address_of(txs[i][0].body.sender)
                    cache.add(txs[i][1], txs[i][0].signature, sender)
                    out[i] = sender
        return out

    def _verify(self, items: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
        """Verify through the node's verifier; if it fails (a worker died or hung), once more (it
        restarts its workers), then inline. The answer is the same either way; only the time differs."""
        if self._verify_batch is not None:
            for attempt in (1, 2):
                try:
                    return self._verify_batch(items)
                except OperationalError as exc:
                    logger.warning("signature verifier failed (attempt %d of 2): %s", attempt, exc.message)
            logger.warning("verifying %d signatures inline after the verifier failed twice", len(items))
        return self.suite.verify_batch(items)

    def _forget_senders(self, rows: list[_Row]) -> None:
        """Drop the cached senders of the transactions a block committed: a committed transaction
        never passes its checks again (it is a duplicate), so its entry would only take room until
        the cache's bound pushed it out, and the cache stays about as large as the mempool."""
        discard = self.sigcache.discard
        for tx, tx_hash, _, error in rows:
            if error is None:
                discard(tx_hash, tx.signature)  # type: ignore[union-attr]

    def _checked_block_txs(self, block: Block) -> list[_Row]:
        height = block.header.height
        rows: list[_Row] = []
        to_verify: list[tuple[Transaction, bytes]] = []
        where: list[int] = []
        seen: set[bytes] = set()
        for raw in block.txs:
            try:
                tx, tx_hash = self._decode(raw)
                self._check_static(tx, tx_hash, height)
                if tx_hash in seen:
                    raise DuplicateTx(f"transaction {tx_hash.hex()} appears twice in block {height}")
            except _MalformedTx as exc:
                rows.append((None, _hash_of_malformed(raw), None, exc))
                continue
            except InvalidTransaction as exc:
                rows.append((None, tx_hash, None, exc))
                continue
            seen.add(tx_hash)
            where.append(len(rows))
            rows.append((tx, tx_hash, None, None))
            to_verify.append((tx, tx_hash))
        for i, (tx, tx_hash), sender in zip(where, to_verify, self._senders(to_verify), strict=True):
            if sender is None:
                rows[i] = (None, tx_hash, None, BadSignature("the signature does not verify"))
            else:
                rows[i] = (tx, tx_hash, sender, None)
        return rows

    def _run(
        self,
        tx: Transaction,
        sender: bytes,
        height: int,
        time_ms: int,
        state: BlockState,
        policies: list[BlockPolicy],
    ) -> Receipt:
        body = tx.body
        call = body.call
        schedule = self._schedule
        gas = GasMeter(body.gas_limit)
        ctx = CallContext(sender, height, time_ms, state, gas, schedule, self._dispatch)
        state.begin_tx()
        try:
            gas.charge(schedule.tx_base + schedule.tx_byte * len(call.args), "transaction base cost")
            for policy in policies:
                policy(state, sender, call.target, call.method)
            result = self._invoke(ctx, call.target, call.method, call.args)
        except ExecutionError as exc:
            state.end_tx(success=False)
            return Receipt(exc.code, gas.used, [], exc.message)
        state.end_tx(success=True)
        return Receipt("ok", gas.used, ctx.events, "", result or b"")

    def _invoke(self, ctx: CallContext, target: str, method: str, args: bytes) -> bytes | None:
        module = self.modules.get(target)
        if module is not None:
            return module.call(ctx, method, args)
        if self._router is None:
            raise UnknownTarget(f"no module or contract named {target!a}")
        return self._router.call_target(ctx, target, method, args)

    def _dispatch(
        self, parent: CallContext, sender: bytes, target: str, method: str, args: bytes
    ) -> bytes | None:
        """A nested call (``CallContext.call_as``): the block's policies apply to its sender and
        target as to a transaction's (a frozen contract account cannot act through another)."""
        for policy in self._policies:
            policy(parent.state, sender, target, method)
        return self._invoke(parent.nested(sender), target, method, args)


def _check_params(params: ChainParams) -> None:
    """Genesis parameters within their ceilings and consistent (as a governance change must be)."""
    try:
        codec.decode(ChainParams, codec.encode(params))
    except DecodeError as exc:
        raise UsageError(f"genesis chain parameters out of range: {exc.message}") from None
    problem = params.problem()
    if problem is not None:
        raise UsageError(f"genesis chain parameters: {problem}")


class ModuleAnswer:
    """A module query's answer and the height whose state it read."""

    __slots__ = ("height", "value")

    def __init__(self, height: int, value: object) -> None:
        self.height = height
        self.value = value


class _VersionReader:
    """Committed state at one version, as a module query reads it (``modules.QueryState``)."""

    __slots__ = ("_tree", "height", "time_ms")

    def __init__(self, tree: StateTree, version: int, time_ms: int) -> None:
        self._tree = tree
        self.height = version
        self.time_ms = time_ms

    def read(self, key: bytes) -> bytes | None:
        return self._tree.get(self.height, key)


class _MalformedTx(DecodeError, InvalidTransaction):
    """A transaction whose bytes do not decode: both a decode error and an invalid transaction."""

    code = DecodeError.code


def _hash_of_malformed(raw: bytes) -> bytes:
    # Undecodable bytes have no body to hash; index them by the hash of the raw bytes instead.
    return hash_domain(Domain.TX, raw)


__all__ = ["EMPTY_ROOT", "PARAMS_KEY", "VALIDATORS_KEY", "Executor", "ModuleAnswer", "TreeUpdate"]
