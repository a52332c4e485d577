"""Consensus messages on the wire: ``Proposal`` and ``Vote``.

Theory of operation: both are canonical, tagged msgspec Structs, so ``codec.decode(Message, b)``
gives back exactly one of them and ``codec.encode`` is what travels. A vote signs
``vote_sign_bytes(chain_id, type, height, round, block_hash)`` from ``alliance.ledger.block``, the
same bytes a commit certificate's signatures cover, so precommits become certificate entries
unchanged. A nil vote has ``block_hash == b""``.

A proposal signs (chain id, height, round, valid round, block hash) under the PROPOSAL domain;
the block's header commits to everything else. It carries the full block and the certificate
for the previous height that ``header.last_commit_hash`` names, so a receiver can check the
chain link without any state but the previous validator set. ``valid_round`` is -1 for a fresh
value and the paper's ``validRound`` for a re-proposal.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from alliance import codec
from alliance.codec import Struct
from alliance.crypto.hashing import Domain
from alliance.ledger.block import Block, CommitCertificate, Round, SignatureBytes64, VoteType, vote_sign_bytes
from alliance.ledger.transaction import Height
from alliance.ledger.validators import NodeIdBytes

NIL = b""
"""The value of a vote for nil."""

BlockHashOrNil = Annotated[bytes, msgspec.Meta(max_length=32)]
ValidRound = Annotated[int, msgspec.Meta(ge=-1, lt=2**31)]
VOTE_TYPES = (VoteType.PREVOTE, VoteType.PRECOMMIT)


class Vote(Struct, tag="vote", frozen=True):
    vote_type: int
    height: Height
    round: Round
    block_hash: BlockHashOrNil
    node_id: NodeIdBytes
    signature: SignatureBytes64

    def sign_bytes(self, chain_id: str) -> bytes:
        return vote_sign_bytes(chain_id, self.vote_type, self.height, self.round, self.block_hash)


class ProposalSignBody(Struct, frozen=True):
    chain_id: str
    height: int
    round: int
    valid_round: int
    block_hash: bytes


def proposal_sign_bytes(
    chain_id: str, height: int, round_: int, valid_round: int, block_hash: bytes
) -> bytes:
    """The exact bytes a proposer signs for a proposal."""
    body = ProposalSignBody(chain_id, height, round_, valid_round, block_hash)
    return Domain.PROPOSAL.value + codec.encode(body)


class Proposal(Struct, tag="proposal", frozen=True):
    height: Height
    round: Round
    valid_round: ValidRound
    block: Block
    last_commit: CommitCertificate | None
    proposer: NodeIdBytes
    signature: SignatureBytes64

    def sign_bytes(self, chain_id: str, block_hash: bytes) -> bytes:
        return proposal_sign_bytes(chain_id, self.height, self.round, self.valid_round, block_hash)


Message = Proposal | Vote
"""What peers exchange; decode with ``codec.decode(Message, data)``."""


def vote_type_name(vote_type: int) -> str:
    return {VoteType.PREVOTE: "prevote", VoteType.PRECOMMIT: "precommit"}.get(vote_type, f"type{vote_type}")
