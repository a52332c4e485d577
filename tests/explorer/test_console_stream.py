"""The console's forwarded stream lets go of the node when it stops, whatever the node is doing.

A node that keeps pumping blocks while the console closes its side may not answer the console's
close frame for a long time (the console stops reading once its browser has left, so the node's
close frame waits behind blocks nobody reads). The console must not hold that connection open for
websockets' default close timeout (10 s), nor leave it open when it stops in the meantime: a socket
left open outlives the console's loop (an unclosed-socket ResourceWarning wherever it is collected),
and the node goes on writing to it.

The node here is a bare TCP server that accepts the WebSocket upgrade, sends one block, then never
answers again: the worst peer for a closing handshake.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import hashlib
import socket
import struct
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect as ws_connect

from alliance.explorer.console import Console
from alliance.testing.nodes import alliance_homes

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MESSAGE = b'{"type":"block","height":1}' + b" " * 4000


def _frame(payload: bytes) -> bytes:
    return struct.pack("!BBQ", 0x81, 127, len(payload)) + payload  # FIN + text, 64-bit length


class DeafNode:
    """Accepts one WebSocket upgrade and sends a block; then never answers, not even a close."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connected = threading.Event()
        self.peer_gone = threading.Event()
        self.thread = threading.Thread(target=self.run, name="deaf node", daemon=True)
        self.thread.start()

    def run(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            self.connected.set()
            conn.sendall(_frame(MESSAGE))
            # Deaf from here on: whatever arrives (the console's close frame too) is read and
            # dropped, never answered, until the console closes the socket.
            while True:
                try:
                    if not conn.recv(65536):
                        break
                except OSError:
                    break
            self.peer_gone.set()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def deaf_node() -> Iterator[DeafNode]:
    node = DeafNode()
    yield node
    node.close()


@contextlib.contextmanager
def serving(console: Console) -> Iterator[None]:
    """``console`` serving in a thread of this process until the block ends, then stopped."""
    listening = threading.Event()
    loops: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        await console.serve(lambda _url: listening.set())

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="console", daemon=True)
    thread.start()
    assert listening.wait(20), "the console did not listen"
    try:
        yield
    finally:
        loops[0].call_soon_threadsafe(console.stop)
        thread.join(20)
        assert not thread.is_alive(), "the console did not stop"


def console_on(tmp_path: Path, node: DeafNode) -> Console:
    alliance_homes(tmp_path / "chain", 1, empty_block_interval_ms=1000)
    console = Console(tmp_path / "chain", port=0)
    console._node_url = f"http://127.0.0.1:{node.port}"  # the deaf node is the one that answers
    return console


def test_when_the_browser_leaves_the_console_lets_go_of_a_node_that_keeps_streaming(
    tmp_path: Path, deaf_node: DeafNode
) -> None:
    console = console_on(tmp_path, deaf_node)
    with serving(console):
        with ws_connect(f"ws://127.0.0.1:{console.port}/v1/stream?from_height=1", open_timeout=10) as stream:
            assert stream.recv(timeout=10).startswith('{"type":"block"')
            left = time.monotonic()
        closed_s = time.monotonic() - left  # the browser's close handshake with the console
        assert deaf_node.peer_gone.wait(10), "the console kept its connection to the node"
        gone_s = time.monotonic() - left
    # Both within the console's bound, not websockets' default 10 s close timeout.
    assert closed_s < 5 and gone_s < 5, (closed_s, gone_s)


def test_a_console_stopped_mid_stream_leaves_no_connection_to_the_node(
    tmp_path: Path, deaf_node: DeafNode
) -> None:
    console = console_on(tmp_path, deaf_node)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.ExitStack() as browser, serving(console):
            url = f"ws://127.0.0.1:{console.port}/v1/stream?from_height=1"
            stream = browser.enter_context(ws_connect(url, open_timeout=10))
            assert stream.recv(timeout=10).startswith('{"type":"block"')
            assert deaf_node.connected.is_set()
            # The console stopped with the browser still there (it closes the browser's side itself).
        gc.collect()
    assert deaf_node.peer_gone.wait(5), "the console's connection to the node outlived the console"
    leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaked, leaked
