"""Random sequences of every passes operation over several schemes, on two stores.

After each block, for every scheme: supply equals the sum over holders of live, expired-unswept and
locked units (items for a unique scheme); no balance is negative; the cap holds; every unique item
has exactly one holder, who counts it; a settlement scheme's supply equals its deposits minus its
confirmed withdrawals. Both stores end every block with the same app hash and the same receipts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from passes_helpers import DAY_MS, PassChain, points

from alliance.abi import passes as p
from alliance.codec import Struct

USERS = ["alice", "bob", "carol", "mallory", "shop"]
SCHEMES = ["GREEN", "TICKET", "CNY", "CERT"]
ITEMS = [f"i{n}" for n in range(6)]


def setup_txs(chain: PassChain) -> list[bytes]:
    tickets = p.CreateArgs(
        "TICKET", "Tickets", "fungible", "a ride", eligibility="allow-list", circulation="closed", cap=300
    )
    cny = p.CreateArgs("CNY", "Settlement", "fungible", "money", minter_role="gateway")
    certs = p.CreateArgs(
        "CERT", "Certs", "unique", "a cert", cap=4, redeemer_role="exchange", redeem_burns=False
    )
    return [
        chain.call("issuer1", "create", points(cap=500, lot_days=3, circulation="closed")),
        chain.call("issuer1", "create", tickets),
        chain.call("issuer2", "create", cny),
        chain.call("issuer1", "create", certs),
        *(chain.call("issuer1", "allow", p.HolderArgs("TICKET", chain[u])) for u in ("alice", "bob", "shop")),
        *(chain.call("issuer1", "mint", p.MintArgs("GREEN", chain[u], 150)) for u in ("alice", "bob")),
        *(chain.call("issuer1", "mint", p.MintArgs("TICKET", chain[u], 30)) for u in ("alice", "bob")),
        *(
            chain.call("gateway", "deposit", p.DepositArgs("CNY", chain[u], 200, f"S-{u}"))
            for u in ("alice", "bob")
        ),
        chain.call("issuer1", "mint", p.MintArgs("CERT", chain["alice"], 1, item="i0")),
    ]


KINDS = (
    ["mint"] * 4
    + ["transfer"] * 6
    + ["redeem"] * 3
    + ["burn"] * 2
    + ["deposit"] * 3
    + ["withdraw"] * 4
    + ["confirm"] * 3
    + ["reject"] * 2
    + ["batch"] * 2
    + ["sweep"] * 2
    + ["freeze", "unfreeze", "pause", "resume", "resume", "allow"]
)


users = st.sampled_from(USERS)
holders = st.sampled_from(["alice", "bob", "alice", "bob", "carol", "shop"])  # mostly the funded ones
amounts = st.integers(1, 25)


@st.composite
def operation(draw: st.DrawFn) -> tuple[str, str, str, dict[str, object]]:
    """(signer, method, scheme, fields) with the addresses still as names."""
    kind = draw(st.sampled_from(KINDS))
    gateway_kinds = ("deposit", "withdraw", "confirm", "reject")
    symbol = "CNY" if kind in gateway_kinds else draw(st.sampled_from(SCHEMES))
    who, to, amount = draw(holders), draw(users), draw(amounts)
    issuer = "issuer2" if symbol == "CNY" else "issuer1"
    item = draw(st.sampled_from(ITEMS)) if symbol == "CERT" else ""
    unit = 1 if symbol == "CERT" else amount
    table: dict[str, tuple[str, str, dict[str, object]]] = {
        "mint": (issuer, "mint", {"to": to, "amount": unit, "item": item}),
        "transfer": (who, "transfer", {"to": to, "amount": unit, "item": item}),
        "redeem": (
            who,
            "redeem",
            {"at": draw(st.sampled_from(["shop", "bob"])), "amount": unit, "item": item},
        ),
        "burn": (who, "burn", {"amount": unit, "item": item}),
        "freeze": (issuer, "freeze", {"account": to}),
        "unfreeze": (issuer, "unfreeze", {"account": to}),
        "pause": (draw(st.sampled_from([issuer, "supervisor"])), "pause", {}),
        "resume": (issuer, "resume", {}),
        "sweep": (issuer, "sweep", {"holders": [to, who]}),
        "allow": (issuer, "allow", {"account": to}),
        "deposit": (
            "gateway",
            "deposit",
            {"to": to, "amount": amount, "reference": f"R{draw(st.integers(0, 5))}"},
        ),
        "withdraw": (who, "withdraw", {"amount": amount, "to_external": "IBAN"}),
        "confirm": ("gateway", "confirm", {"withdrawal": draw(st.integers(1, 12)), "reference": "P"}),
        "reject": ("gateway", "reject", {"withdrawal": draw(st.integers(1, 12)), "reference": "B"}),
        "batch": (issuer, "mint_batch", {"entries": [(to, amount), (who, 1)], "memo": ""}),
    }
    signer, method, fields = table[kind]
    return signer, method, symbol, fields


ARGS: dict[str, type[Struct]] = {
    "mint": p.MintArgs,
    "transfer": p.TransferArgs,
    "redeem": p.RedeemArgs,
    "burn": p.BurnArgs,
    "freeze": p.HolderArgs,
    "unfreeze": p.HolderArgs,
    "pause": p.SymbolArgs,
    "resume": p.SymbolArgs,
    "sweep": p.SweepArgs,
    "allow": p.HolderArgs,
    "deposit": p.DepositArgs,
    "withdraw": p.WithdrawArgs,
    "confirm": p.SettleArgs,
    "reject": p.SettleArgs,
    "mint_batch": p.MintBatchArgs,
}


def build(chain: PassChain, op: tuple[str, str, str, dict[str, object]]) -> bytes:
    signer, method, symbol, fields = op
    resolved: dict[str, object] = {"symbol": symbol}
    for name, value in fields.items():
        if name in ("to", "at", "account"):
            resolved[name] = chain[value]  # type: ignore[index]
        elif name == "holders":
            resolved[name] = [chain[v] for v in value]  # type: ignore[attr-defined]
        elif name == "entries":
            resolved[name] = [p.MintEntry(chain[n], a) for n, a in value]  # type: ignore[attr-defined]
        else:
            resolved[name] = value
    return chain.call(signer, method, ARGS[method](**resolved))


def check_invariants(chain: PassChain, items_minted: set[str]) -> None:
    for symbol in SCHEMES:
        view = chain.query("scheme", p.SchemeQuery(symbol))
        holders = chain.query("holders", p.SchemePageQuery(symbol, 0, 500))
        assert len(holders) == view.holders
        for h in holders:
            assert min(h.balance, h.expired, h.locked, h.items) >= 0
        held = sum(h.balance + h.expired + h.locked + h.items for h in holders)
        supply = view.supply
        assert supply.supply == held, symbol
        assert not view.rules.cap or supply.supply <= view.rules.cap
        assert supply.locked == sum(h.locked for h in holders)
        if view.rules.settlement:
            assert supply.supply == supply.deposits - supply.withdrawals_confirmed
    by_holder: dict[bytes, int] = {}
    for item_id in items_minted:
        try:
            item = chain.query("item", p.ItemQuery("CERT", item_id))
        except Exception:  # noqa: BLE001 - burned: NotFound
            continue
        by_holder[item.holder] = by_holder.get(item.holder, 0) + 1
    holders = {h.account: h.items for h in chain.query("holders", p.SchemePageQuery("CERT", 0, 500))}
    assert {a: n for a, n in holders.items() if n} == by_holder


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    blocks=st.lists(
        st.tuples(
            st.lists(operation(), min_size=2, max_size=6), st.sampled_from([1_000, 1_000, DAY_MS, 4 * DAY_MS])
        ),
        min_size=8,
        max_size=15,
    )
)
def test_random_operations_keep_every_invariant_on_two_stores(
    blocks: list[tuple[list[tuple[str, str, str, dict[str, object]]], int]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        chains = [PassChain(Path(directory) / name) for name in ("a", "b")]
        try:
            setup = setup_txs(chains[0])
            for chain in chains:
                assert all(r.ok for r in chain.block(setup))
            items: set[str] = {"i0"}
            for ops, advance_ms in blocks:
                txs = [build(chains[0], op) for op in ops]  # signed once: the same bytes for both
                results = [chain.block(txs, advance_ms=advance_ms) for chain in chains]
                assert results[0] == results[1]
                assert chains[0].app_hash() == chains[1].app_hash()
                items.update(op[3]["item"] for op in ops if op[2] == "CERT" and op[1] == "mint")  # type: ignore[misc]
                check_invariants(chains[0], items - {""})
        finally:
            for chain in chains:
                chain.close()
