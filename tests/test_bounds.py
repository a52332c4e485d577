"""Bounds that compose: each limit checked against the limits it must fit inside.

A limit is only safe if everything it bounds fits inside the next limit out: a governable block
size inside a wire frame and a WAL record, a list kept in one state value inside the state tree's
value bound. A limit that does not fit is a way for a legitimate sequence of transactions (or a
vote) to halt the chain, so every relation is computed here from the real encodings of the largest
values the types allow, not asserted by hand (TigerBeetle's "assert the relationships of
compile-time constants"). docs/architecture.md ("bounds") lists them.
"""

from __future__ import annotations

import msgspec

from alliance import codec
from alliance.abi import gov
from alliance.consensus.messages import Proposal
from alliance.consensus.wal import WalOwnMessage, WalPeerMessage
from alliance.execution.collections import MEMBER_KEY_BYTES_MAX, PAGE_ENTRIES
from alliance.ledger.block import (
    BLOCK_TXS_BYTES_MAX,
    BLOCK_TXS_MAX,
    MESSAGE_SIZE_BYTES_MAX,
    RESULT_SIZE_BYTES_MAX,
    Block,
    CommitCertificate,
    CommitSig,
    Header,
)
from alliance.ledger.genesis import (
    CERTIFICATE_SIZE_BYTES_MAX,
    MEMBERS_MAX,
    ROLES_PER_ACCOUNT_MAX,
    ChainParams,
)
from alliance.ledger.transaction import NAME_LENGTH_MAX, TX_SIZE_BYTES_MAX
from alliance.ledger.validators import VALIDATORS_MAX
from alliance.node.driver import GOSSIP_FRAME_BYTES_MAX
from alliance.node.sync import SyncConfig
from alliance.node.wire import (
    SYNC_BLOCKS_MAX,
    TX_BATCH_TXS_MAX,
    WIRE_SIZE_BYTES_MAX,
    SyncBlocks,
    SyncedBlock,
    TxBatch,
)
from alliance.p2p.framing import FRAME_SIZE_BYTES_MAX_DEFAULT
from alliance.p2p.transport import TransportLimits
from alliance.state.tree import STATE_VALUE_SIZE_BYTES_MAX
from alliance.storage.wal import RECORD_SIZE_BYTES_MAX

NAME = "n" * NAME_LENGTH_MAX
ID32 = b"\xff" * 32
ADDRESS = b"\xff" * 20
U64 = 2**63 - 1


def meta_bound(kind: type[msgspec.Struct], field: str, bound: str) -> int:
    """The ``ge``/``le`` a Struct's field declares (what decoding enforces)."""
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    (found,) = [f for f in info.fields if f.name == field]
    value = getattr(found.type, bound)
    assert isinstance(value, int), f"{kind.__name__}.{field} declares no {bound}"
    return value


def largest_certificate() -> CommitCertificate:
    sigs = [CommitSig(bytes([i % 256]) * 32, b"\xff" * 64) for i in range(VALIDATORS_MAX)]
    return CommitCertificate(U64, 2**31 - 1, ID32, sigs)


def largest_block() -> Block:
    """The most transaction bytes a block may hold (the ceiling of ``block_bytes_max``), split into
    the most transactions it may hold, each as large as that allows (framing grows with the count)."""
    size = BLOCK_TXS_BYTES_MAX // BLOCK_TXS_MAX
    txs = [b"\xff" * size for _ in range(BLOCK_TXS_MAX)]
    header = Header(
        chain_id=NAME,
        height=U64,
        time_ms=U64,
        prev_block_hash=ID32,
        tx_root=ID32,
        app_hash=ID32,
        last_results_hash=ID32,
        validators_hash=ID32,
        proposer=ID32,
        last_commit_hash=ID32,
    )
    return Block(header=header, txs=txs)


def test_governable_block_limits_stay_below_the_protocol_limits() -> None:
    assert meta_bound(ChainParams, "block_txs_max", "le") <= BLOCK_TXS_MAX
    assert meta_bound(ChainParams, "block_bytes_max", "le") <= BLOCK_TXS_BYTES_MAX
    # a transaction of the largest size fits any block governance may choose
    assert meta_bound(ChainParams, "block_bytes_max", "ge") >= TX_SIZE_BYTES_MAX
    defaults = ChainParams()
    assert codec.decode(ChainParams, codec.encode(defaults)) == defaults  # defaults within the bounds
    assert defaults.problem() is None


