"""The API's one wire schema: every answer (and request body) as a msgspec Struct, shared by the
server that encodes it, the SDK that decodes it, the CLI that prints it and the explorer that reads it.

Theory of operation
-------------------
Bytes travel as text, typed by what they are, never guessed from a value's length:

- ``Hex`` (and its sized subclasses ``Hash32``, ``NodeId``, ``Signature64``, or any made by
  ``hex_type(min, max)``) is lower-case hex without ``0x`` on the way out; on the way in an
  optional ``0x`` and either case are accepted;
- ``Address`` is a 20-byte account address, written EIP-55 checksummed with ``0x``; read with or
  without ``0x``, and a mixed-case one must carry a valid checksum.

Both subclass ``bytes``, so a decoded view compares equal to the bytes the caller holds. msgspec
calls ``enc_hook`` for them when encoding, ``dec_hook`` when decoding (whose ``ValueError`` becomes
a ``ValidationError`` naming the field), and ``schema_hook`` for their JSON schema (pattern and
lengths), which the API merges into its OpenAPI document: the schema the server promises is
generated from the very classes it encodes.

The chain's own Structs (``alliance.abi``: actions, events, query answers) are canonical msgpack
arrays; the API shows them field by field by one generic rule. ``json_type(T)`` derives from an
abi type its JSON twin: a Struct of the same fields by name, an address field (by declared type,
``ledger.transaction.is_address_type``) an ``Address``, other bytes a sized ``Hex``, nested
Structs and lists likewise, and a tagged Struct (a governance action) carrying its tag as
``kind``. ``to_wire`` turns a value into its twin and ``to_abi`` back, so an action read from the
API is the very Struct the chain decodes.

Views are frozen, keyword-only, and keep the field names of spec/api.md. ``encode`` writes any of
them; ``decoder(T)`` reads one (cached per type). Bounds the server enforces on requests are the
constants here, imported by both sides.
"""

from __future__ import annotations

import re
import typing
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

import msgspec
import msgspec.inspect
import msgspec.structs

from alliance.abi import gov
from alliance.crypto.keys import parse_address, to_checksum_address
from alliance.errors import UsageError
from alliance.ledger.transaction import is_address_type
from alliance.types import ADDRESS_SIZE_BYTES

T = TypeVar("T")

# --- bounds and constants both sides use ------------------------------------------------------------

MSGPACK_MEDIA_TYPE = "application/msgpack"
PROBLEM_MEDIA_TYPE = "application/problem+json"
WS_CLOSE_TRY_AGAIN_LATER = 1013
HEIGHT_MAX = 2**63 - 1
BINARY_BATCH_TXS_MAX = 50_000
JSON_BATCH_TXS_MAX = 10_000
WAIT_TIMEOUT_MS_DEFAULT = 10_000
WAIT_TIMEOUT_MS_MAX = 60_000
PAGE_LIMIT_DEFAULT = 100
PAGE_LIMIT_MAX = gov.PAGE_LIMIT_MAX  # one page of proposals or frozen accounts
PROPOSALS_LIMIT_DEFAULT = PAGE_LIMIT_DEFAULT
PROPOSALS_LIMIT_MAX = PAGE_LIMIT_MAX
STATE_KEY_BYTES_MAX = 256  # the state tree's key bound (state.tree.STATE_KEY_SIZE_BYTES_MAX)
BLOCKS_LIMIT_DEFAULT = 20  # block headers in one page of GET /v1/blocks
BLOCKS_LIMIT_MAX = 100
ACCOUNT_TXS_LIMIT_DEFAULT = 20  # an account's transactions in one page
ACCOUNT_TXS_LIMIT_MAX = 100

