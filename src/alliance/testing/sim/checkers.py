"""Checkers: the properties of spec/consensus.md, judged from outside the cores.

They read only what a node would show an auditor (its chain store: blocks, certificates, state
roots) and the simulation's own records (what honest nodes sent, which transactions a client was
told were committed), never the cores' internal bookkeeping.

* S1 agreement: no two honest nodes have different blocks at one height.
* S2 certificates: every stored certificate carries > 2/3 of the validators' power in valid
  signatures, for the stored block's hash.
* S3 no honest double-sign: no honest node signed two different values for one (height, round,
  vote type), across crashes and restarts included.
* S4 app hashes: honest nodes agree on the state root at every height they both have.
* S5 durability: every transaction acknowledged as committed is in the ledger of every honest
  node that reached that height.
* L1 liveness: after the network heals and crashed nodes restart, every honest node commits new
  heights before the deadline (checked only while Byzantine power is below one third).
"""

from __future__ import annotations

from dataclasses import dataclass

from alliance import codec
from alliance.ledger.block import CommitCertificate
from alliance.ledger.validators import ValidatorSet
from alliance.testing.sim.node import SimNode


@dataclass(frozen=True, slots=True)
class Violation:
    prop: str
    detail: str

    def __str__(self) -> str:
        return f"{self.prop}: {self.detail}"


def check_agreement(honest: list[SimNode]) -> list[Violation]:
    out = []
    top = max((n.height for n in honest), default=0)
    for h in range(1, top + 1):
        hashes = {n.store.block_hashes[h] for n in honest if h in n.store.block_hashes}
        if len(hashes) > 1:
            out.append(Violation("S1", f"height {h} has {len(hashes)} different blocks among honest nodes"))
    return out


def check_certificates(honest: list[SimNode], chain_id: str, validators: ValidatorSet) -> list[Violation]:
    out = []
    for node in honest:
        for h, raw in node.store.certificates.items():
            cert = codec.decode(CommitCertificate, raw)
            if cert.height != h or cert.block_hash != node.store.block_hashes.get(h):
                out.append(Violation("S2", f"node {node.index} height {h}: certificate names another block"))
            elif not cert.verify(chain_id, validators):
                power = cert.signed_power(chain_id, validators)
                out.append(
                    Violation(
                        "S2", f"node {node.index} height {h}: {power}/{validators.total_power} power signed"
                    )
                )
    return out


def check_double_sign(signed: dict[tuple[int, int, int, int], set[bytes]]) -> list[Violation]:
    return [
        Violation("S3", f"honest node {node} signed {len(values)} values at height {h} round {r} type {t}")
        for (node, h, r, t), values in signed.items()
        if len(values) > 1
    ]


def check_app_hashes(honest: list[SimNode]) -> list[Violation]:
    out = []
    top = max((n.height for n in honest), default=0)
    for h in range(top + 1):
        roots = set()
        for node in honest:
            if node.height >= h and node.store.get_root(h) is not None:
                roots.add(node.store.get_root(h))
        if len(roots) > 1:
            out.append(Violation("S4", f"honest nodes disagree on the state root at height {h}"))
    return out


def check_acknowledged(honest: list[SimNode], acknowledged: dict[bytes, int]) -> list[Violation]:
    return [
        Violation("S5", f"acked tx {tx_hash.hex()[:16]} (height {height}) missing at node {node.index}")
        for tx_hash, height in acknowledged.items()
        for node in honest
        if node.height >= height and not node.store.has_tx(tx_hash)
    ]


def check_liveness(honest: list[SimNode], target_height: int, deadline_ms: float) -> list[Violation]:
    return [
        Violation("L1", f"node {n.index} at height {n.height}, below {target_height} by {deadline_ms:.0f} ms")
        for n in honest
        if n.height < target_height
    ]
