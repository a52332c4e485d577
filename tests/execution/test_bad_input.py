"""Acceptance criterion 5: bad input is answered with a specific, typed error and changes nothing.

- ``check_tx`` refuses each kind of bad transaction with its own ``alliance.errors`` class and a
  message that says what was wrong; random or mangled bytes raise only ``UsageError``s.
- A transaction that runs and fails (insufficient balance, unknown target or method, invalid
  arguments) gets a receipt whose status is the error's ``code``, and changes no state, while the
  other transactions of its block apply.
- ``process_proposal`` refuses a block with a bad transaction or a header that does not match.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import chain_helpers as ch
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance import codec
from alliance.app.interface import CheckTxResult
from alliance.crypto.hashing import Domain, hash_domain
from alliance.crypto.keys import AccountKey
from alliance.errors import (
    AllianceError,
    BadSignature,
    DecodeError,
    DuplicateTx,
    GasLimitTooHigh,
    InsufficientBalance,
    InvalidArguments,
    InvalidTransaction,
    TxExpired,
    TxTooFarAhead,
    TxTooLarge,
    UnknownMethod,
    UnknownTarget,
    UsageError,
    WrongChainId,
)
from alliance.execution.modules.accounts import ACCOUNT_PREFIX, TransferArgs
from alliance.ledger.block import Block
from alliance.ledger.genesis import ChainParams, make_genesis
from alliance.ledger.transaction import TX_SIZE_BYTES_MAX, Transaction, decode_tx, tx_hash_of_canonical
from alliance.ledger.validators import Validator

BALANCE = 1_000
AMOUNT_MAX = 2**63 - 1
PARAMS = ChainParams()
NEXT_HEIGHT = 3  # the fixture commits two blocks


@dataclass
class Setup:
    node: ch.Node
    keys: list[AccountKey]
    committed: bytes  # a transaction committed at height 1
    rich: AccountKey  # holds the largest balance there is
    rng: random.Random = field(default_factory=lambda: random.Random(9))

    def tx(self, key_index: int = 0, **kw: object) -> bytes:
        """A signed transfer from ``keys[key_index]``, with a fresh nonce unless one is given."""
        fields: dict[str, object] = {
            "to": self.keys[1].address,
            "amount": 1,
            "valid_until": NEXT_HEIGHT + 5,
            "nonce": self.rng.randbytes(16),
        }
        fields.update(kw)
        to, amount = fields.pop("to"), fields.pop("amount")
        return ch.transfer(self.keys[key_index], to, amount, **fields)  # type: ignore[arg-type]


def make_setup(path: Path) -> Setup:
    keys = ch.account_keys(12, 42)
    rich = AccountKey(b"\x11" * 32)
    proposer = ch.node_key()
    genesis = make_genesis(
        ch.CHAIN_ID,
        validators=[Validator(node_id=proposer.node_id, power=10)],
        accounts=[(k.address, BALANCE) for k in keys] + [(rich.address, AMOUNT_MAX)],
    )
    node = ch.open_node(path, genesis, proposer=proposer)
    committed = ch.transfer(keys[0], keys[1].address, 5, valid_until=10, nonce=b"c" * 16)
    ch.run_block(node, [committed])
    ch.run_block(node, [])
    assert node.height() == NEXT_HEIGHT - 1
    return Setup(node, keys, committed, rich)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    s = make_setup(tmp_path)
    yield s
    s.node.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """One chain for the read-only checks (check_tx and process_proposal change nothing)."""
    s = make_setup(tmp_path_factory.mktemp("bad-input"))
    yield s
    s.node.close()


def resign(raw: bytes, key: AccountKey, **body_changes: object) -> bytes:
    """``raw`` with its body changed and signed again by ``key`` (which need not be the sender)."""
    tx = decode_tx(raw)
    body = msgspec.structs.replace(tx.body, **body_changes)
    from alliance.ledger.transaction import tx_hash_of_body

    return codec.encode(Transaction(body=body, signature=key.sign_digest(tx_hash_of_body(body))))


def with_signature(raw: bytes, signature: bytes) -> bytes:
    return codec.encode(msgspec.structs.replace(decode_tx(raw), signature=signature))


def sized_tx(s: Setup, size_bytes: int) -> bytes:
    """A signed transaction of exactly ``size_bytes`` bytes (its args padded)."""
    n = size_bytes - 400
    for _ in range(10):
        raw = s.tx(args=b"p" * n, nonce=b"s" * 16)
        if len(raw) == size_bytes:
            return raw
        n += size_bytes - len(raw)
    raise AssertionError("could not hit the size")


# --- check_tx --------------------------------------------------------------------------------------


def refused(s: Setup, raw: bytes, kind: type[InvalidTransaction] | type[DecodeError]) -> AllianceError:
    with pytest.raises(kind) as info:
        s.node.executor.check_tx(raw)
    err = info.value
    assert err.message and err.message.strip(), f"{kind.__name__} without a message"
    assert str(err) == err.message
    assert err.code == kind.code
    assert isinstance(err, UsageError)
    return err


def test_a_good_transaction_is_admitted(shared: Setup) -> None:
    raw = shared.tx()
    result = shared.node.executor.check_tx(raw)
    assert result == CheckTxResult(
        tx_hash=tx_hash_of_canonical(raw), sender=shared.keys[0].address, gas_limit=100_000
    )


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00", b"\x92", b"\x92\xc4\x40" + b"\x00" * 64, b"not a transaction at all", b"\xc1" * 200],
    ids=["empty", "zero", "truncated", "no-body", "text", "reserved-byte"],
)
def test_malformed_bytes_are_a_decode_error(shared: Setup, raw: bytes) -> None:
    refused(shared, raw, DecodeError)


def test_non_canonical_and_trailing_bytes_are_a_decode_error(shared: Setup) -> None:
    good = shared.tx()
    refused(shared, good + b"\x00", DecodeError)
    refused(shared, good[:-1], DecodeError)
    # The outer array with a 16-bit length instead of a fixarray header is not canonical.
    assert good[0] == 0x92
    refused(shared, b"\xdc\x00\x02" + good[1:], DecodeError)
    # Nor is a struct written as a map with field names.
    body = msgspec.structs.asdict(decode_tx(good).body)
    body["call"] = msgspec.structs.asdict(body["call"])  # type: ignore[call-overload]
    as_map = msgspec.msgpack.encode({"body": body, "signature": decode_tx(good).signature})
    refused(shared, as_map, DecodeError)


def invalid_utf8_tx(s: Setup) -> bytes:
    """A signed transaction whose chain id bytes are not UTF-8 (same length, so the framing holds)."""
    good = s.tx()
    name = ch.CHAIN_ID.encode()
    i = good.index(name)
    return good[:i] + b"\xff" + good[i + 1 :]


def test_invalid_utf8_in_a_string_field_is_a_decode_error(shared: Setup) -> None:
    """Regression: msgspec raises ``UnicodeDecodeError`` (not a msgspec.DecodeError) for a str
    field that is not UTF-8; ``codec.decode`` must turn it into DecodeError, or ``check_tx``
    answers a client's bad bytes with an untyped exception."""
    refused(shared, invalid_utf8_tx(shared), DecodeError)


