"""Helpers for p2p tests: a small alliance of organisations and nodes, and bounded async waits.

(The module name is unique across test directories because tests run without packages.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from alliance.crypto.certificates import CertifiedKey, create_org_ca, create_root_ca, issue_node_certificate
from alliance.crypto.keys import NodeKey
from alliance.p2p.tls import NodeTlsFiles, TlsContexts, make_contexts, write_node_tls_files
from alliance.p2p.transport import Transport, TransportLimits

T = TypeVar("T")

TEST_TIMEOUT_S = 20.0
WAIT_TIMEOUT_S = 5.0

FAST_LIMITS = TransportLimits(
    handshake_timeout_ms=2_000,
    write_timeout_ms=2_000,
    close_timeout_ms=500,
    reconnect_delay_ms_min=20,
    reconnect_delay_ms_max=200,
)


def run(coro: Coroutine[Any, Any, T], timeout_s: float = TEST_TIMEOUT_S) -> T:
    """Run a coroutine on a fresh loop, failing the test if it takes longer than ``timeout_s``."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout_s):
            return await coro

    return asyncio.run(bounded())


async def eventually(
    predicate: Callable[[], bool], timeout_s: float = WAIT_TIMEOUT_S, what: str = ""
) -> None:
    """Poll ``predicate`` until true; fail after ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate}") from None


async def within(awaitable: Awaitable[T], timeout_s: float = WAIT_TIMEOUT_S) -> T:
    async with asyncio.timeout(timeout_s):
        return await awaitable


@dataclass
class Node:
    name: str
    org: str
    key: NodeKey
    files: NodeTlsFiles

    @property
    def node_id(self) -> bytes:
        return self.key.node_id

    def contexts(self) -> TlsContexts:
        return make_contexts(self.files)


@dataclass
class Alliance:
    """A root CA, organisation CAs and nodes, with files under ``directory``."""

    directory: Path
    name: str = "testnet"
    root: CertifiedKey = field(init=False)
    orgs: dict[str, CertifiedKey] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = create_root_ca(self.name)

    def org(self, name: str) -> CertifiedKey:
        if name not in self.orgs:
            self.orgs[name] = create_org_ca(self.root, name)
        return self.orgs[name]

    def node(self, name: str, org: str, key: NodeKey | None = None) -> Node:
        org_ca = self.org(org)
        key = key if key is not None else NodeKey.generate()
        certified = issue_node_certificate(org_ca, key.node_id)
        files = write_node_tls_files(
            self.directory / self.name / name, self.root.certificate, org_ca.certificate, certified
        )
        node = Node(name, org, key, files)
        self.nodes[name] = node
        return node


class Inbox:
    """Collects (sender, payload) pairs delivered by a transport."""

    def __init__(self) -> None:
        self.messages: list[tuple[bytes, bytes]] = []

    def __call__(self, sender: bytes, payload: bytes) -> None:
        self.messages.append((sender, payload))

    def payloads_from(self, sender: bytes) -> list[bytes]:
        return [p for s, p in self.messages if s == sender]


class Membership:
    """A mutable member set: node ids that are in, and organisations that are out."""

    def __init__(self, *nodes: Node) -> None:
        self.node_ids = {n.node_id for n in nodes}
        self.removed_orgs: set[str] = set()

    def __call__(self, node_id: bytes, org: str) -> bool:
        return node_id in self.node_ids and org not in self.removed_orgs


def make_transport(
    node: Node,
    peers: dict[bytes, tuple[str, int]],
    is_member: Callable[[bytes, str], bool],
    inbox: Inbox,
    limits: TransportLimits = FAST_LIMITS,
) -> Transport:
    return Transport(
        node.node_id,
        node.contexts(),
        "127.0.0.1",
        0,
        peers,
        is_member,
        inbox,
        limits=limits,
        rng=random.Random(7),
    )


def raw_client_context(node: Node | None, trust: Path) -> ssl.SSLContext:
    """A bare TLS 1.3 client context: ``node``'s chain (or no certificate), trusting ``trust``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.load_verify_locations(cafile=str(trust))
    if node is not None:
        context.load_cert_chain(str(node.files.chain_path), str(node.files.key_path))
    return context


async def read_until_closed(reader: asyncio.StreamReader, size_bytes_max: int = 1 << 20) -> bytes:
    """Everything the peer sends until it closes (EOF, or the SSL error a TLS alert becomes)."""
    received = b""
    with contextlib.suppress(OSError):
        while len(received) < size_bytes_max and (chunk := await within(reader.read(4096))):
            received += chunk
    return received


async def close_stream(writer: asyncio.StreamWriter) -> None:
    writer.transport.abort()
    await asyncio.sleep(0)


def count_records(caplog_records: list[logging.LogRecord], text: str) -> int:
    return sum(text in r.getMessage() for r in caplog_records)
