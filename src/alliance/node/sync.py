"""Block sync: how a node that fell behind fetches decided blocks from its peers (sans-IO).

Theory of operation
-------------------
Consensus hands a node the blocks it takes part in deciding; a node that was down, partitioned or
is only an observer gets the rest by block sync. Every node tells its peers its last committed
height (``PeerHeight``, once a housekeeping tick); a node that sees a peer ahead asks that peer for
the blocks it lacks (``SyncRequest``) and checks each block it gets (``SyncBlocks``) before it is
applied: the certificate must certify this very block and verify against the validator set of its
height, the block must extend the node's own last block, and its transactions must match its root.
The node that applies a block also checks its header against its own state (the driver does that,
see ``node.driver``): block sync never makes a node carry on from a state that differs from the
chain's.

This module holds the protocol's state and decisions and nothing else: no clock (times come in as
``now_ms`` arguments), no sockets (requests and answers are returned as values), no randomness of
its own (a ``Chooser`` is passed in). The node runtime and the simulator's node both drive it
through ``node.driver.NodeDriver``, so the simulator tests the very code a node runs.

Against hostile or failing peers (docs/architecture.md, "bounds"):

- one request is in flight at a time; a peer that lets it time out, or answers with nothing of
  use, is asked again only when no other peer is ahead, for ``peer_penalty_ms``: one peer claiming
  a height it does not have would otherwise draw every request;
- an answer nobody asked for is dropped before anything in it is hashed or checked;
- the certificate is checked before the transactions are hashed (the cheaper check first: a forged
  answer costs one signature check per validator, not a hash over up to ``block_size_bytes_max``);
- what this node sends one peer in answers is paced by a token bucket of bytes, so a stream of
  12-byte requests cannot make it send without bound;
- a late but honest answer (blocks consensus decided meanwhile) is not held against the peer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from alliance import codec
from alliance.errors import DecodeError
from alliance.ledger.block import Block, CommitCertificate
from alliance.ledger.validators import ValidatorSet
from alliance.node.wire import SYNC_BLOCKS_MAX, WIRE_SIZE_BYTES_MAX, SyncBlocks, SyncedBlock, SyncRequest
from alliance.types import invariant

logger = logging.getLogger("alliance.node.sync")

T = TypeVar("T")

SYNC_ANSWER_BYTES_MAX = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """Block sync's bounds and pacing; one set for the runtime and the simulator."""

    blocks_per_request_max: int = SYNC_BLOCKS_MAX
    request_timeout_ms: int = 3_000
    stall_ms: int = 3_000
    """No commit for this long: fetch even one block behind (consensus may not be reaching us)."""
    peer_penalty_ms: int = 30_000
    answer_bytes_max: int = SYNC_ANSWER_BYTES_MAX
    """One answer's size (a shorter answer makes the requester ask again from where it ends)."""
    answer_bytes_per_s: int = SYNC_ANSWER_BYTES_MAX
    """Token bucket per peer, burst and rate: an honest node asks once at a time and executes what
    it got before asking again; 8 MiB a second is ~4 full blocks, more than it executes meanwhile."""
    block_size_bytes_max: int = WIRE_SIZE_BYTES_MAX

    def __post_init__(self) -> None:
        invariant(1 <= self.blocks_per_request_max <= SYNC_BLOCKS_MAX, "blocks per request out of range")
        invariant(self.answer_bytes_max <= WIRE_SIZE_BYTES_MAX, "a sync answer must fit a frame")
        invariant(self.request_timeout_ms > 0 and self.peer_penalty_ms >= 0, "sync times are positive")


class Chooser(Protocol):
    """Picks one item (``random.Random`` is one); seeded in the simulator."""

    def choice(self, items: Sequence[T]) -> T: ...


class SyncTarget(Protocol):
    """What block sync needs of the node it fills (``NodeDriver`` implements it)."""

    @property
    def height(self) -> int: ...

    @property
    def last_block_hash(self) -> bytes: ...

    @property
    def chain_id(self) -> str: ...

    def validators_at(self, height: int) -> ValidatorSet: ...

    def apply_synced(self, block: Block, certificate: CommitCertificate) -> bool:
        """Apply a checked block; False when the node refused it and stopped (its state differs)."""
        ...


