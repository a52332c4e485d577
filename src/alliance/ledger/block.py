"""Headers, blocks, commit certificates and receipts.

Theory of operation: blocks are hash-linked through ``prev_block_hash``; a block's hash is the
domain-separated hash of its header alone, and the header commits to everything else: the
transactions through ``tx_root`` (a Merkle root over the raw transaction bytes), the state after
the previous block through ``app_hash`` (execution is pipelined one block behind, as in CometBFT),
the previous block's receipts through ``last_results_hash``, the validator set through
``validators_hash`` and the certificate that committed the previous block through
``last_commit_hash``. Rewriting any of it changes every later block hash, which every node and
light client can see.

A node checks a proposed block's transactions against its ``tx_root`` in consensus and again in
the application (each validates on its own); hashing 10,000 transactions twice showed up in
profiles, so the last root that matched is remembered with a copy of its list, and a block whose
list equals that copy element for element (identical objects compare at once) and carries the same
root is known to match without hashing again.

Block time: a proposed block's ``time_ms`` must be later than its parent's and, by the checking
node's own clock, at most ``BLOCK_TIME_AHEAD_MS_MAX`` in the future (``block_time_problem``).
Without the first rule time could run backwards. Without the second, one byzantine proposer could
set a time near the largest encodable value, after which no honest proposer could choose a later
one and the chain would stop. Honest proposers take ``next_block_time_ms``: their clock, or one
past the parent's time if that is later.

A commit certificate is the set of precommit signatures for one block hash at one height and
round. Each validator signs ``vote_sign_bytes``; consensus produces the signatures and a light
client checks them against the validator set without any other state.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from alliance import codec
from alliance.codec import Struct
from alliance.crypto import merkle
from alliance.crypto.hashing import Domain, hash_domain
from alliance.crypto.keys import verify_node_signature
from alliance.ledger.transaction import Bytes32, Height, Name
from alliance.ledger.validators import NodeIdBytes, ValidatorSet

BLOCK_TXS_MAX = 100_000
MESSAGE_SIZE_BYTES_MAX = 16 * 1024 * 1024
"""One message between nodes (a wire frame) and one consensus WAL record: a proposal carries a
whole block, a sync answer at least one."""
BLOCK_TXS_BYTES_MAX = 12 * 1024 * 1024
"""The most the transactions of one block may add up to, whatever governance votes: a proposal
carries them with its header, its certificate and per-transaction framing inside one message
(``MESSAGE_SIZE_BYTES_MAX``; tests/test_bounds.py checks the arithmetic)."""
EVENTS_PER_TX_MAX = 256
SignatureBytes64 = Annotated[bytes, msgspec.Meta(min_length=64, max_length=64)]
TimeMs = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Round = Annotated[int, msgspec.Meta(ge=0, lt=2**31)]
EMPTY = b""
# How far ahead of a validator's clock a proposed block's time may be. Clock skew between honest
# nodes must stay below it (NTP keeps it to milliseconds); a proposer further ahead is refused.
BLOCK_TIME_AHEAD_MS_MAX = 10_000


def next_block_time_ms(now_ms: int, parent_time_ms: int) -> int:
    """The time an honest proposer gives its block: its clock, kept strictly after the parent's."""
    return max(now_ms, parent_time_ms + 1)


def block_time_problem(time_ms: int, parent_time_ms: int, now_ms: int | None) -> str | None:
    """Why a proposed block's time is unacceptable, or None. ``now_ms`` None skips the bound
    against the checker's clock (the simulator, whose clocks model drifting timers, not offsets)."""
    if time_ms <= parent_time_ms:
        return f"block time {time_ms} ms is not after its parent's ({parent_time_ms} ms)"
    if now_ms is not None and time_ms > now_ms + BLOCK_TIME_AHEAD_MS_MAX:
        ahead_ms = time_ms - now_ms
        return f"block time is {ahead_ms} ms ahead of this node's clock (at most {BLOCK_TIME_AHEAD_MS_MAX})"
    return None


class Header(Struct):
    chain_id: Name
    height: Height
    time_ms: TimeMs
    prev_block_hash: bytes
    tx_root: Bytes32
    app_hash: Bytes32
    last_results_hash: Bytes32
    validators_hash: Bytes32
    proposer: NodeIdBytes
    last_commit_hash: bytes

    def hash(self) -> bytes:
        return hash_domain(Domain.BLOCK_HEADER, codec.encode(self))