def test_process_proposal_refuses_a_tx_with_invalid_utf8(shared: Setup) -> None:
    """The same, seen from consensus: a proposer that includes such bytes must not make the other
    validators' ``process_proposal`` raise (a crash) instead of return False."""
    block = ch.make_block(shared.node, [invalid_utf8_tx(shared)], use_prepare=False)
    assert shared.node.executor.process_proposal(block) is False


def test_wrong_chain_id(shared: Setup) -> None:
    err = refused(shared, shared.tx(chain_id="another-chain"), WrongChainId)
    assert "another-chain" in err.message and ch.CHAIN_ID in err.message


def test_expired_valid_until(shared: Setup) -> None:
    err = refused(shared, shared.tx(valid_until=NEXT_HEIGHT - 1), TxExpired)
    assert str(NEXT_HEIGHT - 1) in err.message
    refused(shared, shared.tx(valid_until=0), TxExpired)
    shared.node.executor.check_tx(shared.tx(valid_until=NEXT_HEIGHT))  # the boundary is still valid


def test_valid_until_too_far_ahead(shared: Setup) -> None:
    last_ok = NEXT_HEIGHT + PARAMS.tx_window_blocks
    shared.node.executor.check_tx(shared.tx(valid_until=last_ok))
    err = refused(shared, shared.tx(valid_until=last_ok + 1), TxTooFarAhead)
    assert str(last_ok + 1) in err.message
    refused(shared, shared.tx(valid_until=2**63 - 1), TxTooFarAhead)


