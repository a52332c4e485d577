"""The passes module's rules, one by one, through real blocks of a real executor.

Each refusal checks its code and that the block it failed in changed no state (the app hash after
a block holding only the failed transaction equals the one before: a failed transaction changes
nothing but its receipt).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from passes_helpers import DAY_MS, PassChain, points

from alliance import codec
from alliance.abi import passes as p
from alliance.ledger.block import EVENTS_PER_TX_MAX, Receipt

Chain = PassChain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[PassChain]:
    made = PassChain(tmp_path / "store")
    yield made
    made.close()


def refused(chain: PassChain, who: str, method: str, args: object, code: str) -> str:
    """Run one failing call; check its code and that nothing changed. Returns its message."""
    before = chain.app_hash()
    receipt = chain.do(who, method, args)  # type: ignore[arg-type]
    assert receipt.status == code, (method, receipt.status, receipt.error)
    assert chain.app_hash() == before, f"a refused {method} changed state"
    assert receipt.events == []
    return receipt.error


def ok(chain: PassChain, who: str, method: str, args: object) -> None:
    receipt = chain.do(who, method, args)  # type: ignore[arg-type]
    assert receipt.ok, (method, receipt.status, receipt.error)


def test_points_created_minted_capped_and_redeemed_only_at_an_exchange(chain: PassChain) -> None:
    ok(chain, "issuer1", "create", points())
    view = chain.query("scheme", p.SchemeQuery("GREEN"))
    assert view.scheme.issuer_org == "org1" and view.rules.circulation == "none" and view.rules.cap == 1000
    assert view.scheme.rights_hash == p.rights_hash(points().rights)
    refused(chain, "mallory", "create", points(symbol="FAKE"), "not_issuer")
    refused(chain, "issuer1", "create", points(name="Again"), "symbol_taken")
    ok(chain, "issuer1", "mint", p.MintArgs("GREEN", chain["alice"], 100))
    refused(chain, "issuer1", "mint", p.MintArgs("GREEN", chain["alice"], 1000), "cap_exceeded")
    refused(chain, "mallory", "mint", p.MintArgs("GREEN", chain["mallory"], 5), "not_minter")
    refused(
        chain, "issuer2", "mint", p.MintArgs("GREEN", chain["bob"], 5), "not_minter"
    )  # another org's issuer
    refused(chain, "alice", "transfer", p.TransferArgs("GREEN", chain["bob"], 10), "non_transferable")
    refused(chain, "alice", "redeem", p.RedeemArgs("GREEN", chain["bob"], 30), "not_redeemer")
    receipt = chain.do("alice", "redeem", p.RedeemArgs("GREEN", chain["shop"], 30))
    assert receipt.ok
    (event,) = receipt.events
    assert event.name == "redeemed"  # the receipt names both the holder and the redeemer
    refused(chain, "alice", "redeem", p.RedeemArgs("GREEN", chain["shop"], 71), "insufficient_balance")
    assert chain.balance("GREEN", "alice") == 70
    holding = chain.query("holding", p.HoldingQuery("GREEN", chain["alice"]))
    assert holding.lots[0].expires_at_ms is not None
    supply = chain.query("scheme", p.SchemeQuery("GREEN")).supply
    assert (supply.supply, supply.minted, supply.redeemed) == (70, 100, 30)


def test_a_closed_loop_moves_only_between_eligible_holders(chain: PassChain) -> None:
    tickets = p.CreateArgs(
        "TICKET", "Member tickets", "fungible", "one ride", eligibility="allow-list", circulation="closed"
    )
    ok(chain, "issuer1", "create", tickets)
    refused(chain, "alice", "allow", p.HolderArgs("TICKET", chain["alice"]), "not_issuer")
    ok(chain, "issuer1", "allow", p.HolderArgs("TICKET", chain["alice"]))
    refused(chain, "issuer1", "mint", p.MintArgs("TICKET", chain["bob"], 5), "not_eligible")
    ok(chain, "issuer1", "mint", p.MintArgs("TICKET", chain["alice"], 5))
    refused(chain, "alice", "transfer", p.TransferArgs("TICKET", chain["bob"], 2), "circulation_closed")
    ok(chain, "issuer1", "allow", p.HolderArgs("TICKET", chain["bob"]))
    ok(chain, "alice", "transfer", p.TransferArgs("TICKET", chain["bob"], 2))
    ok(chain, "issuer1", "freeze", p.HolderArgs("TICKET", chain["bob"]))
    refused(chain, "bob", "transfer", p.TransferArgs("TICKET", chain["alice"], 1), "holder_frozen")
    refused(
        chain, "alice", "transfer", p.TransferArgs("TICKET", chain["bob"], 1), "holder_frozen"
    )  # receiving too
    ok(chain, "issuer1", "unfreeze", p.HolderArgs("TICKET", chain["bob"]))
    refused(chain, "alice", "pause", p.SymbolArgs("TICKET"), "not_issuer")
    ok(chain, "supervisor", "pause", p.SymbolArgs("TICKET"))  # the supervisor may pause any scheme
    refused(chain, "alice", "transfer", p.TransferArgs("TICKET", chain["bob"], 1), "scheme_paused")
    ok(chain, "issuer1", "resume", p.SymbolArgs("TICKET"))
    ok(chain, "alice", "transfer", p.TransferArgs("TICKET", chain["bob"], 1))
    assert (chain.balance("TICKET", "alice"), chain.balance("TICKET", "bob")) == (2, 3)
    ok(chain, "issuer1", "disallow", p.HolderArgs("TICKET", chain["bob"]))
    refused(chain, "bob", "transfer", p.TransferArgs("TICKET", chain["alice"], 1), "circulation_closed")


@pytest.mark.parametrize(
    ("eligibility", "holder", "allowed"),
    [
        ("members", "alice", True),
        ("members", "bob", False),
        ("role:member", "alice", True),
        ("role:member", "carol", False),
    ],
)
def test_eligibility_by_membership_and_role(
    chain: PassChain, eligibility: str, holder: str, allowed: bool
) -> None:
    ok(
        chain,
        "issuer1",
        "create",
        p.CreateArgs("CARD", "Card", "fungible", "a card", eligibility=eligibility),
    )
    args = p.MintArgs("CARD", chain[holder], 1)
    if allowed:
        ok(chain, "issuer1", "mint", args)
    else:
        refused(chain, "issuer1", "mint", args, "not_eligible")


def test_lots_expire_by_the_day_and_spending_takes_the_earliest_first(chain: PassChain) -> None:
    ok(chain, "issuer1", "create", points(circulation="free", lot_days=2, cap=0))
    ok(chain, "issuer1", "mint", p.MintArgs("GREEN", chain["alice"], 10))
    chain.block([], advance_ms=DAY_MS)
    ok(chain, "issuer1", "mint", p.MintArgs("GREEN", chain["alice"], 5))
    holding = chain.query("holding", p.HoldingQuery("GREEN", chain["alice"]))
    assert [(lot.amount, lot.expires_at_ms - holding.lots[0].expires_at_ms) for lot in holding.lots] == [
        (10, 0),
        (5, DAY_MS),
    ]
    ok(
        chain, "alice", "transfer", p.TransferArgs("GREEN", chain["bob"], 12)
    )  # all of the first lot, 2 of the second
    bob = chain.query("holding", p.HoldingQuery("GREEN", chain["bob"]))
    assert [lot.amount for lot in bob.lots] == [10, 2]
    assert [lot.expires_at_ms for lot in bob.lots] == [
        lot.expires_at_ms for lot in holding.lots
    ]  # units keep their expiry
    chain.block([], advance_ms=2 * DAY_MS)  # the first lot has expired
    assert chain.balance("GREEN", "bob") == 2
    assert chain.query("holding", p.HoldingQuery("GREEN", chain["bob"])).expired == 10
    refused(chain, "bob", "transfer", p.TransferArgs("GREEN", chain["carol"], 3), "insufficient_balance")
    supply_before = chain.query("scheme", p.SchemeQuery("GREEN")).supply.supply
    refused(chain, "alice", "sweep", p.SweepArgs("GREEN", [chain["bob"]]), "not_issuer")
    ok(chain, "issuer1", "sweep", p.SweepArgs("GREEN", [chain["bob"], chain["alice"]]))
    assert chain.query("scheme", p.SchemeQuery("GREEN")).supply.supply == supply_before - 10
    assert chain.query("holding", p.HoldingQuery("GREEN", chain["bob"])).expired == 0
    refused(chain, "issuer1", "sweep", p.SweepArgs("GREEN", [chain["bob"]]), "invalid_arguments")


def test_a_fixed_end_stops_minting_and_empties_balances(chain: PassChain) -> None:
    end = chain.time_ms + 10 * DAY_MS
    ok(
        chain,
        "issuer1",
        "create",
        p.CreateArgs("PROMO", "Promo", "fungible", "a promo", expiry="fixed", expires_at_ms=end),
    )
    ok(chain, "issuer1", "mint", p.MintArgs("PROMO", chain["alice"], 4))
    chain.block([], advance_ms=11 * DAY_MS)
    assert chain.balance("PROMO", "alice") == 0
    refused(chain, "issuer1", "mint", p.MintArgs("PROMO", chain["alice"], 1), "pass_expired")


def test_unique_items_have_exactly_one_holder(chain: PassChain) -> None:
    cert = p.CreateArgs(
        "CERT",
        "Sponsor certificates",
        "unique",
        "a sponsor's certificate",
        redeemer_role="exchange",
        redeem_burns=False,
    )
    ok(chain, "issuer1", "create", cert)
    meta = b"\x11" * 32
    ok(chain, "issuer1", "mint", p.MintArgs("CERT", chain["alice"], 1, item="c-1", metadata_hash=meta))
    refused(chain, "issuer1", "mint", p.MintArgs("CERT", chain["bob"], 1, item="c-1"), "item_exists")
    refused(chain, "bob", "transfer", p.TransferArgs("CERT", chain["carol"], 1, item="c-1"), "item_not_held")
    ok(chain, "alice", "transfer", p.TransferArgs("CERT", chain["bob"], 1, item="c-1"))
    item = chain.query("item", p.ItemQuery("CERT", "c-1"))
    assert item.holder == chain["bob"] and item.metadata_hash == meta
    ok(chain, "bob", "redeem", p.RedeemArgs("CERT", chain["shop"], 1, item="c-1"))  # moves to the redeemer
    assert chain.query("item", p.ItemQuery("CERT", "c-1")).holder == chain["shop"]
    assert chain.query("holding", p.HoldingQuery("CERT", chain["shop"])).items == 1
    ok(chain, "shop", "burn", p.BurnArgs("CERT", 1, item="c-1"))
    assert chain.query("scheme", p.SchemeQuery("CERT")).supply.supply == 0


def test_batch_mint_credits_many_holders_in_one_transaction(chain: PassChain) -> None:
    ok(chain, "issuer1", "create", points(cap=0))
    entries = [p.MintEntry(chain[n], i + 1) for i, n in enumerate(["alice", "bob", "carol"])]
    receipt = chain.do("issuer1", "mint_batch", p.MintBatchArgs("GREEN", entries, "reward run 1"))
    assert receipt.ok and len(receipt.events) == 3
    assert [chain.balance("GREEN", n) for n in ("alice", "bob", "carol")] == [1, 2, 3]
    assert chain.query("scheme", p.SchemeQuery("GREEN")).holders == 3
    holders = chain.query("holders", p.SchemePageQuery("GREEN", 0, 2))
    assert [h.balance for h in holders] == [1, 2]


def test_the_gateway_credits_once_per_reference_and_reconciles(chain: PassChain) -> None:
    cny = p.CreateArgs(
        "CNY",
        "Settlement yuan",
        "fungible",
        "1 unit = 0.01 CNY held by the gateway's bank",
        minter_role="gateway",
    )
    ok(chain, "issuer2", "create", cny)
    ok(chain, "gateway", "deposit", p.DepositArgs("CNY", chain["alice"], 1000, "BANK-0001"))
    refused(
        chain, "gateway", "deposit", p.DepositArgs("CNY", chain["alice"], 1000, "BANK-0001"), "reference_used"
    )
    refused(chain, "mallory", "deposit", p.DepositArgs("CNY", chain["mallory"], 50, "X-1"), "not_minter")
    refused(
        chain, "gateway", "mint", p.MintArgs("CNY", chain["alice"], 5), "not_settlement"
    )  # only against deposits
    receipt = chain.do("alice", "withdraw", p.WithdrawArgs("CNY", 300, "IBAN-TEST-1"))
    assert receipt.ok and receipt.result  # the withdrawal's id
    report = chain.query("report", p.SchemeQuery("CNY"))
    assert (report.locked, report.supply) == (300, 1000)
    ok(chain, "gateway", "confirm", p.SettleArgs("CNY", 1, "PAYOUT-1"))
    refused(chain, "gateway", "confirm", p.SettleArgs("CNY", 1, "PAYOUT-1"), "withdrawal_settled")
    refused(chain, "gateway", "confirm", p.SettleArgs("CNY", 9, "PAYOUT-9"), "withdrawal_unknown")
    ok(chain, "alice", "withdraw", p.WithdrawArgs("CNY", 100, "IBAN-TEST-2"))
    refused(chain, "alice", "reject", p.SettleArgs("CNY", 2, "X"), "not_minter")
    ok(chain, "gateway", "reject", p.SettleArgs("CNY", 2, "BOUNCED-2"))
    report = chain.query("report", p.SchemeQuery("CNY"))
    assert (report.supply, report.deposits, report.withdrawals_confirmed, report.locked, report.balanced) == (
        700,
        1000,
        300,
        0,
        True,
    )
    assert chain.balance("CNY", "alice") == 700
    deposits = chain.query("deposits", p.SchemePageQuery("CNY", 1, 10))
    withdrawals = chain.query("withdrawals", p.SchemePageQuery("CNY", 1, 10))
    assert [d.reference for d in deposits] == ["BANK-0001"]
    assert [(w.status, w.reference) for w in withdrawals] == [
        ("confirmed", "PAYOUT-1"),
        ("rejected", "BOUNCED-2"),
    ]
    refused(chain, "alice", "withdraw", p.WithdrawArgs("CNY", 701, "IBAN"), "insufficient_balance")


def test_unknown_schemes_and_bad_arguments(chain: PassChain) -> None:
    refused(chain, "alice", "transfer", p.TransferArgs("NOPE", chain["bob"], 1), "unknown_scheme")
    refused(chain, "issuer1", "create", points(lot_days=0), "invalid_arguments")
    refused(
        chain, "issuer1", "create", p.CreateArgs("U", "u", "unique", "r", decimals=2), "invalid_arguments"
    )
    before = chain.app_hash()
    receipt = chain.block([chain.call("alice", "transfer", p.SymbolArgs("GREEN"))])[0]  # wrong argument shape
    assert receipt.status == "invalid_arguments" and chain.app_hash() == before
    receipt = chain.block([chain.call("alice", "nonsense", p.SymbolArgs("GREEN"))])[0]
    assert receipt.status == "unknown_method"


def test_allowances_let_a_spender_move_or_redeem_within_what_the_holder_allowed(chain: PassChain) -> None:
    ok(chain, "issuer1", "create", points(cap=0, circulation="free"))
    ok(chain, "issuer1", "mint", p.MintArgs("GREEN", chain["alice"], 100))
    refused(
        chain,
        "bob",
        "transfer_from",
        p.TransferFromArgs("GREEN", chain["alice"], chain["carol"], 5),
        "allowance_exceeded",
    )
    ok(chain, "alice", "approve", p.ApproveArgs("GREEN", chain["bob"], 30))
    assert chain.query("allowance", p.AllowanceQuery("GREEN", chain["alice"], chain["bob"])) == 30
    ok(chain, "bob", "transfer_from", p.TransferFromArgs("GREEN", chain["alice"], chain["carol"], 10))
    receipt = chain.do(
        "bob", "redeem_from", p.RedeemFromArgs("GREEN", chain["alice"], chain["shop"], 15, "offer 7")
    )
    assert receipt.ok, receipt.error
    (event,) = receipt.events
    assert event.name == "redeemed"
    refused(
        chain,
        "bob",
        "transfer_from",
        p.TransferFromArgs("GREEN", chain["alice"], chain["carol"], 6),
        "allowance_exceeded",
    )
    assert chain.query("allowance", p.AllowanceQuery("GREEN", chain["alice"], chain["bob"])) == 5
    assert (chain.balance("GREEN", "alice"), chain.balance("GREEN", "carol")) == (75, 10)
    ok(chain, "alice", "approve", p.ApproveArgs("GREEN", chain["bob"], 0))  # withdrawn
    assert chain.query("allowance", p.AllowanceQuery("GREEN", chain["alice"], chain["bob"])) == 0


def test_a_batch_mint_emits_no_more_events_than_a_receipt_holds(chain: PassChain) -> None:
    # An event a holder: the ABI takes EVENTS_PER_TX_MAX entries at most, so a batch mint never
    # commits a receipt no node could decode from its store (one entry more is refused as arguments;
    # a contract emitting in a loop meets the executor's own bound, test_contracts_module.py).
    assert p.MINT_BATCH_MAX == EVENTS_PER_TX_MAX
    ok(chain, "issuer1", "create", points(cap=0))
    holders = [bytes([1 + i // 256, i % 256]) * 10 for i in range(EVENTS_PER_TX_MAX + 1)]
    entries = [p.MintEntry(holder, 1) for holder in holders]
    over = chain.run(
        "issuer1", p.MODULE_NAME, "mint_batch", p.MintBatchArgs("GREEN", entries), gas_limit=10_000_000
    )
    assert over.status == "invalid_arguments" and over.events == []
    assert chain.query("scheme", p.SchemeQuery("GREEN")).supply.supply == 0
    full = chain.run(
        "issuer1", p.MODULE_NAME, "mint_batch", p.MintBatchArgs("GREEN", entries[1:]), gas_limit=10_000_000
    )
    assert full.ok and len(full.events) == EVENTS_PER_TX_MAX
    stored = codec.decode_trusted(list[Receipt], chain.node.store.receipts(chain.node.height()))
    assert [r.status for r in stored] == ["ok"]
