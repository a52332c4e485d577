"""A simulated node: the node's own driver (``node.driver``) over simulated time, network and disk.

Theory of operation: ``SimNode`` is the simulator's ``Host`` for ``NodeDriver``, the same driver
the asyncio runtime drives on a real host, with the real consensus core, executor, mempool,
membership and block sync (``node.sync``) inside. So the seed-driven simulation checks the code
nodes run: the Ready loop and its ordering, block application and its header check, empty-block
pacing, block sync with its penalties and answer budgets. What the host provides here is
simulated: messages go through ``SimNetwork`` (delay, loss, duplication, reordering, partitions),
timers through the event queue at the node's drifting clock rate, the WAL is a ``SimWal`` that
loses its unsynced tail in a crash, the chain store is in memory (its commits are atomic and
survive crashes, as LMDB's do).

A crash loses the mempool, the driver and the core's memory and the WAL's unsynced tail; a restart
rebuilds everything from the store and replays the WAL, as a real node does.

The broken variants that are the host's or the application's faults (``options.CAUGHT_BY``) are
seams here, never in the driver: ``wal-no-sync`` hands the WAL every record unsynced (the host
ignores ``must_sync``), ``drop-valset-updates`` runs an executor whose results lose their
validator updates on the way to consensus, ``nondeterministic`` registers ``noise.SimNoiseModule``,
``sync-mute`` drops every block-sync request it receives.

Validator sets come from state, as on a real node: the set that votes at height H is the one in
state version max(0, H - 2) (written through ``valset.SimValsetModule``). A node outside a
height's set still runs a core without voting power (it only follows), which is how observers and
removed validators keep up.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from alliance import codec
from alliance.abi.chain import VALIDATORS_KEY
from alliance.app.interface import FinalizeResult
from alliance.consensus.evidence import DuplicateVoteEvidence
from alliance.consensus.timeouts import ConsensusConfig
from alliance.crypto.keys import NodeKey, NodeSigner
from alliance.crypto.sigcache import SignatureCache
from alliance.execution.executor import Executor
from alliance.ledger.block import Block, CommitCertificate
from alliance.ledger.genesis import Genesis
from alliance.ledger.transaction import tx_hash_of_canonical
from alliance.ledger.validators import ValidatorSet
from alliance.mempool.pool import Accepted, Mempool
from alliance.mempool.verifier import BatchVerifier
from alliance.node.driver import DriverConfig, NodeDriver, Timer
from alliance.node.membership import ConfiguredPeer, Membership
from alliance.node.sync import SyncConfig
from alliance.node.wire import SyncRequest, TxBatch, WireMessage
from alliance.testing.sim.disk import SimWal
from alliance.testing.sim.memstore import MemoryChainStore
from alliance.testing.sim.noise import SimNoiseModule
from alliance.testing.sim.valset import SimValsetModule, ValsetHistory

if TYPE_CHECKING:
    from alliance.testing.sim.cluster import Simulation

PROPOSAL_TXS_MAX = 200
SYNC_BLOCKS_PER_REQUEST_MAX = 20  # small answers exercise the "ask again from where it ended" path
HOUSEKEEPING_INTERVAL_MS = 1_000


def driver_config(timeout_propose_ms: int) -> DriverConfig:
    """The simulator's driver settings: the runtime's, with simulated clocks' allowances."""
    return DriverConfig(
        # Well under the propose timeout, so a proposer that waits for transactions is not voted
        # past; short enough that idle phases still commit heights for the liveness check.
        empty_block_interval_ms=min(200, timeout_propose_ms // 4),
        # Simulated clocks model drifting timer rates, so they part by far more than synchronised
        # real clocks: only a block's order in time is checked (``ledger.block.block_time_problem``).
        block_time_ahead_ms_max=None,
        proposal_txs_max=PROPOSAL_TXS_MAX,
        wal_rotate_every_blocks=1,
        sync=SyncConfig(blocks_per_request_max=SYNC_BLOCKS_PER_REQUEST_MAX),
    )


class _ForgetfulExecutor(Executor):
    """The ``drop-valset-updates`` bug: state changes the validator set, but the result handed to
    the driver (and so to consensus, in ``BlockApplied``) does not say so."""

    def finalize_block(self, block: Block, certificate: CommitCertificate | None) -> FinalizeResult:
        return replace(super().finalize_block(block, certificate), validator_updates=[])


class SimNode:
    def __init__(
        self,
        index: int,
        key: NodeKey,
        genesis: Genesis,
        config: ConsensusConfig,
        cluster: Simulation,
        verifier: BatchVerifier,
        valset_admin: bytes,
        peers: dict[bytes, str],
    ) -> None:
        self.index = index
        self.key = key
        self.node_id = key.node_id
        self.signer = NodeSigner(key)
        self.genesis = genesis
        self.config = config
        self.cluster = cluster
        self.verifier = verifier
        self.valset_admin = valset_admin
        self.peers = {node_id: ConfiguredPeer(name, None) for node_id, name in peers.items()}
        self.others: list[bytes] = []  # every other node's id in index order; the cluster sets it
        self.store = MemoryChainStore()
        # Durable like the store: the sets this node's state held, for the checkers (old state
        # versions are pruned, but every certificate is judged against its own height's set).
        self.valset_history = ValsetHistory(genesis.validators)
        # Durable too: the state root after each height, as this node reported it at commit (the
        # store prunes old versions; S4 compares every height, ``checkers.check_app_hashes``).
        self.app_hashes: dict[int, bytes] = {}
        self.broken = cluster.options.broken
        self.wal = SimWal(honours_sync=self.broken != "wal-no-sync")
        self._valset_raw: bytes | None = None  # the set in state at the last commit, encoded
        self.up = False
        self.incarnation = 0
        self.restarts = 0
        self.executor: Executor
        self.mempool: Mempool
        self.driver: NodeDriver

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.incarnation += 1
        modules: list[SimValsetModule | SimNoiseModule] = [SimValsetModule(self.valset_admin)]
        if self.broken == "nondeterministic":
            options = self.cluster.options
            odd_one_out = min(set(range(options.nodes)) - set(options.byzantine))
            modules.append(SimNoiseModule(1 if self.index == odd_one_out else 0))
        executor = _ForgetfulExecutor if self.broken == "drop-valset-updates" else Executor
        # The executor verifies through the node's verifier, as ``node.service`` wires a real node.
        self.executor = executor(
            self.store,
            sigcache=SignatureCache(100_000),
            modules=modules,
            verify_batch=self.verifier.verify_batch,
        )
        self.executor.init_chain(self.genesis)
        genesis_root = self.store.get_root(0)
        if 0 not in self.app_hashes and genesis_root is not None:
            self.app_hashes[0] = genesis_root
        self.mempool = Mempool(
            chain_id=self.genesis.chain_id,
            params=self.executor.params,
            verifier=self.verifier,
            sigcache=self.executor.sigcache,
            is_committed=self.store.has_tx,
        )
        self.driver = NodeDriver(
            name=f"node{self.index}",
            genesis=self.genesis,
            signer=self.signer,
            consensus=self.config,
            store=self.store,
            wal=self.wal,
            application=self.executor,
            mempool=self.mempool,
            membership=Membership(self.node_id, self.peers),
            host=self,
            chooser=random.Random(f"chooser-{self.cluster.options.seed}-{self.index}-{self.incarnation}"),
            config=driver_config(self.config.timeout_propose_ms),
            verify_signature=self.cluster.verify_signature,
        )
        self.up = True
        self.driver.start()

    def crash(self, lose_unsynced: bool, torn: float, rng: random.Random) -> None:
        self.up = False
        self.incarnation += 1
        self.restarts += 1
        self.wal.crash(rng, lose_unsynced, torn)

    @property
    def height(self) -> int:
        return self.store.last_height() or 0

    @property
    def peer_faults(self) -> int:
        return self.driver.statistics().peer_faults if self.up else 0

    def validators_at(self, height: int) -> ValidatorSet:
        return self.driver.validators_at(height)

    # --- inputs from the simulation -------------------------------------------------------------

    def receive(self, peer: bytes, message: WireMessage) -> None:
        if not self.up:
            return
        if isinstance(message, TxBatch):
            self._admit(message.txs, gossip=False)
        elif isinstance(message, SyncRequest) and self.broken == "sync-mute":
            return
        else:
            self.driver.receive(peer, message)

    def submit(self, raws: list[bytes]) -> list[bytes]:
        """A client's transactions, as ``NodeRuntime.submit`` takes them; the ones admitted."""
        return self._admit(raws, gossip=True) if self.up else []

    def _admit(self, raws: list[bytes], *, gossip: bool) -> list[bytes]:
        results = self.mempool.admit_batch(raws, self.height)
        accepted = [raw for raw, r in zip(raws, results, strict=True) if isinstance(r, Accepted)]
        self.driver.transactions_admitted(accepted, gossip=gossip)
        return accepted

    def housekeeping(self) -> None:
        if self.up:
            self.driver.tick()

    # --- Host -----------------------------------------------------------------------------------

    def send(self, peer: bytes, message: WireMessage) -> bool:
        return self.cluster.send(self, [peer], message)

    def broadcast(self, message: WireMessage) -> None:
        self.cluster.send(self, self.others, message)

    def connected_peers(self) -> frozenset[bytes]:
        return self.cluster.links_of(self)

    def schedule(self, delay_ms: float, timer: Timer) -> None:
        self.call_later(delay_ms, lambda: self.driver.on_timer(timer))

    def monotonic_ms(self) -> float:
        return self.cluster.local_time_ms(self)

    def wall_ms(self) -> int:
        return int(self.cluster.local_time_ms(self))

    def block_committed(self, block: Block, result: FinalizeResult) -> None:
        height = block.header.height
        self.app_hashes[height] = result.app_hash
        # What state now holds, read back (not the result's updates, nor the driver's arithmetic):
        # that is what an auditor sees.
        raw = self.executor.query(VALIDATORS_KEY).value
        if raw is not None and raw != self._valset_raw:
            self._valset_raw = raw
            self.valset_history.record(height, codec.decode(ValidatorSet, raw))
        hashes = [tx_hash_of_canonical(raw) for raw in block.txs]  # one per receipt, for the checkers
        self.cluster.on_commit(self, block, result.receipts, hashes)

    def membership_changed(self) -> None:
        """The simulated network has no links to drop: every node is configured."""

    def evidence(self, evidence: DuplicateVoteEvidence) -> None:
        self.cluster.record_evidence(self, evidence)

    def call_later(self, delay_ms: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``delay_ms`` of this node's clock, unless it crashed meanwhile."""
        incarnation = self.incarnation

        def fire() -> None:
            if self.up and self.incarnation == incarnation:
                action()

        self.cluster.queue.after(delay_ms * self.cluster.options.drift[self.index], fire)