def test_duplicate_of_a_committed_transaction(shared: Setup) -> None:
    err = refused(shared, shared.committed, DuplicateTx)
    assert tx_hash_of_canonical(shared.committed).hex() in err.message


def test_bad_signatures(shared: Setup) -> None:
    good = shared.tx()
    sig = decode_tx(good).signature
    for i in (0, 31, 32, 63):
        flipped = sig[:i] + bytes((sig[i] ^ 0x01,)) + sig[i + 1 :]
        refused(shared, with_signature(good, flipped), BadSignature)
    refused(shared, with_signature(good, b"\x00" * 64), BadSignature)
    refused(shared, with_signature(good, b"\xff" * 64), BadSignature)
    # Signed by another key than the sender named in the body.
    refused(shared, resign(good, shared.keys[5]), BadSignature)
    # The body changed after signing (amount raised) with the old signature kept.
    body = decode_tx(good).body
    raised = msgspec.structs.replace(
        body,
        call=msgspec.structs.replace(
            body.call, args=codec.encode(TransferArgs(to=shared.keys[1].address, amount=999))
        ),
    )
    refused(shared, codec.encode(Transaction(body=raised, signature=sig)), BadSignature)
    # A sender public key that is not a curve point.
    refused(shared, resign(good, shared.keys[0], sender=b"\x02" + b"\xff" * 32), BadSignature)


def test_a_bad_signature_is_refused_even_after_the_same_body_was_admitted(setup: Setup) -> None:
    """The signature cache is keyed by the transaction hash and the signature: the same body with
    a forged signature is not taken as verified (an earlier version keyed by the hash alone, so a
    node with the entry accepted what a node without it refused: a divergence)."""
    s = setup
    good = s.tx(0, amount=1)
    s.node.executor.check_tx(good)  # admission caches the sender under the body hash
    forged = with_signature(good, b"\x01" * 64)
    refused(s, forged, BadSignature)
    block = ch.make_block(s.node, [forged], use_prepare=False)
    assert s.node.executor.process_proposal(block) is False


def test_oversized_transactions(shared: Setup) -> None:
    err = refused(shared, b"\x00" * (TX_SIZE_BYTES_MAX + 1), TxTooLarge)
    assert str(TX_SIZE_BYTES_MAX) in err.message
    refused(shared, sized_tx(shared, TX_SIZE_BYTES_MAX + 1), TxTooLarge)
    refused(shared, shared.tx(args=b"p" * (2 * TX_SIZE_BYTES_MAX)), TxTooLarge)
    # At the bound the size is fine (the transfer then fails at execution, not admission).
    shared.node.executor.check_tx(sized_tx(shared, TX_SIZE_BYTES_MAX))


def test_gas_limit_over_the_bound(shared: Setup) -> None:
    shared.node.executor.check_tx(shared.tx(gas_limit=PARAMS.tx_gas_max))
    err = refused(shared, shared.tx(gas_limit=PARAMS.tx_gas_max + 1), GasLimitTooHigh)
    assert str(PARAMS.tx_gas_max) in err.message
    refused(shared, shared.tx(gas_limit=2**63 - 1), GasLimitTooHigh)


def mangled(raw: bytes) -> st.SearchStrategy[bytes]:
    def mutate(ops: list[tuple[int, int, int]]) -> bytes:
        data = bytearray(raw)
        for kind, where, byte in ops:
            if not data:
                break
            pos = where % len(data)
            if kind == 0:
                data[pos] ^= 1 << (byte % 8)
            elif kind == 1:
                data[pos] = byte
            elif kind == 2:
                del data[pos]
            else:
                data.insert(pos, byte)
        return bytes(data)

    return st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 2**16), st.integers(0, 255)), min_size=1, max_size=4
    ).map(mutate)


