"""Each checker of the simulator fires on a hand-built state that violates its property, and stays
quiet on the same state without the fault (audit M6).

The states are small chains of real blocks and certificates (real Ed25519 signatures of four
validators), held by stand-ins for ``SimNode`` that have exactly what the checkers read
(``checkers.AuditedNode``). Every test starts from a consistent cluster that passes every checker
and changes one thing. Real runs that make each checker fire are in ``test_broken_variants.py``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pytest

from alliance import codec
from alliance.consensus.messages import NIL
from alliance.crypto.keys import NodeKey
from alliance.ledger.block import Block, CommitCertificate, CommitSig, Header, VoteType, vote_sign_bytes
from alliance.ledger.validators import Validator, ValidatorSet
from alliance.testing.sim import checkers
from alliance.testing.sim.valset import ValsetHistory

CHAIN_ID = "sim-checkers"
KEYS = [NodeKey(bytes([i + 1]) * 32) for i in range(4)]
OUTSIDER = NodeKey(b"\x77" * 32)
VALIDATORS = ValidatorSet.of([Validator(node_id=k.node_id, power=1) for k in KEYS])
HEIGHTS = 4
TX_AT_2 = b"\x02" * 32  # a transaction committed at height 2


@dataclass
class _Store:
    block_hashes: dict[int, bytes] = field(default_factory=dict)
    certificates: dict[int, bytes] = field(default_factory=dict)
    blocks: dict[int, bytes] = field(default_factory=dict)
    txs: set[bytes] = field(default_factory=set)

    def block(self, height: int) -> bytes:
        return self.blocks[height]

    def has_tx(self, tx_hash: bytes) -> bool:
        return tx_hash in self.txs


@dataclass
class _Node:
    index: int
    node_id: bytes
    store: _Store
    valset_history: ValsetHistory
    app_hashes: dict[int, bytes]

    @property
    def height(self) -> int:
        return max(self.store.block_hashes, default=0)


def _block(height: int, *, validators: ValidatorSet = VALIDATORS, time_ms: int = 0) -> Block:
    header = Header(
        chain_id=CHAIN_ID,
        height=height,
        time_ms=1_000 * height + time_ms,
        prev_block_hash=b"",
        tx_root=b"\x00" * 32,
        app_hash=b"\x00" * 32,
        last_results_hash=b"\x00" * 32,
        validators_hash=validators.hash(),
        proposer=KEYS[0].node_id,
        last_commit_hash=b"",
    )
    return Block(header=header, txs=[])


def _certificate(height: int, block_hash: bytes, signers: list[NodeKey]) -> bytes:
    message = vote_sign_bytes(CHAIN_ID, VoteType.PRECOMMIT, height, 0, block_hash)
    signatures = [CommitSig(node_id=k.node_id, signature=k.sign(message)) for k in signers]
    certificate = CommitCertificate(height=height, round=0, block_hash=block_hash, signatures=signatures)
    return codec.encode(certificate)


def _put(store: _Store, block: Block, signers: list[NodeKey] | None = None) -> None:
    height = block.header.height
    store.blocks[height] = codec.encode(block)
    store.block_hashes[height] = block.hash()
    signers = signers if signers is not None else KEYS[:3]
    store.certificates[height] = _certificate(height, block.hash(), signers)


def _cluster() -> list[_Node]:
    """Four honest nodes with the same four blocks, certificates, state roots and sets."""
    store = _Store()
    for h in range(1, HEIGHTS + 1):
        _put(store, _block(h))
    store.txs = {TX_AT_2}
    roots = {h: bytes([h]) * 32 for h in range(HEIGHTS + 1)}
    return [
        _Node(i, k.node_id, copy.deepcopy(store), ValsetHistory(VALIDATORS), dict(roots))
        for i, k in enumerate(KEYS)
    ]


def _all_checks(nodes: list[_Node], signed: dict[tuple[int, int, int, int], set[bytes]]) -> list[str]:
    model = ValsetHistory(VALIDATORS)
    found = [
        *checkers.check_agreement(nodes),
        *checkers.check_certificates(nodes, CHAIN_ID),
        *checkers.check_double_sign(signed),
        *checkers.check_signers_are_validators(nodes, signed),
        *checkers.check_validator_sets(nodes, model),
        *checkers.check_app_hashes(nodes),
        *checkers.check_acknowledged(nodes, {TX_AT_2: 2}),
        *checkers.check_liveness(nodes, HEIGHTS, 1_000.0),
    ]
    return [str(v) for v in found]


def _honest_signatures() -> dict[tuple[int, int, int, int], set[bytes]]:
    return {
        (i, h, 0, t): {_block(h).hash()}
        for i in range(4)
        for h in range(1, HEIGHTS + 1)
        for t in (0, VoteType.PREVOTE, VoteType.PRECOMMIT)
    }


def test_the_consistent_cluster_passes_every_checker() -> None:
    """The baseline every other test changes in one place: no checker fires on it."""
    assert _all_checks(_cluster(), _honest_signatures()) == []


# --- S1 ----------------------------------------------------------------------------------------


def test_agreement_fires_on_two_blocks_at_one_height_S1() -> None:
    nodes = _cluster()
    _put(nodes[2].store, _block(3, time_ms=1))  # another block at height 3, properly certified
    found = checkers.check_agreement(nodes)
    assert [(v.prop, v.detail) for v in found] == [
        ("S1", "height 3 has 2 different blocks among honest nodes")
    ]


def test_agreement_ignores_a_node_that_has_not_reached_the_height_S1() -> None:
    nodes = _cluster()
    for table in (nodes[1].store.block_hashes, nodes[1].store.blocks, nodes[1].store.certificates):
        del table[HEIGHTS]
    assert checkers.check_agreement(nodes) == []


# --- S2 ----------------------------------------------------------------------------------------


def test_certificates_fire_on_too_little_signed_power_S2() -> None:
    nodes = _cluster()
    block = _block(2)
    nodes[1].store.certificates[2] = _certificate(2, block.hash(), KEYS[:2])  # 2 of 4: not > 2/3
    found = checkers.check_certificates(nodes, CHAIN_ID)
    assert [(v.prop, v.detail) for v in found] == [("S2", "node 1 height 2: 2/4 power signed")]


def test_certificates_fire_on_a_forged_signature_S2() -> None:
    nodes = _cluster()
    cert = codec.decode(CommitCertificate, nodes[3].store.certificates[4])
    bad = CommitSig(node_id=cert.signatures[0].node_id, signature=bytes(64))
    signatures = [bad, *cert.signatures[1:]]
    forged = CommitCertificate(height=4, round=0, block_hash=cert.block_hash, signatures=signatures)
    nodes[3].store.certificates[4] = codec.encode(forged)
    found = checkers.check_certificates(nodes, CHAIN_ID)
    assert [(v.prop, v.detail) for v in found] == [("S2", "node 3 height 4: 2/4 power signed")]


def test_certificates_fire_on_a_certificate_for_another_block_S2() -> None:
    nodes = _cluster()
    nodes[0].store.certificates[3] = _certificate(3, _block(3, time_ms=1).hash(), KEYS)
    found = checkers.check_certificates(nodes, CHAIN_ID)
    assert [(v.prop, v.detail) for v in found] == [("S2", "node 0 height 3: certificate names another block")]


def test_certificates_fire_on_a_signer_outside_the_set_S2() -> None:
    nodes = _cluster()
    block_hash = nodes[2].store.block_hashes[1]
    nodes[2].store.certificates[1] = _certificate(1, block_hash, [*KEYS[:3], OUTSIDER])
    found = checkers.check_certificates(nodes, CHAIN_ID)
    assert len(found) == 1 and found[0].prop == "S2"
    assert found[0].detail == f"node 2 height 1: signed by non-validators {OUTSIDER.node_id.hex()[:12]}"


def test_certificates_fire_on_a_header_naming_another_set_S2() -> None:
    nodes = _cluster()
    other = VALIDATORS.apply_updates([Validator(node_id=OUTSIDER.node_id, power=1)])
    for node in nodes:  # every node has it, so agreement holds and only S2 speaks
        _put(node.store, _block(2, validators=other))
    found = checkers.check_certificates(nodes, CHAIN_ID)
    assert {v.prop for v in found} == {"S2"}
    assert [v.detail for v in found] == [f"node {i} height 2: header names another set" for i in range(4)]


# --- S3 ----------------------------------------------------------------------------------------


def test_double_sign_checker_flags_two_values_for_one_slot_S3() -> None:
    """S3 is judged from what honest nodes sent, not from the cores' own records."""
    signed = {(0, 5, 1, 2): {b"a" * 32, NIL}, (1, 5, 1, 2): {b"a" * 32}}
    found = checkers.check_double_sign(signed)
    assert [(v.prop, v.detail) for v in found] == [
        ("S3", "honest node 0 signed 2 values at height 5 round 1 type 2")
    ]


