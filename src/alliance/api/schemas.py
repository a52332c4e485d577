"""The API's wire schemas and the builders that fill them from the ledger's types.

Theory of operation: the REST contract (spec/api.md) must not move when an internal struct does,
so every answer is built here, field by field, from the node facade's types into pydantic models
that FastAPI documents at /docs. Bytes become lower-case hex without ``0x``; addresses become
EIP-55 checksummed ``0x`` hex. Event data stays as hex of its canonical bytes, and the events this
build knows are also decoded into ``fields`` for people and explorers.

The throughput path (binary batch submission) does not come through here: it answers with a
small dict encoded by msgspec, no model per transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from pydantic import BaseModel, Field

from alliance import codec
from alliance.app.interface import QueryResult
from alliance.crypto.keys import address_of, to_checksum_address
from alliance.errors import DecodeError
from alliance.execution.modules import governance as gov
from alliance.execution.modules.accounts import TransferEvent
from alliance.ledger.block import Block, CommitCertificate, Event, Receipt
from alliance.ledger.transaction import decode_tx, tx_hash_of_canonical
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


class AccountModel(BaseModel):
    address: str
    balance: int
    height: int


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


def parse_hex(text: str, what: str, *, size_bytes: int | None = None) -> bytes:
    """Hex (an optional ``0x`` is tolerated) to bytes; ``DecodeError`` (400) otherwise."""
    body = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise DecodeError(f"{what} is not hex: {text[:80]!r}") from None
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


def _json_value(value: object) -> object:
    if isinstance(value, bytes):
        return to_checksum_address(value) if len(value) == 20 else value.hex()
    return value


def event_fields(event: Event) -> dict[str, Any] | None:
    """The decoded fields of an event this build knows, else None (the hex data still says all)."""
    kind = _KNOWN_EVENTS.get((event.emitter, event.name))
    if kind is None:
        return None
    try:
        decoded = codec.decode(kind, event.data)
    except DecodeError:
        return None  # an event of the same name in another shape: leave it undecoded
    return {name: _json_value(getattr(decoded, name)) for name in decoded.__struct_fields__}


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


def account_model(address: bytes, balance: int, height: int) -> AccountModel:
    return AccountModel(address=to_checksum_address(address), balance=balance, height=height)


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
        {"tx_hash": h.hex(), "emitter": e.emitter, "name": e.name, "data": e.data.hex()}
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
