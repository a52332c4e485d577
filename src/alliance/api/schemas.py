"""The API's wire schemas and the builders that fill them from the ledger's types.

Theory of operation: the REST contract (spec/api.md) must not move when an internal struct does,
so every answer is built here, field by field, from the node facade's types into pydantic models
that FastAPI documents at /docs. Bytes become lower-case hex without ``0x``; addresses become
EIP-55 checksummed ``0x`` hex. Event data stays as hex of its canonical bytes, and the events this
build knows are also decoded into ``fields`` for people and explorers (and auditors of governance).

Structs shown field by field (decoded events, governance actions) go through ``struct_json``,
which tells an address from other bytes by the field's declared type (exactly 20 bytes), not by
the value's length, so a 20-byte certificate could never be mistaken for an address.

The throughput path (binary batch submission) does not come through here: it answers with a
small dict encoded by msgspec, no model per transaction.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any

import msgspec
import msgspec.inspect
from pydantic import BaseModel, Field

from alliance import codec
from alliance.abi import gov
from alliance.abi.accounts import TransferEvent
from alliance.app.interface import QueryResult
from alliance.crypto.keys import address_of, to_checksum_address
from alliance.errors import DecodeError
from alliance.ledger.block import Block, CommitCertificate, Event, Receipt
from alliance.ledger.transaction import decode_tx, is_address_type, tx_hash_of_canonical
from alliance.node.facade import CommittedTx, NodeStatus

HASH_HEX_LENGTH = 64
JSON_BATCH_TXS_MAX = 10_000

# --- requests -------------------------------------------------------------------------------------


# No length bound of its own: the body bound caps it, and the node answers an over-long transaction
# with its own ``tx_too_large`` (400), which says more than a schema refusal would.
TxHex = Annotated[str, Field(description="hex of the canonical transaction")]


class SubmitRequest(BaseModel):
    tx: TxHex


class BatchRequest(BaseModel):
    txs: Annotated[list[TxHex], Field(max_length=JSON_BATCH_TXS_MAX)]


# --- answers --------------------------------------------------------------------------------------


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str


class ValidatorModel(BaseModel):
    node_id: str
    name: str | None
    power: int


class PeerModel(BaseModel):
    name: str
    node_id: str
    connected: bool
    height: int | None


class MempoolModel(BaseModel):
    txs: int
    bytes: int


class StatusModel(BaseModel):
    chain_id: str
    node: str
    org: str
    node_id: str
    genesis_hash: str
    height: int
    block_hash: str
    app_hash: str
    time_ms: int
    validator: bool
    round: int
    syncing: bool
    validators: list[ValidatorModel]
    peers: list[PeerModel]
    mempool: MempoolModel
    tx_window_blocks: int
    halted: str | None = None  # why the node stopped applying blocks (its state differs), if it did


class CommitSigModel(BaseModel):
    node_id: str
    signature: str


class CertificateModel(BaseModel):
    height: int
    round: int
    block_hash: str
    signatures: list[CommitSigModel]


class BlockModel(BaseModel):
    height: int
    hash: str
    time_ms: int
    chain_id: str
    proposer: str
    prev_block_hash: str
    app_hash: str
    tx_root: str
    last_results_hash: str
    validators_hash: str
    last_commit_hash: str
    txs: list[str]
    certificate: CertificateModel | None


class EventModel(BaseModel):
    emitter: str
    name: str
    data: str
    fields: dict[str, Any] | None = None


class ReceiptModel(BaseModel):
    tx_hash: str
    status: str
    ok: bool
    gas_used: int
    error: str
    events: list[EventModel]


class TxModel(BaseModel):
    """A committed transaction, or ``status: "pending"`` with only ``hash`` and ``height: null``."""

    hash: str
    status: str
    height: int | None
    ok: bool | None = None
    index: int | None = None
    gas_used: int | None = None
    error: str | None = None
    events: list[EventModel] | None = None
    sender: str | None = None
    target: str | None = None
    method: str | None = None
    valid_until: int | None = None


class FreezeModel(BaseModel):
    reason: str
    by: str
    height: int


class AccountModel(BaseModel):
    address: str
    balance: int
    height: int
    org: str
    roles: list[str]
    frozen: FreezeModel | None


class MemberModel(BaseModel):
    org: str
    weight: int
    ca_certificate: str


class NodeRecordModel(BaseModel):
    node_id: str
    org: str
    name: str


class AccessRuleModel(BaseModel):
    module: str
    method: str
    roles: list[str]


class FrozenAccountModel(BaseModel):
    address: str
    reason: str
    by: str
    height: int


class GovernanceModel(BaseModel):
    members: list[MemberModel]
    nodes: list[NodeRecordModel]
    access: list[AccessRuleModel]
    frozen: list[FrozenAccountModel]
    proposals: int
    # Added after the first five; all read at ``height``. ``validators``: the set the ledger records
    # there (it votes from two blocks after the block that changed it), named from ``nodes``.
    height: int
    validators: list[ValidatorModel]


class BallotModel(BaseModel):
    org: str
    voter: str
    yes: bool
    height: int


class ProposalModel(BaseModel):
    id: int
    kind: str
    status: str
    action: dict[str, Any]
    proposer: str
    proposer_org: str
    created_height: int
    deadline_height: int
    threshold: str
    votes: list[BallotModel]
    decided_height: int
    error: str


class StateModel(BaseModel):
    height: int
    key: str
    value: str | None
    app_hash: str
    proof: str | None


class SubmitResponse(BaseModel):
    hash: str
    accepted: bool


class BatchItemModel(BaseModel):
    accepted: bool
    hash: str | None = None
    code: str | None = None
    detail: str | None = None


class BatchResponse(BaseModel):
    accepted: int
    results: list[BatchItemModel]


class RejectedModel(BaseModel):
    index: int
    code: str
    detail: str


class BinaryBatchResponse(BaseModel):
    accepted: int
    rejected: list[RejectedModel]


# --- builders -------------------------------------------------------------------------------------


_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


def parse_hex(text: str, what: str, *, size_bytes: int | None = None) -> bytes:
    """Hex (an optional ``0x`` is tolerated) to bytes; ``DecodeError`` (400) otherwise."""
    body = text[2:] if text[:2] in ("0x", "0X") else text
    if _HEX.fullmatch(body) is None:  # bytes.fromhex would also take spaces between the bytes
        raise DecodeError(f"{what} is not hex: {text[:80]!r}")
    raw = bytes.fromhex(body)
    if size_bytes is not None and len(raw) != size_bytes:
        raise DecodeError(f"{what} is {size_bytes} bytes, got {len(raw)}")
    return raw


def status_model(status: NodeStatus) -> StatusModel:
    names = status.validator_names
    return StatusModel(
        chain_id=status.chain_id,
        node=status.name,
        org=status.org,
        node_id=status.node_id.hex(),
        genesis_hash=status.genesis_hash.hex(),
        height=status.height,
        block_hash=status.block_hash.hex(),
        app_hash=status.app_hash.hex(),
        time_ms=status.time_ms,
        validator=status.is_validator,
        round=status.consensus_round,
        syncing=status.syncing,
        validators=[
            ValidatorModel(node_id=v.node_id.hex(), name=names.get(v.node_id), power=v.power)
            for v in status.validators.validators
        ],
        peers=[
            PeerModel(name=p.name, node_id=p.node_id.hex(), connected=p.connected, height=p.height)
            for p in status.peers
        ],
        mempool=MempoolModel(txs=status.mempool_txs, bytes=status.mempool_bytes),
        tx_window_blocks=status.tx_window_blocks,
        halted=status.halted,
    )


def tx_hashes(block: Block) -> list[bytes]:
    # Committed transactions were decoded canonically on admission, so the body is a slice.
    return [tx_hash_of_canonical(raw) for raw in block.txs]


def block_model(block: Block, certificate: CommitCertificate | None) -> BlockModel:
    header = block.header
    cert = None
    if certificate is not None:
        cert = CertificateModel(
            height=certificate.height,
            round=certificate.round,
            block_hash=certificate.block_hash.hex(),
            signatures=[
                CommitSigModel(node_id=s.node_id.hex(), signature=s.signature.hex())
                for s in certificate.signatures
            ],
        )
    return BlockModel(
        height=header.height,
        hash=block.hash().hex(),
        time_ms=header.time_ms,
        chain_id=header.chain_id,
        proposer=header.proposer.hex(),
        prev_block_hash=header.prev_block_hash.hex(),
        app_hash=header.app_hash.hex(),
        tx_root=header.tx_root.hex(),
        last_results_hash=header.last_results_hash.hex(),
        validators_hash=header.validators_hash.hex(),
        last_commit_hash=header.last_commit_hash.hex(),
        txs=[h.hex() for h in tx_hashes(block)],
        certificate=cert,
    )


_KNOWN_EVENTS: dict[tuple[str, str], type[msgspec.Struct]] = {
    ("accounts", "transfer"): TransferEvent,
    (gov.MODULE_NAME, "proposed"): gov.ProposalEvent,
    (gov.MODULE_NAME, "passed"): gov.ProposalEvent,
    (gov.MODULE_NAME, "rejected"): gov.ProposalEvent,
    (gov.MODULE_NAME, "expired"): gov.ProposalEvent,
    (gov.MODULE_NAME, "voted"): gov.VoteEvent,
    (gov.MODULE_NAME, "frozen"): gov.FreezeEvent,
    (gov.MODULE_NAME, "unfrozen"): gov.FreezeEvent,
}


@cache
def _address_fields(kind: type[msgspec.Struct]) -> frozenset[str]:
    """The fields of ``kind`` declared as exactly 20 bytes: addresses."""
    info = msgspec.inspect.type_info(kind)
    if not isinstance(info, msgspec.inspect.StructType):
        raise TypeError(f"{kind.__name__} is not a msgspec Struct")
    return frozenset(f.name for f in info.fields if is_address_type(f.type))


def struct_json(value: msgspec.Struct) -> dict[str, Any]:
    """A struct's fields as JSON values: addresses checksummed, other bytes hex, lists kept."""
    addresses = _address_fields(type(value))
    out: dict[str, Any] = {}
    for name in value.__struct_fields__:
        field = getattr(value, name)
        if isinstance(field, bytes):
            out[name] = to_checksum_address(field) if name in addresses else field.hex()
        elif isinstance(field, list):
            out[name] = [struct_json(v) if isinstance(v, msgspec.Struct) else v for v in field]
        elif isinstance(field, msgspec.Struct):
            out[name] = struct_json(field)
        else:
            out[name] = field
    return out


