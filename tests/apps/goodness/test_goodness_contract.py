"""The Goodness contract's rules, role by role, and every refusal the issue lists, on a real executor
(``goodness_chain.GoodnessChain``: blocks of signed transactions, any block time)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from goodness_chain import CONTRACT, DAY_MS, GoodnessChain, raw

from alliance.abi import gov
from alliance.abi import passes as p
from alliance.apps.goodness import schemes as s


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[GoodnessChain]:
    made = GoodnessChain(tmp_path / "store")
    yield made
    made.close()


def anomalies(chain: GoodnessChain) -> list[tuple[str, bytes, str]]:
    return [(a[1], a[2], a[6]) for a in chain.view("anomalies", [0, 100])]


# --- issuer: the rule table --------------------------------------------------------------------


def test_the_published_figures_are_the_first_rules_and_a_new_version_is_never_retroactive(
    chain: GoodnessChain,
) -> None:
    version, modes, grams_per_100_points, over_limit, _height, _ms = chain.view("rules", [0])
    assert (version, grams_per_100_points, over_limit) == (1, 1250, "cap")
    assert modes["metro"] == [97, 100_000] and modes["bike"] == [98, 50_000]
    chain.enroll("user0")
    # 12 km by metro: 12 x 97 = 1,164 g; 100 points per 1,250 g -> 93 points
    assert chain.trip("metro", "user0", "metro", 12_000, "first") == (1164, 93)
    chain.refused("metro", "publish_rules", [{"metro": [50, 100_000]}, 1250, "cap"], "not_issuer")
    chain.refused("issuer", "publish_rules", [{"rocket": [1, 1]}, 1250, "cap"], "bad_rules")
    chain.refused("issuer", "publish_rules", [{"metro": [50, 100_000]}, 1250, "maybe"], "bad_rules")
    assert chain.good("issuer", "publish_rules", [{"metro": [50, 100_000]}, 1000, "refuse"]) == 2
    # 12 km x 50 g = 600 g; 100 points per 1,000 g -> 60 points; the first trip keeps version 1
    assert chain.trip("metro", "user0", "metro", 12_000, "second") == (600, 60)
    assert chain.view("trip", [raw("first")])[5:8] == [1164, 93, 1]
    assert chain.view("trip", [raw("second")])[5:8] == [600, 60, 2]
    assert chain.view("rules", [1])[1]["metro"] == [97, 100_000]
    # a mode the version in force does not name is refused
    chain.refused(
        "metro", "report", [chain["user0"], "bike", 1000, chain.time_ms, raw("third")], "unknown_mode"
    )
    assert (
        chain.view("user", [chain["user0"]])["points"] == 153 == chain.holding(s.GOOD, chain["user0"]).balance
    )


# --- identity ----------------------------------------------------------------------------------


def test_an_attesting_member_binds_one_identity_hash_to_one_account(chain: GoodnessChain) -> None:
    idh = raw("passport 123")
    chain.refused("metro", "enroll", [chain["user0"], idh], "not_attester")
    chain.refused("mallory", "enroll", [chain["user0"], idh], "not_attester")
    chain.good("attester", "enroll", [chain["user0"], idh])
    chain.refused("issuer", "enroll", [chain["user1"], idh], "identity_bound")
    chain.refused("issuer", "enroll", [chain["user0"], raw("another")], "already_enrolled")
    chain.refused("issuer", "enroll", [chain["user1"], b"short"], "bad_identity")
    assert chain.view("identity", [chain["user0"]]) == [idh, chain["attester"]]
    assert chain.view("identity", [chain["user1"]]) == [b"", b""]
    assert chain.view("user", [chain["user0"]])["enrolled"] == 1


# --- distributors and consent ------------------------------------------------------------------


def test_consent_gates_every_report_and_a_revocation_stops_the_next(chain: GoodnessChain) -> None:
    chain.good("issuer", "enroll", [chain["user0"], raw("id0")])
    args = [chain["user0"], "metro", 5_000, chain.time_ms, raw("a")]
    chain.refused("metro", "report", args, "no_consent")
    chain.good("user0", "consent", [chain["metro"], "marketing", 30])  # another purpose does not count
    chain.refused("metro", "report", args, "no_consent")
    chain.good("user0", "consent", [chain["metro"], s.CONSENT_PURPOSE, 30])
    assert chain.view("consent_of", [chain["user0"], chain["metro"], "trips"])[0] is True
    chain.trip("metro", "user0", "metro", 5_000, "a")
    chain.refused("bus", "report", [chain["user0"], "bus", 5_000, chain.time_ms, raw("b")], "no_consent")
    chain.good("user0", "revoke_consent", [chain["metro"], s.CONSENT_PURPOSE])
    chain.refused("user0", "revoke_consent", [chain["metro"], s.CONSENT_PURPOSE], "no_consent")
    chain.refused(
        "metro", "report", [chain["user0"], "metro", 5_000, chain.time_ms, raw("c")], "consent_revoked"
    )
    # consent again, for one day; two days later it has expired
    chain.good("user0", "consent", [chain["metro"], s.CONSENT_PURPOSE, 1])
    chain.trip("metro", "user0", "metro", 5_000, "c")
    chain.block([], advance_ms=2 * DAY_MS)
    chain.refused(
        "metro", "report", [chain["user0"], "metro", 5_000, chain.time_ms, raw("d")], "consent_expired"
    )
    assert chain.view("consent_of", [chain["user0"], chain["metro"], "trips"])[0] is False
    assert chain.view("user", [chain["user0"]])["trips"] == 2
    totals = chain.view("totals", [0])["user"]
    assert totals == {"enrolled": 1, "consents": 3, "revocations": 1}


def test_reports_are_refused_unless_a_member_distributor_reports_for_an_enrolled_free_user(
    chain: GoodnessChain,
) -> None:
    chain.enroll("user0")
    now = chain.time_ms
    chain.refused("user0", "report", [chain["user0"], "metro", 5_000, now, raw("x")], "not_distributor")
    chain.refused("shop1", "report", [chain["user0"], "metro", 5_000, now, raw("x")], "not_distributor")
    chain.refused("metro", "report", [chain["user1"], "metro", 5_000, now, raw("x")], "not_enrolled")
    chain.refused("metro", "report", [chain["user0"], "metro", 0, now, raw("x")], "bad_trip")
    chain.refused("metro", "report", [chain["user0"], "metro", 5_000, now, b"x" * 31], "bad_trip")
    # a distributor cannot date trips freely: at most two days back, never in the future
    chain.refused(
        "metro", "report", [chain["user0"], "metro", 5_000, now - 3 * DAY_MS, raw("x")], "trip_time"
    )
    chain.refused("metro", "report", [chain["user0"], "metro", 5_000, now + DAY_MS, raw("x")], "trip_time")
    # the supervisor suspends a distributor (its own flag), and lifts it
    chain.refused("issuer", "suspend", [chain["metro"], "audit"], "not_supervisor")
    chain.good("supervisor", "suspend", [chain["metro"], "audit of its trip data"])
    chain.refused("metro", "report", [chain["user0"], "metro", 5_000, now, raw("x")], "distributor_suspended")
    assert chain.view("suspension", [chain["metro"]]) == [True, "audit of its trip data"]
    chain.good("supervisor", "unsuspend", [chain["metro"]])
    chain.trip("metro", "user0", "metro", 5_000, "x")
    # governance's freeze of the user stops reports for them (and of a distributor, its every call)
    assert chain.run("supervisor", "gov", "freeze", gov.FreezeArgs(chain["user0"], "identity theft")).ok
    chain.refused("metro", "report", [chain["user0"], "metro", 5_000, chain.time_ms, raw("y")], "user_frozen")
    assert chain.run("supervisor", "gov", "freeze", gov.FreezeArgs(chain["bus"], "fraud")).ok
    frozen = chain.call("bus", "report", [chain["user0"], "bus", 5_000, chain.time_ms, raw("z")])
    assert frozen.status == "account_frozen"


def test_a_raw_record_is_counted_once_and_its_duplicate_leaves_no_state(chain: GoodnessChain) -> None:
    chain.enroll("user0")
    chain.enroll("user1")
    chain.trip("metro", "user0", "metro", 8_000, "raw record 1")
    before = (chain.view("user", [chain["user0"]]), chain.supply(s.GOOD), chain.view("totals", [0]))
    message = chain.refused(
        "bus",
        "report",
        [chain["user1"], "bus", 8_000, chain.time_ms, raw("raw record 1")],
        "duplicate_raw_hash",
    )
    assert raw("raw record 1").hex() in message
    after = (chain.view("user", [chain["user0"]]), chain.supply(s.GOOD), chain.view("totals", [0]))
    assert after == before
    assert chain.view("user", [chain["user1"]])["trips"] == 0


def test_over_the_daily_limit_a_trip_counts_up_to_it_and_is_flagged_or_refused_by_rule(
    chain: GoodnessChain,
) -> None:
    chain.enroll("user0")
    chain.trip("bike", "user0", "bike", 30_000, "morning")  # bike: 50 km a day
    carbon_g, points = chain.trip("bike", "user0", "bike", 30_000, "evening")
    assert carbon_g == 20_000 * 98 // 1000 and points == carbon_g * 100 // 1250  # 20 km counted of 30
    assert anomalies(chain) == [("over_limit", chain["user0"], "60000 m by bike today, limit 50000 m")]
    assert chain.trip("bike", "user0", "bike", 5_000, "night") == (0, 0)  # the limit is reached
    assert chain.view("totals", [1])["distributor"]["capped_m"] == 15_000
    # the next period (day) has its own limit
    chain.good("clearing", "close_period", [])
    assert chain.trip("bike", "user0", "bike", 5_000, "next day")[0] == 490
    # a rule table that refuses instead
    chain.good("issuer", "publish_rules", [{"bike": [98, 50_000]}, 1250, "refuse"])
    chain.refused(
        "bike", "report", [chain["user0"], "bike", 46_000, chain.time_ms, raw("long")], "over_limit"
    )
    assert len(anomalies(chain)) == 2  # the refused report left no anomaly: nothing changed


def test_points_are_the_non_transferable_good_pass_with_yearly_lots(chain: GoodnessChain) -> None:
    chain.enroll("user0")
    chain.trip("metro", "user0", "metro", 20_000, "t")
    holding = chain.holding(s.GOOD, chain["user0"])
    assert holding.balance == 155 and len(holding.lots) == 1
    assert (
        holding.lots[0].expires_at_ms is not None
        and holding.lots[0].expires_at_ms > chain.time_ms + 364 * DAY_MS
    )
    moved = chain.passes("user0", "transfer", p.TransferArgs(s.GOOD, chain["user1"], 10, ""))
    assert moved.status == "non_transferable"
    # nobody but the contract mints GOOD
    minted = chain.passes("issuer", "mint", p.MintArgs(s.GOOD, chain["user1"], 10, "", "", bytes(32)))
    assert minted.status == "not_minter"


# --- sponsors, offers, exchanges ------------------------------------------------------------------


def test_redemption_burns_points_and_a_pool_never_owes_more_than_it_holds(chain: GoodnessChain) -> None:
    for user in ("user0", "user1"):
        chain.enroll(user)
        chain.trip("metro", user, "metro", 60_000, f"{user} long ride")  # 5,820 g: 465 points
    chain.refused("shop1", "fund", [100], "not_sponsor")
    chain.refused("sponsor1", "publish_offer", ["coffee", 100, 100, 5, 30], "no_pool")
    chain.sponsor("sponsor1", 1_000)
    assert chain.view("pool", [chain["sponsor1"]]) == {
        "funded": 1000,
        "paid": 0,
        "owed": 0,
        "free": 1000,
        "low": 0,
    }
    coffee = chain.good("sponsor1", "publish_offer", ["coffee", 100, 200, 3, 30])
    assert chain.holding(s.CNY, CONTRACT).balance == 1000

    chain.refused("sponsor1", "redeem", [chain["user0"], coffee], "not_exchange")
    chain.refused("shop1", "redeem", [chain["user0"], 99], "unknown_offer")
    assert chain.good("shop1", "redeem", [chain["user0"], coffee]) == 1
    assert chain.good("shop2", "redeem", [chain["user0"], coffee]) == 2
    assert (
        chain.holding(s.GOOD, chain["user0"]).balance == chain.view("user", [chain["user0"]])["points"] - 200
    )
    assert chain.supply(s.GOOD).redeemed == 200
    # 400 of 1,000 free after the third (not yet near empty); then the offer's count is reached
    assert chain.good("shop1", "redeem", [chain["user1"], coffee]) == 3
    chain.refused("shop1", "redeem", [chain["user1"], coffee], "offer_exhausted")
    # a bigger offer: its second redemption would go beyond the pool
    tree = chain.good("sponsor1", "publish_offer", ["a tree", 100, 350, 10, 30])
    chain.good("shop1", "redeem", [chain["user1"], tree])  # 50 free now: flagged near empty
    assert ("pool_near_empty", chain["sponsor1"], "50 of 1000 free") in anomalies(chain)
    message = chain.refused("shop1", "redeem", [chain["user1"], tree], "pool_exhausted")
    assert "50 free" in message
    pool = chain.view("pool", [chain["sponsor1"]])
    assert pool["owed"] == 950 and pool["paid"] + pool["owed"] <= pool["funded"]
    # topping the pool up clears the flag
    chain.sponsor("sponsor1", 2_000)
    assert chain.view("pool", [chain["sponsor1"]])["low"] == 0
    # an offer ends at its date
    short = chain.good("sponsor1", "publish_offer", ["flash", 10, 10, 10, 1])
    chain.block([], advance_ms=2 * DAY_MS)
    chain.refused("shop1", "redeem", [chain["user1"], short], "offer_expired")


def test_a_redemption_needs_enough_points_and_the_users_allowance(chain: GoodnessChain) -> None:
    chain.enroll("user0")
    chain.good("issuer", "enroll", [chain["user1"], raw("id1")])
    chain.good("user1", "consent", [chain["metro"], s.CONSENT_PURPOSE, 30])
    chain.sponsor("sponsor2", 10_000)
    offer = chain.good("sponsor2", "publish_offer", ["ticket", 500, 100, 100, 30])
    chain.trip("metro", "user0", "metro", 12_000, "u0")  # 93 points
    chain.refused("shop1", "redeem", [chain["user0"], offer], "not_enough_points")
    chain.trip("metro", "user1", "metro", 80_000, "u1")  # 620 points, but no allowance to the contract
    refused = chain.call("shop1", "redeem", [chain["user1"], offer])
    assert refused.status == "allowance_exceeded", (refused.status, refused.error)
    assert chain.passes("user1", "approve", p.ApproveArgs(s.GOOD, CONTRACT, 500)).ok
    chain.good("shop1", "redeem", [chain["user1"], offer])
    assert chain.holding(s.GOOD, chain["user1"]).balance == 120
    assert chain.view("rewards", [chain["user1"], 0, 10]) == [
        [1, offer, chain["shop1"], 500, 100, 1, chain.time_ms]
    ]


# --- clearing ------------------------------------------------------------------------------------


def _redeemed_day(chain: GoodnessChain) -> tuple[int, int]:
    for user in ("user0", "user1"):
        chain.enroll(user)
        chain.trip("metro", user, "metro", 50_000, f"{user} day")  # 388 points each
    chain.sponsor("sponsor1", 5_000)
    chain.sponsor("sponsor2", 5_000)
    one = chain.good("sponsor1", "publish_offer", ["coffee", 100, 120, 50, 30])
    two = chain.good("sponsor2", "publish_offer", ["cinema", 100, 200, 50, 30])
    chain.good("shop1", "redeem", [chain["user0"], one])
    chain.good("shop1", "redeem", [chain["user0"], one])
    chain.good("shop2", "redeem", [chain["user1"], one])
    chain.good("shop2", "redeem", [chain["user1"], two])
    return one, two


def test_clearing_nets_a_period_confirmed_by_every_party_then_settles_in_one_step(
    chain: GoodnessChain,
) -> None:
    _redeemed_day(chain)
    s1, s2, x1, x2 = chain["sponsor1"], chain["sponsor2"], chain["shop1"], chain["shop2"]
    chain.refused("clearing", "submit_statement", [1, [], [], []], "period_state")  # still open
    chain.refused("shop1", "close_period", [], "not_clearing")
    assert chain.good("clearing", "close_period", []) == 1
    recorded = sorted(chain.view("obligations", [1]))
    assert recorded == sorted([[s1, x1, 240], [s1, x2, 120], [s2, x2, 200]])
    lines = [[s1, x1, 240], [s1, x2, 120], [s2, x2, 200]]
    debits = [[s1, 360], [s2, 200]]
    credits = [[x1, 240], [x2, 320]]
    # debits and credits that differ are refused, and so is a statement that differs from the records
    message = chain.refused(
        "clearing", "submit_statement", [1, lines, debits, [[x1, 240], [x2, 300]]], "unbalanced"
    )
    assert "560" in message and "540" in message
    chain.refused(
        "clearing",
        "submit_statement",
        [1, [[s1, x1, 250], lines[1], lines[2]], [[s1, 370], [s2, 200]], [[x1, 250], [x2, 320]]],
        "statement_mismatch",
    )
    chain.refused(
        "clearing",
        "submit_statement",
        [1, lines[:2], [[s1, 360]], [[x1, 240], [x2, 120]]],
        "statement_mismatch",
    )
    chain.refused(
        "clearing", "submit_statement", [1, lines, [[s1, 200], [s2, 360]], credits], "statement_mismatch"
    )
    chain.good("clearing", "submit_statement", [1, lines, debits, credits])
    state, numbers, *_rest, parties, confirmed = chain.view("period", [1])
    assert state == "stated" and numbers["balanced"] == 1 and numbers["debits"] == numbers["credits"] == 560
    assert sorted(parties) == sorted([s1, s2, x1, x2]) and confirmed == []
    # a party not in the statement cannot confirm; settlement waits for every party
    chain.refused("metro", "confirm", [1], "not_a_party")
    chain.refused("shop1", "confirm", [2], "period_state")
    for who in ("sponsor1", "sponsor2", "shop1"):
        chain.good(who, "confirm", [1])
    chain.refused("shop1", "confirm", [1], "already_confirmed")
    chain.refused("clearing", "settle", [1], "not_confirmed")
    chain.good("shop2", "confirm", [1])
    before = chain.holding(s.CNY, CONTRACT).balance
    assert chain.good("clearing", "settle", [1]) == 560
    assert chain.holding(s.CNY, x1).balance == 240 and chain.holding(s.CNY, x2).balance == 320
    assert chain.holding(s.CNY, CONTRACT).balance == before - 560
    assert chain.view("pool", [s1]) == {"funded": 5000, "paid": 360, "owed": 0, "free": 4640, "low": 0}
    assert chain.view("period", [1])[0] == "final"
    chain.refused("clearing", "settle", [1], "period_state")
    # a period with no redemptions is stated empty and settles at once
    chain.good("clearing", "close_period", [])
    chain.good("clearing", "submit_statement", [2, [], [], []])
    assert chain.good("clearing", "settle", [2]) == 0
    assert chain.view("totals", [0])["clearing"] == {"settled": 560}


# --- supervision ---------------------------------------------------------------------------------


def test_a_distributors_volume_spiking_against_its_history_is_flagged(chain: GoodnessChain) -> None:
    for user in range(5):
        chain.enroll(f"user{user}")
    number = 0
    for day, trips_a_user in enumerate((2, 2, 8)):  # 10, 10, then 40 trips: over 3 x 10
        for user in range(5):
            for _ in range(trips_a_user):
                number += 1
                chain.trip("bus", f"user{user}", "bus", 1_000, f"bus trip {number}")
        if day < 2:
            chain.good("clearing", "close_period", [])
    flagged = [a for a in anomalies(chain) if a[0] == "volume_spike"]
    assert flagged == [("volume_spike", chain["bus"], "31 trips this period, threshold 31")]
    by_distributor = {bytes(a): n for a, n in chain.view("role_accounts", ["distributor", 3])}
    assert by_distributor[chain["bus"]]["trips"] == 40
    totals = chain.view("totals", [0])
    assert totals["distributor"]["trips"] == 60 and totals["supervisor"]["anomalies"] == 1


def test_every_distributor_has_its_own_numbers_in_role_accounts(chain: GoodnessChain) -> None:
    """The explorer's per-distributor table: each distributor's row counts its own trips, in one
    period and over all of them (a row after the first was once read from no period at all)."""
    chain.enroll("user0")
    for number, distributor in enumerate(("metro", "bus", "bus", "bike", "bike", "bike")):
        chain.trip(distributor, "user0", "walk", 1_000, f"trip {number}")
    chain.good("clearing", "close_period", [])
    chain.trip("bike", "user0", "walk", 1_000, "trip in period 2")
    expected = {1: (1, 2, 3), 2: (0, 0, 1), 0: (1, 2, 4)}  # metro, bus, bike trips by period (0: all)
    for period, (metro, bus, bike) in expected.items():
        rows = {bytes(a): n for a, n in chain.view("role_accounts", ["distributor", period])}
        trips = {name: rows[chain[name]]["trips"] for name in ("metro", "bus", "bike")}
        assert trips == {"metro": metro, "bus": bus, "bike": bike}, period
        assert rows[chain["bike"]]["carbon_g"] == bike * 98


def test_gov_roles_is_how_the_contract_reads_governance(chain: GoodnessChain) -> None:
    """Granting the distributor role by a committee vote is what lets an account report."""
    chain.enroll("user0")
    chain.good("user0", "consent", [chain["mallory"], s.CONSENT_PURPOSE, 30])
    args = [chain["user0"], "walk", 2_000, chain.time_ms, raw("walk")]
    chain.refused("mallory", "report", args, "not_distributor")
    chain.pass_proposal(gov.GrantRole(chain["mallory"], "distributor", "org3"))
    assert chain.good("mallory", "report", [*args[:3], chain.time_ms, raw("walk")]) == [196, 15]
    # an organisation removed from the alliance takes its accounts' member roles with it
    chain.pass_proposal(gov.RemoveMember("org3"))
    chain.refused(
        "mallory", "report", [chain["user0"], "walk", 2_000, chain.time_ms, raw("walk 2")], "not_distributor"
    )
