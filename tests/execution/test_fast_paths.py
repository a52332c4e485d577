"""The transfer path's shortcuts give exactly what the general code gives.

- ``decode_transfer_args`` (msgspec directly, the codec only for refusals) returns what
  ``codec.decode(TransferArgs, ...)`` returns, and refuses what it refuses with the same message.
- ``encode_account`` and ``decode_balance`` agree with the codec.
- ``CallContext`` charges gas inline; running out is still worded and counted by ``GasMeter``.
- The executor reads the frozen list and the access table of committed state once per block; a
  change to either earlier in the block applies to the block's later transactions, and a change
  rolled back with its failed transaction does not.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import chain_helpers as ch
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance import codec
from alliance.abi import gov
from alliance.crypto.keys import AccountKey, NodeKey
from alliance.errors import DecodeError, OutOfGas
from alliance.execution.context import BlockState, CallContext
from alliance.execution.gas import DEFAULT_GAS_SCHEDULE, GasMeter
from alliance.execution.modules.accounts import (
    Account,
    TransferArgs,
    decode_balance,
    decode_transfer_args,
    encode_account,
)
from alliance.execution.modules.governance import FROZEN
from alliance.ledger.block import Receipt

S = DEFAULT_GAS_SCHEDULE
ORGS = 4
INT64_MAX = 2**63 - 1
BOUNDARY_INTS = [0, 1, 127, 128, 255, 256, 2**15, 2**16 - 1, 2**16, 2**31, 2**32 - 1, 2**32, INT64_MAX]


# -- codec shortcuts ---------------------------------------------------------------------------------


def outcome(decode: Callable[[bytes], TransferArgs], raw: bytes) -> object:
    try:
        return decode(raw)
    except DecodeError as exc:
        return (type(exc), exc.message)


def canonical_args(to: bytes, amount: int) -> bytes:
    return codec.encode(TransferArgs(to=to, amount=amount))


def mutations(raw: bytes, rng: random.Random) -> list[bytes]:
    i = rng.randrange(len(raw))
    return [
        raw[:i],
        raw + b"\x00",
        raw[:i] + bytes([rng.randrange(256)]) + raw[i + 1 :],
        raw[:i] + bytes([rng.randrange(256)]) + raw[i:],
    ]


OTHER_FORMS = [
    msgspec.msgpack.encode({"to": b"\x01" * 20, "amount": 5}),  # a map, not an array
    msgspec.msgpack.encode([b"\x01" * 20, 5, 1]),  # an extra field
    msgspec.msgpack.encode([b"\x01" * 20]),  # a missing field
    msgspec.msgpack.encode([b"\x01" * 19, 5]),  # a short address
    msgspec.msgpack.encode([b"\x01" * 20, 0]),  # below the least amount
    msgspec.msgpack.encode([b"\x01" * 20, -1]),
    msgspec.msgpack.encode([b"\x01" * 20, 2**63]),  # above the greatest amount
    msgspec.msgpack.encode([b"\x01" * 20, 1.0]),
    msgspec.msgpack.encode(["\x01" * 20, 5]),  # a string for the address
    b"\x92\xc4\x14" + b"\x01" * 20 + b"\xcd\x00\x05",  # an over-long integer
    b"\x92\xc4\x14" + b"\x01" * 20 + b"\xd0\x05",  # a signed form of a positive integer
    b"\x92\xc5\x00\x14" + b"\x01" * 20 + b"\x05",  # bin16 where bin8 fits
    b"\x92\xa1\xff\x05",  # a string that is not UTF-8
    b"",
    b"\xc1",
]


@pytest.mark.parametrize("raw", OTHER_FORMS)
def test_transfer_args_refusals_match_the_codec(raw: bytes) -> None:
    expected = outcome(lambda r: codec.decode(TransferArgs, r), raw)
    assert isinstance(expected, tuple)  # every one of these is refused
    assert outcome(decode_transfer_args, raw) == expected


@given(
    to=st.binary(min_size=20, max_size=20),
    amount=st.one_of(st.sampled_from(BOUNDARY_INTS[1:]), st.integers(1, INT64_MAX)),
    seed=st.integers(0, 2**32),
)
def test_transfer_args_decoding_matches_the_codec(to: bytes, amount: int, seed: int) -> None:
    raw = canonical_args(to, amount)
    assert decode_transfer_args(raw) == TransferArgs(to=to, amount=amount)
    for form in [bytearray(raw), memoryview(raw), *mutations(raw, random.Random(seed))]:
        assert outcome(decode_transfer_args, form) == outcome(lambda r: codec.decode(TransferArgs, r), form)


@given(st.binary(max_size=40))
def test_transfer_args_decoding_matches_the_codec_on_any_bytes(raw: bytes) -> None:
    assert outcome(decode_transfer_args, raw) == outcome(lambda r: codec.decode(TransferArgs, r), raw)


@given(st.one_of(st.sampled_from(BOUNDARY_INTS), st.integers(0, INT64_MAX)))
def test_account_encoding_matches_the_codec(balance: int) -> None:
    raw = encode_account(balance)
    assert raw == codec.encode(Account(balance=balance))
    assert decode_balance(raw) == codec.decode_trusted(Account, raw).balance == balance


# -- gas charged inline ------------------------------------------------------------------------------


def context(limit: int, used: int) -> CallContext:
    gas = GasMeter(limit)
    gas.used = used
    state = BlockState({}.get)
    return CallContext(sender=b"\x01" * 20, height=1, time_ms=0, state=state, gas=gas, schedule=S)


KEY = b"acct/" + b"\x02" * 20
VALUE = b"\x91\x05"
STEPS: dict[str, tuple[int, str, Callable[[CallContext], object]]] = {
    "read": (S.state_read, "state read", lambda c: c.read(KEY)),
    "write": (
        S.state_write + S.state_write_byte * (len(KEY) + len(VALUE)),
        "state write",
        lambda c: c.write(KEY, VALUE),
    ),
    "delete": (S.state_write + S.state_write_byte * len(KEY), "state write", lambda c: c.write(KEY, None)),
    "emit": (S.event + S.event_byte * 3, "event", lambda c: c.emit("accounts", "transfer", b"abc")),
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_inline_charges_run_out_as_the_meter_does(step: str) -> None:
    cost, what, do = STEPS[step]
    used = 1_000
    exact = context(used + cost, used)
    do(exact)
    assert exact.gas.used == used + cost  # exactly enough gas fits
    short = context(used + cost - 1, used)
    with pytest.raises(OutOfGas) as raised:
        do(short)
    reference = GasMeter(used + cost - 1)
    reference.used = used
    with pytest.raises(OutOfGas) as expected:
        reference.charge(cost, what)
    assert raised.value.message == expected.value.message
    assert short.gas.used == reference.used == used + cost - 1
    assert short.state.writes == {} and short.events == []


# -- the block's policy ------------------------------------------------------------------------------


class Chain:
    def __init__(self, path: Path) -> None:
        keys = ch.account_keys(ORGS + 3, 11)
        self.admins = keys[:ORGS]
        self.supervisor, self.dev, self.outsider = keys[ORGS:]
        validators = [NodeKey(bytes([i + 1]) * 32) for i in range(ORGS)]
        genesis = ch.governed_genesis(keys, self.admins, self.supervisor, validators)
        self.node = ch.open_node(path, genesis)
        self.rng = random.Random(5)

    def tx(self, key: AccountKey, target: str, method: str, args: object, gas_limit: int = 100_000) -> bytes:
        return ch.transfer(
            key,
            b"",
            0,
            valid_until=self.node.height() + 5,
            nonce=self.rng.randbytes(16),
            target=target,
            method=method,
            args=args,
            gas_limit=gas_limit,
        )

    def pay(self, key: AccountKey) -> bytes:
        return self.tx(key, "accounts", "transfer", ch.TransferArgs(to=self.outsider.address, amount=1))

    def freeze(self, account: bytes, reason: str, gas_limit: int = 100_000) -> bytes:
        return self.tx(self.supervisor, "gov", "freeze", gov.FreezeArgs(account, reason), gas_limit)

    def block(self, raws: list[bytes]) -> list[Receipt]:
        _, result = ch.run_block(self.node, raws)
        return result.receipts


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    made = Chain(tmp_path / "store")
    yield made
    made.node.close()


def statuses(receipts: list[Receipt]) -> list[str]:
    return [r.status for r in receipts]


def freeze_gas(chain: Chain, account: bytes, reason: str, height: int) -> int:
    """Gas of a successful freeze of ``account`` when nothing is frozen yet."""
    args = codec.encode(gov.FreezeArgs(account, reason))
    record = gov.FrozenAccount(account, reason, chain.supervisor.address, height)
    # One key per frozen account (an IndexedMap): the entry, the first index page and the count.
    writes = [
        (FROZEN.entry_key(account), codec.encode((0, record))),
        (gov.FROZEN_PREFIX + b"/p/" + bytes(4), codec.encode([account])),
        (FROZEN.count_key(), codec.encode(1)),
    ]
    event = codec.encode(gov.FreezeEvent(account, reason, chain.supervisor.address))
    return (
        S.tx_base
        + S.tx_byte * len(args)
        + 4 * S.state_read  # is it frozen; then the entry, the count and the last page
        + sum(S.state_write + S.state_write_byte * (len(k) + len(v)) for k, v in writes)
        + S.event
        + S.event_byte * len(event)
    )


def test_a_freeze_rolled_back_in_its_block_does_not_apply_to_later_transactions(chain: Chain) -> None:
    need = freeze_gas(chain, chain.dev.address, "stop", chain.node.height() + 1)
    receipts = chain.block([
        chain.freeze(chain.dev.address, "stop", gas_limit=need - 1),  # writes the list, then runs out
        chain.pay(chain.dev),
    ])
    assert statuses(receipts) == ["out_of_gas", "ok"]
    assert "event" in receipts[0].error
    assert chain.node.executor.query(FROZEN.count_key()).value is None
    receipts = chain.block([chain.freeze(chain.dev.address, "stop", gas_limit=need), chain.pay(chain.dev)])
    assert statuses(receipts) == ["ok", "account_frozen"]
    assert receipts[0].gas_used == need


def test_a_committed_freeze_applies_and_an_unfreeze_in_a_block_applies_at_once(chain: Chain) -> None:
    assert statuses(chain.block([chain.freeze(chain.dev.address, "stop")])) == ["ok"]
    unfreeze = gov.ProposeArgs(gov.Unfreeze(chain.dev.address), 0)
    receipts = chain.block([
        chain.pay(chain.dev),  # frozen by committed state
        chain.tx(chain.admins[0], "gov", "propose", unfreeze),
        chain.tx(chain.admins[1], "gov", "vote", gov.VoteArgs(1, True)),
        chain.pay(chain.dev),  # 2 of 4 is not enough: still frozen
        chain.tx(chain.admins[2], "gov", "vote", gov.VoteArgs(1, True)),
        chain.pay(chain.dev),  # the list written earlier in this block is empty
    ])
    assert statuses(receipts) == ["account_frozen", "ok", "ok", "account_frozen", "ok", "ok"]


def test_an_access_rule_passed_earlier_in_a_block_applies_to_its_later_transactions(chain: Chain) -> None:
    rule = gov.ProposeArgs(gov.SetAccess("accounts", "transfer", ["trader"]), 0)
    grant = gov.ProposeArgs(gov.GrantRole(chain.dev.address, "trader"), 0)
    receipts = chain.block([
        chain.pay(chain.dev),
        chain.tx(chain.admins[0], "gov", "propose", rule),
        chain.tx(chain.admins[1], "gov", "vote", gov.VoteArgs(1, True)),
        chain.tx(chain.admins[2], "gov", "vote", gov.VoteArgs(1, True)),
        chain.pay(chain.dev),  # the rule now holds, and dev has no role
        chain.tx(chain.admins[0], "gov", "propose", grant),
        chain.tx(chain.admins[1], "gov", "vote", gov.VoteArgs(2, True)),
        chain.tx(chain.admins[2], "gov", "vote", gov.VoteArgs(2, True)),
        chain.pay(chain.dev),
    ])
    assert statuses(receipts) == ["ok", "ok", "ok", "ok", "permission_denied", "ok", "ok", "ok", "ok"]
    assert "trader" in receipts[4].error
    assert statuses(chain.block([chain.pay(chain.supervisor)])) == ["permission_denied"]