class Block(Struct):
    header: Header
    txs: Annotated[list[bytes], msgspec.Meta(max_length=BLOCK_TXS_MAX)]

    def hash(self) -> bytes:
        return self.header.hash()

    def txs_match_root(self) -> bool:
        global _last_matched  # noqa: PLW0603 - a one-entry memo; see the module docstring
        root = self.header.tx_root
        memo = _last_matched
        if memo is not None and memo[0] == root and memo[1] == self.txs:
            return True
        if merkle.merkle_root(self.txs) != root:
            return False
        _last_matched = (root, list(self.txs))  # a copy: a later change to self.txs cannot hide
        return True


_last_matched: tuple[bytes, list[bytes]] | None = None


class VoteType:
    PREVOTE = 1
    PRECOMMIT = 2


class VoteSignBody(Struct):
    chain_id: str
    vote_type: int
    height: int
    round: int
    block_hash: bytes  # empty for a vote for nil


def vote_sign_bytes(chain_id: str, vote_type: int, height: int, round_: int, block_hash: bytes) -> bytes:
    """The exact bytes a validator signs for a vote."""
    body = VoteSignBody(
        chain_id=chain_id, vote_type=vote_type, height=height, round=round_, block_hash=block_hash
    )
    return Domain.VOTE.value + codec.encode(body)


class CommitSig(Struct):
    node_id: NodeIdBytes
    signature: SignatureBytes64


class CommitCertificate(Struct):
    height: Height
    round: Round
    block_hash: Bytes32
    signatures: Annotated[list[CommitSig], msgspec.Meta(max_length=1000)]

    def hash(self) -> bytes:
        return hash_domain(Domain.COMMIT, codec.encode(self))

    def signed_power(self, chain_id: str, validators: ValidatorSet) -> int:
        """Voting power of the distinct validators whose precommit signatures verify."""
        message = vote_sign_bytes(chain_id, VoteType.PRECOMMIT, self.height, self.round, self.block_hash)
        seen: set[bytes] = set()
        power = 0
        for sig in self.signatures:
            if sig.node_id in seen:
                continue
            # Seen before the check: a certificate repeating a validator with bad signatures costs
            # one verification per validator, not one per entry (a peer can send any certificate).
            seen.add(sig.node_id)
            p = validators.power_of(sig.node_id)
            if p and verify_node_signature(sig.node_id, message, sig.signature):
                power += p
        return power

    def verify(self, chain_id: str, validators: ValidatorSet) -> bool:
        """True when more than 2/3 of ``validators``' power signed this block hash."""
        return 3 * self.signed_power(chain_id, validators) > 2 * validators.total_power


class Event(Struct):
    emitter: Name
    name: Name
    data: bytes


RESULT_SIZE_BYTES_MAX = 64 * 1024


class Receipt(Struct):
    """What one transaction did. ``status``, ``gas_used``, ``events`` and ``result`` (the called
    method's answer, canonical bytes; empty when it has none) are consensus: they are hashed into
    the next header's ``last_results_hash``. ``error`` is a message for people, stored beside them
    but *not* hashed (``hashed_form``): its wording may come from a library or the interpreter
    (a decoder's message, a Unicode table), which differ between the versions members run, and a
    wording change must never split the chain. The ``status`` code says what failed."""

    status: str  # "ok" or the error's stable code
    gas_used: int
    events: Annotated[list[Event], msgspec.Meta(max_length=EVENTS_PER_TX_MAX)]
    error: str
    result: Annotated[bytes, msgspec.Meta(max_length=RESULT_SIZE_BYTES_MAX)] = b""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def hashed_form(self) -> Receipt:
        """The receipt as the results hash sees it: without the message."""
        return self if not self.error else msgspec.structs.replace(self, error="")


def results_hash(receipts: list[Receipt]) -> bytes:
    """Merkle root of the canonical hashed forms of one block's receipts, in transaction order."""
    return merkle.merkle_root([codec.encode(r.hashed_form()) for r in receipts])


def tx_root(txs: list[bytes]) -> bytes:
    return merkle.merkle_root(txs)
