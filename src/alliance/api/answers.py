"""The API's answers built from the node's own types: ledger and facade values into ``sdk.wire`` views.

Theory of operation: ``sdk.wire`` declares every answer once; this module only fills them, field by
field, so the REST contract (spec/api.md) does not move when an internal struct does. Bytes are
wrapped in the wire's types (``Hash32``, ``NodeId``, ``Address``, ``Hex``) and the wire's encoder
writes them. An event's ``fields`` are its data decoded by the emitting module's declared event
type (each module descriptor's ``events``), shown by the wire's one generic rule (addresses by
declared type, other bytes hex); an event no registered module declares, or whose data does not
decode as declared, keeps only its hex ``data``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from alliance import codec
from alliance.abi import gov
from alliance.app.interface import QueryResult
from alliance.crypto.keys import address_of
from alliance.errors import DecodeError
from alliance.execution.modules import builtin_modules
from alliance.ledger.block import Block, CommitCertificate, Event, Receipt
from alliance.ledger.transaction import decode_tx, tx_hash_of_canonical
from alliance.node.facade import AccountTx, BlockHead, CommittedTx, NodeStatus
from alliance.sdk import wire
from alliance.sdk.wire import Address, Hash32, Hex, NodeId, Signature64


@cache
def event_types() -> dict[tuple[str, str], type[msgspec.Struct]]:
    """(emitter, event name) -> the Struct its data decodes to, from every registered module."""
    return {(m.name, name): kind for m in builtin_modules() for name, kind in m.events.items()}


def event_fields(event: Event) -> dict[str, Any] | None:
    kind = event_types().get((event.emitter, event.name))
    if kind is None:
        return None
    try:
        decoded = codec.decode(kind, event.data)
    except DecodeError:
        return None  # an event of the same name in another shape: leave it undecoded
    return wire.fields_json(decoded)


def status_view(status: NodeStatus) -> wire.Status:
    names = status.validator_names
    return wire.Status(
        chain_id=status.chain_id,
        node=status.name,
        org=status.org,
        node_id=NodeId(status.node_id),
        genesis_hash=Hash32(status.genesis_hash),
        height=status.height,
        block_hash=Hex(status.block_hash),
        app_hash=Hex(status.app_hash),
        time_ms=status.time_ms,
        validator=status.is_validator,
        round=status.consensus_round,
        syncing=status.syncing,
        validators=tuple(
            wire.ValidatorView(node_id=NodeId(v.node_id), name=names.get(v.node_id), power=v.power)
            for v in status.validators.validators
        ),
        peers=tuple(
            wire.PeerView(name=p.name, node_id=NodeId(p.node_id), connected=p.connected, height=p.height)
            for p in status.peers
        ),
        mempool=wire.MempoolView(txs=status.mempool_txs, bytes=status.mempool_bytes),
        tx_window_blocks=status.tx_window_blocks,
        halted=status.halted,
    )


def tx_hashes(block: Block) -> list[bytes]:
    # Committed transactions were decoded canonically on admission, so the body is a slice.
    return [tx_hash_of_canonical(raw) for raw in block.txs]


def certificate_view(certificate: CommitCertificate | None) -> wire.CertificateView | None:
    if certificate is None:
        return None
    return wire.CertificateView(
        height=certificate.height,
        round=certificate.round,
        block_hash=Hash32(certificate.block_hash),
        signatures=tuple(
            wire.CommitSigView(node_id=NodeId(s.node_id), signature=Signature64(s.signature))
            for s in certificate.signatures
        ),
    )


def block_view(block: Block, certificate: CommitCertificate | None) -> wire.BlockView:
    header = block.header
    cert = certificate_view(certificate)
    return wire.BlockView(
        height=header.height,
        hash=Hash32(block.hash()),
        time_ms=header.time_ms,
        chain_id=header.chain_id,
        proposer=NodeId(header.proposer),
        prev_block_hash=Hex(header.prev_block_hash),
        app_hash=Hash32(header.app_hash),
        tx_root=Hash32(header.tx_root),
        last_results_hash=Hash32(header.last_results_hash),
        validators_hash=Hash32(header.validators_hash),
        last_commit_hash=Hex(header.last_commit_hash),
        txs=tuple(Hash32(h) for h in tx_hashes(block)),
        certificate=cert,
    )


def block_header_view(head: BlockHead) -> wire.BlockHeaderView:
    header = head.header
    return wire.BlockHeaderView(
        height=header.height,
        hash=Hash32(header.hash()),
        time_ms=header.time_ms,
        chain_id=header.chain_id,
        proposer=NodeId(header.proposer),
        prev_block_hash=Hex(header.prev_block_hash),
        app_hash=Hash32(header.app_hash),
        tx_root=Hash32(header.tx_root),
        last_results_hash=Hash32(header.last_results_hash),
        validators_hash=Hash32(header.validators_hash),
        last_commit_hash=Hex(header.last_commit_hash),
        txs=head.txs,
        certificate=certificate_view(head.certificate),
    )


def account_tx_view(tx: AccountTx) -> wire.AccountTxView:
    return wire.AccountTxView(
        hash=Hash32(tx.tx_hash),
        height=tx.height,
        index=tx.index,
        target=tx.target,
        method=tx.method,
        status=tx.status,
        sent=tx.sent,
    )


def event_view(event: Event) -> wire.EventView:
    return wire.EventView(
        emitter=event.emitter, name=event.name, data=Hex(event.data), fields=event_fields(event)
    )


def receipt_view(tx_hash: bytes, receipt: Receipt) -> wire.ReceiptView:
    return wire.ReceiptView(
        tx_hash=Hash32(tx_hash),
        status=receipt.status,
        ok=receipt.ok,
        gas_used=receipt.gas_used,
        error=receipt.error,
        events=tuple(event_view(e) for e in receipt.events),
        result=Hex(receipt.result),
    )


def committed_tx_view(committed: CommittedTx) -> wire.TxView:
    receipt = committed.receipt
    sender: Address | None = None
    target = method = None
    valid_until = None
    try:
        tx = decode_tx(committed.raw)
    except DecodeError:
        pass  # a refused row keeps its receipt; it has no decodable call to show
    else:
        sender = Address(address_of(tx.body.sender))
        target, method, valid_until = tx.body.call.target, tx.body.call.method, tx.body.valid_until
    return wire.TxView(
        hash=Hash32(committed.tx_hash),
        status=receipt.status,
        ok=receipt.ok,
        height=committed.height,
        index=committed.index,
        gas_used=receipt.gas_used,
        error=receipt.error,
        events=tuple(event_view(e) for e in receipt.events),
        result=Hex(receipt.result),
        sender=sender,
        target=target,
        method=method,
        valid_until=valid_until,
    )


def pending_tx_view(tx_hash: bytes) -> wire.TxView:
    return wire.TxView(hash=Hash32(tx_hash), status="pending", height=None)


def frozen_account_view(entry: gov.FrozenAccount) -> wire.FrozenAccountView:
    return wire.FrozenAccountView(
        address=Address(entry.address), reason=entry.reason, by=Address(entry.by), height=entry.height
    )


def account_view(balance: int, view: gov.AccountView, height: int) -> wire.Account:
    frozen = view.frozen
    return wire.Account(
        address=Address(view.address),
        balance=balance,
        height=height,
        org=view.org,
        roles=tuple(view.roles),
        frozen=None
        if frozen is None
        else wire.FrozenView(reason=frozen.reason, by=Address(frozen.by), height=frozen.height),
    )


def governance_view(view: gov.Overview, frozen: list[gov.FrozenAccount], height: int) -> wire.GovernanceView:
    names = {n.node_id: n.name for n in view.nodes}
    return wire.GovernanceView(
        members=tuple(
            wire.MemberView(org=m.org, weight=m.weight, ca_certificate=Hex(m.ca_certificate))
            for m in view.members
        ),
        nodes=tuple(
            wire.NodeRecordView(node_id=NodeId(n.node_id), org=n.org, name=n.name) for n in view.nodes
        ),
        access=tuple(
            wire.AccessRuleView(module=r.module, method=r.method, roles=tuple(r.roles)) for r in view.access
        ),
        frozen=tuple(frozen_account_view(f) for f in frozen),
        frozen_count=view.frozen_count,
        proposals=view.proposals,
        height=height,
        validators=tuple(
            wire.ValidatorView(node_id=NodeId(v.node_id), name=names.get(v.node_id), power=v.power)
            for v in view.validators
        ),
    )


def proposal_view(proposal: gov.Proposal, status: str) -> wire.ProposalView:
    """``status`` is judged by the caller (it derives ``expired``); the stored one may still say open."""
    return wire.ProposalView(
        id=proposal.id,
        kind=gov.kind_of(proposal.action),
        status=status,
        action=wire.to_wire(proposal.action),
        proposer=Address(proposal.proposer),
        proposer_org=proposal.proposer_org,
        created_height=proposal.created_height,
        deadline_height=proposal.deadline_height,
        threshold=f"{proposal.threshold_num}/{proposal.threshold_den}",
        votes=tuple(
            wire.BallotView(org=b.org, voter=Address(b.voter), yes=b.yes, height=b.height)
            for b in proposal.votes
        ),
        decided_height=proposal.decided_height,
        error=proposal.error,
    )


def state_view(result: QueryResult) -> wire.StateView:
    return wire.StateView(
        height=result.height,
        key=Hex(result.key),
        value=None if result.value is None else Hex(result.value),
        app_hash=Hex(result.app_hash),
        proof=None if result.proof is None else Hex(codec.encode(result.proof)),
    )


def block_event(block: Block, receipts: list[Receipt]) -> wire.BlockEvent:
    """The stream message for one committed block."""
    events = tuple(
        wire.StreamEventView(
            tx_hash=Hash32(h), emitter=e.emitter, name=e.name, data=Hex(e.data), fields=event_fields(e)
        )
        for h, r in zip(tx_hashes(block), receipts, strict=False)
        for e in r.events
    )
    header = block.header
    return wire.BlockEvent(
        height=header.height,
        hash=Hash32(block.hash()),
        time_ms=header.time_ms,
        txs=len(block.txs),
        events=events,
    )
