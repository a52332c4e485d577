"""Write-ahead log records of the consensus core.

Theory of operation: the WAL is the log of every input that changed the core's state (peer
proposals and votes, effective timeouts, the application's verdicts) plus every message the core
signed itself. Own messages have ``must_sync = True``: the runtime writes the records of a
``Ready`` in order and fsyncs after the last must-sync one *before* sending that ``Ready``'s
messages. An fsync makes every earlier record durable too, so after a crash only a tail of
unsynced inputs can be lost, and those inputs caused no signature.

``ConsensusCore.restore`` first collects every own message into a sign guard, then re-feeds the
records in order. Replay is a deterministic re-execution, so it rebuilds the same vote sets, locks,
round and step; the guard makes any vote or proposal the core would sign for a (height, round,
type) it already signed come out as the recorded one, so a node never signs two different values
for one slot, even across restarts (S3). Records below the restart height are skipped, so the
runtime may truncate the WAL lazily at height boundaries.
"""

from __future__ import annotations

from typing import ClassVar

from alliance.codec import Struct
from alliance.consensus.messages import Proposal, Vote
from alliance.ledger.block import Round
from alliance.ledger.transaction import Bytes32, Height


class WalPeerMessage(Struct, tag="peer", frozen=True):
    message: Proposal | Vote
    must_sync: ClassVar[bool] = False


class WalOwnMessage(Struct, tag="own", frozen=True):
    message: Proposal | Vote
    must_sync: ClassVar[bool] = True


class WalTimeout(Struct, tag="timeout", frozen=True):
    height: Height
    round: Round
    step: int
    must_sync: ClassVar[bool] = False


class WalVerdict(Struct, tag="verdict", frozen=True):
    height: Height
    block_hash: Bytes32
    accept: bool
    must_sync: ClassVar[bool] = False


WalRecord = WalPeerMessage | WalOwnMessage | WalTimeout | WalVerdict
"""Decode one stored record with ``codec.decode(WalRecord, data)``."""


def record_height(record: WalRecord) -> int:
    if isinstance(record, WalPeerMessage | WalOwnMessage):
        return record.message.height
    return record.height
