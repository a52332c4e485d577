"""The asyncio transport: mutual-TLS links to the other nodes, carrying length-prefixed frames.

Theory of operation
-------------------
A ``Transport`` listens on one TCP port and dials every peer in its peer table. A link exists only
after (1) a TLS 1.3 handshake in which both sides presented certificates chaining to the alliance
root (``p2p.tls``) and (2) an admission check on the identity the peer's certificate states: the
node id is not our own, is the one we dialled (outbound), is in the peer table (unless
``accept_unlisted_peers``), and ``is_member(node_id, org)`` says yes. Every refusal is logged as one
warning line on the ``alliance.p2p`` logger naming the address, the identity when known, and the
reason; the listener keeps serving. Records carry the local node's short id as ``node_id``.

Inbound TLS is started by hand (plain ``start_server`` then ``StreamWriter.start_tls``) rather than
with ``start_server(ssl=...)``, because asyncio swallows server-side handshake failures silently and
an operator needs to see outsiders being turned away.

After the handshake the acceptor decides and says so in a first frame, the greeting: accept, or
refuse with a reason (which the dialler logs, so an operator on either side sees why). The dialler
uses a link only once accepted, so a refused link never carries, and never loses, a frame.

One link per peer. When two nodes dial each other at once, the link initiated by the smaller node id
is the one kept. The acceptor applies the rule, so both ends agree without a round of talk: a node
refuses an inbound link as a duplicate when its own id is the smaller and it is dialling that peer
or already has a link it initiated; an inbound link from a smaller id is always accepted and
replaces whatever link existed (an older link from the same initiator is stale, since the peer would
not redial a live link).

Sending never blocks. Each peer in the table has a bounded queue of encoded frames
(``peer_queue_frames_max`` frames and ``peer_queue_bytes_max`` bytes) that outlives its links, so a
short reconnect loses nothing. When the queue is full the *oldest* frames are dropped and counted
(``dropped_frames``): for consensus and gossip the newest message (a later round, a fresher batch)
is worth more than the oldest. The byte bound matters for large frames (block-sync answers of up to
8 MiB): a peer that asks for many and reads none would otherwise hold thousands of them here. The
newest frame is always kept, so a frame larger than the byte bound still goes out. Delivery is
best-effort: frames in flight when a link breaks are lost; protocols above retransmit.

Receiving is paced by the reader: the stream stops reading from the socket while its buffer is full,
so a fast peer is slowed by TCP rather than growing our memory. Frames go to ``on_message(node_id,
payload)``; if it raises a ``PeerFault`` (say, a payload that does not decode) that link is closed.
A frame over ``frame_size_bytes_max`` closes that link and no other. A write that cannot drain within
``write_timeout_ms`` closes the link too, since the peer has stopped reading.

Dialling runs one task per peer: wait until there is no link, dial, run the link, then back off
exponentially (``reconnect_delay_ms_min`` doubling to ``reconnect_delay_ms_max``) with jitter (each
wait is uniform in [delay/2, delay]) so restarted nodes do not reconnect in lockstep. The backoff
resets only after a link that carried a frame or lived a full maximum delay, so a peer that accepts
the handshake and then refuses us is not hammered.

Concurrency is structured: one ``TaskGroup`` owns every dialler and link task for the transport's
lifetime; ``close()`` cancels it and waits, and each link closes its socket on the way out. A bug in
any task (an exception that is not an expected network failure) tears the transport down and is
re-raised by ``close()``, logged when it happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography import x509

from alliance.crypto.certificates import NodeIdentity
from alliance.errors import InvalidMessage, PeerFault, UsageError
from alliance.p2p.framing import FRAME_SIZE_BYTES_MAX_DEFAULT, FrameDecoder, encode_frame
from alliance.p2p.tls import TlsContexts, UntrustedPeer, peer_identity
from alliance.types import NodeId

logger = logging.getLogger("alliance.p2p")

IsMember = Callable[[NodeId, str], bool]
ExplainRefusal = Callable[[NodeId, str], str | None]
"""Why ``is_member`` says no, in words for the log (``node.membership.Membership.refusal``)."""
OnMessage = Callable[[NodeId, bytes], None]
Address = tuple[str, int]

_WRITE_BATCH_SIZE_BYTES_MAX = 1024 * 1024  # bytes handed to the socket per drain
_REFUSAL_SIZE_BYTES_MAX = 256

# The acceptor's first frame: the dialler uses a link only after this, so a link refused by the
# acceptor (membership, duplicate) never carries, and loses, a frame.
GREETING_ACCEPT = b"alliance-p2p/1 accept"
GREETING_REFUSE = b"alliance-p2p/1 refuse: "
_DUPLICATE = "duplicate link"


@dataclass(frozen=True, slots=True)
class TransportLimits:
    """Every bound of the transport, with units last."""

    frame_size_bytes_max: int = FRAME_SIZE_BYTES_MAX_DEFAULT
    peer_queue_frames_max: int = 4096
    peer_queue_bytes_max: int = 64 * 1024 * 1024
    read_chunk_size_bytes: int = 64 * 1024
    handshake_timeout_ms: int = 5_000
    write_timeout_ms: int = 10_000
    close_timeout_ms: int = 1_000
    reconnect_delay_ms_min: int = 100
    reconnect_delay_ms_max: int = 10_000
    accept_unlisted_peers: bool = False  # admit members not in the peer table (observers joining)

    def __post_init__(self) -> None:
        positive = {
            "frame_size_bytes_max": self.frame_size_bytes_max,
            "peer_queue_frames_max": self.peer_queue_frames_max,
            "peer_queue_bytes_max": self.peer_queue_bytes_max,
            "read_chunk_size_bytes": self.read_chunk_size_bytes,
            "handshake_timeout_ms": self.handshake_timeout_ms,
            "write_timeout_ms": self.write_timeout_ms,
            "close_timeout_ms": self.close_timeout_ms,
            "reconnect_delay_ms_min": self.reconnect_delay_ms_min,
        }
        for name, value in positive.items():
            if value <= 0:
                raise UsageError(f"{name} must be positive, got {value}")
        if self.reconnect_delay_ms_max < self.reconnect_delay_ms_min:
            raise UsageError("reconnect_delay_ms_max must be at least reconnect_delay_ms_min")


class _Refused(Exception):
    """An admission check failed; the message is the reason logged."""


class _PeerQueue:
    """A bounded FIFO of encoded frames for one peer; full means the oldest frames are dropped."""

    __slots__ = ("bytes_max", "dropped_frames", "frames", "frames_max", "nonempty", "size_bytes")

    def __init__(self, frames_max: int, bytes_max: int) -> None:
        self.frames: deque[bytes] = deque()
        self.frames_max = frames_max
        self.bytes_max = bytes_max
        self.size_bytes = 0
        self.dropped_frames = 0
        self.nonempty = asyncio.Event()

    def push(self, frame: bytes) -> None:
        self.frames.append(frame)
        self.size_bytes += len(frame)
        while len(self.frames) > 1 and (
            len(self.frames) > self.frames_max or self.size_bytes > self.bytes_max
        ):
            self.size_bytes -= len(self.frames.popleft())
            self.dropped_frames += 1
        self.nonempty.set()

    def take(self, size_bytes_max: int) -> list[bytes]:
        """Frames from the front, at least one, until about ``size_bytes_max`` bytes."""
        taken: list[bytes] = []
        size_bytes = 0
        while self.frames and (not taken or size_bytes + len(self.frames[0]) <= size_bytes_max):
            frame = self.frames.popleft()
            taken.append(frame)
            size_bytes += len(frame)
        self.size_bytes -= size_bytes
        if not self.frames:
            self.nonempty.clear()
        return taken


@dataclass(eq=False)
class _Link:
    """One admitted TLS connection to a peer."""

    peer: NodeIdentity
    initiator: NodeId
    address: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    opened_s: float = field(default_factory=time.monotonic)
    received_frames: int = 0
    close_reason: str | None = None
    decoder: FrameDecoder | None = None  # an outbound link's, already past the greeting
    early_payloads: list[bytes] = field(default_factory=list)  # frames that came with the greeting
    task: asyncio.Task[None] | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self, reason: str) -> None:
        """Ask the link to end; its task closes the socket. Idempotent."""
        if self.close_reason is None:
            self.close_reason = reason
        if self.task is not None:
            self.task.cancel()


class Transport:
    """Mutual-TLS links to the alliance's nodes. See the module docstring."""

    def __init__(
        self,
        node_id: NodeId,
        contexts: TlsContexts,
        listen_host: str,
        listen_port: int,
        peers: Mapping[NodeId, Address],
        is_member: IsMember,
        on_message: OnMessage,
        *,
        limits: TransportLimits | None = None,
        org_ca_certificates: Mapping[str, x509.Certificate] | None = None,
        rng: random.Random | None = None,
        explain_refusal: ExplainRefusal | None = None,
    ) -> None:
        if contexts.identity.node_id != node_id:
            raise UsageError(
                f"the TLS certificate is for node {contexts.identity.node_id.hex()}, not {node_id.hex()}"
            )
        self.node_id = node_id
        self._contexts = contexts
        self._listen: Address = (listen_host, listen_port)
        self._is_member = is_member
        self._explain_refusal = explain_refusal
        self._on_message = on_message
        self.limits = limits if limits is not None else TransportLimits()
        self._org_ca_certificates = org_ca_certificates
        self._rng = rng if rng is not None else random.Random()
        # Records carry our own id as ``node_id`` (short hex), for logs of several nodes in one process.
        self._log = logging.LoggerAdapter(logger, {"node_id": _short(node_id)})
        self._peers: dict[NodeId, Address] = {}
        self._queues: dict[NodeId, _PeerQueue] = {}
        self._links: dict[NodeId, _Link] = {}
        self._unlinked: dict[NodeId, asyncio.Event] = {}
        self._diallers: dict[NodeId, asyncio.Task[None]] = {}
        self._dialling: set[NodeId] = set()
        self._server: asyncio.Server | None = None
        self._group: asyncio.TaskGroup | None = None
        self._main: asyncio.Task[None] | None = None
        self._closing = False
        for peer_id, address in peers.items():
            self.add_peer(peer_id, address)

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the listener and start dialling. Returns once the listener is bound."""
        if self._main is not None:
            raise UsageError("transport already started")
        self._server = await asyncio.start_server(self._on_accept, *self._listen)
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._main = asyncio.create_task(self._run(started), name="alliance.p2p.transport")
        self._main.add_done_callback(_log_failure)
        await asyncio.wait([started, self._main], return_when=asyncio.FIRST_COMPLETED)
        if self._main.done():
            await self.close()

    async def close(self) -> None:
        """Stop listening, close every link, stop every task. Re-raises a bug that killed the transport."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        if self._main is None:
            if self._server is not None:
                await self._server.wait_closed()
            return
        self._main.cancel()
        await asyncio.wait([self._main])
        failure = None if self._main.cancelled() else self._main.exception()
        if failure is not None:
            raise failure

    async def __aenter__(self) -> Transport:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _run(self, started: asyncio.Future[None]) -> None:
        server = self._server
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                for node_id in list(self._peers):
                    self._ensure_dialler(node_id)
                started.set_result(None)
                await asyncio.Future()  # until close() cancels us
        finally:
            self._group = None
            if server is not None:
                server.close()
                await server.wait_closed()

    @property
    def listen_address(self) -> Address:
        """The bound (host, port); the port is the real one when 0 was asked for."""
        if self._server is None or not self._server.sockets:
            raise UsageError("transport is not listening")
        host, port = self._server.sockets[0].getsockname()[:2]
        return (str(host), int(port))

    # --- peers -----------------------------------------------------------------------------------

    def add_peer(self, node_id: NodeId, address: Address) -> None:
        """Put a node in the peer table (or move it) and keep a link to it."""
        if node_id == self.node_id:
            raise UsageError("a node cannot be its own peer")
        self._peers[node_id] = address
        self._queues.setdefault(node_id, self._new_queue())
        self._unlinked_event(node_id)
        self._ensure_dialler(node_id)

    def _ensure_dialler(self, node_id: NodeId) -> None:
        if self._group is not None and not self._closing and node_id not in self._diallers:
            self._diallers[node_id] = self._group.create_task(
                self._dial_loop(node_id), name=f"alliance.p2p.dial.{_short(node_id)}"
            )

    def remove_peer(self, node_id: NodeId) -> None:
        """Forget a node: stop dialling it, close its link, discard its queue."""
        self._peers.pop(node_id, None)
        self._queues.pop(node_id, None)
        dialler = self._diallers.pop(node_id, None)
        if dialler is not None:
            dialler.cancel()
        self.disconnect(node_id, "removed from the peer table")

    def connected_peers(self) -> frozenset[NodeId]:
        return frozenset(self._links)

    def peer_org(self, node_id: NodeId) -> str | None:
        link = self._links.get(node_id)
        return link.peer.org if link is not None else None

    def dropped_frames(self, node_id: NodeId | None = None) -> int:
        """Frames dropped from full send queues: for one peer, or all peers in the table."""
        if node_id is not None:
            queue = self._queues.get(node_id)
            return queue.dropped_frames if queue is not None else 0
        return sum(q.dropped_frames for q in self._queues.values())

    def queued_frames(self, node_id: NodeId) -> int:
        queue = self._queues.get(node_id)
        return len(queue.frames) if queue is not None else 0

    def queued_bytes(self, node_id: NodeId) -> int:
        queue = self._queues.get(node_id)
        return queue.size_bytes if queue is not None else 0

    def _new_queue(self) -> _PeerQueue:
        return _PeerQueue(self.limits.peer_queue_frames_max, self.limits.peer_queue_bytes_max)

    def disconnect(self, node_id: NodeId, reason: str = "disconnect requested") -> bool:
        """Close the link to a node if there is one. A peer in the table is redialled after backoff."""
        link = self._links.get(node_id)
        if link is None:
            return False
        self._log.info("closing link to node %s (%s): %s", _short(node_id), link.peer.org, reason)
        link.close(reason)
        return True

    def refresh_membership(self) -> list[NodeId]:
        """Ask ``is_member`` again about every linked peer; close the links of those no longer members."""
        dropped = []
        for node_id, link in list(self._links.items()):
            if not self._is_member(node_id, link.peer.org):
                self._log.warning(
                    "dropping node %s of %s at %s: no longer a member",
                    _short(node_id),
                    link.peer.org,
                    link.address,
                )
                link.close("no longer a member")
                dropped.append(node_id)
        return dropped

    # --- sending ---------------------------------------------------------------------------------

    def send(self, node_id: NodeId, payload: bytes) -> bool:
        """Queue one frame for a peer in the table; False when the node is not a peer.

        Never blocks. A payload over ``frame_size_bytes_max`` is a ``UsageError``.
        """
        frame = encode_frame(payload, frame_size_bytes_max=self.limits.frame_size_bytes_max)
        queue = self._queues.get(node_id)
        if queue is None:
            return False
        queue.push(frame)
        return True

    def broadcast(self, payload: bytes) -> int:
        """Queue one frame for every peer with a queue; returns how many."""
        frame = encode_frame(payload, frame_size_bytes_max=self.limits.frame_size_bytes_max)
        for queue in self._queues.values():
            queue.push(frame)
        return len(self._queues)

    # --- accepting -------------------------------------------------------------------------------

    def _on_accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        group = self._group
        if self._closing or group is None:
            writer.transport.abort()
            return
        group.create_task(self._serve_inbound(reader, writer))

    async def _serve_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = _address_of(writer)
        timeout_s = self.limits.handshake_timeout_ms / 1000
        try:
            async with asyncio.timeout(timeout_s):
                await writer.start_tls(self._contexts.server, ssl_handshake_timeout=timeout_s)
        except asyncio.CancelledError:
            writer.transport.abort()  # the transport is closing: drop the half-open connection
            raise
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            if isinstance(exc, ssl.SSLError | TimeoutError):
                self._log.warning(
                    "refused connection from %s: TLS handshake failed: %s", address, _reason(exc)
                )
            else:  # the dialler hung up (it gave up, or is shutting down): nothing refused
                self._log.info("connection from %s ended during the TLS handshake: %s", address, _reason(exc))
            writer.transport.abort()  # the handshake already tore the socket down; nothing to wait for
            return
        try:
            await self._admit_inbound(reader, writer, address)
        except BaseException:
            writer.transport.abort()  # cancelled before the link took the socket over
            raise

    # --- dialling --------------------------------------------------------------------------------

    async def _dial_loop(self, node_id: NodeId) -> None:
        try:
            await self._keep_dialling(node_id)
        finally:
            if self._diallers.get(node_id) is asyncio.current_task():
                del self._diallers[node_id]

    async def _keep_dialling(self, node_id: NodeId) -> None:
        failures = 0
        while node_id in self._peers:
            await self._unlinked_event(node_id).wait()
            address = self._peers.get(node_id)
            if address is None:
                return
            link = await self._dial(node_id, address)
            if link is not None:
                await link.finished.wait()
                lived_ms = (time.monotonic() - link.opened_s) * 1000
                if link.received_frames or lived_ms >= self.limits.reconnect_delay_ms_max:
                    failures = 0
            failures += 1
            await asyncio.sleep(self._backoff_s(failures))

    def _backoff_s(self, failures: int) -> float:
        limits = self.limits
        exponent = min(failures - 1, 32)  # 2**32 times any positive minimum passes any maximum
        delay_ms = min(limits.reconnect_delay_ms_max, limits.reconnect_delay_ms_min * 2**exponent)
        return self._rng.uniform(delay_ms / 2, delay_ms) / 1000

    async def _dial(self, node_id: NodeId, address: Address) -> _Link | None:
        text = f"{address[0]}:{address[1]}"
        timeout_s = self.limits.handshake_timeout_ms / 1000
        try:
            try:
                async with asyncio.timeout(timeout_s):
                    reader, writer = await asyncio.open_connection(
                        *address,
                        ssl=self._contexts.client,
                        server_hostname=None,
                        ssl_handshake_timeout=timeout_s,
                    )
            except ssl.SSLError as exc:  # it is not who the alliance root vouches for: say so loudly
                self._log.warning(
                    "refused connection to %s (node %s): TLS handshake failed: %s",
                    text,
                    _short(node_id),
                    _reason(exc),
                )
                return None
            except (OSError, TimeoutError) as exc:  # down or unreachable: routine while nodes restart
                self._log.info("cannot connect to node %s at %s: %s", _short(node_id), text, _reason(exc))
                return None
            # Only now, with the peer known to be there, does an inbound link from it become a
            # duplicate: counting a dial to a dead address would refuse a peer that can reach us.
            self._dialling.add(node_id)
            try:
                return await self._admit_outbound(reader, writer, text, node_id)
            except BaseException:
                # Cancelled mid-admission (the transport is closing, or a timeout's cancellation
                # arrived just after the connection opened): no socket may outlive its owner.
                writer.transport.abort()
                raise
        finally:
            self._dialling.discard(node_id)

    # --- admission and links ---------------------------------------------------------------------

    def _identify(self, writer: asyncio.StreamWriter, dialled: NodeId | None) -> NodeIdentity:
        """The peer's identity, if it may have a link at all; raises ``_Refused`` or ``UntrustedPeer``."""
        ssl_object = writer.get_extra_info("ssl_object")
        if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
            raise _Refused("no TLS session")
        identity = peer_identity(
            ssl_object,
            root_certificate=self._contexts.root_certificate,
            org_ca_certificates=self._org_ca_certificates,
        )
        node_id = identity.node_id
        who = f"node {_short(node_id)} of {identity.org}"
        if node_id == self.node_id:
            raise _Refused(f"{who} presents our own node id")
        if dialled is not None and node_id != dialled:
            raise _Refused(f"dialled node {_short(dialled)} but it presents {who}")
        if node_id not in self._peers and not self.limits.accept_unlisted_peers:
            raise _Refused(f"{who} is not in the peer table")
        if not self._is_member(node_id, identity.org):
            why = self._explain_refusal(node_id, identity.org) if self._explain_refusal else None
            raise _Refused(f"{who} is not a current member" + (f": {why}" if why else ""))
        return identity

    def _duplicate(self, node_id: NodeId) -> bool:
        """Whether an inbound link from ``node_id`` loses to one we initiated (module docstring)."""
        if min(self.node_id, node_id) != self.node_id:
            return False  # the peer's links are the preferred ones: the new inbound link wins
        existing = self._links.get(node_id)
        return node_id in self._dialling or (existing is not None and existing.initiator == self.node_id)

    async def _admit_inbound(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str
    ) -> None:
        try:
            identity = self._identify(writer, None)
        except UntrustedPeer as exc:
            self._log.warning("refused connection from %s: %s", address, exc)
            await _close_writer(writer, self.limits.close_timeout_ms)
            return
        except _Refused as exc:
            self._log.warning("refused connection from %s: %s", address, exc)
            await self._refuse(writer, str(exc))
            return
        if self._duplicate(identity.node_id):
            self._log.info(
                "refused connection from %s (node %s): duplicate of the link we initiate",
                address,
                _short(identity.node_id),
            )
            await self._refuse(writer, f"{_DUPLICATE}; keeping the one initiated by the smaller node id")
            return
        writer.write(encode_frame(GREETING_ACCEPT))
        self._start_link(_Link(identity, identity.node_id, address, reader, writer), "connection from")

    async def _admit_outbound(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str, node_id: NodeId
    ) -> _Link | None:
        try:
            identity = self._identify(writer, node_id)
        except (UntrustedPeer, _Refused) as exc:
            self._log.warning("refused connection to %s: %s", address, exc)
            await _close_writer(writer, self.limits.close_timeout_ms)
            return None
        decoder = FrameDecoder(self.limits.frame_size_bytes_max)
        try:
            greeting, early = await self._read_greeting(reader, decoder)
        except (OSError, TimeoutError, PeerFault) as exc:
            greeting, early = b"", []
            reason = _reason(exc) if isinstance(exc, OSError | TimeoutError) else str(exc)
        else:
            reason = greeting.removeprefix(GREETING_REFUSE).decode("utf-8", "replace")
        if greeting != GREETING_ACCEPT:
            # A duplicate is the normal outcome of dialling each other at once, not a problem.
            level = logging.INFO if reason.startswith(_DUPLICATE) else logging.WARNING
            self._log.log(
                level,
                "node %s of %s at %s refused the link: %s",
                _short(node_id),
                identity.org,
                address,
                reason,
            )
            await _close_writer(writer, self.limits.close_timeout_ms)
            return None
        link = _Link(identity, self.node_id, address, reader, writer, decoder=decoder, early_payloads=early)
        return self._start_link(link, "connection to")

    async def _read_greeting(
        self, reader: asyncio.StreamReader, decoder: FrameDecoder
    ) -> tuple[bytes, list[bytes]]:
        """The acceptor's first frame, and any frames that came in the same read."""
        async with asyncio.timeout(self.limits.handshake_timeout_ms / 1000):
            while True:
                data = await reader.read(self.limits.read_chunk_size_bytes)
                if not data:
                    raise ConnectionResetError("closed without a greeting")
                frames = decoder.feed(data)
                if frames:
                    if frames[0] != GREETING_ACCEPT and not frames[0].startswith(GREETING_REFUSE):
                        raise InvalidMessage("the first frame is not an alliance p2p greeting")
                    return frames[0], frames[1:]

    async def _refuse(self, writer: asyncio.StreamWriter, reason: str) -> None:
        """Tell the dialler why (it logs it), then close."""
        text = reason.encode("utf-8")[:_REFUSAL_SIZE_BYTES_MAX]
        writer.write(encode_frame(GREETING_REFUSE + text))
        await _close_writer(writer, self.limits.close_timeout_ms)

    def _start_link(self, link: _Link, direction: str) -> _Link | None:
        group = self._group
        if group is None or self._closing:  # no task may start
            link.writer.transport.abort()
            return None
        node_id = link.peer.node_id
        existing = self._links.get(node_id)
        if existing is not None:
            existing.close("replaced by a newer or preferred link")
        self._links[node_id] = link
        self._queues.setdefault(node_id, self._new_queue())
        self._unlinked_event(node_id).clear()
        link.task = group.create_task(self._run_link(link), name=f"alliance.p2p.link.{_short(node_id)}")
        # A task cancelled before its first step never runs its body, so its ``finally`` cannot be
        # relied on to forget the link and close the socket; a done callback always runs.
        link.task.add_done_callback(lambda _task: self._link_done(link))
        self._log.info(
            "linked with node %s of %s (%s %s)", _short(node_id), link.peer.org, direction, link.address
        )
        return link

    def _unregister(self, link: _Link) -> None:
        node_id = link.peer.node_id
        if self._links.get(node_id) is link:
            del self._links[node_id]
            self._unlinked_event(node_id).set()
            if node_id not in self._peers:
                self._queues.pop(node_id, None)
                self._unlinked.pop(node_id, None)
        link.finished.set()

    def _link_done(self, link: _Link) -> None:
        self._unregister(link)
        if not link.writer.transport.is_closing():
            link.writer.transport.abort()

    def _unlinked_event(self, node_id: NodeId) -> asyncio.Event:
        event = self._unlinked.get(node_id)
        if event is None:
            event = self._unlinked[node_id] = asyncio.Event()
            if node_id not in self._links:
                event.set()
        return event

    async def _run_link(self, link: _Link) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                writer_task = group.create_task(self._write_loop(link))
                try:
                    await self._read_loop(link)
                finally:
                    writer_task.cancel()
        finally:
            self._unregister(link)
            if link.close_reason is not None:
                self._log.info(
                    "link with node %s of %s closed: %s",
                    _short(link.peer.node_id),
                    link.peer.org,
                    link.close_reason,
                )
            await _close_writer(link.writer, self.limits.close_timeout_ms)

    async def _read_loop(self, link: _Link) -> None:
        decoder = link.decoder or FrameDecoder(self.limits.frame_size_bytes_max)
        node_id = link.peer.node_id
        for payload in link.early_payloads:
            link.received_frames += 1
            self._on_message(node_id, payload)
        while True:
            try:
                data = await link.reader.read(self.limits.read_chunk_size_bytes)
            except OSError as exc:
                link.close_reason = link.close_reason or f"read failed: {_reason(exc)}"
                return
            if not data:
                link.close_reason = link.close_reason or "the peer closed the connection"
                return
            try:
                for payload in decoder.feed(data):
                    link.received_frames += 1
                    self._on_message(node_id, payload)
            except PeerFault as exc:
                self._log.warning(
                    "dropping link with node %s of %s at %s: %s",
                    _short(node_id),
                    link.peer.org,
                    link.address,
                    exc,
                )
                link.close_reason = link.close_reason or f"peer fault: {exc}"
                return

    async def _write_loop(self, link: _Link) -> None:
        node_id = link.peer.node_id
        timeout_s = self.limits.write_timeout_ms / 1000
        while True:
            queue = self._queues.get(node_id)
            if queue is None:
                return
            await queue.nonempty.wait()
            if self._queues.get(node_id) is not queue:
                continue  # the peer was removed and maybe re-added while we waited
            frames = queue.take(_WRITE_BATCH_SIZE_BYTES_MAX)
            try:
                link.writer.write(b"".join(frames))
                async with asyncio.timeout(timeout_s):
                    await link.writer.drain()
            except (OSError, TimeoutError) as exc:
                link.close_reason = link.close_reason or f"write failed: {_reason(exc)}"
                link.writer.transport.abort()  # wakes the reader, which ends the link
                return


async def _close_writer(writer: asyncio.StreamWriter, timeout_ms: int, *, graceful: bool = True) -> None:
    """Close a stream: politely (TLS close_notify) within the timeout, else by abort.

    Always leaves the transport closed, even when cancelled, so no socket outlives its link.
    """
    if not graceful:
        writer.transport.abort()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(timeout_ms / 1000):
                await writer.wait_closed()
        return
    try:
        writer.close()
        async with asyncio.timeout(timeout_ms / 1000):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        writer.transport.abort()
    except BaseException:
        writer.transport.abort()
        raise


def _address_of(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


def _short(node_id: NodeId) -> str:
    return node_id.hex()[:16]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLError) and exc.strerror:
        return exc.strerror  # "[SSL: REASON] what happened (where)": already one clear line
    return str(exc) or type(exc).__name__


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("p2p transport stopped by an unexpected error", exc_info=task.exception())
