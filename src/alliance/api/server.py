"""Running the API inside the node's own event loop.

Theory of operation: the node runtime owns the loop and the process signals, so the API must be
a task beside it, not a program around it. ``ApiServer`` runs a ``uvicorn.Server`` on the
*current* loop with lifespan off and signal capture disabled (uvicorn's ``capture_signals`` would
replace the node's SIGTERM/SIGINT handlers). It binds the listening socket itself, before uvicorn
starts, so a port already in use is an ``OperationalError`` naming the address (uvicorn would call
``sys.exit``) and port 0 works (``port`` tells which one was given). The socket is made with
protocol ``IPPROTO_TCP`` (``socket.create_server`` leaves it 0): asyncio sets TCP_NODELAY only on
connections whose socket says so, and without it every answer waited for the client's delayed
ACK, ~40 ms a request on Linux.

Stopping: ``stop()`` asks uvicorn for a graceful shutdown (bounded by
``graceful_shutdown_s``); cancelling the ``serve()`` task (the node's TaskGroup does that on the
way out) closes the listener and every connection at once and cancels their handlers, so a
subscriber on the stream cannot hold the node's shutdown.

A request whose HTTP framing does not parse (a bad request line, a bad ``Content-Length``) never
reaches the app: uvicorn's HTTP protocol answers it with a plain-text 400. ``_ProblemH11Protocol``
answers it with a problem body (``malformed_encoding``) like every other refusal.

WebSockets run on uvicorn's ``websockets-sansio`` protocol: the older ``websockets`` one imports
``websockets.legacy``, which warns on import with the installed websockets (and tests run with
warnings as errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import h11
import msgspec
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from alliance.api.app import create_app
from alliance.api.errors import PROBLEM_MEDIA_TYPE, problem_body
from alliance.errors import DecodeError, OperationalError, UsageError
from alliance.node.config import NodeConfig
from alliance.node.facade import NodeFacade

logger = logging.getLogger("alliance.api")

GRACEFUL_SHUTDOWN_S = 2.0
CLOSE_GRACE_S = 0.5


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers, and with a hook when it listens."""

    def __init__(self, config: uvicorn.Config, started: asyncio.Event) -> None:
        super().__init__(config)
        self._started_event = started

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the node owns SIGTERM and SIGINT

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._started_event.set()


class _ProblemH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, but a request it cannot parse gets a problem body, not plain text."""

    def send_400_response(self, msg: str) -> None:
        detail = f"the HTTP request is malformed: {msg}"
        body = msgspec.json.encode(problem_body(400, DecodeError.code, detail))
        headers = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()


class ApiServer:
    def __init__(
        self, app: FastAPI, host: str, port: int, *, graceful_shutdown_s: float = GRACEFUL_SHUTDOWN_S
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.started = asyncio.Event()
        self._graceful_shutdown_s = graceful_shutdown_s
        self._server: _EmbeddedServer | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _bind(self) -> socket.socket:
        where = f"{self.host}:{self.port}"
        try:
            family, _, _, _, address = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )[0]
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        except OSError as exc:
            raise OperationalError(f"the API cannot listen on {where}: {exc.strerror}") from None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen()
        except OSError as exc:
            sock.close()
            raise OperationalError(f"the API cannot listen on {where}: {exc.strerror}") from None
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    async def serve(self) -> None:
        """Serve until ``stop()`` or until cancelled."""
        if self._server is not None:
            raise UsageError("this API server has already been started")
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            http=_ProblemH11Protocol,
            ws="websockets-sansio",
            timeout_graceful_shutdown=max(1, round(self._graceful_shutdown_s)),
            access_log=False,
        )
        server = _EmbeddedServer(config, self.started)
        self._server = server
        sock = self._bind()
        try:
            await server.serve(sockets=[sock])
        except asyncio.CancelledError:
            await _close_now(server, CLOSE_GRACE_S)
            raise
        finally:
            sock.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True


async def _close_now(server: uvicorn.Server, grace_s: float) -> None:
    """Close the listener and every connection; cancel the request handlers still running after
    ``grace_s`` (a stream handler sees the disconnect and returns on its own: no error logged)."""
    server.should_exit = server.force_exit = True
    for listener in getattr(server, "servers", []):
        listener.close()
    for connection in list(server.server_state.connections):
        connection.shutdown()
    tasks = list(server.server_state.tasks)
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=grace_s)


async def serve_api(app: FastAPI, host: str, port: int, *, started: asyncio.Event | None = None) -> None:
    """Run ``app`` on ``host:port`` in the current loop until cancelled (or uvicorn exits)."""
    server = ApiServer(app, host, port)
    if started is not None:
        server.started = started
    await server.serve()


async def api_service(node: NodeFacade, config: NodeConfig) -> None:
    """The API as a node service (``Node(home, services=[api_service])``)."""
    await serve_api(create_app(node), config.host, config.api_port)
