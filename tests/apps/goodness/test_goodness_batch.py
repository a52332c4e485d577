"""``report_batch``: many trips of one distributor in one call, each judged exactly as ``report``
judges it. Two chains from one seed get the same trips: one as a block of single reports, the
other as one batch in a block at the same height and time; their outcomes and their state agree,
refusals included (same reasons, nothing left behind), except that the batch flags the duplicate
its ok receipt would otherwise hide."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from goodness_chain import GoodnessChain, raw

from alliance.apps.goodness import CONTRACT_NAME
from alliance.apps.goodness import schemes as s

USERS = ("user0", "user1", "user2", "user3")


@pytest.fixture
def chains(tmp_path: Path) -> Iterator[tuple[GoodnessChain, GoodnessChain]]:
    single, batched = GoodnessChain(tmp_path / "single"), GoodnessChain(tmp_path / "batched")
    for chain in (single, batched):
        for user in USERS[:3]:  # user3 is never enrolled
            chain.enroll(user)
        chain.good("issuer", "enroll", [chain["user3"], raw("identity of user3")])  # no consent
    yield single, batched
    single.close()
    batched.close()


def mixed_trips(chain: GoodnessChain) -> list[list[Any]]:
    now = chain.time_ms + 1_000  # the next block's time
    return [
        [chain["user0"], "metro", 12_000, now, raw("a")],
        [chain["user1"], "bike", 3_000, now, raw("b")],
        [chain["user0"], "metro", 95_000, now, raw("c")],  # over the 100 km limit: capped, flagged
        [chain["user0"], "metro", 5_000, now, raw("a")],  # duplicate of the first
        [chain["user2"], "rocket", 1_000, now, raw("d")],  # unknown mode
        [chain["user3"], "metro", 1_000, now, raw("e")],  # no consent
        [chain["mallory"], "metro", 1_000, now, raw("f")],  # not enrolled
        [chain["user2"], "bus", 0, now, raw("g")],  # bad trip
        [chain["user2"], "bus", 1_000, now - 3 * 86_400_000, raw("h")],  # too old
        [chain["user2"], "walk", 150, now, raw("i")],  # counts, 0 points: nothing to mint
        [chain["user1"], "bike", 2_000, now, raw("j")],
    ]


def state_of(chain: GoodnessChain, counted: list[bytes]) -> dict[str, Any]:
    anomalies = [a for a in chain.view("anomalies", [0, 100]) if a[1] != "duplicate_raw_hash"]
    totals = chain.view("totals", [0])
    return {
        "users": [chain.view("user", [chain[u]]) for u in USERS],
        "trips": [chain.view("trip", [raw_hash]) for raw_hash in counted],
        "lists": [chain.view("trips", [chain[u], 0, 100]) for u in USERS],
        "holdings": [chain.holding(s.GOOD, chain[u]).balance for u in USERS],
        "supply": chain.supply(s.GOOD),
        "anomalies": [a[1:3] + a[4:] for a in anomalies],  # not the height: the blocks differ
        "totals": {role: {k: v for k, v in n.items() if k != "anomalies"} for role, n in totals.items()},
    }


def test_a_batch_counts_and_refuses_each_trip_as_single_reports_do(
    chains: tuple[GoodnessChain, GoodnessChain],
) -> None:
    single, batched = chains
    trips = mixed_trips(single)
    assert trips == mixed_trips(batched)
    receipts = single.block([single.tx("metro", CONTRACT_NAME, "report", t) for t in trips])
    (receipt,) = batched.block([batched.tx("metro", CONTRACT_NAME, "report_batch", [trips])])
    assert receipt.ok, receipt.error
    outcomes = msgspec.msgpack.decode(receipt.result)
    expected = []
    for r in receipts:
        if r.ok:
            expected.append(["", *msgspec.msgpack.decode(r.result)])
        else:
            assert r.status == "contract_error"
            expected.append([r.error, 0, 0])
    assert outcomes == expected
    assert [o[0].partition(":")[0] for o in outcomes] == [
        "", "", "", "duplicate_raw_hash", "unknown_mode", "no_consent", "not_enrolled", "bad_trip",
        "trip_time", "", "",
    ]  # fmt: skip
    counted = [t[4] for t, o in zip(trips, outcomes, strict=True) if o[0] == ""]
    assert len(counted) == 5
    assert state_of(single, counted) == state_of(batched, counted)
    # 12 km by metro, then 88 of 95 km (the limit is 100 km): 97 g/km, 100 points per 1,250 g
    assert batched.view("user", [batched["user0"]])["points"] == 93 + (88_000 * 97 // 1000) * 100 // 1250
    # the duplicate: refused alike, and flagged by the batch (a single report's failed receipt shows it)
    (flagged,) = [a for a in batched.view("anomalies", [0, 100]) if a[1] == "duplicate_raw_hash"]
    assert flagged[2] == batched["metro"] and raw("a").hex() in flagged[6]
    assert not [a for a in single.view("anomalies", [0, 100]) if a[1] == "duplicate_raw_hash"]


def test_a_batch_is_refused_whole_for_what_report_checks_once(
    chains: tuple[GoodnessChain, GoodnessChain],
) -> None:
    _, chain = chains
    trip = [chain["user0"], "metro", 1_000, chain.time_ms, raw("x")]
    chain.refused("mallory", "report_batch", [[trip]], "not_distributor")
    chain.refused("metro", "report_batch", [[]], "bad_batch")
    chain.refused("metro", "report_batch", [[trip] * 65], "bad_batch")
    chain.good("supervisor", "suspend", [chain["metro"], "audit"])
    chain.refused("metro", "report_batch", [[trip]], "distributor_suspended")
    assert chain.view("user", [chain["user0"]])["trips"] == 0


def test_trips_of_one_batch_see_each_other_like_consecutive_reports(
    chains: tuple[GoodnessChain, GoodnessChain],
) -> None:
    _, chain = chains
    now = chain.time_ms + 1_000
    # bike's daily limit is 50 km: the third trip of the batch is capped by the two before it
    trips = [[chain["user0"], "bike", 20_000, now, raw(f"bike {i}")] for i in range(3)]
    outcomes = chain.good("bike", "report_batch", [trips])
    assert [o[1] for o in outcomes] == [1960, 1960, 980]
    assert chain.view("user", [chain["user0"]])["trips"] == 3
    assert chain.holding(s.GOOD, chain["user0"]).balance == sum(o[2] for o in outcomes)