def test_signers_checker_fires_on_a_vote_after_removal_S3() -> None:
    """Node 3 is removed by block 2, so it votes no more from height 4 (version 2 = height 4 - 2)."""
    nodes = _cluster()
    removed = VALIDATORS.apply_updates([Validator(node_id=KEYS[3].node_id, power=0)])
    for node in nodes:
        node.valset_history.record(2, removed)
    signed = {(3, 3, 0, VoteType.PREVOTE): {b"x" * 32}, (3, 4, 1, VoteType.PRECOMMIT): {NIL}}
    found = checkers.check_signers_are_validators(nodes, signed)
    assert [(v.prop, v.detail) for v in found] == [
        ("S3", "honest node 3 signed at height 4 round 1 type 2 without being a validator of that height")
    ]


# --- S4 ----------------------------------------------------------------------------------------


def test_app_hashes_fire_on_different_state_roots_S4() -> None:
    nodes = _cluster()
    nodes[1].app_hashes[3] = b"\xee" * 32
    found = checkers.check_app_hashes(nodes)
    assert [(v.prop, v.detail) for v in found] == [
        ("S4", "honest nodes disagree on the state root at height 3")
    ]


def test_app_hashes_judge_a_node_that_stopped_at_an_old_height_S4() -> None:
    """Node 0 parted at height 1 and stopped there; the others went on (and their stores pruned
    version 1 long ago). The roots each node reported at commit still show the split."""
    nodes = _cluster()
    store = nodes[0].store
    for h in range(2, HEIGHTS + 1):
        for table in (store.block_hashes, store.blocks, store.certificates):
            del table[h]
        del nodes[0].app_hashes[h]
    nodes[0].app_hashes[1] = b"\xee" * 32
    found = checkers.check_app_hashes(nodes)
    assert [(v.prop, v.detail) for v in found] == [
        ("S4", "honest nodes disagree on the state root at height 1")
    ]


