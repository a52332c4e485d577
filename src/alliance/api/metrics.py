"""Prometheus metrics of one node's API.

Theory of operation: each app owns its ``CollectorRegistry`` (several nodes may share a test
process, and the global default registry would mix them). Node gauges are not pushed on every
change: ``NodeCollector`` reads ``node.status()`` when Prometheus scrapes, so the hot paths pay
nothing. Committed transactions come from the node's own count (``NodeStatus.txs_committed``,
since the process started), exposed as a counter: it only grows, and restarts at zero with the
process, which is what ``rate()`` expects. So do the blocks applied and the seconds they took to
execute and to commit: ``rate(alliance_block_commit_seconds_total) /
rate(alliance_blocks_applied_total)`` is the mean commit time of a block, which shows a store
growing slower with its history. Request counts by route template and status come from
``RequestMetricsMiddleware``, which labels by template (``/v1/blocks/{height}``), never by the
raw path, so label cardinality stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alliance.node.facade import NodeFacade


class NodeCollector(Collector):
    def __init__(self, node: NodeFacade) -> None:
        self._node = node

    def collect(self) -> Iterator[Metric]:
        status = self._node.status()
        peers_connected = sum(p.connected for p in status.peers)
        gauges = [
            ("alliance_height", "Last committed height", status.height),
            ("alliance_round", "Consensus round at the next height", status.consensus_round),
            ("alliance_mempool_txs", "Transactions waiting in the mempool", status.mempool_txs),
            ("alliance_mempool_bytes", "Bytes of the transactions in the mempool", status.mempool_bytes),
            ("alliance_peers", "Configured peers", len(status.peers)),
            ("alliance_peers_connected", "Peers connected now", peers_connected),
            ("alliance_validators", "Validators at the next height", len(status.validators.validators)),
            ("alliance_is_validator", "1 when this node votes at the next height", int(status.is_validator)),
            ("alliance_syncing", "1 while the node is catching up by block sync", int(status.syncing)),
            ("alliance_block_time_ms", "Time of the last block (ms since the epoch)", status.time_ms),
            (
                "alliance_halted",
                "1 when the node stopped applying blocks because its state differs from the chain's",
                int(status.halted is not None),
            ),
        ]
        for name, doc, value in gauges:
            yield GaugeMetricFamily(name, doc, value=value)
        counters = [
            (
                "alliance_txs_committed",
                "Transactions this node committed since its process started (refused rows not counted)",
                status.txs_committed,
            ),
            (
                "alliance_blocks_applied",
                "Blocks this node executed and committed since its process started",
                status.blocks_applied,
            ),
            (
                "alliance_block_execute_seconds",
                "Time those blocks took to execute (finalize_block), summed",
                status.block_execute_s_total,
            ),
            (
                "alliance_block_commit_seconds",
                "Time those blocks took to commit (the store's write and fsync, mostly), summed",
                status.block_commit_s_total,
            ),
            ("alliance_peer_faults", "Faults peers committed against this node", status.peer_faults),
        ]
        for name, doc, total in counters:
            yield CounterMetricFamily(name, doc, value=total)


def make_registry(
    node: NodeFacade, registry: CollectorRegistry | None = None
) -> tuple[CollectorRegistry, Counter]:
    """``registry`` (a fresh one by default) with the node's collector and the API request counter."""
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(node))
    requests = Counter(
        "alliance_api_requests",
        "API requests by route template and status",
        ["route", "status"],
        registry=registry,
    )
    return registry, requests


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, counter: Counter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the guard outside answers if the app raises

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            # The template as documented (``/v1/txs/{tx_hash}``), without a convertor's name.
            template = getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
            self.counter.labels(route=template, status=str(status)).inc()
