"""The canonical codec on the ledger's Structs: round trips, and rejection of everything else.

A small msgpack writer in this file encodes the same values independently of msgspec. With no
options it must produce exactly the codec's bytes (so "canonical" means the smallest msgpack form of
every integer, string, byte string and array); asked to widen one node of the tree (an int as uint32
where a fixint fits, a str8 where a fixstr fits, an array16 where a fixarray fits, a float for an
int), it produces bytes that msgspec alone would accept and that ``codec.decode`` must refuse. Every
refusal is ``alliance.errors.DecodeError`` and nothing else.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance import codec
from alliance.crypto.keys import AccountKey
from alliance.crypto.suite import suite_by_name
from alliance.errors import DecodeError
from alliance.ledger.block import (
    BLOCK_TXS_BYTES_MAX,
    BLOCK_TXS_MAX,
    Block,
    CommitCertificate,
    CommitSig,
    Event,
    Header,
    Receipt,
)
from alliance.ledger.genesis import GAS_MAX, TX_WINDOW_BLOCKS_MAX, ChainParams, Genesis, GenesisAccount
from alliance.ledger.transaction import (
    TX_SIZE_BYTES_MAX,
    Call,
    Transaction,
    TxBody,
    decode_tx,
    sign_tx,
    tx_hash,
    tx_hash_of_body,
)
from alliance.ledger.validators import POWER_MAX, Validator, ValidatorSet

INT64_MAX = 2**63 - 1
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MUTATIONS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies -------------------------------------------------------------------------------------


def fixed(n: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=n, max_size=n)


names = st.text(min_size=1, max_size=64)
small_bytes = st.binary(max_size=40)
heights = st.integers(0, INT64_MAX)
u63 = st.integers(0, INT64_MAX)
positives = st.integers(1, INT64_MAX)

calls = st.builds(Call, target=names, method=names, args=small_bytes)
tx_bodies = st.builds(
    TxBody,
    chain_id=names,
    nonce=fixed(16),
    valid_until=heights,
    call=calls,
    gas_limit=u63,
    sender=fixed(33),
)
transactions = st.builds(Transaction, body=tx_bodies, signature=fixed(64))
headers = st.builds(
    Header,
    chain_id=names,
    height=heights,
    time_ms=u63,
    prev_block_hash=st.one_of(st.just(b""), fixed(32)),
    tx_root=fixed(32),
    app_hash=fixed(32),
    last_results_hash=fixed(32),
    validators_hash=fixed(32),
    proposer=fixed(32),
    last_commit_hash=st.one_of(st.just(b""), fixed(32)),
)
blocks = st.builds(Block, header=headers, txs=st.lists(small_bytes, max_size=4))
commit_sigs = st.builds(CommitSig, node_id=fixed(32), signature=fixed(64))
certificates = st.builds(
    CommitCertificate,
    height=heights,
    round=st.integers(0, 2**31 - 1),
    block_hash=fixed(32),
    signatures=st.lists(commit_sigs, max_size=3),
)
events = st.builds(Event, emitter=names, name=names, data=small_bytes)
receipts = st.builds(
    Receipt,
    status=st.text(max_size=40),
    gas_used=st.integers(-(2**63), 2**64 - 1),
    events=st.lists(events, max_size=3),
    error=st.text(max_size=40),
)
chain_params = st.builds(  # within each parameter's declared ceiling (ChainParams)
    ChainParams,
    block_txs_max=st.integers(1, BLOCK_TXS_MAX),
    block_bytes_max=st.integers(TX_SIZE_BYTES_MAX, BLOCK_TXS_BYTES_MAX),
    block_gas_max=st.integers(1, GAS_MAX),
    tx_gas_max=st.integers(1, GAS_MAX),
    tx_window_blocks=st.integers(1, TX_WINDOW_BLOCKS_MAX),
)
powers = st.integers(1, POWER_MAX)


@st.composite
def validator_sets(draw: st.DrawFn, max_size: int = 4) -> ValidatorSet:
    ids = draw(st.lists(fixed(32), unique=True, max_size=max_size))
    return ValidatorSet(validators=[Validator(node_id=i, power=draw(powers)) for i in sorted(ids)])


def genesis_docs(validators: st.SearchStrategy[ValidatorSet]) -> st.SearchStrategy[Genesis]:
    return st.builds(
        Genesis,
        chain_id=names,
        genesis_time_ms=u63,
        suite=names,
        params=chain_params,
        accounts=st.lists(st.builds(GenesisAccount, address=fixed(20), balance=u63), max_size=3),
        validators=validators,
    )


KINDS: dict[type[Any], st.SearchStrategy[Any]] = {
    Transaction: transactions,
    Header: headers,
    Block: blocks,
    CommitCertificate: certificates,
    Receipt: receipts,
    Genesis: genesis_docs(validator_sets()),
}
kinds = pytest.mark.parametrize("kind", list(KINDS), ids=lambda k: k.__name__)


def objects_of(table: dict[type[Any], st.SearchStrategy[Any]]) -> st.SearchStrategy[tuple[type[Any], Any]]:
    def tagged(kind: type[Any]) -> st.SearchStrategy[tuple[type[Any], Any]]:
        return table[kind].map(lambda obj: (kind, obj))

    return st.one_of(*map(tagged, table))


# --- an independent msgpack writer --------------------------------------------------------------------

Tree = int | str | bytes | list["Tree"]


def tree_of(obj: object) -> Tree:
    """A Struct as nested lists of its fields, the shape an array-like Struct has on the wire."""
    if isinstance(obj, msgspec.Struct):
        return [tree_of(getattr(obj, name)) for name in obj.__struct_fields__]
    if isinstance(obj, list):
        return [tree_of(x) for x in obj]
    assert isinstance(obj, int | str | bytes), type(obj)
    return obj


_UNSIGNED = ((0xCC, ">B"), (0xCD, ">H"), (0xCE, ">I"), (0xCF, ">Q"))
_SIGNED = ((0xD0, ">b"), (0xD1, ">h"), (0xD2, ">i"), (0xD3, ">q"))
_LENGTHS = (">B", ">H", ">I")


def _int_forms(v: int) -> list[bytes]:
    """Encodings of an int, smallest first."""
    if v >= 0:
        fix = [bytes([v])] if v <= 0x7F else []
        return fix + [
            bytes([tag]) + struct.pack(fmt, v) for tag, fmt in _UNSIGNED if v < 256 ** struct.calcsize(fmt)
        ]
    fix = [struct.pack(">b", v)] if v >= -32 else []
    return fix + [
        bytes([tag]) + struct.pack(fmt, v) for tag, fmt in _SIGNED if v >= -(256 ** struct.calcsize(fmt) // 2)
    ]


def _length_forms(n: int, fix_base: int | None, fix_max: int, tags: tuple[int, ...]) -> list[bytes]:
    """Encodings of a length header, smallest first; arrays have no 8-bit form, so fewer tags."""
    fix = [bytes([fix_base | n])] if fix_base is not None and n <= fix_max else []
    formats = _LENGTHS[-len(tags) :]
    return fix + [
        bytes([tag]) + struct.pack(fmt, n)
        for tag, fmt in zip(tags, formats, strict=True)
        if n < 256 ** struct.calcsize(fmt)
    ]


class Writer:
    """Encodes a tree; node number ``widen`` (preorder) gets its next-larger form, or a float."""

    def __init__(self, widen: int | None = None, *, as_float: bool = False) -> None:
        self.widen = widen
        self.as_float = as_float
        self.nodes = 0
        self.widened = False

    def write(self, value: Tree) -> bytes:
        index = self.nodes
        self.nodes += 1
        pick = 0
        if index == self.widen:
            if self.as_float:
                if isinstance(value, int) and not isinstance(value, bool):
                    self.widened = True
                    return b"\xcb" + struct.pack(">d", float(value))
            else:
                pick = 1
        if isinstance(value, int):
            return self._choose(_int_forms(value), pick)
        if isinstance(value, str):
            raw = value.encode("utf-8")
            return self._choose(_length_forms(len(raw), 0xA0, 31, (0xD9, 0xDA, 0xDB)), pick) + raw
        if isinstance(value, bytes):
            return self._choose(_length_forms(len(value), None, 0, (0xC4, 0xC5, 0xC6)), pick) + value
        head = self._choose(_length_forms(len(value), 0x90, 15, (0xDC, 0xDD)), pick)
        return head + b"".join(self.write(x) for x in value)

    def _choose(self, forms: list[bytes], pick: int) -> bytes:
        if pick and len(forms) > 1:
            self.widened = True
            return forms[1]
        return forms[0]


def node_count(tree: Tree) -> int:
    return 1 + sum(node_count(x) for x in tree) if isinstance(tree, list) else 1


def decode_or_none(kind: type[Any], data: bytes) -> Any:
    """The decoded object, or None when decoding refused the bytes (with DecodeError, nothing else)."""
    try:
        return codec.decode(kind, data)
    except DecodeError:
        return None


def assert_decode_error(kind: type[Any], data: bytes, **kwargs: int) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        codec.decode(kind, data, **kwargs)
    assert type(info.value) is DecodeError
    return info.value


# --- round trips ----------------------------------------------------------------------------------


@FAST
@given(objects_of(KINDS))
def test_round_trip(case: tuple[type[Any], Any]) -> None:
    kind, obj = case
    raw = codec.encode(obj)
    assert codec.decode(kind, raw) == obj
    assert codec.decode(kind, bytearray(raw)) == obj  # type: ignore[arg-type]  # any buffer is taken
    assert codec.decode(kind, memoryview(raw)) == obj  # type: ignore[arg-type]
    assert codec.encode(codec.decode(kind, raw)) == raw


@FAST
@given(objects_of(KINDS))
def test_codec_bytes_are_the_smallest_msgpack_forms(case: tuple[type[Any], Any]) -> None:
    _, obj = case
    assert Writer().write(tree_of(obj)) == codec.encode(obj)


@FAST
@given(transactions)
def test_transaction_hash_covers_the_body_only(tx: Transaction) -> None:
    assert tx_hash(tx) == tx_hash_of_body(tx.body)
    other = Transaction(body=tx.body, signature=bytes(64))
    assert tx_hash(other) == tx_hash(tx)


def test_signed_transaction_decodes_and_verifies() -> None:
    key = AccountKey(bytes(range(1, 33)))
    args = [b"\x01" * 20, 5]
    tx = sign_tx(key, chain_id="test", target="bank", method="transfer", args=args, valid_until=9)
    decoded = decode_tx(codec.encode(tx))
    assert decoded == tx
    assert suite_by_name().verify(decoded.body.sender, tx_hash(decoded), decoded.signature)


# --- what decoding refuses ----------------------------------------------------------------------------


@MUTATIONS
@given(objects_of(KINDS), st.binary(min_size=1, max_size=8))
def test_trailing_bytes_rejected(case: tuple[type[Any], Any], extra: bytes) -> None:
    kind, obj = case
    assert_decode_error(kind, codec.encode(obj) + extra)


@MUTATIONS
@given(objects_of(KINDS))
def test_every_truncation_rejected(case: tuple[type[Any], Any]) -> None:
    kind, obj = case
    raw = codec.encode(obj)
    for end in range(len(raw)):
        assert_decode_error(kind, raw[:end])


@MUTATIONS
@given(objects_of(KINDS))
def test_every_single_bit_flip_is_rejected_or_canonical(case: tuple[type[Any], Any]) -> None:
    kind, obj = case
    raw = codec.encode(obj)
    for bit in range(8 * len(raw)):
        mutated = bytearray(raw)
        mutated[bit // 8] ^= 1 << (bit % 8)
        decoded = decode_or_none(kind, bytes(mutated))
        if decoded is None:
            continue
        assert decoded != obj
        assert codec.encode(decoded) == mutated


@FAST
@given(objects_of(KINDS), st.data())
def test_any_widened_node_rejected(case: tuple[type[Any], Any], data: st.DataObject) -> None:
    kind, obj = case
    tree = tree_of(obj)
    writer = Writer(widen=data.draw(st.integers(0, node_count(tree) - 1), label="node"))
    wide = writer.write(tree)
    if not writer.widened:  # the node had no larger form (a uint64, say)
        return
    assert msgspec.msgpack.decode(wide, type=kind) == obj  # msgspec alone would take it
    assert "non-canonical" in str(assert_decode_error(kind, wide))


@FAST
@given(objects_of(KINDS), st.data())
def test_float_for_an_int_rejected(case: tuple[type[Any], Any], data: st.DataObject) -> None:
    kind, obj = case
    tree = tree_of(obj)
    writer = Writer(widen=data.draw(st.integers(0, node_count(tree) - 1), label="node"), as_float=True)
    wide = writer.write(tree)
    if writer.widened:
        assert_decode_error(kind, wide)


@FAST
@given(objects_of(KINDS))
def test_map_instead_of_array_rejected(case: tuple[type[Any], Any]) -> None:
    kind, obj = case
    as_map = msgspec.msgpack.encode({f: getattr(obj, f) for f in obj.__struct_fields__})
    assert_decode_error(kind, as_map)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(KINDS)), st.binary(max_size=200))
def test_arbitrary_bytes_decode_canonically_or_raise_decode_error(kind: type[Any], data: bytes) -> None:
    decoded = decode_or_none(kind, data)
    if decoded is not None:
        assert codec.encode(decoded) == data


# Receipt(status="ok", gas_used=1, events=[], error="", result=b"") is 95 a2 6f 6b 01 90 a0 c4 00.
RECEIPT = Receipt(status="ok", gas_used=1, events=[], error="")
RECEIPT_HEX = "95 a2 6f6b 01 90 a0 c400"


def test_receipt_canonical_bytes() -> None:
    assert codec.encode(RECEIPT) == bytes.fromhex(RECEIPT_HEX)
    assert codec.decode(Receipt, bytes.fromhex(RECEIPT_HEX)) == RECEIPT


@pytest.mark.parametrize(
    ("form", "hex_bytes"),
    [
        ("int as uint32 where a fixint fits", "95 a2 6f6b ce00000001 90 a0 c400"),
        ("int as uint8 where a fixint fits", "95 a2 6f6b cc01 90 a0 c400"),
        ("int as int8 where a fixint fits", "95 a2 6f6b d001 90 a0 c400"),
        ("int as float64", "95 a2 6f6b cb3ff0000000000000 90 a0 c400"),
        ("str8 where a fixstr fits", "95 d9026f6b 01 90 a0 c400"),
        ("str16 where a fixstr fits", "95 da00026f6b 01 90 a0 c400"),
        ("array16 where a fixarray fits (outer)", "dc0005 a2 6f6b 01 90 a0 c400"),
        ("array16 where a fixarray fits (events)", "95 a2 6f6b 01 dc0000 a0 c400"),
        ("bin instead of str", "95 c4026f6b 01 90 a0 c400"),
        ("bin16 where bin8 fits", "95 a2 6f6b 01 90 a0 c50000"),
        ("str instead of bin", "95 a2 6f6b 01 90 a0 a0"),
        (
            "map instead of array",
            "84 a6737461747573 a26f6b a8676173 5f75736564 01 a66576656e7473 90 a56572726f72 a0",
        ),
        ("fewer fields (the default left out)", "94 a2 6f6b 01 90 a0"),
        ("more fields", "96 a2 6f6b 01 90 a0 c400 c0"),
        ("nil for a field", "95 c0 01 90 a0 c400"),
        ("trailing byte", "95 a2 6f6b 01 90 a0 c400 00"),
        ("a second object", "95 a2 6f6b 01 90 a0 c400 95 a2 6f6b 01 90 a0 c400"),
        ("truncated", "95 a2 6f6b 01 90 a0"),
        ("empty", ""),
    ],
)
def test_non_canonical_receipt_rejected(form: str, hex_bytes: str) -> None:
    assert_decode_error(Receipt, bytes.fromhex(hex_bytes))


def test_only_bytes_are_decoded() -> None:
    for value in ("94a26f6b0190a0", None, 7, [1, 2]):
        assert_decode_error(Receipt, value)  # type: ignore[arg-type]


def test_size_bound_is_checked() -> None:
    raw = codec.encode(RECEIPT)
    assert codec.decode(Receipt, raw, size_bytes_max=len(raw)) == RECEIPT
    assert "bound" in str(assert_decode_error(Receipt, raw, size_bytes_max=len(raw) - 1))


def test_default_size_bound_applies_before_decoding() -> None:
    # Valid msgpack (an array of nils) just over the bound: refused for its size, not its content.
    count = codec.DEFAULT_SIZE_BYTES_MAX
    oversized = b"\xdd" + struct.pack(">I", count) + b"\xc0" * count
    assert "bound" in str(assert_decode_error(Block, oversized))


def test_transaction_size_bound() -> None:
    key = AccountKey(bytes(range(1, 33)))
    args_size = TX_SIZE_BYTES_MAX  # the args alone fill the bound; the envelope pushes it over
    tx = sign_tx(key, chain_id="c", target="t", method="m", args=b"\x00" * args_size, valid_until=1)
    raw = codec.encode(tx)
    assert len(raw) > TX_SIZE_BYTES_MAX
    assert codec.decode(Transaction, raw) == tx  # under the general bound
    with pytest.raises(DecodeError, match="bound"):
        decode_tx(raw)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda: Header(**{**_header_fields(), "tx_root": b"\x00" * 31}), "Bytes32 of 31 bytes"),
        (lambda: Header(**{**_header_fields(), "height": -1}), "negative height"),
        (lambda: Header(**{**_header_fields(), "chain_id": ""}), "empty name"),
        (lambda: Header(**{**_header_fields(), "chain_id": "x" * 65}), "name over 64"),
        (lambda: CommitCertificate(height=1, round=2**31, block_hash=bytes(32), signatures=[]), "round over"),
        (lambda: CommitSig(node_id=bytes(32), signature=bytes(63)), "short signature"),
        (lambda: GenesisAccount(address=bytes(20), balance=2**63), "amount at 2^63"),
        (lambda: ChainParams(block_txs_max=0), "zero bound"),
    ],
)
def test_field_constraints_hold_on_decode(make: Callable[[], msgspec.Struct], why: str) -> None:
    # Structs are not validated on construction, only on decode: build the bad value, encode, refuse.
    bad = make()
    assert_decode_error(type(bad), codec.encode(bad))


def _header_fields() -> dict[str, Any]:
    return {
        "chain_id": "c",
        "height": 1,
        "time_ms": 0,
        "prev_block_hash": b"",
        "tx_root": bytes(32),
        "app_hash": bytes(32),
        "last_results_hash": bytes(32),
        "validators_hash": bytes(32),
        "proposer": bytes(32),
        "last_commit_hash": b"",
    }


# --- regressions: errors that once escaped decode untyped ----------------------------------------------

_V1, _V2 = Validator(node_id=b"\x01" * 32, power=1), Validator(node_id=b"\x02" * 32, power=1)


def _genesis_bytes(validators: list[list[object]]) -> bytes:
    params = list(msgspec.structs.astuple(ChainParams()))
    return msgspec.msgpack.encode(["c", 0, "secp256k1", params, [], [validators]])


@pytest.mark.parametrize(
    "validators",
    [
        [[_V2.node_id, 1], [_V1.node_id, 1]],  # unsorted
        [[_V1.node_id, 1], [_V1.node_id, 1]],  # duplicate
        [[_V1.node_id, 0]],  # zero power
    ],
    ids=["unsorted", "duplicate", "zero-power"],
)
def test_invalid_validator_set_raises_decode_error(validators: list[list[object]]) -> None:
    with pytest.raises(DecodeError):
        codec.decode(Genesis, _genesis_bytes(validators))


@pytest.mark.parametrize(
    "text", ["ff", "c328", "80", "eda080"], ids=["ff", "bad-continuation", "80", "surrogate"]
)
def test_invalid_utf8_raises_decode_error(text: str) -> None:
    raw = bytes.fromhex(f"94 {0xA0 | len(text) // 2:02x} {text} 01 90 a0")
    with pytest.raises(DecodeError):
        codec.decode(Receipt, raw)
