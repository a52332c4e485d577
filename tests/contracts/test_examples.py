"""The example contracts under examples/contracts/: their rules, and every refusal each makes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from memory_host import World, address

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
ADMIN = address(0xAD)
MAKER = address(0x11)
TRUCK = address(0x22)
PHARMACY = address(0x33)
STRANGER = address(0x99)


def source(name: str) -> str:
    return (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")


def refused(outcome: object, reason: str) -> None:
    assert getattr(outcome, "status", None) == "contract_error", outcome
    assert getattr(outcome, "error", "") == reason


# --- proof of existence -------------------------------------------------------------------------------


@pytest.fixture
def poe() -> World:
    world = World(time_ms=1_700_000_123_456)
    assert world.deploy("poe", source("proof_of_existence"), deployer=ADMIN).ok
    return world


def test_register_records_owner_and_time_and_verify_answers(poe: World) -> None:
    doc = hashlib.sha256(b"the contract of sale").digest()
    outcome = poe.transact(MAKER, "poe", "register", [doc])
    assert outcome.ok
    assert outcome.events == [
        ("poe", "registered", {"doc_hash": doc, "owner": MAKER, "time_ms": 1_700_000_123_456})
    ]
    assert poe.view("poe", "verify", [doc]).result == [MAKER, 1_700_000_123_456]


def test_a_hash_is_registered_only_once(poe: World) -> None:
    doc = hashlib.sha256(b"x").digest()
    assert poe.transact(MAKER, "poe", "register", [doc]).ok
    refused(poe.transact(STRANGER, "poe", "register", [doc]), "this document hash is already registered")
    refused(poe.transact(MAKER, "poe", "register", [doc]), "this document hash is already registered")
    assert poe.view("poe", "verify", [doc]).result[0] == MAKER


def test_poe_refuses_bad_hashes_and_unknown_documents(poe: World) -> None:
    refused(poe.transact(MAKER, "poe", "register", [b"short"]), "a document hash is 32 bytes (its SHA-256)")
    refused(poe.view("poe", "verify", [bytes(32)]), "this document hash is not registered")


# --- vaccine trace -------------------------------------------------------------------------------------


@pytest.fixture
def trace() -> World:
    world = World(time_ms=1000)
    assert world.deploy("vt", source("vaccine_trace"), deployer=ADMIN, init_args=[ADMIN]).ok
    for account, role in ((MAKER, "manufacturer"), (TRUCK, "distributor"), (PHARMACY, "pharmacy")):
        assert world.transact(ADMIN, "vt", "grant", [account, role]).ok
    assert world.transact(MAKER, "vt", "create_batch", ["B-1", "vaccine X", 500]).ok
    return world


def test_roles_are_granted_and_revoked_by_the_admin_only(trace: World) -> None:
    assert trace.view("vt", "role_of", [TRUCK]).result == "distributor"
    refused(trace.transact(MAKER, "vt", "grant", [STRANGER, "pharmacy"]), "only the admin grants roles")
    refused(
        trace.transact(ADMIN, "vt", "grant", [STRANGER, "pirate"]),
        "unknown role pirate: one of manufacturer, distributor, pharmacy",
    )
    refused(trace.transact(MAKER, "vt", "revoke", [TRUCK]), "only the admin revokes roles")
    assert trace.transact(ADMIN, "vt", "revoke", [TRUCK]).ok
    assert trace.view("vt", "role_of", [TRUCK]).result == ""
    refused(trace.transact(ADMIN, "vt", "revoke", [TRUCK]), "this account has no role")


def test_batches_are_created_by_manufacturers_once(trace: World) -> None:
    assert trace.view("vt", "batch_info", ["B-1"]).result == ["vaccine X", 500, MAKER, False]
    refused(
        trace.transact(TRUCK, "vt", "create_batch", ["B-2", "x", 1]), "only a manufacturer creates batches"
    )
    refused(trace.transact(MAKER, "vt", "create_batch", ["B-1", "x", 1]), "this batch already exists")
    refused(trace.transact(MAKER, "vt", "create_batch", ["", "x", 1]), "a batch id is 1 to 64 characters")
    refused(
        trace.transact(MAKER, "vt", "create_batch", ["B" * 65, "x", 1]), "a batch id is 1 to 64 characters"
    )
    refused(trace.transact(MAKER, "vt", "create_batch", ["B-3", "x", 0]), "a batch holds at least one dose")
    refused(trace.view("vt", "batch_info", ["nope"]), "no such batch")


def test_custody_moves_only_when_the_receiver_accepts(trace: World) -> None:
    assert trace.transact(MAKER, "vt", "offer", ["B-1", TRUCK]).ok
    assert trace.view("vt", "batch_info", ["B-1"]).result[2] == MAKER  # still the maker's
    refused(trace.transact(PHARMACY, "vt", "accept", ["B-1"]), "custody of this batch was not offered to you")
    assert trace.transact(TRUCK, "vt", "accept", ["B-1"]).ok
    assert trace.view("vt", "batch_info", ["B-1"]).result[2] == TRUCK
    refused(trace.transact(TRUCK, "vt", "accept", ["B-1"]), "custody of this batch was not offered to you")
    refused(
        trace.transact(MAKER, "vt", "offer", ["B-1", PHARMACY]), "only the holder of the batch may do this"
    )
    refused(
        trace.transact(TRUCK, "vt", "offer", ["B-1", STRANGER]),
        "custody goes only to an account with a supply-chain role",
    )
    refused(trace.transact(TRUCK, "vt", "offer", ["B-1", TRUCK]), "the holder already has custody")
    refused(trace.transact(TRUCK, "vt", "offer", ["B-9", PHARMACY]), "no such batch")
    refused(trace.transact(TRUCK, "vt", "accept", ["B-9"]), "no such batch")
    assert trace.transact(TRUCK, "vt", "offer", ["B-1", PHARMACY]).ok
    assert trace.transact(PHARMACY, "vt", "accept", ["B-1"]).ok


def test_an_excursion_flags_the_batch_which_then_only_goes_back_to_a_manufacturer(trace: World) -> None:
    assert trace.transact(MAKER, "vt", "offer", ["B-1", TRUCK]).ok
    assert trace.transact(TRUCK, "vt", "accept", ["B-1"]).ok
    refused(
        trace.transact(MAKER, "vt", "report_excursion", ["B-1", 95, 30]),
        "only the holder of the batch may do this",
    )
    refused(
        trace.transact(TRUCK, "vt", "report_excursion", ["B-1", 50, 30]),
        "a reading within 2.0-8.0 C is not an excursion",
    )
    refused(
        trace.transact(TRUCK, "vt", "report_excursion", ["B-1", 95, 0]),
        "an excursion lasts at least a minute",
    )
    assert trace.transact(TRUCK, "vt", "report_excursion", ["B-1", 95, 30]).ok
    assert trace.view("vt", "batch_info", ["B-1"]).result[3] is True
    refused(
        trace.transact(TRUCK, "vt", "offer", ["B-1", PHARMACY]),
        "a flagged batch can only go back to a manufacturer",
    )
    assert trace.transact(TRUCK, "vt", "offer", ["B-1", MAKER]).ok


def test_the_trail_is_the_whole_history(trace: World) -> None:
    trace.time_ms = 2000
    assert trace.transact(MAKER, "vt", "offer", ["B-1", TRUCK]).ok
    assert trace.transact(TRUCK, "vt", "accept", ["B-1"]).ok
    assert trace.transact(TRUCK, "vt", "report_excursion", ["B-1", -15, 12]).ok
    assert trace.view("vt", "trail", ["B-1"]).result == [
        ["created", MAKER, MAKER, 1000, 500],
        ["offered", MAKER, TRUCK, 2000, 0],
        ["accepted", TRUCK, MAKER, 2000, 0],
        ["excursion", TRUCK, TRUCK, 2000, -15],
    ]
    refused(trace.view("vt", "trail", ["nope"]), "no such batch")


# --- equity registry -------------------------------------------------------------------------------------

ISSUER = address(0x15)
FUND = address(0xF0)
ANGEL = address(0xA0)


@pytest.fixture
def equity() -> World:
    world = World(height=10)
    outcome = world.deploy("eq", source("equity_registry"), deployer=ISSUER, init_args=[ISSUER, "Acme", 100])
    assert outcome.ok, outcome
    assert world.transact(ISSUER, "eq", "approve_investor", [FUND]).ok
    assert world.transact(ISSUER, "eq", "issue", [ISSUER, 1000]).ok
    assert world.transact(ISSUER, "eq", "issue", [FUND, 250]).ok
    return world


def test_init_is_checked_and_runs_once() -> None:
    world = World()
    refused(
        world.deploy("eq", source("equity_registry"), deployer=ISSUER, init_args=[ISSUER, "", 0]),
        "the company needs a name",
    )
    refused(
        world.deploy("eq", source("equity_registry"), deployer=ISSUER, init_args=[ISSUER, "Acme", -1]),
        "a lock-up height is not negative",
    )
    assert world.deploy("eq", source("equity_registry"), deployer=ISSUER, init_args=[ISSUER, "Acme", 0]).ok
    assert world.transact(STRANGER, "eq", "init", [STRANGER, "Mine", 0]).status == "already_initialised"


def test_issuance_goes_to_approved_investors_and_builds_the_cap_table(equity: World) -> None:
    assert equity.view("eq", "cap_table", []).result == [[ISSUER, 1000], [FUND, 250]]
    assert equity.view("eq", "total_shares", []).result == 1250
    refused(equity.transact(ISSUER, "eq", "issue", [ANGEL, 10]), "shares go only to approved investors")
    refused(equity.transact(FUND, "eq", "issue", [FUND, 10]), "only the issuer may do this")
    refused(equity.transact(ISSUER, "eq", "issue", [FUND, 0]), "issue at least one share")
    refused(
        equity.transact(ISSUER, "eq", "issue", [FUND, 2**63 - 1]),
        "the total number of shares would exceed its maximum",
    )
    refused(equity.transact(FUND, "eq", "approve_investor", [ANGEL]), "only the issuer may do this")


def test_transfers_wait_for_the_lock_up_and_go_to_approved_investors(equity: World) -> None:
    refused(equity.transact(FUND, "eq", "transfer", [ISSUER, 10]), "shares are locked up until height 100")
    equity.height = 100
    assert equity.transact(FUND, "eq", "transfer", [ISSUER, 10]).ok
    assert equity.view("eq", "balance_of", [FUND]).result == 240
    refused(equity.transact(FUND, "eq", "transfer", [ANGEL, 10]), "shares go only to approved investors")
    refused(equity.transact(FUND, "eq", "transfer", [ISSUER, 0]), "transfer at least one share")
    refused(equity.transact(FUND, "eq", "transfer", [FUND, 1]), "a transfer goes to someone else")
    refused(equity.transact(FUND, "eq", "transfer", [ISSUER, 241]), "you hold 240 shares, fewer than 241")
    assert equity.transact(ISSUER, "eq", "approve_investor", [ANGEL]).ok
    assert equity.transact(FUND, "eq", "transfer", [ANGEL, 240]).ok
    assert equity.view("eq", "cap_table", []).result == [[ISSUER, 1010], [ANGEL, 240]]


def test_removed_investors_keep_their_shares_but_receive_no_more(equity: World) -> None:
    assert equity.transact(ISSUER, "eq", "remove_investor", [FUND]).ok
    refused(equity.transact(ISSUER, "eq", "remove_investor", [FUND]), "this investor is not approved")
    refused(equity.transact(FUND, "eq", "remove_investor", [ISSUER]), "only the issuer may do this")
    refused(equity.transact(ISSUER, "eq", "issue", [FUND, 1]), "shares go only to approved investors")
    assert equity.view("eq", "balance_of", [FUND]).result == 250
    assert equity.view("eq", "is_approved", [ISSUER]).result is True
    assert equity.view("eq", "is_approved", [FUND]).result is False


def test_a_split_multiplies_every_holding_and_the_total(equity: World) -> None:
    assert equity.transact(ISSUER, "eq", "split", [3]).ok
    assert equity.view("eq", "cap_table", []).result == [[ISSUER, 3000], [FUND, 750]]
    assert equity.view("eq", "total_shares", []).result == 3750
    refused(equity.transact(ISSUER, "eq", "split", [1]), "a split multiplies holdings by 2 or more")
    refused(equity.transact(FUND, "eq", "split", [2]), "only the issuer may do this")
    refused(
        equity.transact(ISSUER, "eq", "split", [2**62]), "the total number of shares would exceed its maximum"
    )


def test_the_lock_up_can_only_be_extended_by_the_issuer(equity: World) -> None:
    refused(equity.transact(ISSUER, "eq", "extend_lockup", [50]), "a lock-up can only be extended")
    refused(equity.transact(FUND, "eq", "extend_lockup", [500]), "only the issuer may do this")
    assert equity.transact(ISSUER, "eq", "extend_lockup", [500]).ok
    equity.height = 200
    refused(equity.transact(FUND, "eq", "transfer", [ISSUER, 1]), "shares are locked up until height 500")


def test_the_cap_table_is_bounded(equity: World) -> None:
    for number in range(498):
        investor = address(0x1000 + number)
        assert equity.transact(ISSUER, "eq", "approve_investor", [investor]).ok
        assert equity.transact(ISSUER, "eq", "issue", [investor, 1]).ok
    assert equity.transact(ISSUER, "eq", "approve_investor", [ANGEL]).ok
    refused(equity.transact(ISSUER, "eq", "issue", [ANGEL, 1]), "the cap table is full")


# --- token ---------------------------------------------------------------------------------------------


@pytest.fixture
def token() -> World:
    world = World()
    assert world.deploy("tok", source("token"), deployer=ADMIN, init_args=[ADMIN]).ok
    assert world.transact(ADMIN, "tok", "mint", [MAKER, 1000]).ok
    return world


def test_token_mints_by_the_owner_and_transfers_balances(token: World) -> None:
    outcome = token.transact(MAKER, "tok", "transfer", [TRUCK, 300])
    assert outcome.ok
    assert outcome.events == [("tok", "transfer", {"amount": 300, "sender": MAKER, "to": TRUCK})]
    assert token.view("tok", "balance_of", [MAKER]).result == 700
    assert token.view("tok", "balance_of", [TRUCK]).result == 300
    assert token.transact(MAKER, "tok", "transfer", [MAKER, 700]).ok  # to oneself: balances unchanged
    assert token.view("tok", "balance_of", [MAKER]).result == 700
    assert token.view("tok", "total_supply", []).result == 1000


def test_token_refusals(token: World) -> None:
    refused(token.transact(MAKER, "tok", "mint", [MAKER, 1]), "only the owner mints")
    refused(token.transact(ADMIN, "tok", "mint", [MAKER, 0]), "the amount must be positive")
    refused(token.transact(ADMIN, "tok", "mint", [MAKER, 2**63 - 1]), "the supply would exceed its maximum")
    refused(token.transact(MAKER, "tok", "transfer", [TRUCK, 0]), "the amount must be positive")
    refused(token.transact(MAKER, "tok", "transfer", [TRUCK, 1001]), "insufficient balance")
