"""The composition root of a node: reads its home, builds every part, runs them, stops them.

Theory of operation: ``Node.run(stop)`` opens the parts in dependency order (configuration and
keys, genesis checked against the configured hash, the LMDB store, the WAL, the account index
(unless the configuration turns it off), the signature
verifier's workers, the executor and mempool inside the runtime, the TLS transport), then runs the
runtime and any extra *services* (the REST API is one; it lives in a higher layer and is passed in)
as tasks of one ``TaskGroup`` until ``stop`` is set or a task fails. Everything is closed in the
reverse order on the way out, whatever the reason, so a stopped node leaves a store and a WAL that
the next start reopens at the last whole block.

Membership (``node.membership``): a peer must present a certificate chaining to the alliance root.
On a chain whose ledger records member organisations, a node may connect when the ledger records its
id under the organisation whose recorded CA issued its certificate (or, not yet recorded, when
``config.toml`` lists it with that organisation); when a member or node is removed, its links are
dropped and refused from then on. A chain without recorded members admits exactly the peers listed
in ``config.toml``, each with the organisation its entry names.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from alliance import codec
from alliance.consensus.timeouts import ConsensusConfig
from alliance.crypto.keys import load_node_key
from alliance.errors import AllianceError, UsageError
from alliance.execution.executor import Executor
from alliance.ledger.genesis import Genesis
from alliance.mempool.pool import Mempool
from alliance.mempool.verifier import BatchVerifier
from alliance.node.config import NodeConfig, NodeHome
from alliance.node.driver import DriverConfig
from alliance.node.membership import ConfiguredPeer
from alliance.node.runtime import NodeRuntime
from alliance.p2p.tls import NodeTlsFiles, make_contexts
from alliance.p2p.transport import Transport, TransportLimits
from alliance.state.tree import tree_core_in_use
from alliance.storage.account_index import AccountIndex
from alliance.storage.lmdb_store import ChainStore
from alliance.storage.wal import FileWal

logger = logging.getLogger("alliance.node")

Service = Callable[[NodeRuntime, NodeConfig], Awaitable[None]]
"""A long-running task beside the runtime (the REST API): runs until cancelled."""

GENESIS_SIZE_BYTES_MAX = 1024 * 1024 * 1024
GC_GEN0_THRESHOLD = 100_000


def load_genesis(home: NodeHome, config: NodeConfig) -> Genesis:
    try:
        raw = home.genesis_path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no genesis file at {home.genesis_path}") from None
    genesis = codec.decode(Genesis, raw, size_bytes_max=GENESIS_SIZE_BYTES_MAX)
    if genesis.hash().hex() != config.genesis_hash:
        raise UsageError(
            f"{home.genesis_path} has hash {genesis.hash().hex()}, "
            f"the configuration expects {config.genesis_hash}"
        )
    if genesis.chain_id != config.chain_id:
        raise UsageError(
            f"genesis is for chain {genesis.chain_id!r}, the configuration for {config.chain_id!r}"
        )
    return genesis


def tls_files(home: NodeHome) -> NodeTlsFiles:
    return NodeTlsFiles(
        home.tls_dir / "root-ca.pem", home.tls_dir / "node-chain.pem", home.tls_dir / "node-tls-key.pem"
    )


def consensus_config(config: NodeConfig) -> ConsensusConfig:
    section = config.consensus
    return ConsensusConfig(
        chain_id=config.chain_id,
        timeout_propose_ms=section.timeout_propose_ms,
        timeout_prevote_ms=section.timeout_prevote_ms,
        timeout_precommit_ms=section.timeout_precommit_ms,
    )


class Node:
    """One node, run from its home directory. ``async with Node(home) as node:`` runs it in the background."""

    def __init__(self, home: NodeHome | Path | str, *, services: Sequence[Service] = ()) -> None:
        self.home = home if isinstance(home, NodeHome) else NodeHome(home)
        self.config = self.home.load_config()
        self._services = tuple(services)
        self._runtime: NodeRuntime | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def runtime(self) -> NodeRuntime:
        if self._runtime is None:
            raise UsageError("the node is not running")
        return self._runtime

    async def __aenter__(self) -> Node:
        self._task = asyncio.create_task(self.run(self._stop), name=f"node {self.config.name}")
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait([ready, self._task], return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            ready.cancel()
            self._task.result()  # raises what stopped the start-up
            raise UsageError(f"node {self.config.name} stopped during start-up")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def run(self, stop: asyncio.Event) -> None:
        config = self.config
        home = self.home
        genesis = load_genesis(home, config)
        node_key = load_node_key(home.node_key_path)
        contexts = make_contexts(tls_files(home))
        peers = {bytes.fromhex(p.node_id): p for p in config.peers}
        async with contextlib.AsyncExitStack() as stack:
            store = ChainStore(home.data_dir, sync=config.store_sync)
            stack.callback(store.close)
            wal = FileWal(home.wal_dir)
            stack.callback(wal.close)
            account_index = None
            if config.account_index:
                account_index = AccountIndex(home.account_index_dir)
                stack.callback(account_index.close)
            verifier = BatchVerifier(
                config.mempool.verifier,
                suite_name=genesis.suite,
                workers=config.mempool.verifier_workers or None,
                caller_verifies=config.mempool.verifier_caller_verifies,
            )
            stack.callback(verifier.close)
            executor = Executor(
                store,
                verify_batch=verifier.verify_batch,
                state_versions_kept=config.state.versions_kept,
                state_prune_batch_versions=config.state.prune_batch_versions,
            )

            def make_mempool(executor: Executor) -> Mempool:
                return Mempool(
                    chain_id=genesis.chain_id,
                    params=executor.params,
                    verifier=verifier,
                    sigcache=executor.sigcache,
                    is_committed=store.has_tx,
                    txs_max=config.mempool.txs_max,
                    bytes_max=config.mempool.bytes_max,
                    on_decoded=executor.remember_decoded,
                )

            runtime = NodeRuntime(
                name=config.name,
                org=config.org,
                genesis=genesis,
                node_key=node_key,
                store=store,
                wal=wal,
                mempool_factory=make_mempool,
                executor=executor,
                consensus=consensus_config(config),
                peers={node_id: ConfiguredPeer(p.name, p.org) for node_id, p in peers.items()},
                driver_config=DriverConfig(empty_block_interval_ms=config.consensus.empty_block_interval_ms),
                account_index=account_index,
            )
            transport = Transport(
                node_key.node_id,
                contexts,
                config.host,
                config.p2p_port,
                {node_id: (p.host, p.p2p_port) for node_id, p in peers.items()},
                is_member=runtime.is_member,
                on_message=runtime.on_peer_message,
                # On a governed chain a node the ledger records may connect even if this node's
                # configuration does not list it (observers joining); its certificate must come
                # from the CA the ledger records for the organisation that owns it.
                limits=TransportLimits(accept_unlisted_peers=runtime.governed),
                org_ca_certificates=runtime.org_ca_certificates if runtime.governed else None,
                explain_refusal=runtime.membership.refusal,
            )
            runtime.network = transport
            await transport.start()
            stack.push_async_callback(transport.close)
            self._runtime = runtime
            logger.info(
                "node %s (%s) of chain %s at height %d: p2p %s:%d, api %s:%d",
                config.name, node_key.node_id.hex()[:12], genesis.chain_id, runtime.height,
                config.host, config.p2p_port, config.host, config.api_port,
            )
            logger.info("node %s: state tree core %s", config.name, tree_core_in_use(with_reason=True))
            await self._run_tasks(runtime, stop)
            logger.info("node %s stopping at height %d", config.name, runtime.height)

    async def _run_tasks(self, runtime: NodeRuntime, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(runtime.run(), name="runtime")]
            extra = [_awaited(service(runtime, self.config)) for service in self._services]
            tasks.extend(group.create_task(coroutine) for coroutine in extra)
            self._ready.set()
            stopping = group.create_task(stop.wait())
            await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in [stopping, *tasks]:
                task.cancel()


async def _awaited(awaitable: Awaitable[None]) -> None:
    await awaitable


def tune_garbage_collector() -> None:
    """Collect cycles rarely: a node allocates millions of short-lived acyclic objects (decoded
    transactions, receipts, tree nodes) and the default thresholds made it spend about a third of
    its CPU time in the collector under load (measured with ``gc.callbacks``). Objects alive after
    start-up are frozen out of collection altogether."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 50, 1000)


def run_node(home: Path | str, *, services: Sequence[Service] = ()) -> None:
    """Run one node in the foreground until SIGTERM or SIGINT (``alliance node start``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tune_garbage_collector()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await Node(home, services=services).run(stop)

    try:
        asyncio.run(main())
    except Exception as exc:
        if not isinstance(exc, AllianceError):  # typed errors are the command line's one line
            # A bug: the command line prints one line, so the node's log keeps the whole story.
            logger.exception("node stopped by an unexpected error")
        raise
