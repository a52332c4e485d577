"""Typed views of the API's answers, and their parsing from JSON.

Theory of operation: the API speaks hex strings; users of the SDK want bytes. Each view is a
frozen msgspec Struct with the fields of spec/api.md's JSON, bytes as ``bytes`` and addresses as
20-byte ``bytes`` declared as such (the ledger's ``Bytes20``), so that the field, not a value's
length, says what is an address. ``parse_*`` functions build them from decoded JSON; a shape they
do not expect (a node of another version, a proxy answering HTML) raises ``BadResponse``, an
operational error, once, here, instead of a ``KeyError`` somewhere in the caller.

A proposal's action comes back as the governance module's own Action struct (``SetParam``,
``AddMember``, ...), rebuilt from its JSON fields by the struct's declared types (a field of
exactly 20 bytes is an address, other bytes are hex) and validated by a round trip through the
canonical codec, so a view never holds an action the chain itself would refuse to decode.

``view_json`` goes the other way: any view (or action) back to the API's JSON, field for field, by
each field's declared type (addresses checksummed, other bytes hex), for callers that show the
node's answer as it is (the CLI's ``block``, ``tx`` and ``gov`` views) without a renderer of their
own; ``proposal_json`` and ``governance_json`` are it, typed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, get_args

import msgspec
import msgspec.inspect

from alliance import codec
from alliance.abi import gov
from alliance.crypto.keys import parse_address, to_checksum_address
from alliance.errors import OperationalError, UsageError
from alliance.ledger.transaction import Bytes20, is_address_type

T = TypeVar("T")


class BadResponse(OperationalError):
    """The node answered with something that is not the API's JSON."""

    code = "bad_response"


