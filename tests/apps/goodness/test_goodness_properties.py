"""Random days of the Goodness scenario keep its invariants (hypothesis, on a real executor):

- points issued (the contract's count, and GOOD minted) = live + redeemed + expired (+ swept);
- each pool's paid + owed never exceeds its funding;
- every final period nets to zero (debits = credits), what was settled is what the pools paid,
  and the contract holds exactly the CNY the pools have not paid out.

A day is a block of random trips (some over the limits, some repeated), a block of random
redemptions (some refused: not enough points, an exhausted offer or pool), now and then a jump of
months (lots expire), then the clearing: close, the statement the records give, every party's
confirmation, the settlement.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from goodness_chain import CONTRACT, DAY_MS, USERS, GoodnessChain, raw
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance import codec
from alliance.abi import passes as p
from alliance.apps.goodness import schemes as s

MODES = {"metro": "metro", "bus": "bus", "bike": "bike", "walk": "metro"}  # mode -> its distributor
PLATFORMS = ("shop1", "shop2")

trip = st.tuples(
    st.integers(0, USERS - 1),
    st.sampled_from(sorted(MODES)),
    st.integers(1, 70_000),
    st.integers(0, 40),  # the raw record's number: repeats are duplicates
)
redemption = st.tuples(st.integers(0, USERS - 1), st.integers(1, 3), st.sampled_from(PLATFORMS))
day = st.tuples(
    st.lists(trip, max_size=25),
    st.lists(redemption, max_size=12),
    st.sampled_from([1, 1, 1, 200]),  # days until the next day: sometimes months (lots expire)
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    days=st.lists(day, min_size=1, max_size=4), pools=st.tuples(st.integers(1, 3000), st.integers(1, 3000))
)
def test_random_days_keep_the_invariants(days: list[Any], pools: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        chain = GoodnessChain(Path(directory) / "store")
        try:
            _scenario(chain, days, pools)
        finally:
            chain.close()


def _scenario(chain: GoodnessChain, days: list[Any], pools: tuple[int, int]) -> None:
    for user in range(USERS):
        chain.enroll(f"user{user}")
    chain.sponsor("sponsor1", pools[0])
    chain.sponsor("sponsor2", pools[1])
    chain.good("sponsor1", "publish_offer", ["coffee", 50, 120, 6, 3650])
    chain.good("sponsor1", "publish_offer", ["bike hour", 200, 400, 50, 3650])
    chain.good("sponsor2", "publish_offer", ["cinema", 100, 300, 50, 3650])
    for number, (trips, redemptions, gap_days) in enumerate(days, start=1):
        chain.block(
            [
                chain.tx(f"user{u}", "goodness", "consent", [chain[d], "trips", 30])
                for u in range(USERS)
                for d in ("metro", "bus", "bike")
            ]
        )
        reports = [
            chain.tx(
                MODES[mode],
                "goodness",
                "report",
                [chain[f"user{u}"], mode, meters, chain.time_ms, raw(f"day {number} record {record}")],
            )
            for u, mode, meters, record in trips
        ]
        chain.block(reports)
        chain.block(
            [chain.tx(x, "goodness", "redeem", [chain[f"user{u}"], offer]) for u, offer, x in redemptions]
        )
        _clear(chain, number)
        _check(chain)
        chain.block([], advance_ms=gap_days * DAY_MS)
        _check(chain)


def _clear(chain: GoodnessChain, period: int) -> None:
    assert chain.good("clearing", "close_period", []) == period
    lines = chain.view("obligations", [period])
    debits: dict[bytes, int] = {}
    credits: dict[bytes, int] = {}
    for sponsor, platform, amount in lines:
        debits[sponsor] = debits.get(sponsor, 0) + amount
        credits[platform] = credits.get(platform, 0) + amount
    chain.good("clearing", "submit_statement", [period, lines, list(debits.items()), list(credits.items())])
    names = {chain[n]: n for n in ("sponsor1", "sponsor2", *PLATFORMS)}
    chain.block([chain.tx(names[party], "goodness", "confirm", [period]) for party in {*debits, *credits}])
    assert chain.good("clearing", "settle", [period]) == sum(credits.values())


def _check(chain: GoodnessChain) -> None:
    users = [chain[f"user{u}"] for u in range(USERS)]
    supply = chain.supply(s.GOOD)
    holdings = [chain.holding(s.GOOD, u) for u in users]
    issued = sum(chain.view("user", [u])["points"] for u in users)
    redeemed = sum(chain.view("user", [u])["redeemed"] for u in users)
    live = sum(h.balance for h in holdings)
    expired = sum(h.expired for h in holdings)
    assert issued == supply.minted == live + expired + supply.redeemed + supply.swept
    assert redeemed == supply.redeemed and supply.burned == 0
    funded = paid = 0
    for sponsor, pool in chain.view("pools", []):
        assert pool["paid"] + pool["owed"] <= pool["funded"], (sponsor, pool)
        assert pool["free"] >= 0
        funded += pool["funded"]
        paid += pool["paid"]
    settled = 0
    current = chain.view("status", [])["period"]
    for period in range(1, current):
        state, numbers, *_ = chain.view("period", [period])
        assert state == "final"
        assert numbers["debits"] == numbers["credits"] and numbers["balanced"] == 1
        settled += numbers["credits"]
    assert settled == paid
    assert chain.holding(s.CNY, CONTRACT).balance == funded - paid
    platforms = sum(chain.holding(s.CNY, chain[x]).balance for x in PLATFORMS)
    assert platforms == paid
    report = chain.node.executor.query_module(p.MODULE_NAME, "report", codec.encode(p.SchemeQuery(s.CNY)))
    assert report.value.balanced