HEX_PATTERN = r"^(0[xX])?([0-9a-fA-F]{2})*$"
ADDRESS_PATTERN = r"^(0[xX])?[0-9a-fA-F]{40}$"
# What a request may carry without a checksum to check: one case throughout. A mixed-case address
# is accepted too when its EIP-55 checksum is valid, which no pattern can say.
ADDRESS_INPUT_PATTERN = r"^(0[xX])?([0-9a-f]{40}|[0-9A-F]{40})$"
ADDRESS_DOC = (
    "a 20-byte address: 40 hex digits, 0x optional; written EIP-55 checksummed, and a mixed-case "
    "one must carry a valid checksum"
)
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


def sized_hex_pattern(size_bytes: int) -> str:
    return rf"^(0[xX])?[0-9a-fA-F]{{{2 * size_bytes}}}$"


def parse_hex(
    text: str, what: str, *, size_bytes: int | None = None, size_bytes_max: int | None = None
) -> bytes:
    """Hex (an optional ``0x`` tolerated) to bytes; ``UsageError`` naming ``what`` otherwise."""
    body = text[2:] if text[:2] in ("0x", "0X") else text
    if _HEX.fullmatch(body) is None:  # bytes.fromhex would also take spaces between the bytes
        raise UsageError(f"{what} is not hex: {text[:80]!r}")
    raw = bytes.fromhex(body)
    if size_bytes is not None and len(raw) != size_bytes:
        raise UsageError(f"{what} is {size_bytes} bytes, got {len(raw)}")
    if size_bytes_max is not None and not 1 <= len(raw) <= size_bytes_max:
        raise UsageError(f"{what} is 1 to {size_bytes_max} bytes, got {len(raw)}")
    return raw


# --- bytes types ------------------------------------------------------------------------------------


class Hex(bytes):
    """Bytes shown as hex. Subclasses bound the size (``size_min``..``size_max`` bytes)."""

    size_min: ClassVar[int] = 0
    size_max: ClassVar[int | None] = None


class Hash32(Hex):
    size_min = size_max = 32


class NodeId(Hex):
    size_min = size_max = 32


class Signature64(Hex):
    size_min = size_max = 64


class Address(bytes):
    """A 20-byte account address, shown EIP-55 checksummed."""


_SIZED: dict[tuple[int, int | None], type[Hex]] = {(0, None): Hex, (32, 32): Hash32, (64, 64): Signature64}


def hex_type(size_min: int, size_max: int | None) -> type[Hex]:
    """The ``Hex`` subclass for a declared size range (cached: one class per range)."""
    found = _SIZED.get((size_min, size_max))
    if found is None:
        name = f"Hex{size_min}to{size_max}"
        found = type(name, (Hex,), {"size_min": size_min, "size_max": size_max, "__module__": __name__})
        _SIZED[(size_min, size_max)] = found
    return found


def enc_hook(value: Any) -> Any:
    if isinstance(value, Address):
        return to_checksum_address(value)
    if isinstance(value, Hex):
        return value.hex()
    raise NotImplementedError(f"the wire has no encoding for {type(value).__name__}")


def dec_hook(kind: type[Any], value: Any) -> Any:
    if isinstance(kind, type) and issubclass(kind, Address):
        if not isinstance(value, str):
            raise TypeError(f"expected an address string, got {type(value).__name__}")
        try:
            return kind(parse_address(value))
        except UsageError as exc:
            raise ValueError(exc.message) from None
    if isinstance(kind, type) and issubclass(kind, Hex):
        if not isinstance(value, str):
            raise TypeError(f"expected a hex string, got {type(value).__name__}")
        try:
            raw = parse_hex(value, "the value")
        except UsageError as exc:
            raise ValueError(exc.message) from None
        if len(raw) < kind.size_min or (kind.size_max is not None and len(raw) > kind.size_max):
            bound = kind.size_min if kind.size_min == kind.size_max else f"{kind.size_min}..{kind.size_max}"
            raise ValueError(f"expected {bound} bytes, got {len(raw)}")
        return kind(raw)
    raise NotImplementedError(f"the wire has no decoding for {kind!r}")