GOOD_TX = ch.transfer(AccountKey(b"\x01" * 32), b"\x02" * 20, 1, valid_until=NEXT_HEIGHT + 2, nonce=b"h" * 16)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400) | st.binary(max_size=200).map(lambda b: b"\x92" + b) | mangled(GOOD_TX))
def test_check_tx_on_random_bytes_raises_only_usage_errors(shared: Setup, raw: bytes) -> None:
    try:
        result = shared.node.executor.check_tx(raw)
    except UsageError as exc:
        assert exc.message
        assert type(exc).code != UsageError.code  # always a specific subclass
    else:
        # Only the unchanged transaction passes (a mutation may be a no-op); once it has, a
        # signature-only mutation must still be verified, not taken from the signature cache.
        assert isinstance(result, CheckTxResult)
        assert raw == GOOD_TX, f"mangled bytes were admitted: {raw.hex()}"


# --- failing transactions in a block ---------------------------------------------------------------


def account_state(node: ch.Node, version: int) -> dict[bytes, bytes]:
    return {k: v for k, v in node.executor.tree.items(version) if k.startswith(ACCOUNT_PREFIX)}


def test_failed_transactions_get_receipts_and_change_nothing(setup: Setup) -> None:
    s = setup
    k = s.keys
    stranger = b"\x99" * 20
    txs = [
        s.tx(0, to=k[6].address, amount=100),  # ok
        s.tx(1, to=stranger, amount=2 * BALANCE),  # insufficient balance
        s.tx(2, target="no-such-module"),  # unknown target
        s.tx(7, to=k[8].address, amount=7),  # ok
        s.tx(3, method="mint"),  # unknown method
        s.tx(4, args=b"not transfer args"),  # invalid arguments: not a TransferArgs
        s.tx(5, args=TransferArgs(to=stranger, amount=0)),  # invalid arguments: amount below 1
        s.tx(9, args=[b"short", 5]),  # invalid arguments: a 5-byte address
        s.tx(10, to=s.rich.address, amount=1),  # invalid arguments: the recipient would overflow
    ]
    expected = [
        ("ok", None),
        (InsufficientBalance.code, "balance"),
        (UnknownTarget.code, "no-such-module"),
        ("ok", None),
        (UnknownMethod.code, "mint"),
        (InvalidArguments.code, "transfer"),
        (InvalidArguments.code, "transfer"),
        (InvalidArguments.code, "transfer"),
        (InvalidArguments.code, "overflow"),
    ]
    for raw in txs:  # every one of them passes admission: they fail only when run
        s.node.executor.check_tx(raw)
    before = account_state(s.node, s.node.height())
    start = {i: ch.balance(s.node, key.address) for i, key in enumerate(k)}
    block, result = ch.run_block(s.node, txs)
    assert block.txs == txs
    for receipt, (status, word) in zip(result.receipts, expected, strict=True):
        assert receipt.status == status
        if status == "ok":
            assert receipt.error == "" and len(receipt.events) == 1
        else:
            assert word is not None and word in receipt.error, receipt.error
            assert receipt.events == []
            assert 0 < receipt.gas_used <= 100_000
    after = account_state(s.node, s.node.height())
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert changed == {ACCOUNT_PREFIX + a for a in (k[0].address, k[6].address, k[7].address, k[8].address)}
    assert ch.balance(s.node, k[0].address) == start[0] - 100
    assert ch.balance(s.node, k[6].address) == start[6] + 100
    assert ch.balance(s.node, k[7].address) == start[7] - 7
    assert ch.balance(s.node, k[8].address) == start[8] + 7
    for i in (1, 2, 3, 4, 5, 9, 10):
        assert ch.balance(s.node, k[i].address) == start[i]
    assert ch.balance(s.node, stranger) == 0
    assert ch.balance(s.node, s.rich.address) == AMOUNT_MAX
    # Failed transactions are committed all the same: they are in the index and cannot be replayed.
    for i, raw in enumerate(txs):
        assert s.node.store.tx_location(tx_hash_of_canonical(raw)) == (NEXT_HEIGHT, i)
        with pytest.raises(DuplicateTx):
            s.node.executor.check_tx(raw)