@dataclass(slots=True)
class PeerSync:
    """What sync knows of one peer."""

    height: int | None = None
    failed_at_ms: float | None = None  # its last failed request (timed out or useless)
    budget_bytes: float = SYNC_ANSWER_BYTES_MAX  # what it may still be sent in answers
    budget_at_ms: float = 0.0  # when the budget was last brought up to date


@dataclass(frozen=True, slots=True)
class InFlight:
    """The one request this node has out."""

    peer: bytes
    asked_at_ms: float
    from_height: int


@dataclass(slots=True)
class SyncOutcome:
    """What one answer did: blocks applied and the peer's fault, if it committed one."""

    applied: int = 0
    fault: str | None = None
    stopped: bool = False  # the node refused a block against its own state and stopped


@dataclass(slots=True)
class SyncStatistics:
    faults: int = 0
    requests_unanswered: int = 0  # peers' requests over their answer budget
    answers_unsolicited: int = 0  # answers dropped because no request of ours asked for them
    blocks_applied: int = 0
    penalties: int = 0


@dataclass(slots=True)
class BlockSync:
    """The block-sync protocol of one node: its peers' heights, its request, its answer budgets."""

    config: SyncConfig = field(default_factory=SyncConfig)
    peers: dict[bytes, PeerSync] = field(default_factory=dict)
    in_flight: InFlight | None = None
    stats: SyncStatistics = field(default_factory=SyncStatistics)

    # --- what peers tell us ------------------------------------------------------------------------

    def peer(self, node_id: bytes) -> PeerSync:
        state = self.peers.get(node_id)
        if state is None:
            state = self.peers[node_id] = PeerSync(budget_bytes=self.config.answer_bytes_per_s)
        return state

    def peer_height(self, node_id: bytes, height: int) -> None:
        self.peer(node_id).height = height

    # --- asking ------------------------------------------------------------------------------------

    def next_request(
        self,
        now_ms: float,
        own_height: int,
        connected: frozenset[bytes],
        *,
        takes_part: bool,
        last_progress_ms: float,
        chooser: Chooser,
    ) -> tuple[bytes, SyncRequest] | None:
        """The request to send now, if any. ``takes_part``: this node votes at the next height, so
        one height behind it waits for consensus rather than fetching (unless progress stalled)."""
        config = self.config
        in_flight = self.in_flight
        if in_flight is not None:
            if now_ms - in_flight.asked_at_ms < config.request_timeout_ms:
                return None
            self.in_flight = None
            self._penalise(in_flight.peer, now_ms, "did not answer a block-sync request in time")
        ahead = [
            (state.height, node_id)
            for node_id, state in self.peers.items()
            if state.height is not None and state.height > own_height and node_id in connected
        ]
        trusted = [(h, node_id) for h, node_id in ahead if self._in_good_standing(node_id, now_ms)]
        ahead = trusted or ahead  # a penalised peer still beats none
        if not ahead:
            return None
        best = max(height for height, _ in ahead)
        stalled = now_ms - last_progress_ms > config.stall_ms
        if best <= own_height + 1 and takes_part and not stalled:
            return None  # one behind: consensus hands a validator that decision
        target = chooser.choice(sorted(node_id for height, node_id in ahead if height == best))
        count = min(config.blocks_per_request_max, best - own_height)
        return target, SyncRequest(from_height=own_height + 1, count_max=count)

    def sent(self, peer: bytes, request: SyncRequest, now_ms: float) -> None:
        """The request went out (the transport took it)."""
        self.in_flight = InFlight(peer, now_ms, request.from_height)

    def reset(self) -> None:
        """Forget the request in flight (the node's height moved by other means)."""
        self.in_flight = None

    def _in_good_standing(self, node_id: bytes, now_ms: float) -> bool:
        failed_at = self.peer(node_id).failed_at_ms
        return failed_at is None or now_ms - failed_at > self.config.peer_penalty_ms

    def _penalise(self, node_id: bytes, now_ms: float, reason: str) -> None:
        self.peer(node_id).failed_at_ms = now_ms
        self.stats.penalties += 1
        seconds = self.config.peer_penalty_ms / 1000
        who = node_id.hex()[:12]
        logger.info("block sync: peer %s %s; asking others first for %.0f s", who, reason, seconds)

    # --- answering ---------------------------------------------------------------------------------

    def answer(
        self,
        peer: bytes,
        request: SyncRequest,
        now_ms: float,
        own_height: int,
        read: Callable[[int], tuple[bytes, bytes]],
    ) -> SyncBlocks | None:
        """Our answer to a peer's request, within its byte budget; None when there is nothing to
        send or the budget is spent (the requester times out and asks another peer)."""
        config = self.config
        state = self.peer(peer)
        refill = (now_ms - state.budget_at_ms) / 1000 * config.answer_bytes_per_s
        budget = min(float(config.answer_bytes_per_s), state.budget_bytes + refill)
        state.budget_at_ms = now_ms
        state.budget_bytes = budget
        if budget <= 0:
            self.stats.requests_unanswered += 1
            return None
        size_max = min(config.answer_bytes_max, budget)
        last = min(own_height, request.from_height + request.count_max - 1)
        blocks: list[SyncedBlock] = []
        size = 0
        for height in range(request.from_height, last + 1):
            raw_block, raw_cert = read(height)
            if blocks and size + len(raw_block) + len(raw_cert) > size_max:
                break  # a shorter answer: the requester asks again from where it ends
            blocks.append(SyncedBlock(block=raw_block, certificate=raw_cert))
            size += len(raw_block) + len(raw_cert)
        if not blocks:
            return None
        state.budget_bytes = budget - size
        return SyncBlocks(blocks=blocks)

    # --- receiving ---------------------------------------------------------------------------------

    def accept(
        self, peer: bytes, blocks: Sequence[SyncedBlock], now_ms: float, target: SyncTarget
    ) -> SyncOutcome:
        """Check and apply the blocks of an answer, in order, stopping at the first that fails."""
        in_flight = self.in_flight
        if in_flight is None or in_flight.peer != peer:
            self.stats.answers_unsolicited += 1
            return SyncOutcome()  # nobody asked: not even decoded
        self.in_flight = None
        outcome = SyncOutcome()
        known = 0  # blocks asked for that consensus decided meanwhile: an honest, late answer
        for item in blocks:
            try:
                block = codec.decode(Block, item.block, size_bytes_max=self.config.block_size_bytes_max)
                cert = codec.decode(CommitCertificate, item.certificate)
            except DecodeError as exc:
                outcome.fault = f"sent an undecodable block: {exc.message}"
                break
            height = block.header.height
            if height <= target.height:
                known += height >= in_flight.from_height
                continue
            if height != target.height + 1:
                break  # a gap: ask again from where we are
            outcome.fault = synced_block_fault(block, cert, target)
            if outcome.fault is not None:
                break
            if not target.apply_synced(block, cert):
                outcome.stopped = True
                break
            outcome.applied += 1
        self.stats.blocks_applied += outcome.applied
        if outcome.fault is not None:
            self.stats.faults += 1
        if not outcome.applied and not known and not outcome.stopped:
            reason = outcome.fault or "answered a block-sync request with no usable block"
            self._penalise(peer, now_ms, reason)
        return outcome


def synced_block_fault(block: Block, cert: CommitCertificate, target: SyncTarget) -> str | None:
    """Why a block a peer sent cannot be the chain's next block, or None. Cheap checks first: the
    certificate's binding and signatures before the hash over the transactions."""
    height = block.header.height
    if cert.height != height or cert.block_hash != block.hash():
        return f"sent a certificate that does not match block {height}"
    if block.header.prev_block_hash != target.last_block_hash:
        return f"sent block {height} that does not extend our block {height - 1}"
    if block.header.chain_id != target.chain_id:
        return f"sent block {height} of chain {block.header.chain_id!r}"
    if not cert.verify(target.chain_id, target.validators_at(height)):
        return f"sent block {height} without a quorum certificate"
    if not block.txs_match_root():
        return f"sent block {height} whose transactions do not match its root"
    return None