class View(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every view."""


class ValidatorView(View, frozen=True):
    node_id: bytes
    name: str | None
    power: int


class PeerView(View, frozen=True):
    name: str
    node_id: bytes
    connected: bool
    height: int | None


class MempoolView(View, frozen=True):
    txs: int
    bytes: int


class Status(View, frozen=True):
    chain_id: str
    node: str
    org: str
    node_id: bytes
    genesis_hash: bytes
    height: int
    block_hash: bytes
    app_hash: bytes
    time_ms: int
    validator: bool
    round: int
    syncing: bool
    validators: tuple[ValidatorView, ...]
    peers: tuple[PeerView, ...]
    mempool: MempoolView
    tx_window_blocks: int


class FrozenView(View, frozen=True):
    """Why, by whom and at which height an account was frozen."""

    reason: str
    by: Bytes20
    height: int


class Account(View, frozen=True):
    address: Bytes20
    balance: int
    height: int
    org: str = ""  # "" for an account governance has never named
    roles: tuple[str, ...] = ()
    frozen: FrozenView | None = None


class CommitSigView(View, frozen=True):
    node_id: bytes
    signature: bytes


class CertificateView(View, frozen=True):
    height: int
    round: int
    block_hash: bytes
    signatures: tuple[CommitSigView, ...]


class BlockView(View, frozen=True):
    height: int
    hash: bytes
    time_ms: int
    chain_id: str
    proposer: bytes
    prev_block_hash: bytes
    app_hash: bytes
    tx_root: bytes
    last_results_hash: bytes
    validators_hash: bytes
    last_commit_hash: bytes
    txs: tuple[bytes, ...]
    certificate: CertificateView | None


class EventView(View, frozen=True):
    emitter: str
    name: str
    data: bytes
    fields: dict[str, Any] | None = None
    tx_hash: bytes | None = None  # set in stream events, which list a block's events flat


class ReceiptView(View, frozen=True):
    tx_hash: bytes
    status: str
    ok: bool
    gas_used: int
    error: str
    events: tuple[EventView, ...]


class TxView(View, frozen=True):
    """A committed transaction, or one still pending (``status == "pending"``, ``height is None``)."""

    hash: bytes
    status: str
    height: int | None
    ok: bool | None = None
    index: int | None = None
    gas_used: int | None = None
    error: str | None = None
    events: tuple[EventView, ...] = ()
    sender: Bytes20 | None = None
    target: str | None = None
    method: str | None = None
    valid_until: int | None = None

    @property
    def committed(self) -> bool:
        return self.height is not None


class StateView(View, frozen=True):
    height: int
    key: bytes
    value: bytes | None
    app_hash: bytes
    proof: bytes | None


class Rejection(View, frozen=True):
    index: int
    code: str
    detail: str


class BatchResult(View, frozen=True):
    """``accepted`` count; ``rejected`` with input positions; ``hashes`` (JSON path only) per input,
    ``None`` where refused."""

    accepted: int
    rejected: tuple[Rejection, ...]
    hashes: tuple[bytes | None, ...] = ()


class BlockEvent(View, frozen=True):
    height: int
    hash: bytes
    time_ms: int
    txs: int
    events: tuple[EventView, ...]


class MemberView(View, frozen=True):
    org: str
    weight: int
    ca_certificate: bytes  # DER


class NodeRecordView(View, frozen=True):
    node_id: bytes
    org: str
    name: str


class AccessRuleView(View, frozen=True):
    module: str
    method: str
    roles: tuple[str, ...]


class FrozenAccountView(View, frozen=True):
    address: Bytes20
    reason: str
    by: Bytes20
    height: int


class GovernanceView(View, frozen=True):
    members: tuple[MemberView, ...]
    nodes: tuple[NodeRecordView, ...]
    access: tuple[AccessRuleView, ...]
    frozen: tuple[FrozenAccountView, ...]
    proposals: int  # how many proposals were ever made: ids 1..proposals
    height: int  # the committed height all of the above was read at
    validators: tuple[ValidatorView, ...]  # the set the ledger records at ``height``


class BallotView(View, frozen=True):
    org: str
    voter: Bytes20
    yes: bool
    height: int


class ProposalView(View, frozen=True):
    id: int
    kind: str
    status: str  # "open", "passed", "rejected" or "expired"
    action: gov.Action
    proposer: Bytes20
    proposer_org: str
    created_height: int
    deadline_height: int
    threshold: str  # the fraction of committee weight the yes votes must exceed, e.g. "2/3"
    votes: tuple[BallotView, ...]
    decided_height: int  # 0 while undecided
    error: str  # why a passed action could not apply; "" otherwise


class ProposalOutcome(View, frozen=True):
    """What a ``propose`` or ``vote`` transaction did.

    ``proposal``: the proposal's id (None for a proposal still pending); ``proposal_status``:
    "open", "passed" or "rejected" after the transaction (None while pending); ``status``: the
    transaction's ("ok", or "pending" when not waited for)."""

    proposal: int | None
    proposal_status: str | None
    tx_hash: bytes
    height: int | None
    status: str


# --- parsing --------------------------------------------------------------------------------------


def _hex(value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"expected hex text, got {type(value).__name__}")
    return bytes.fromhex(value)


def _opt_hex(value: object) -> bytes | None:
    return None if value is None else _hex(value)


def _address(value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"expected an address, got {type(value).__name__}")
    return parse_address(value)


def _opt_address(value: object) -> bytes | None:
    return None if value is None else _address(value)


def guarded(what: str, parse: Callable[[Any], T], data: object) -> T:
    """``parse(data)``, turning any shape mismatch into ``BadResponse``."""
    try:
        return parse(data)
    except (KeyError, TypeError, ValueError, UsageError, msgspec.ValidationError) as exc:
        raise BadResponse(f"unexpected {what} from the node: {exc!r}") from None


def status(d: Any) -> Status:
    return Status(
        chain_id=d["chain_id"],
        node=d["node"],
        org=d["org"],
        node_id=_hex(d["node_id"]),
        genesis_hash=_hex(d["genesis_hash"]),
        height=d["height"],
        block_hash=_hex(d["block_hash"]),
        app_hash=_hex(d["app_hash"]),
        time_ms=d["time_ms"],
        validator=d["validator"],
        round=d["round"],
        syncing=d["syncing"],
        validators=tuple(
            ValidatorView(node_id=_hex(v["node_id"]), name=v["name"], power=v["power"])
            for v in d["validators"]
        ),
        peers=tuple(
            PeerView(name=p["name"], node_id=_hex(p["node_id"]), connected=p["connected"], height=p["height"])
            for p in d["peers"]
        ),
        mempool=MempoolView(txs=d["mempool"]["txs"], bytes=d["mempool"]["bytes"]),
        tx_window_blocks=d["tx_window_blocks"],
    )


def _frozen(d: Any) -> FrozenView | None:
    if d is None:
        return None
    return FrozenView(reason=d["reason"], by=_address(d["by"]), height=d["height"])


def account(d: Any) -> Account:
    return Account(
        address=_address(d["address"]),
        balance=d["balance"],
        height=d["height"],
        org=d["org"],
        roles=tuple(d["roles"]),
        frozen=_frozen(d["frozen"]),
    )


def certificate(d: Any) -> CertificateView | None:
    if d is None:
        return None
    return CertificateView(
        height=d["height"],
        round=d["round"],
        block_hash=_hex(d["block_hash"]),
        signatures=tuple(
            CommitSigView(node_id=_hex(s["node_id"]), signature=_hex(s["signature"])) for s in d["signatures"]
        ),
    )


def block(d: Any) -> BlockView:
    return BlockView(
        height=d["height"],
        hash=_hex(d["hash"]),
        time_ms=d["time_ms"],
        chain_id=d["chain_id"],
        proposer=_hex(d["proposer"]),
        prev_block_hash=_hex(d["prev_block_hash"]),
        app_hash=_hex(d["app_hash"]),
        tx_root=_hex(d["tx_root"]),
        last_results_hash=_hex(d["last_results_hash"]),
        validators_hash=_hex(d["validators_hash"]),
        last_commit_hash=_hex(d["last_commit_hash"]),
        txs=tuple(_hex(h) for h in d["txs"]),
        certificate=certificate(d["certificate"]),
    )


def event(d: Any) -> EventView:
    return EventView(
        emitter=d["emitter"],
        name=d["name"],
        data=_hex(d["data"]),
        fields=d.get("fields"),
        tx_hash=_opt_hex(d.get("tx_hash")),
    )


def receipt(d: Any) -> ReceiptView:
    return ReceiptView(
        tx_hash=_hex(d["tx_hash"]),
        status=d["status"],
        ok=d["ok"],
        gas_used=d["gas_used"],
        error=d["error"],
        events=tuple(event(e) for e in d["events"]),
    )


def receipts(d: Any) -> list[ReceiptView]:
    return [receipt(r) for r in d]


def tx(d: Any) -> TxView:
    return TxView(
        hash=_hex(d["hash"]),
        status=d["status"],
        height=d["height"],
        ok=d.get("ok"),
        index=d.get("index"),
        gas_used=d.get("gas_used"),
        error=d.get("error"),
        events=tuple(event(e) for e in d.get("events") or ()),
        sender=_opt_address(d.get("sender")),
        target=d.get("target"),
        method=d.get("method"),
        valid_until=d.get("valid_until"),
    )


def state(d: Any) -> StateView:
    return StateView(
        height=d["height"],
        key=_hex(d["key"]),
        value=_opt_hex(d["value"]),
        app_hash=_hex(d["app_hash"]),
        proof=_opt_hex(d["proof"]),
    )


def json_batch(d: Any) -> BatchResult:
    rejected = []
    hashes: list[bytes | None] = []
    for i, item in enumerate(d["results"]):
        if item["accepted"]:
            hashes.append(_hex(item["hash"]))
        else:
            hashes.append(None)
            rejected.append(Rejection(index=i, code=item["code"], detail=item["detail"]))
    return BatchResult(accepted=d["accepted"], rejected=tuple(rejected), hashes=tuple(hashes))


def binary_batch(d: Any) -> BatchResult:
    rejected = tuple(Rejection(index=r["index"], code=r["code"], detail=r["detail"]) for r in d["rejected"])
    return BatchResult(accepted=d["accepted"], rejected=rejected)


def block_event(d: Any) -> BlockEvent:
    return BlockEvent(
        height=d["height"],
        hash=_hex(d["hash"]),
        time_ms=d["time_ms"],
        txs=d["txs"],
        events=tuple(event(e) for e in d["events"]),
    )


def governance(d: Any) -> GovernanceView:
    return GovernanceView(
        members=tuple(
            MemberView(org=m["org"], weight=m["weight"], ca_certificate=_hex(m["ca_certificate"]))
            for m in d["members"]
        ),
        nodes=tuple(
            NodeRecordView(node_id=_hex(n["node_id"]), org=n["org"], name=n["name"]) for n in d["nodes"]
        ),
        access=tuple(
            AccessRuleView(module=r["module"], method=r["method"], roles=tuple(r["roles"]))
            for r in d["access"]
        ),
        frozen=tuple(
            FrozenAccountView(
                address=_address(f["address"]), reason=f["reason"], by=_address(f["by"]), height=f["height"]
            )
            for f in d["frozen"]
        ),
        proposals=d["proposals"],
        height=d["height"],
        validators=tuple(
            ValidatorView(node_id=_hex(v["node_id"]), name=v["name"], power=v["power"])
            for v in d["validators"]
        ),
    )


@cache
def _action_classes() -> dict[str, type[gov.Action]]:
    return {str(cls.__struct_config__.tag): cls for cls in get_args(gov.Action)}


def action(kind: str, d: Any) -> gov.Action:
    """The governance Action of ``kind`` from its JSON fields (``KeyError`` for a kind unknown here)."""
    cls = _action_classes()[kind]
    # The round trip validates every bound of the struct; a DecodeError is a UsageError: BadResponse.
    return codec.decode(cls, codec.encode(_struct_from_json(cls, d)))


def _struct_from_json(cls: type[Any], d: Any) -> Any:
    """A struct from the API's JSON of it: addresses and other bytes by the field's declared type,
    nested structs (and lists of them) likewise."""
    info = msgspec.inspect.type_info(cls)
    if not isinstance(info, msgspec.inspect.StructType):
        raise TypeError(f"{cls.__name__} is not a msgspec Struct")
    values: dict[str, Any] = {}
    for field in info.fields:
        if field.name not in d:
            continue  # the struct's default stands
        values[field.name] = _field_from_json(field.type, d[field.name])
    return cls(**values)


def _field_from_json(kind: msgspec.inspect.Type, value: Any) -> Any:
    if value is None:
        return None  # an optional field left empty
    if is_address_type(kind):
        return _address(value)
    if isinstance(kind, msgspec.inspect.BytesType):
        return _hex(value)
    if isinstance(kind, msgspec.inspect.StructType):
        return _struct_from_json(kind.cls, value)
    if isinstance(kind, msgspec.inspect.ListType):
        return [_field_from_json(kind.item_type, v) for v in value]
    return value


def proposal(d: Any) -> ProposalView:
    return ProposalView(
        id=d["id"],
        kind=d["kind"],
        status=d["status"],
        action=action(d["kind"], d["action"]),
        proposer=_address(d["proposer"]),
        proposer_org=d["proposer_org"],
        created_height=d["created_height"],
        deadline_height=d["deadline_height"],
        threshold=d["threshold"],
        votes=tuple(
            BallotView(org=b["org"], voter=_address(b["voter"]), yes=b["yes"], height=b["height"])
            for b in d["votes"]
        ),
        decided_height=d["decided_height"],
        error=d["error"],
    )


def proposals(d: Any) -> list[ProposalView]:
    return [proposal(p) for p in d]


# --- back to the API's JSON -----------------------------------------------------------------------
# The inverse of the parsers above, for callers that show a view as the API's own JSON (the CLI's
# ``block``, ``tx`` and ``gov`` views): the same field names and encodings as the node's answer, so
# that a view and the answer it was parsed from print alike (tests compare the two). Addresses are
# told from other bytes by the field's declared type, as the API does, never by a value's length.


@cache
def _struct_fields(kind: type[msgspec.Struct]) -> tuple[tuple[str, msgspec.inspect.Type], ...]:
    info = msgspec.inspect.type_info(kind)
    if not isinstance(info, msgspec.inspect.StructType):
        raise TypeError(f"{kind.__name__} is not a msgspec Struct")
    return tuple((field.name, field.type) for field in info.fields)


def _item_type(container: msgspec.inspect.Type, index: int) -> msgspec.inspect.Type:
    """The declared type of a collection's ``index``-th item (its values, for a dict)."""
    if isinstance(container, msgspec.inspect.TupleType):
        return container.item_types[index] if index < len(container.item_types) else msgspec.inspect.AnyType()
    if isinstance(
        container,
        msgspec.inspect.ListType
        | msgspec.inspect.VarTupleType
        | msgspec.inspect.SetType
        | msgspec.inspect.FrozenSetType,
    ):
        return container.item_type
    if isinstance(container, msgspec.inspect.DictType):
        return container.value_type
    return msgspec.inspect.AnyType()


def _json(value: Any, declared: msgspec.inspect.Type) -> Any:
    """``value`` as the API's JSON, ``declared`` being the type of the field that holds it: the one
    per-field rule (addresses checksummed, other bytes hex) of every view and action."""
    if isinstance(value, bytes):
        return to_checksum_address(value) if is_address_type(declared) else value.hex()
    if isinstance(value, msgspec.Struct):
        return {name: _json(getattr(value, name), kind) for name, kind in _struct_fields(type(value))}
    if isinstance(declared, msgspec.inspect.UnionType):  # ``X | None`` holding an X: X's rule
        others = [t for t in declared.types if not isinstance(t, msgspec.inspect.NoneType)]
        declared = others[0] if len(others) == 1 else msgspec.inspect.AnyType()
    if isinstance(value, list | tuple | set | frozenset):
        return [_json(item, _item_type(declared, i)) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _json(v, _item_type(declared, 0)) for k, v in value.items()}
    return value


def view_json(value: Any) -> Any:
    """A view (or an action, or a list of them) as the API answered it: by each field's declared
    type, addresses checksummed and other bytes hex, nested views likewise."""
    return _json(value, msgspec.inspect.AnyType())


def proposal_json(view: ProposalView) -> dict[str, Any]:
    """``view`` as ``GET /v1/gov/proposals/{id}`` answered it."""
    shown: dict[str, Any] = view_json(view)
    return shown


def governance_json(view: GovernanceView) -> dict[str, Any]:
    """``view`` as ``GET /v1/gov`` answered it."""
    shown: dict[str, Any] = view_json(view)
    return shown