def test_validator_sets_fire_on_a_history_that_is_not_the_model_S4() -> None:
    """Node 2's state changed the set at block 3 although no change was acknowledged; and a
    change the model holds that a node's state lacks is flagged as well."""
    nodes = _cluster()
    changed = VALIDATORS.apply_updates([Validator(node_id=OUTSIDER.node_id, power=1)])
    nodes[2].valset_history.record(3, changed)
    model = ValsetHistory(VALIDATORS)
    found = checkers.check_validator_sets(nodes, model)
    assert [(v.prop, v.detail) for v in found] == [
        ("S4", "node 2: validator set after block 3 is not the model's")
    ]
    model.record(1, changed)
    assert [v.detail for v in checkers.check_validator_sets(nodes, model)] == [
        f"node {i}: validator set after block 1 is not the model's" for i in range(4)
    ]


# --- S5 ----------------------------------------------------------------------------------------


def test_acknowledged_fires_on_a_missing_transaction_S5() -> None:
    nodes = _cluster()
    nodes[0].store.txs.clear()
    found = checkers.check_acknowledged(nodes, {TX_AT_2: 2})
    assert [(v.prop, v.detail) for v in found] == [
        ("S5", f"acked tx {TX_AT_2.hex()[:16]} (height 2) missing at node 0")
    ]


def test_acknowledged_waits_for_a_node_to_reach_the_height_S5() -> None:
    """A node below the acknowledged height is not expected to hold the transaction yet."""
    nodes = _cluster()
    later = b"\x09" * 32
    assert checkers.check_acknowledged(nodes, {later: HEIGHTS + 1}) == []
    assert len(checkers.check_acknowledged(nodes, {later: HEIGHTS})) == 4


# --- L1 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("behind", [0, 3])
def test_liveness_fires_on_a_node_below_the_target_L1(behind: int) -> None:
    nodes = _cluster()
    store = nodes[behind].store
    for table in (store.block_hashes, store.blocks, store.certificates):
        del table[HEIGHTS]
    found = checkers.check_liveness(nodes, HEIGHTS, 95_000.0)
    assert [(v.prop, v.detail) for v in found] == [
        ("L1", f"node {behind} at height {HEIGHTS - 1}, below {HEIGHTS} by 95000 ms")
    ]
