"""Byzantine behaviours: how a faulty validator bends what its (honest) core sends.

A Byzantine node runs a normal core and applies its behaviours to each outgoing message:

* ``silent``: sends nothing at all.
* ``withhold``: drops about half of its votes.
* ``double-vote``: with each vote also signs a conflicting one (another value or nil) and sends
  each peer one of the two at random.
* ``split-brain``: splits its peers into two groups per height; as proposer it signs a second,
  different block for the same height and round and shows each group its own block; it votes for
  group two's block towards group two. This is the equivocation that forks a chain whose quorum
  rule or locking is broken.
* ``wrong-height``: sometimes re-signs a vote for a height far ahead or behind.

Every forged message carries a valid signature of the Byzantine node's own key; what it cannot
forge is another node's signature.
"""

from __future__ import annotations

import random

import msgspec

from alliance.consensus.messages import NIL, Proposal, Vote, proposal_sign_bytes
from alliance.crypto.keys import NodeSigner
from alliance.ledger.block import Block, vote_sign_bytes


class Byzantine:
    def __init__(
        self, behaviours: tuple[str, ...], rng: random.Random, chain_id: str, signer: NodeSigner
    ) -> None:
        self.behaviours = set(behaviours)
        self._rng = rng
        self._chain_id = chain_id
        self._signer = signer
        self._groups: dict[int, set[bytes]] = {}
        self._alt: dict[tuple[int, int], bytes] = {}

    def _group_two(self, height: int, peers: list[bytes]) -> set[bytes]:
        group = self._groups.get(height)
        if group is None:
            shuffled = sorted(peers)
            self._rng.shuffle(shuffled)
            group = set(shuffled[: len(shuffled) // 2])
            self._groups[height] = group
            if len(self._groups) > 64:
                del self._groups[min(self._groups)]
        return group

    def _vote(self, vote: Vote, **changes: object) -> Vote:
        forged = msgspec.structs.replace(vote, **changes)
        message = vote_sign_bytes(
            self._chain_id, forged.vote_type, forged.height, forged.round, forged.block_hash
        )
        return msgspec.structs.replace(forged, signature=self._signer.sign(message))

    def transform(self, message: Proposal | Vote, peers: list[bytes]) -> list[tuple[bytes, Proposal | Vote]]:
        """What to send to whom instead of broadcasting ``message`` to ``peers``."""
        rng = self._rng
        if "silent" in self.behaviours:
            return []
        out: list[tuple[bytes, Proposal | Vote]] = [(p, message) for p in peers]
        if isinstance(message, Proposal):
            if "split-brain" in self.behaviours:
                group_two = self._group_two(message.height, peers)
                alt = self._alternative(message)
                out = [(p, alt if p in group_two else message) for p in peers]
            return out
        if "withhold" in self.behaviours and rng.random() < 0.5:
            return []
        if "split-brain" in self.behaviours:
            group_two = self._group_two(message.height, peers)
            alt_value = self._alt.get((message.height, message.round))
            if alt_value is not None and alt_value != message.block_hash:
                alt_vote = self._vote(message, block_hash=alt_value)
                out = [(p, alt_vote if p in group_two else message) for p in peers]
        elif "double-vote" in self.behaviours:
            other = NIL if message.block_hash != NIL else rng.randbytes(32)
            alt_vote = self._vote(message, block_hash=other)
            out = [(p, alt_vote if rng.random() < 0.5 else message) for p in peers]
        if "wrong-height" in self.behaviours and rng.random() < 0.2:
            height = max(1, message.height + rng.choice((-3, -1, 1, 2, 50, 10_000)))
            out.append((rng.choice(peers), self._vote(message, height=height)))
        return out

    def _alternative(self, proposal: Proposal) -> Proposal:
        """The same proposal for a different block: same transactions, another block time."""
        header = msgspec.structs.replace(proposal.block.header, time_ms=proposal.block.header.time_ms + 1)
        block = Block(header=header, txs=proposal.block.txs)
        block_hash = block.hash()
        self._alt[(proposal.height, proposal.round)] = block_hash
        if len(self._alt) > 256:
            del self._alt[min(self._alt)]
        sign_bytes = proposal_sign_bytes(
            self._chain_id, proposal.height, proposal.round, proposal.valid_round, block_hash
        )
        return msgspec.structs.replace(proposal, block=block, signature=self._signer.sign(sign_bytes))