def test_finalize_records_invalid_transactions_as_failed(setup: Setup) -> None:
    """If a block with invalid transactions is decided anyway, each gets a failed receipt with its
    error's code and changes nothing; the rest of the block applies."""
    s = setup
    good = s.tx(0, to=s.keys[6].address, amount=10)
    bad_sig = with_signature(s.tx(1, amount=20), b"\x01" * 64)
    expired = s.tx(2, amount=30, valid_until=NEXT_HEIGHT - 1)
    wrong_chain = s.tx(3, amount=40, chain_id="other")
    too_high = s.tx(4, amount=50, gas_limit=PARAMS.tx_gas_max + 1)
    junk = b"\x92junk"
    start = [ch.balance(s.node, key.address) for key in s.keys]
    block = ch.make_block(s.node, [good, bad_sig, expired, wrong_chain, too_high, junk], use_prepare=False)
    assert not s.node.executor.process_proposal(block)
    result = ch.apply_block(s.node, block, check_proposal=False)
    assert [r.status for r in result.receipts] == [
        "ok",
        BadSignature.code,
        TxExpired.code,
        WrongChainId.code,
        GasLimitTooHigh.code,
        DecodeError.code,
    ]
    assert all(r.error for r in result.receipts[1:])
    assert all(r.gas_used == 0 for r in result.receipts[1:])
    assert ch.balance(s.node, s.keys[0].address) == start[0] - 10
    assert ch.balance(s.node, s.keys[6].address) == start[6] + 10
    for i in (1, 2, 3, 4):
        assert ch.balance(s.node, s.keys[i].address) == start[i]


def test_finalize_records_a_replayed_transaction_as_failed_and_commits(setup: Setup) -> None:
    """A block carrying an already committed transaction, the same transaction twice, or the same
    malformed bytes twice gets failed receipts for the refused rows and still commits: only rows
    that passed their checks are indexed (an earlier version indexed every row and could never
    commit such a block)."""
    s = setup
    again = s.tx(0, amount=3)
    block = ch.make_block(s.node, [s.committed, again, again, b"\x92junk", b"\x92junk"], use_prepare=False)
    assert not s.node.executor.process_proposal(block)
    result = s.node.executor.finalize_block(block, None)
    assert [r.status for r in result.receipts] == [
        DuplicateTx.code,
        "ok",
        DuplicateTx.code,
        DecodeError.code,
        DecodeError.code,
    ]
    # Only the committed row is reported: the node's mempool drops and its waiters wake for these.
    assert result.tx_hashes == [tx_hash_of_canonical(again)]
    s.node.executor.commit()
    assert s.node.height() == NEXT_HEIGHT
    assert s.node.store.tx_location(tx_hash_of_canonical(s.committed)) == (1, 0)
    assert s.node.store.tx_location(tx_hash_of_canonical(again)) == (NEXT_HEIGHT, 1)
    assert ch.balance(s.node, s.keys[0].address) == BALANCE - 5 - 3


def test_commit_forgets_the_cached_senders_of_the_transactions_it_committed(setup: Setup) -> None:
    """A committed transaction never passes again, so its signature-cache entry goes at commit
    (the cache would otherwise grow to its bound with dead entries); a transaction still waiting
    keeps its entry."""
    s = setup
    ex = s.node.executor
    paid, failed, waiting = s.tx(0, amount=1), s.tx(1, amount=AMOUNT_MAX), s.tx(2, amount=1)
    block = ch.make_block(s.node, [paid, failed, s.committed], use_prepare=False)
    ex.check_tx(waiting)
    ex.finalize_block(block, None)  # verifies paid and failed, and caches them

    def cached(raw: bytes) -> bool:
        return ex.sigcache.get(tx_hash_of_canonical(raw), decode_tx(raw).signature) is not None

    assert all(cached(raw) for raw in (paid, failed, waiting))
    assert not cached(s.committed)  # forgotten when its own block committed (a duplicate row here)
    ex.commit()
    assert not cached(paid) and not cached(failed)  # committed, whatever their execution status
    assert cached(waiting)


