"""Records for the WAL tests, and the child process of the WAL crash test.

``make_record(seq)`` is a pure function of ``seq`` whose ``record_height`` is ``seq``, so a reader
can tell from a replay alone whether records are missing, duplicated, reordered or altered.

Run as a script (``python wal_crash_child.py DIR``) it opens the WAL in DIR, continues after the
last record it finds, and appends forever: an unsynced batch, then a synced one, then prints the
count of records made durable so far (every height below it) and flushes stdout. It rotates at
every multiple of ``ROTATE_EVERY_HEIGHTS`` and never lets a batch cross one, so the parent knows
exactly which records rotation may have removed.
"""

from __future__ import annotations

import hashlib
import random
import sys

from alliance.consensus.messages import Proposal, Vote, proposal_sign_bytes
from alliance.consensus.wal import (
    WalOwnMessage,
    WalPeerMessage,
    WalRecord,
    WalTimeout,
    WalVerdict,
    record_height,
)
from alliance.crypto.keys import NodeKey
from alliance.ledger.block import Block, Header, VoteType, vote_sign_bytes
from alliance.storage.wal import FileWal

CHAIN_ID = "wal-test"
ROTATE_EVERY_HEIGHTS = 25
CHILD_SEGMENT_BYTES_MAX = 16 * 1024
KEYS = [NodeKey(bytes([i + 1]) * 32) for i in range(4)]


def h32(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def signed_vote(key: NodeKey, vote_type: int, height: int, round_: int, block_hash: bytes) -> Vote:
    signature = key.sign(vote_sign_bytes(CHAIN_ID, vote_type, height, round_, block_hash))
    return Vote(vote_type, height, round_, block_hash, key.node_id, signature)


def signed_proposal(key: NodeKey, height: int, round_: int, txs: list[bytes]) -> Proposal:
    header = Header(
        chain_id=CHAIN_ID,
        height=height,
        time_ms=1_700_000_000_000 + height,
        prev_block_hash=h32(f"prev{height}"),
        tx_root=h32(f"txs{height}"),
        app_hash=h32("app"),
        last_results_hash=h32("results"),
        validators_hash=h32("validators"),
        proposer=key.node_id,
        last_commit_hash=b"",
    )
    block = Block(header=header, txs=txs)
    signature = key.sign(proposal_sign_bytes(CHAIN_ID, height, round_, -1, block.hash()))
    return Proposal(height, round_, -1, block, None, key.node_id, signature)


def make_record(seq: int) -> WalRecord:
    """A deterministic record of height ``seq``: every type, proposals of varied sizes."""
    rng = random.Random(seq)
    key = KEYS[seq % len(KEYS)]
    round_ = rng.randrange(4)
    kind = seq % 6
    if kind == 0:
        txs = [rng.randbytes(rng.randrange(1, 400)) for _ in range(rng.randrange(12))]
        return WalOwnMessage(signed_proposal(key, seq, round_, txs))
    if kind == 1:
        return WalPeerMessage(signed_vote(key, VoteType.PREVOTE, seq, round_, h32(f"b{seq}")))
    if kind == 2:
        return WalOwnMessage(signed_vote(key, VoteType.PRECOMMIT, seq, round_, b""))
    if kind == 3:
        return WalTimeout(seq, round_, rng.randrange(1, 4))
    if kind == 4:
        return WalVerdict(seq, h32(f"b{seq}"), rng.random() < 0.5)
    txs = [rng.randbytes(rng.randrange(1, 100)) for _ in range(rng.randrange(3))]
    return WalPeerMessage(signed_proposal(key, seq, round_, txs))


def run(directory: str) -> None:
    rng = random.Random()
    with FileWal(directory, segment_bytes_max=CHILD_SEGMENT_BYTES_MAX) as wal:
        found = wal.replay(0)
        seq = record_height(found[-1]) + 1 if found else 0
        while True:
            if seq % ROTATE_EVERY_HEIGHTS == 0:
                wal.rotate(seq)
            room = ROTATE_EVERY_HEIGHTS - seq % ROTATE_EVERY_HEIGHTS
            unsynced = min(rng.randrange(3), room - 1)
            synced = min(rng.randrange(1, 4), room - unsynced)
            wal.append([make_record(seq + i) for i in range(unsynced)], sync=False)
            seq += unsynced
            wal.append([make_record(seq + i) for i in range(synced)], sync=True)
            seq += synced
            print(seq, flush=True)


if __name__ == "__main__":
    run(sys.argv[1])