def schema_hook(kind: type[Any]) -> dict[str, Any]:
    if isinstance(kind, type) and issubclass(kind, Address):
        return {"type": "string", "pattern": ADDRESS_PATTERN, "description": ADDRESS_DOC}
    if isinstance(kind, type) and issubclass(kind, Hex):
        schema: dict[str, Any] = {"type": "string"}
        if kind.size_min == kind.size_max:
            schema["pattern"] = sized_hex_pattern(kind.size_min)
        else:
            schema["pattern"] = HEX_PATTERN
            schema["minLength"] = 2 * kind.size_min
            if kind.size_max is not None:
                schema["maxLength"] = 2 + 2 * kind.size_max  # with its optional 0x
        return schema
    raise NotImplementedError(f"the wire has no schema for {kind!r}")


_encoder = msgspec.json.Encoder(enc_hook=enc_hook)


def encode(value: object) -> bytes:
    """JSON of any view (or list of views), bytes by their wire type."""
    return _encoder.encode(value)


_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    """The decoder of ``kind`` (made once per type)."""
    found = _decoders.get(kind)
    if found is None:
        found = _decoders[kind] = msgspec.json.Decoder(kind, dec_hook=dec_hook)
    return found


def decode(kind: type[T], data: bytes | str) -> T:
    """``data`` (JSON) as ``kind``; ``msgspec.ValidationError``/``DecodeError`` when it is not."""
    decoded: T = decoder(kind).decode(data)
    return decoded


def to_builtins(value: object) -> Any:
    """A view as plain JSON values (dicts, lists, strings...): exactly what ``encode`` writes, read back."""
    return msgspec.json.decode(_encoder.encode(value))