def test_finalized_malformed_bytes_do_not_block_the_real_transaction(setup: Setup) -> None:
    """Undecodable bytes in a finalized block are not indexed. (When ``raw`` is a bare body, its
    raw hash equals the real transaction's hash; indexing it would let a proposer censor the real
    transaction forever as a duplicate.)"""
    s = setup
    real = s.tx(0, amount=2)
    bare_body = codec.encode(decode_tx(real).body)
    assert tx_hash_of_canonical(real) == hash_domain(Domain.TX, bare_body)
    block = ch.make_block(s.node, [bare_body], use_prepare=False)
    assert not s.node.executor.process_proposal(block)
    result = ch.apply_block(s.node, block, check_proposal=False)
    assert [r.status for r in result.receipts] == [DecodeError.code]
    assert result.tx_hashes == []  # nor does the node drop the real one from its mempool
    s.node.executor.check_tx(real)
    _, result = ch.run_block(s.node, [real])
    assert [r.status for r in result.receipts] == ["ok"]
    assert result.tx_hashes == [tx_hash_of_canonical(real)]


# --- process_proposal ----------------------------------------------------------------------------


def with_header(block: Block, **changes: object) -> Block:
    return Block(header=msgspec.structs.replace(block.header, **changes), txs=block.txs)


def test_process_proposal_refuses_bad_blocks(shared: Setup) -> None:
    s = shared
    ex = s.node.executor
    good_txs = [s.tx(0, amount=1), s.tx(1, amount=2)]
    good = ch.make_block(s.node, good_txs, use_prepare=False)
    assert ex.process_proposal(good)

    def block_of(txs: list[bytes]) -> Block:
        return ch.make_block(s.node, txs, use_prepare=False)

    bad_sig = with_signature(s.tx(2, amount=3), b"\x01" * 64)
    cases = {
        "bad signature": block_of([*good_txs, bad_sig]),
        "signed by another key": block_of([resign(s.tx(2, amount=4), s.keys[3]), *good_txs]),
        "duplicate of a committed tx": block_of([*good_txs, s.committed]),
        "the same tx twice": block_of([good_txs[0], good_txs[1], good_txs[0]]),
        "malformed tx": block_of([*good_txs, b"\x92junk"]),
        "expired tx": block_of([s.tx(2, valid_until=NEXT_HEIGHT - 1)]),
        "wrong chain tx": block_of([s.tx(2, chain_id="other")]),
        "oversized tx": block_of([b"\x00" * (TX_SIZE_BYTES_MAX + 1)]),
        "gas limit too high": block_of([s.tx(2, gas_limit=PARAMS.tx_gas_max + 1)]),
        "wrong tx_root": with_header(good, tx_root=b"\x00" * 32),
        "tx_root of other txs": with_header(good, tx_root=block_of(good_txs[:1]).header.tx_root),
        "txs swapped under the root": Block(header=good.header, txs=list(reversed(good.txs))),
        "wrong app_hash": with_header(good, app_hash=b"\x00" * 32),
        "app_hash of an older height": with_header(good, app_hash=ex.tree.root_hash(0)),
        "wrong last_results_hash": with_header(good, last_results_hash=b"\x00" * 32),
        "wrong height": with_header(good, height=NEXT_HEIGHT + 1),
        "old height": with_header(good, height=NEXT_HEIGHT - 1),
        "wrong chain id": with_header(good, chain_id="other"),
    }
    for name, block in cases.items():
        assert ex.process_proposal(block) is False, name
    assert ex.process_proposal(good)
    assert ex.info().last_height == NEXT_HEIGHT - 1  # nothing above changed the chain


def test_prepare_proposal_leaves_out_what_process_proposal_would_refuse(shared: Setup) -> None:
    s = shared
    good = [s.tx(0, amount=1), s.tx(1, amount=2)]
    candidates = [
        good[0],
        b"junk",
        s.committed,
        with_signature(s.tx(2, amount=3), b"\x01" * 64),
        s.tx(3, valid_until=NEXT_HEIGHT - 1),
        s.tx(4, chain_id="other"),
        good[0],
        good[1],
        b"\x00" * (TX_SIZE_BYTES_MAX + 1),
        s.tx(5, gas_limit=PARAMS.tx_gas_max + 1),
    ]
    block = ch.make_block(s.node, candidates)
    assert block.txs == good
    assert s.node.executor.process_proposal(block)