def test_the_largest_proposal_fits_a_frame_and_a_wal_record() -> None:
    block = largest_block()
    proposal = Proposal(U64, 2**31 - 1, 2**31 - 1, block, largest_certificate(), ID32, b"\xff" * 64)
    wire = len(codec.encode(proposal))
    assert wire <= WIRE_SIZE_BYTES_MAX, f"a proposal of {wire} bytes over a {WIRE_SIZE_BYTES_MAX} frame"
    for record in (WalOwnMessage(proposal), WalPeerMessage(proposal)):
        assert len(codec.encode(record)) <= RECORD_SIZE_BYTES_MAX


def test_one_frame_size_for_the_wire_the_transport_and_the_wal() -> None:
    assert WIRE_SIZE_BYTES_MAX == MESSAGE_SIZE_BYTES_MAX == FRAME_SIZE_BYTES_MAX_DEFAULT
    assert TransportLimits().frame_size_bytes_max == MESSAGE_SIZE_BYTES_MAX
    assert RECORD_SIZE_BYTES_MAX >= MESSAGE_SIZE_BYTES_MAX


def test_a_sync_answer_fits_a_frame() -> None:
    """An answer holds blocks up to its byte bound, and always at least one (the largest)."""
    config = SyncConfig()
    block = codec.encode(largest_block())
    cert = codec.encode(largest_certificate())
    one = len(codec.encode(SyncBlocks([SyncedBlock(block, cert)])))
    assert one <= WIRE_SIZE_BYTES_MAX
    # Many blocks: each is added only while the answer's payload stays within answer_bytes_max;
    # the envelope adds a few bytes per block on top.
    envelope_per_block = len(codec.encode(SyncBlocks([SyncedBlock(b"", b"")]))) - 1
    assert config.answer_bytes_max + SYNC_BLOCKS_MAX * (envelope_per_block + 10) <= WIRE_SIZE_BYTES_MAX
    assert config.block_size_bytes_max >= len(block)


def test_a_gossip_batch_fits_a_frame() -> None:
    """The driver cuts batches at GOSSIP_FRAME_BYTES_MAX, and a batch may start with one tx of the
    largest size; the batch's own list bound is above what a frame of small transactions holds."""
    batch = TxBatch([b"\xff" * TX_SIZE_BYTES_MAX] + [b"\xff" * 100] * ((GOSSIP_FRAME_BYTES_MAX - 1) // 100))
    assert len(codec.encode(batch)) <= WIRE_SIZE_BYTES_MAX
    smallest_tx_bytes = 150  # a transfer is ~180 bytes
    assert GOSSIP_FRAME_BYTES_MAX // smallest_tx_bytes <= TX_BATCH_TXS_MAX


def test_every_list_kept_in_one_state_value_fits_the_value_bound() -> None:
    certificate = b"\xff" * CERTIFICATE_SIZE_BYTES_MAX
    members = gov.Members([gov.Member(NAME, certificate, 2**32) for _ in range(MEMBERS_MAX)])
    nodes = gov.Nodes([gov.NodeRecord(ID32, NAME, NAME) for _ in range(gov.NODES_MAX)])
    roles = [NAME] * gov.ACCESS_ROLES_MAX
    acl = gov.AccessTable([gov.AccessRule(NAME, NAME, roles) for _ in range(gov.ACL_RULES_MAX)])
    account = gov.AccountRecord(NAME, [NAME] * ROLES_PER_ACCOUNT_MAX)
    action = gov.AddMember(
        NAME, certificate, 2**32, ADDRESS, [gov.NodeRecord(ID32, NAME, NAME)] * gov.NODES_PER_MEMBER_MAX
    )
    proposal = gov.Proposal(
        U64, action, ADDRESS, NAME, U64, U64, 999, 1000,
        [gov.Ballot(NAME, ADDRESS, True, U64)] * MEMBERS_MAX, "rejected", U64, "e" * 10_000,
    )
    page = [b"\xff" * MEMBER_KEY_BYTES_MAX] * PAGE_ENTRIES
    frozen = (U64, gov.FrozenAccount(ADDRESS, "r" * gov.REASON_LENGTH_MAX, ADDRESS, U64))
    for what, value in [
        ("members", members),
        ("nodes", nodes),
        ("access table", acl),
        ("account record", account),
        ("proposal", proposal),
        ("index page", page),
        ("frozen entry", frozen),
    ]:
        size = len(codec.encode(value))
        assert size <= STATE_VALUE_SIZE_BYTES_MAX, f"the largest {what} is {size} bytes"


def test_a_receipt_result_fits_a_state_and_store_budget() -> None:
    assert RESULT_SIZE_BYTES_MAX <= STATE_VALUE_SIZE_BYTES_MAX
    assert TX_SIZE_BYTES_MAX <= BLOCK_TXS_BYTES_MAX