def event_fields(event: Event) -> dict[str, Any] | None:
    """The decoded fields of an event this build knows, else None (the hex data still says all)."""
    kind = _KNOWN_EVENTS.get((event.emitter, event.name))
    if kind is None:
        return None
    try:
        decoded = codec.decode(kind, event.data)
    except DecodeError:
        return None  # an event of the same name in another shape: leave it undecoded
    return struct_json(decoded)


def event_model(event: Event) -> EventModel:
    fields = event_fields(event)
    return EventModel(emitter=event.emitter, name=event.name, data=event.data.hex(), fields=fields)


def receipt_model(tx_hash: bytes, receipt: Receipt) -> ReceiptModel:
    return ReceiptModel(
        tx_hash=tx_hash.hex(),
        status=receipt.status,
        ok=receipt.ok,
        gas_used=receipt.gas_used,
        error=receipt.error,
        events=[event_model(e) for e in receipt.events],
    )


def committed_tx_model(committed: CommittedTx) -> TxModel:
    receipt = committed.receipt
    sender = target = method = None
    valid_until = None
    try:
        tx = decode_tx(committed.raw)
    except DecodeError:
        pass  # a refused row keeps its receipt; it has no decodable call to show
    else:
        sender = to_checksum_address(address_of(tx.body.sender))
        target, method, valid_until = tx.body.call.target, tx.body.call.method, tx.body.valid_until
    return TxModel(
        hash=committed.tx_hash.hex(),
        status=receipt.status,
        ok=receipt.ok,
        height=committed.height,
        index=committed.index,
        gas_used=receipt.gas_used,
        error=receipt.error,
        events=[event_model(e) for e in receipt.events],
        sender=sender,
        target=target,
        method=method,
        valid_until=valid_until,
    )


