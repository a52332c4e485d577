"""Gas metering: a transaction that runs out of gas fails with ``out_of_gas``, is charged its whole
limit, and changes nothing, even when it ran out after some of its writes; one with exactly
enough gas succeeds and is charged what the schedule says."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import chain_helpers as ch
import pytest

from alliance import codec
from alliance.crypto.keys import AccountKey
from alliance.errors import OutOfGas
from alliance.execution.gas import DEFAULT_GAS_SCHEDULE, GasSchedule
from alliance.execution.modules.accounts import ACCOUNT_PREFIX, TransferArgs, TransferEvent, encode_account

BALANCE = 1_000
S = DEFAULT_GAS_SCHEDULE


def transfer_gas(
    sender: bytes, to: bytes, amount: int, sender_balance: int, to_balance: int
) -> dict[str, int]:
    """Gas a successful transfer needs, stage by stage, from the default schedule."""
    args = codec.encode(TransferArgs(to=to, amount=amount))
    key_len = len(ACCOUNT_PREFIX) + 20
    event = codec.encode(TransferEvent(sender=sender, to=to, amount=amount))
    stages = {
        "base": S.tx_base + S.tx_byte * len(args),
        "read sender": S.state_read,
        "read recipient": S.state_read,
        "write sender": S.state_write
        + S.state_write_byte * (key_len + len(encode_account(sender_balance - amount))),
        "write recipient": S.state_write
        + S.state_write_byte * (key_len + len(encode_account(to_balance + amount))),
        "event": S.event + S.event_byte * len(event),
    }
    stages["total"] = sum(stages.values())
    return stages


class Chain:
    def __init__(self, path: Path) -> None:
        self.keys = ch.account_keys(6, 77)
        self.node = ch.open_node(path, ch.genesis_for(self.keys, BALANCE))
        self.rng = random.Random(3)

    def tx(self, src: AccountKey, dst: AccountKey, amount: int, gas_limit: int, **kw: object) -> bytes:
        return ch.transfer(
            src,
            dst.address,
            amount,
            valid_until=self.node.height() + 5,
            nonce=self.rng.randbytes(16),
            gas_limit=gas_limit,
            **kw,  # type: ignore[arg-type]
        )

    def accounts(self) -> dict[bytes, bytes]:
        h = self.node.height()
        return {k: v for k, v in self.node.executor.tree.items(h) if k.startswith(ACCOUNT_PREFIX)}


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain(tmp_path)
    yield c
    c.node.close()


def test_out_of_gas_when_the_limit_is_too_small(chain: Chain) -> None:
    a, b = chain.keys[0], chain.keys[1]
    need = transfer_gas(a.address, b.address, 10, BALANCE, BALANCE)
    limits = [
        0,
        1,
        need["base"] - 1,  # not even the base cost
        need["base"] + S.state_read,  # runs out reading the recipient
        need["base"] + 2 * S.state_read + need["write sender"],  # after the sender's write
        need["total"] - need["event"],  # after both writes, before the event
        need["total"] - 1,
    ]
    before = chain.accounts()
    txs = [chain.tx(a, b, 10, limit) for limit in limits]
    _, result = ch.run_block(chain.node, txs)
    for limit, receipt in zip(limits, result.receipts, strict=True):
        assert receipt.status == OutOfGas.code == "out_of_gas"
        assert receipt.gas_used == limit
        assert receipt.events == []
        assert "gas" in receipt.error and str(limit) in receipt.error
    assert chain.accounts() == before  # nothing changed, not even the writes made before running out
    assert chain.node.executor.info().last_app_hash == chain.node.executor.tree.root_hash(0)


def test_exactly_enough_gas_succeeds_and_is_charged_by_the_schedule(chain: Chain) -> None:
    a, b = chain.keys[0], chain.keys[1]
    need = transfer_gas(a.address, b.address, 10, BALANCE, BALANCE)
    _, result = ch.run_block(chain.node, [chain.tx(a, b, 10, need["total"])])
    receipt = result.receipts[0]
    assert receipt.status == "ok", receipt.error
    assert receipt.gas_used == need["total"]
    assert ch.balance(chain.node, a.address) == BALANCE - 10
    # A generous limit is charged only what was used.
    need2 = transfer_gas(a.address, b.address, 10, BALANCE - 10, BALANCE + 10)
    _, result = ch.run_block(chain.node, [chain.tx(a, b, 10, 5_000_000)])
    assert result.receipts[0].gas_used == need2["total"]


def test_a_failure_before_any_write_is_charged_what_it_used(chain: Chain) -> None:
    a, b = chain.keys[0], chain.keys[1]
    need = transfer_gas(a.address, b.address, 2 * BALANCE, BALANCE, BALANCE)
    _, result = ch.run_block(chain.node, [chain.tx(a, b, 2 * BALANCE, 100_000)])
    assert result.receipts[0].status == "insufficient_balance"
    assert result.receipts[0].gas_used == need["base"] + S.state_read
    _, result = ch.run_block(chain.node, [chain.tx(a, b, 1, 100_000, target="nowhere")])
    assert result.receipts[0].status == "unknown_target"
    # An unknown target costs the base and one read: looking it up among the contracts.
    base = transfer_gas(a.address, b.address, 1, BALANCE, BALANCE)["base"]
    assert result.receipts[0].gas_used == base + S.state_read


def test_out_of_gas_rolls_back_to_the_block_buffer_not_to_committed_state(chain: Chain) -> None:
    """Transactions of one block share a buffer: one that runs out of gas after writing keys that
    earlier transactions wrote must restore their values, not the committed ones."""
    a, b, c = chain.keys[0], chain.keys[1], chain.keys[2]
    need_bc = transfer_gas(b.address, c.address, 50, BALANCE + 100, BALANCE)
    txs = [
        chain.tx(a, b, 100, 100_000),  # ok: b has 1100
        chain.tx(b, c, 50, need_bc["total"] - need_bc["event"]),  # writes b and c, then runs out
        chain.tx(b, c, 30, 100_000),  # ok: b 1070, c 1030
        chain.tx(c, a, 1, need_bc["base"]),  # runs out reading
    ]
    _, result = ch.run_block(chain.node, txs)
    assert [r.status for r in result.receipts] == ["ok", "out_of_gas", "ok", "out_of_gas"]
    assert ch.balance(chain.node, a.address) == BALANCE - 100
    assert ch.balance(chain.node, b.address) == BALANCE + 100 - 30
    assert ch.balance(chain.node, c.address) == BALANCE + 30


def test_the_gas_schedule_is_the_executors(tmp_path: Path) -> None:
    keys = ch.account_keys(2, 5)
    free_writes = GasSchedule(state_write=0, state_write_byte=0)
    node = ch.open_node(tmp_path, ch.genesis_for(keys, BALANCE), gas_schedule=free_writes)
    need = transfer_gas(keys[0].address, keys[1].address, 1, BALANCE, BALANCE)
    expected = need["total"] - need["write sender"] - need["write recipient"]
    _, result = ch.run_block(
        node, [ch.transfer(keys[0], keys[1].address, 1, valid_until=5, nonce=b"g" * 16, gas_limit=expected)]
    )
    assert result.receipts[0].status == "ok"
    assert result.receipts[0].gas_used == expected
    node.close()
