"""What nodes say to each other: one tagged union of canonical messages per transport frame.

Theory of operation: a frame's payload is ``codec.encode`` of exactly one ``WireMessage``. The
consensus messages (``Proposal``, ``Vote``) travel as they are; the rest serve the runtime:

- ``TxBatch``: transactions a node admitted from its clients, forwarded once to every peer (the
  validators form a full mesh, so nobody needs to forward again);
- ``PeerHeight``: a node's last committed height, sent every second, so a peer that fell behind
  learns whom to ask;
- ``SyncRequest`` / ``SyncBlocks``: block sync. Blocks and certificates travel as their stored
  canonical bytes; the receiver decodes and checks each against its certificate before applying.

Every list is bounded here, and the frame size bounds the whole.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from alliance import codec
from alliance.codec import Struct
from alliance.consensus.messages import Proposal, Vote
from alliance.errors import DecodeError, InvalidMessage
from alliance.ledger.block import MESSAGE_SIZE_BYTES_MAX
from alliance.ledger.transaction import Height

TX_BATCH_TXS_MAX = 20_000
SYNC_BLOCKS_MAX = 100
WIRE_SIZE_BYTES_MAX = MESSAGE_SIZE_BYTES_MAX


class TxBatch(Struct, tag="txs", frozen=True):
    txs: Annotated[list[bytes], msgspec.Meta(max_length=TX_BATCH_TXS_MAX)]


class PeerHeight(Struct, tag="height", frozen=True):
    height: Height


class SyncRequest(Struct, tag="sync_req", frozen=True):
    from_height: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    count_max: Annotated[int, msgspec.Meta(ge=1, le=SYNC_BLOCKS_MAX)]


class SyncedBlock(Struct, frozen=True):
    block: bytes
    certificate: bytes


class SyncBlocks(Struct, tag="sync_blocks", frozen=True):
    blocks: Annotated[list[SyncedBlock], msgspec.Meta(max_length=SYNC_BLOCKS_MAX)]


WireMessage = Proposal | Vote | TxBatch | PeerHeight | SyncRequest | SyncBlocks


def decode_wire(payload: bytes) -> WireMessage:
    """Decode one frame's payload; a peer that sends anything else committed a ``PeerFault``."""
    try:
        return codec.decode(WireMessage, payload, size_bytes_max=WIRE_SIZE_BYTES_MAX)  # type: ignore[arg-type]
    except DecodeError as exc:
        raise InvalidMessage(f"undecodable peer message: {exc.message}") from None