def schema_components(kinds: list[Any], ref_template: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The JSON schemas of ``kinds`` with their shared components (OpenAPI's ``components``)."""
    schemas, components = msgspec.json.schema_components(
        kinds, schema_hook=schema_hook, ref_template=ref_template
    )
    return list(schemas), dict(components)


# --- the chain's Structs as JSON: one generic rule ----------------------------------------------------

_ABI_OF: dict[type[msgspec.Struct], type[msgspec.Struct]] = {}
_TWIN_OF: dict[type[msgspec.Struct], type[msgspec.Struct]] = {}


def _meta(**bounds: Any) -> dict[str, Any]:
    return {k: v for k, v in bounds.items() if v is not None}


def _twin_type(declared: msgspec.inspect.Type) -> Any:
    """The JSON twin of one declared (inspected) type."""
    if is_address_type(declared) and not isinstance(declared, msgspec.inspect.UnionType):
        return Address
    match declared:
        case msgspec.inspect.NoneType():
            return None
        case msgspec.inspect.AnyType():
            return Any
        case msgspec.inspect.BoolType():
            return bool
        case msgspec.inspect.IntType(gt=gt, ge=ge, lt=lt, le=le):
            bounds = _meta(gt=gt, ge=ge, lt=lt, le=le)
            return Annotated[int, msgspec.Meta(**bounds)] if bounds else int
        case msgspec.inspect.StrType(min_length=lo, max_length=hi, pattern=pattern):
            bounds = _meta(min_length=lo, max_length=hi, pattern=pattern)
            return Annotated[str, msgspec.Meta(**bounds)] if bounds else str
        case msgspec.inspect.BytesType(min_length=lo, max_length=hi):
            return hex_type(lo or 0, hi)
        case (
            msgspec.inspect.ListType(item_type=item, min_length=lo, max_length=hi)
            | msgspec.inspect.VarTupleType(item_type=item, min_length=lo, max_length=hi)
        ):
            bounds = _meta(min_length=lo, max_length=hi)
            listed = list[_twin_type(item)]  # type: ignore[misc,valid-type]
            return Annotated[listed, msgspec.Meta(**bounds)] if bounds else listed
        case msgspec.inspect.DictType(key_type=key, value_type=value):
            return dict[_twin_type(key), _twin_type(value)]  # type: ignore[misc]
        case msgspec.inspect.StructType(cls=cls):
            return json_type(cls)
        case msgspec.inspect.LiteralType(values=values):
            return typing.Literal[values]
        case msgspec.inspect.VarTupleType(item_type=item):
            return list[_twin_type(item)]  # type: ignore[misc]
        case msgspec.inspect.TupleType(item_types=items):
            return tuple.__class_getitem__(tuple(_twin_type(t) for t in items))
        case msgspec.inspect.UnionType(types=types):
            return typing.Union[tuple(_twin_type(t) for t in types)]  # noqa: UP007 - built at run time
    raise TypeError(f"no JSON form for the declared type {declared!r}")


@cache
def _inspected(cls: type[msgspec.Struct]) -> tuple[tuple[str, msgspec.inspect.Type], ...]:
    info = msgspec.inspect.type_info(cls)
    if not isinstance(info, msgspec.inspect.StructType):
        raise TypeError(f"{cls.__name__} is not a msgspec Struct")
    return tuple((f.name, f.type) for f in info.fields)


@cache
def json_type(kind: Any) -> Any:
    """The JSON twin of an abi type (a Struct, a union of tagged Structs, a list of them...)."""
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        return _twin_struct(kind)
    return _twin_type(msgspec.inspect.type_info(kind))


def _twin_struct(cls: type[msgspec.Struct]) -> type[msgspec.Struct]:
    found = _TWIN_OF.get(cls)
    if found is not None:
        return found
    fields: list[tuple[str, Any, Any]] = []
    for spec in msgspec.structs.fields(cls):
        declared = dict(_inspected(cls))[spec.name]
        if spec.default is not msgspec.NODEFAULT:
            fields.append((spec.name, _twin_type(declared), spec.default))
        elif spec.default_factory is not msgspec.NODEFAULT:
            fields.append(
                (spec.name, _twin_type(declared), msgspec.field(default_factory=spec.default_factory))
            )
        else:
            fields.append((spec.name, _twin_type(declared), msgspec.NODEFAULT))
    tag = cls.__struct_config__.tag
    area = cls.__module__.rsplit(".", 1)[-1]
    twin: type[msgspec.Struct] = msgspec.defstruct(
        f"{area}.{cls.__name__}",
        [
            (name, kind) if default is msgspec.NODEFAULT else (name, kind, default)
            for name, kind, default in fields
        ],
        frozen=True,
        forbid_unknown_fields=True,
        tag=tag if isinstance(tag, str) else None,
        tag_field="kind" if isinstance(tag, str) else None,
        module=__name__,
    )
    _TWIN_OF[cls] = twin
    _ABI_OF[twin] = cls
    return twin


def to_wire(value: Any, declared: msgspec.inspect.Type | None = None) -> Any:
    """An abi value (Struct, list of them, bytes...) as its JSON twin, bytes typed by declaration."""
    if isinstance(value, msgspec.Struct):
        twin = json_type(type(value))
        return twin(**{name: to_wire(getattr(value, name), kind) for name, kind in _inspected(type(value))})
    if isinstance(value, bytes):
        if declared is not None and is_address_type(declared):
            return Address(value)
        return Hex(value)
    if isinstance(value, list | tuple):
        item: msgspec.inspect.Type | None = None
        if isinstance(declared, msgspec.inspect.ListType | msgspec.inspect.VarTupleType):
            item = declared.item_type
        return [to_wire(v, item) for v in value]
    return value


def to_abi(value: Any) -> Any:
    """A JSON twin back as the abi value it stands for (the inverse of ``to_wire``)."""
    if isinstance(value, msgspec.Struct):
        cls = _ABI_OF.get(type(value))
        if cls is None:
            raise TypeError(f"{type(value).__name__} is not the JSON twin of an abi Struct")
        return cls(**{name: to_abi(getattr(value, name)) for name in value.__struct_fields__})
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, list | tuple):
        return [to_abi(v) for v in value]
    return value


def contract_value_json(value: Any) -> Any:
    """A contract's answer (canonical msgpack values, no declared types) as JSON: 20 bytes as a
    checksummed address (the ABI's ``Address``; a contract's answer does not say which bytes are
    one, and 20-byte values that are not addresses are rare in contracts), other bytes as hex,
    map keys as text."""
    if isinstance(value, bytes):
        return to_checksum_address(value) if len(value) == ADDRESS_SIZE_BYTES else value.hex()
    if isinstance(value, list | tuple):
        return [contract_value_json(v) for v in value]
    if isinstance(value, dict):
        return {str(contract_value_json(k)): contract_value_json(v) for k, v in value.items()}
    return value


def fields_json(value: msgspec.Struct) -> dict[str, Any]:
    """An abi Struct's fields as plain JSON values (a decoded event's ``fields``)."""
    shown: dict[str, Any] = to_builtins(to_wire(value))
    return shown


if TYPE_CHECKING:
    ActionJson = msgspec.Struct
else:
    ActionJson = json_type(gov.Action)


# --- views: the API's answers ---------------------------------------------------------------------------


class View(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Base of every view. Unknown fields are ignored, so a newer node's additions do not break
    an older SDK."""


class Problem(View, frozen=True):
    """Every refusal (RFC 9457): ``code`` is stable; ``type`` is ``urn:alliance:<code>``."""

    type: str
    title: str
    status: int
    detail: str
    code: str


class ValidatorView(View, frozen=True):
    node_id: NodeId
    name: str | None
    power: int


class PeerView(View, frozen=True):
    name: str
    node_id: NodeId
    connected: bool
    height: int | None


class MempoolView(View, frozen=True):
    txs: int
    bytes: int


class Status(View, frozen=True):
    chain_id: str
    node: str
    org: str
    node_id: NodeId
    genesis_hash: Hash32
    height: int
    block_hash: Hex  # empty at height 0
    app_hash: Hex
    time_ms: int
    validator: bool
    round: int
    syncing: bool
    validators: tuple[ValidatorView, ...]
    peers: tuple[PeerView, ...]
    mempool: MempoolView
    tx_window_blocks: int
    halted: str | None = None  # why the node stopped applying blocks (its state differs), if it did


class FrozenView(View, frozen=True):
    """Why, by whom and at which height an account was frozen."""

    reason: str
    by: Address
    height: int


class Account(View, frozen=True):
    address: Address
    balance: int
    height: int
    org: str = ""  # "" for an account governance has never named
    roles: tuple[str, ...] = ()
    frozen: FrozenView | None = None


class CommitSigView(View, frozen=True):
    node_id: NodeId
    signature: Signature64


class CertificateView(View, frozen=True):
    height: int
    round: int
    block_hash: Hash32
    signatures: tuple[CommitSigView, ...]


class BlockView(View, frozen=True):
    height: int
    hash: Hash32
    time_ms: int
    chain_id: str
    proposer: NodeId
    prev_block_hash: Hex  # empty for block 1
    app_hash: Hash32
    tx_root: Hash32
    last_results_hash: Hash32
    validators_hash: Hash32
    last_commit_hash: Hex
    txs: tuple[Hash32, ...]  # the hashes of its transactions, in order
    certificate: CertificateView | None


class EventView(View, frozen=True):
    """An event; ``fields``: its data decoded by the emitting module's declared event type."""

    emitter: str
    name: str
    data: Hex
    fields: dict[str, Any] | None = None


class ReceiptView(View, frozen=True):
    tx_hash: Hash32
    status: str
    ok: bool
    gas_used: int
    error: str
    events: tuple[EventView, ...]
    result: Hex = msgspec.field(
        default_factory=Hex
    )  # the called method's answer (canonical bytes), empty when it has none


class TxView(View, frozen=True):
    """A committed transaction, or one still pending (``status == "pending"``, ``height is None``)."""

    hash: Hash32
    status: str
    height: int | None
    ok: bool | None = None
    index: int | None = None
    gas_used: int | None = None
    error: str | None = None
    events: tuple[EventView, ...] = ()
    result: Hex | None = None
    sender: Address | None = None
    target: str | None = None
    method: str | None = None
    valid_until: int | None = None

    @property
    def committed(self) -> bool:
        return self.height is not None


class BlockHeaderView(View, frozen=True):
    """A block as ``BlockView`` but for its transactions: how many it holds, not their hashes (a
    full block's list is ~670 KB). The header and the certificate are whole, so a reader can
    recompute the block's hash and check its signatures from this alone."""

    height: int
    hash: Hash32
    time_ms: int
    chain_id: str
    proposer: NodeId
    prev_block_hash: Hex
    app_hash: Hash32
    tx_root: Hash32
    last_results_hash: Hash32
    validators_hash: Hash32
    last_commit_hash: Hex
    txs: int
    certificate: CertificateView | None


class BlockHeadersPage(View, frozen=True):
    """``GET /v1/blocks``: block headers below ``before``, newest first."""

    height: int  # the last committed height when read
    blocks: tuple[BlockHeaderView, ...]
    next_before: int  # ask with before=next_before for the page below (0: block 1 is on this page)


class ValidatorSetView(View, frozen=True):
    """``GET /v1/validators``: the set that votes at ``height`` (written by block ``height - 2``)."""

    height: int
    validators_hash: Hash32  # as the header of block ``height`` carries it
    total_power: int
    validators: tuple[ValidatorView, ...]


class TxProofView(View, frozen=True):
    """``GET /v1/txs/{hash}/proof``: a committed transaction's canonical bytes and the Merkle path
    from it to its block's ``tx_root`` (``alliance.crypto.merkle``: siblings innermost first)."""

    hash: Hash32
    height: int
    index: int
    total: int  # transactions in the block
    tx: Hex  # the canonical signed transaction
    siblings: tuple[Hash32, ...]


class AccountTxView(View, frozen=True):
    hash: Hash32
    height: int
    index: int
    target: str
    method: str
    status: str  # "ok" or the receipt's error code
    sent: bool  # the account signed it; false: one of its events names the account


class AccountTxsPage(View, frozen=True):
    """``GET /v1/accounts/{address}/txs``: the account's transactions, newest first."""

    address: Address
    txs: tuple[AccountTxView, ...]
    indexed_height: int  # every transaction at this height and below is in the node's index
    next_before: int | None  # the page below: before=next_before&before_index=next_before_index
    next_before_index: int | None  # (both null: no more)


class StateView(View, frozen=True):
    height: int
    key: Hex
    value: Hex | None
    app_hash: Hex
    proof: Hex | None  # canonical bytes of the state proof, when asked for


class MemberView(View, frozen=True):
    org: str
    weight: int
    ca_certificate: Hex  # DER


class NodeRecordView(View, frozen=True):
    node_id: NodeId
    org: str
    name: str


class AccessRuleView(View, frozen=True):
    module: str
    method: str
    roles: tuple[str, ...]


class FrozenAccountView(View, frozen=True):
    address: Address
    reason: str
    by: Address
    height: int


class GovernanceView(View, frozen=True):
    members: tuple[MemberView, ...]
    nodes: tuple[NodeRecordView, ...]
    access: tuple[AccessRuleView, ...]
    frozen: tuple[FrozenAccountView, ...]  # the first page; ``frozen_count`` says how many in all
    proposals: int  # how many proposals were ever made: ids 1..proposals
    height: int  # the committed height all of the above was read at
    validators: tuple[ValidatorView, ...]  # the set the ledger records at ``height``
    frozen_count: int = 0


class BallotView(View, frozen=True):
    org: str
    voter: Address
    yes: bool
    height: int


class ProposalView(View, frozen=True):
    id: int
    kind: str
    status: str  # "open", "passed", "rejected" or "expired"
    action: ActionJson  # the action's fields, with its ``kind``
    proposer: Address
    proposer_org: str
    created_height: int
    deadline_height: int
    threshold: str  # the fraction of committee weight the yes votes must exceed, e.g. "2/3"
    votes: tuple[BallotView, ...]
    decided_height: int  # 0 while undecided
    error: str  # why a passed action could not apply; "" otherwise

    def gov_action(self) -> gov.Action:
        """The action as the governance module's own Struct (``gov.SetParam``, ...)."""
        action: gov.Action = to_abi(self.action)
        return action


class StreamEventView(EventView, frozen=True, kw_only=True):
    """An event of the block stream, which lists a block's events flat: with its transaction's hash."""

    tx_hash: Hash32  # keyword-only, so it may follow the defaults above


class BlockEvent(View, frozen=True, tag="block", tag_field="type"):
    """One message of the block stream: a committed block and its events, flat."""

    height: int
    hash: Hash32
    time_ms: int
    txs: int
    events: tuple[StreamEventView, ...]


class SubmitRequest(View, frozen=True):
    # Hex, checked by the route (400 ``malformed_encoding``, not a shape refusal); no length bound
    # of its own: the body bound caps it, and the node's ``tx_too_large`` says more.
    tx: Annotated[str, msgspec.Meta(extra_json_schema={"pattern": HEX_PATTERN, "minLength": 2})]


class BatchRequest(View, frozen=True):
    # Each item is judged on its own: one that is not hex is refused in its result, not the batch.
    txs: Annotated[
        list[Annotated[str, msgspec.Meta(description="hex of a canonical transaction")]],
        msgspec.Meta(max_length=JSON_BATCH_TXS_MAX),
    ]


class SubmitResponse(View, frozen=True):
    hash: Hash32
    accepted: bool


class BatchItem(View, frozen=True, omit_defaults=True):
    """``hash`` when accepted; ``code`` and ``detail`` when refused."""

    accepted: bool
    hash: Hash32 | None = None
    code: str | None = None
    detail: str | None = None


class BatchResponse(View, frozen=True):
    accepted: int
    results: tuple[BatchItem, ...]


class Rejection(View, frozen=True):
    index: int
    code: str
    detail: str


class BinaryBatchResponse(View, frozen=True):
    accepted: int
    rejected: tuple[Rejection, ...]


class FrozenPage(View, frozen=True):
    """``GET /v1/gov/frozen``: frozen accounts from position ``start``, read at ``height``."""

    height: int
    start: int
    total: int  # frozen accounts in all at ``height``
    frozen: tuple[FrozenAccountView, ...]


# --- what the SDK derives from answers (not on the wire) ----------------------------------------------


class BatchResult(View, frozen=True):
    """``accepted`` count; ``rejected`` with input positions; ``hashes`` (JSON path only) per input,
    ``None`` where refused."""

    accepted: int
    rejected: tuple[Rejection, ...]
    hashes: tuple[bytes | None, ...] = ()


class ProposalOutcome(View, frozen=True):
    """What a ``propose`` or ``vote`` transaction did.

    ``proposal``: the proposal's id (None for a proposal still pending); ``proposal_status``:
    "open", "passed" or "rejected" after the transaction (None while pending); ``status``: the
    transaction's ("ok", or "pending" when not waited for)."""

    proposal: int | None
    proposal_status: str | None
    tx_hash: Hash32
    height: int | None
    status: str


def query_args_from_params(kind: type[msgspec.Struct], params: dict[str, str]) -> Any:
    """A module query's args Struct from URL query parameters (text converted by declared type)."""
    twin = json_type(kind)
    return to_abi(msgspec.convert(params, twin, strict=False, dec_hook=dec_hook))
