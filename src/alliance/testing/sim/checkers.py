"""Checkers: the properties of spec/consensus.md, judged from outside the cores.

They read only what a node would show an auditor (its chain store: blocks, certificates; the
state root it reported after each block) and the simulation's own records (what honest nodes
sent, which transactions a client was told were committed), never the cores' internal bookkeeping.

Validator sets change (``valset``): the set that votes at height H is the one in state version
max(0, H - 2). Every node keeps a durable history of the sets its own state held
(``SimNode.valset_history``); each certificate is judged against its own height's set from the
history of the node that stores it, and those histories are compared with each other and with
the workload's model (the changes a client was told were committed).

* S1 agreement: no two honest nodes (validators, observers, removed validators alike) have
  different blocks at one height.
* S2 certificates: every stored certificate carries > 2/3 of its height's set's power in valid
  signatures, for the stored block's hash, and signatures of that set's members only; the
  block's header names that set's hash.
* S3 no honest double-sign: no honest node signed two different values for one (height, round,
  vote type), across crashes and restarts included; and no honest node signed a vote or a
  proposal at a height whose set does not hold it.
* S4 app hashes: honest nodes that executed a height reported the same state root for it, and
  every honest node's history of validator sets is the model's (the acknowledged changes, in
  order). The roots are each node's record made at every commit (``AuditedNode.app_hashes``), not
  the store's state versions: those are pruned, so a node whose state parted from the others' at
  an old height and then stopped would otherwise be compared on nothing.
* S5 durability: every transaction acknowledged as committed is in the ledger of every honest
  node that reached that height.
* L1 liveness: after the network heals and crashed nodes restart, every honest node (so the
  final set's honest validators too, and nodes outside it) commits new heights before the
  deadline (checked only while Byzantine power is below a third of every height's set).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from alliance import codec
from alliance.ledger.block import Block, CommitCertificate
from alliance.testing.sim.valset import ValsetHistory


class AuditedStore(Protocol):
    """What the checkers read of a node's chain store (``memstore.MemoryChainStore``)."""

    @property
    def block_hashes(self) -> Mapping[int, bytes]: ...

    @property
    def certificates(self) -> Mapping[int, bytes]: ...

    def block(self, height: int) -> bytes: ...

    def has_tx(self, tx_hash: bytes) -> bool: ...


class AuditedNode(Protocol):
    """What the checkers read of a node (``node.SimNode``; the unit tests build such states by hand)."""

    @property
    def index(self) -> int: ...

    @property
    def node_id(self) -> bytes: ...

    @property
    def height(self) -> int: ...

    @property
    def store(self) -> AuditedStore: ...

    @property
    def valset_history(self) -> ValsetHistory: ...

    @property
    def app_hashes(self) -> Mapping[int, bytes]:
        """The state root this node reported after executing each height (0: genesis)."""
        ...


@dataclass(frozen=True, slots=True)
class Violation:
    prop: str
    detail: str

    def __str__(self) -> str:
        return f"{self.prop}: {self.detail}"


def check_agreement(honest: Sequence[AuditedNode]) -> list[Violation]:
    out = []
    top = max((n.height for n in honest), default=0)
    for h in range(1, top + 1):
        hashes = {n.store.block_hashes[h] for n in honest if h in n.store.block_hashes}
        if len(hashes) > 1:
            out.append(Violation("S1", f"height {h} has {len(hashes)} different blocks among honest nodes"))
    return out


def check_certificates(honest: Sequence[AuditedNode], chain_id: str) -> list[Violation]:
    out = []
    for node in honest:
        for h, raw in node.store.certificates.items():
            validators = node.valset_history.voting_at(h)
            cert = codec.decode(CommitCertificate, raw)
            header = codec.decode(Block, node.store.block(h)).header
            outsiders = [s.node_id for s in cert.signatures if validators.power_of(s.node_id) == 0]
            if cert.height != h or cert.block_hash != node.store.block_hashes.get(h):
                out.append(Violation("S2", f"node {node.index} height {h}: certificate names another block"))
            elif not cert.verify(chain_id, validators):
                power = cert.signed_power(chain_id, validators)
                out.append(
                    Violation(
                        "S2", f"node {node.index} height {h}: {power}/{validators.total_power} power signed"
                    )
                )
            elif outsiders:
                names = ", ".join(o.hex()[:12] for o in outsiders)
                out.append(Violation("S2", f"node {node.index} height {h}: signed by non-validators {names}"))
            elif header.validators_hash != validators.hash():
                out.append(Violation("S2", f"node {node.index} height {h}: header names another set"))
    return out


def check_double_sign(signed: dict[tuple[int, int, int, int], set[bytes]]) -> list[Violation]:
    return [
        Violation("S3", f"honest node {node} signed {len(values)} values at height {h} round {r} type {t}")
        for (node, h, r, t), values in signed.items()
        if len(values) > 1
    ]


def check_signers_are_validators(
    honest: Sequence[AuditedNode], signed: dict[tuple[int, int, int, int], set[bytes]]
) -> list[Violation]:
    """No honest node signs at a height whose set does not hold it (a removed validator falls
    silent once its removal takes effect; an observer speaks only once its joining does)."""
    if not honest:
        return []
    # The most advanced honest node's history covers every height anyone signed at: signing at h
    # needs h - 1 committed, and the set of h is state version h - 2.
    reference = max(honest, key=lambda n: n.height).valset_history
    node_ids = {n.index: n.node_id for n in honest}
    out = []
    for (index, h, r, t), _ in sorted(signed.items()):
        node_id = node_ids.get(index)
        if node_id is not None and reference.voting_at(h).power_of(node_id) == 0:
            out.append(
                Violation(
                    "S3",
                    f"honest node {index} signed at height {h} round {r} type {t} "
                    "without being a validator of that height",
                )
            )
    return out


def check_validator_sets(honest: Sequence[AuditedNode], model: ValsetHistory) -> list[Violation]:
    """Every honest node's sets are the model's at every version it has executed."""
    out = []
    for node in honest:
        history = node.valset_history
        versions = {v for v, _ in history.changes()} | {v for v, _ in model.changes()}
        for version in sorted(v for v in versions if v <= node.height):
            if history.at_version(version) != model.at_version(version):
                detail = f"node {node.index}: validator set after block {version} is not the model's"
                out.append(Violation("S4", detail))
                break
    return out


def check_app_hashes(honest: Sequence[AuditedNode]) -> list[Violation]:
    out = []
    top = max((n.height for n in honest), default=0)
    for h in range(top + 1):
        roots = {node.app_hashes[h] for node in honest if h in node.app_hashes}
        if len(roots) > 1:
            out.append(Violation("S4", f"honest nodes disagree on the state root at height {h}"))
    return out


def check_acknowledged(honest: Sequence[AuditedNode], acknowledged: dict[bytes, int]) -> list[Violation]:
    return [
        Violation("S5", f"acked tx {tx_hash.hex()[:16]} (height {height}) missing at node {node.index}")
        for tx_hash, height in acknowledged.items()
        for node in honest
        if node.height >= height and not node.store.has_tx(tx_hash)
    ]


def check_liveness(honest: Sequence[AuditedNode], target_height: int, deadline_ms: float) -> list[Violation]:
    return [
        Violation("L1", f"node {n.index} at height {n.height}, below {target_height} by {deadline_ms:.0f} ms")
        for n in honest
        if n.height < target_height
    ]