def pending_tx_model(tx_hash: bytes) -> TxModel:
    return TxModel(hash=tx_hash.hex(), status="pending", height=None)


def account_model(balance: int, view: gov.AccountView, height: int) -> AccountModel:
    frozen = view.frozen
    return AccountModel(
        address=to_checksum_address(view.address),
        balance=balance,
        height=height,
        org=view.org,
        roles=list(view.roles),
        frozen=None
        if frozen is None
        else FreezeModel(reason=frozen.reason, by=to_checksum_address(frozen.by), height=frozen.height),
    )


def governance_model(view: gov.Overview, frozen: list[gov.FrozenAccount], height: int) -> GovernanceModel:
    names = {n.node_id: n.name for n in view.nodes}
    return GovernanceModel(
        members=[
            MemberModel(org=m.org, weight=m.weight, ca_certificate=m.ca_certificate.hex())
            for m in view.members
        ],
        nodes=[NodeRecordModel(node_id=n.node_id.hex(), org=n.org, name=n.name) for n in view.nodes],
        access=[AccessRuleModel(module=r.module, method=r.method, roles=list(r.roles)) for r in view.access],
        frozen=[
            FrozenAccountModel(
                address=to_checksum_address(f.address),
                reason=f.reason,
                by=to_checksum_address(f.by),
                height=f.height,
            )
            for f in frozen
        ],
        proposals=view.proposals,
        height=height,
        validators=[
            ValidatorModel(node_id=v.node_id.hex(), name=names.get(v.node_id), power=v.power)
            for v in view.validators
        ],
    )


def proposal_model(proposal: gov.Proposal, status: str) -> ProposalModel:
    """``status`` is the facade's (it derives ``expired``); the stored one may still say open."""
    return ProposalModel(
        id=proposal.id,
        kind=gov.kind_of(proposal.action),
        status=status,
        action=struct_json(proposal.action),
        proposer=to_checksum_address(proposal.proposer),
        proposer_org=proposal.proposer_org,
        created_height=proposal.created_height,
        deadline_height=proposal.deadline_height,
        threshold=f"{proposal.threshold_num}/{proposal.threshold_den}",
        votes=[
            BallotModel(org=b.org, voter=to_checksum_address(b.voter), yes=b.yes, height=b.height)
            for b in proposal.votes
        ],
        decided_height=proposal.decided_height,
        error=proposal.error,
    )


def state_model(result: QueryResult) -> StateModel:
    return StateModel(
        height=result.height,
        key=result.key.hex(),
        value=None if result.value is None else result.value.hex(),
        app_hash=result.app_hash.hex(),
        proof=None if result.proof is None else codec.encode(result.proof).hex(),
    )


def stream_block_message(block: Block, receipts: list[Receipt]) -> str:
    """The WebSocket message for one committed block (JSON text)."""
    hashes = tx_hashes(block)
    events = [
        {
            "tx_hash": h.hex(),
            "emitter": e.emitter,
            "name": e.name,
            "data": e.data.hex(),
            "fields": event_fields(e),
        }
        for h, r in zip(hashes, receipts, strict=False)
        for e in r.events
    ]
    header = block.header
    message = msgspec.json.encode(
        {
            "type": "block",
            "height": header.height,
            "hash": block.hash().hex(),
            "time_ms": header.time_ms,
            "txs": len(block.txs),
            "events": events,
        }
    )
    return message.decode()
