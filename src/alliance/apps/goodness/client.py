"""Goodness from the SDK: typed calls and views of the contract, and the supervisor's report.

Theory of operation
-------------------
``Goodness(client)`` wraps the live contract (``sdk.contracts.ContractHandle``: arguments typed by
its ABI, a refusal raised as its typed error, ``contract_error`` carrying the contract's reason
``"code: why"``) and the passes module's reads, and answers with the frozen Structs below, whose
``msgspec.to_builtins`` is the command line's JSON (addresses checksummed, hashes hex).

The supervision report (``supervision``) reads what the contract keeps (totals per role and
period, per-account numbers, anomalies, periods and their statements) and adds the one thing the
contract cannot keep: a refused report leaves no state, so the duplicates of a raw record are found
in the failed receipts of the blocks of a period (status ``contract_error``, reason
``duplicate_raw_hash``, target the contract), at most ``SCAN_BLOCKS_MAX`` blocks per report, read
``SCAN_CONCURRENCY`` at a time. ``export_csv`` writes the same report as CSV lines.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec

from alliance.abi import contracts as c
from alliance.abi import passes as p
from alliance.apps.goodness import CONTRACT_NAME
from alliance.apps.goodness import schemes as s
from alliance.crypto.keys import AccountKey, to_checksum_address
from alliance.errors import UsageError
from alliance.sdk import AsyncClient, Client, ReceiptView, TxView
from alliance.sdk.contracts import ContractHandle, decode_result

CALL_GAS = 2_000_000
SCAN_BLOCKS_MAX = 2_000
SCAN_CONCURRENCY = 16
PERIODS_LISTED_MAX = 100
ANOMALIES_LISTED_MAX = 1_000
PAGE = 100
DUPLICATE = "duplicate_raw_hash"
CONTRACT_ADDRESS = c.contract_address(CONTRACT_NAME)


def reason_of(status: str, error: str) -> str:
    """The reason code of a refusal: the contract's (``"code: why"``), else the receipt's status."""
    if status == "contract_error":
        head, _, _ = error.partition(":")
        if head and head.replace("_", "").isalnum() and head.islower():
            return head
    return status


def _address(value: bytes) -> str:
    return to_checksum_address(bytes(value))


# --- views ----------------------------------------------------------------------------------------


class ModeRule(msgspec.Struct, frozen=True):
    grams_per_km: int
    limit_m: int


class Rules(msgspec.Struct, frozen=True):
    version: int
    modes: dict[str, ModeRule]
    grams_per_100_points: int
    over_limit: str
    height: int
    time_ms: int


class Trip(msgspec.Struct, frozen=True):
    raw_hash: str
    distributor: str
    mode: str
    meters: int
    counted_m: int
    carbon_g: int
    points: int
    rules_version: int
    period: int
    time_ms: int


class Reward(msgspec.Struct, frozen=True):
    reward: int
    offer: int
    platform: str
    points: int
    value: int
    period: int
    time_ms: int


class Lot(msgspec.Struct, frozen=True):
    amount: int
    expires_at_ms: int | None
    expired: bool


class AccountView(msgspec.Struct, frozen=True):
    """A user's Goodness account: ``points`` are the live GOOD units (lots below), ``earned`` and
    ``redeemed`` the contract's counts, ``trips`` the number counted (the newest in ``recent_trips``)."""

    account: str
    enrolled: bool
    identity_hash: str
    attester: str | None
    points: int
    expired: int
    earned: int
    redeemed: int
    carbon_g: int
    trips: int
    rewards: int
    lots: list[Lot]
    recent_trips: list[Trip]
    recent_rewards: list[Reward]


class Offer(msgspec.Struct, frozen=True):
    offer: int
    sponsor: str
    points: int
    value: int
    count: int
    redeemed: int
    until_ms: int
    title: str


class Pool(msgspec.Struct, frozen=True):
    sponsor: str
    funded: int
    paid: int
    owed: int
    free: int
    low: bool


class Line(msgspec.Struct, frozen=True):
    sponsor: str
    platform: str
    amount: int


class Entry(msgspec.Struct, frozen=True):
    account: str
    amount: int


class Period(msgspec.Struct, frozen=True):
    """A clearing period (a day): ``state`` open, closed, stated or final; ``balanced`` whether its
    statement's debits equal its credits (None before there is a statement)."""

    period: int
    state: str
    opened_height: int
    closed_height: int
    settled_height: int
    debits: int
    credits: int
    balanced: bool | None
    lines: list[Line]
    debit_entries: list[Entry]
    credit_entries: list[Entry]
    parties: list[str]
    confirmed: list[str]
    anomaly_from: int
    anomaly_to: int


class Anomaly(msgspec.Struct, frozen=True):
    """One anomaly: ``source`` ``state`` (recorded by the contract) or ``receipts`` (a refused
    duplicate found in a block); ``account`` the user, distributor or sponsor it concerns."""

    kind: str
    account: str
    period: int
    height: int
    detail: str
    source: str = "state"
    user: str | None = None
    tx: str | None = None


class ReportOutcome(msgspec.Struct, frozen=True):
    carbon_g: int
    points: int
    tx: str
    height: int | None
    status: str


class Statement(msgspec.Struct, frozen=True):
    period: int
    lines: list[Line]
    debits: list[Entry]
    credits: list[Entry]


class Scanned(msgspec.Struct, frozen=True):
    from_height: int
    to_height: int
    blocks: int
    complete: bool


class Supervision(msgspec.Struct, frozen=True):
    """The supervisor's report: ``totals`` per role, ``accounts`` per role and account,
    ``anomalies`` (the newest ``ANOMALIES_LISTED_MAX``), ``anomaly_counts`` by kind, ``clearing``
    (the periods, newest last), and which blocks were scanned for refused duplicates."""

    period: int | None
    totals: dict[str, dict[str, int]]
    accounts: dict[str, list[dict[str, Any]]]
    anomalies: list[Anomaly]
    anomaly_counts: dict[str, int]
    clearing: list[Period]
    scanned: Scanned
    height: int


# --- the contract ----------------------------------------------------------------------------------


class Goodness:
    """The live Goodness contract through one client."""

    def __init__(self, client: Client, name: str = CONTRACT_NAME) -> None:
        self.client = client
        self.handle = ContractHandle(client, name)

    # writes: each signs, submits and waits; a refusal raises its typed error

    def _call(self, key: AccountKey, method: str, args: list[Any]) -> TxView:
        return self.handle.call(key, method, args, gas_limit=CALL_GAS)

    def _value(self, key: AccountKey, method: str, args: list[Any]) -> Any:
        return decode_result(self._call(key, method, args).result)

    def enroll(self, key: AccountKey, user: bytes, identity_hash: bytes) -> TxView:
        return self._call(key, "enroll", [user, identity_hash])

    def consent(
        self, key: AccountKey, distributor: bytes, days: int, purpose: str = s.CONSENT_PURPOSE
    ) -> int:
        until_ms: int = self._value(key, "consent", [distributor, purpose, days])
        return until_ms

    def revoke(self, key: AccountKey, distributor: bytes, purpose: str = s.CONSENT_PURPOSE) -> TxView:
        return self._call(key, "revoke_consent", [distributor, purpose])

    def report(
        self,
        key: AccountKey,
        user: bytes,
        mode: str,
        meters: int,
        raw_hash: bytes,
        time_ms: int | None = None,
    ) -> ReportOutcome:
        when = int(time.time() * 1000) if time_ms is None else time_ms
        view = self._call(key, "report", [user, mode, meters, when, raw_hash])
        carbon_g, points = decode_result(view.result)
        return ReportOutcome(carbon_g, points, view.hash.hex(), view.height, view.status)

    def publish_rules(
        self, key: AccountKey, modes: dict[str, tuple[int, int]], grams_per_100_points: int, over_limit: str
    ) -> int:
        table = {mode: list(rule) for mode, rule in modes.items()}
        version: int = self._value(key, "publish_rules", [table, grams_per_100_points, over_limit])
        return version

    def fund(self, key: AccountKey, amount: int) -> int:
        """Approve the contract for ``amount`` CNY, then move it into the sender's pool; its free funds."""
        args = p.ApproveArgs(s.CNY, CONTRACT_ADDRESS, amount)
        self.client.call_checked(key, p.MODULE_NAME, "approve", args)
        free: int = self._value(key, "fund", [amount])
        return free

    def allow_redemptions(self, key: AccountKey, points: int) -> TxView:
        """The user's consent to redemptions: the contract may redeem up to ``points`` of theirs."""
        return self.client.call_checked(
            key, p.MODULE_NAME, "approve", p.ApproveArgs(s.GOOD, CONTRACT_ADDRESS, points)
        )

    def publish_offer(
        self, key: AccountKey, title: str, points: int, value: int, count: int, days: int
    ) -> int:
        number: int = self._value(key, "publish_offer", [title, points, value, count, days])
        return number

    def redeem(self, key: AccountKey, user: bytes, offer: int) -> int:
        number: int = self._value(key, "redeem", [user, offer])
        return number

    def close_period(self, key: AccountKey) -> int:
        number: int = self._value(key, "close_period", [])
        return number

    def statement(self, period: int) -> Statement:
        """The statement the records give for a period: its lines, each sponsor's debit, each
        platform's credit."""
        lines = self.obligations(period)
        debits: dict[str, int] = {}
        credits: dict[str, int] = {}
        for line in lines:
            debits[line.sponsor] = debits.get(line.sponsor, 0) + line.amount
            credits[line.platform] = credits.get(line.platform, 0) + line.amount
        return Statement(
            period,
            lines,
            [Entry(a, n) for a, n in debits.items()],
            [Entry(a, n) for a, n in credits.items()],
        )

    def submit_statement(self, key: AccountKey, statement: Statement) -> TxView:
        return self._call(key, "submit_statement", statement_args(statement))

    def confirm(self, key: AccountKey, period: int) -> TxView:
        return self._call(key, "confirm", [period])

    def settle(self, key: AccountKey, period: int) -> int:
        total: int = self._value(key, "settle", [period])
        return total

    def suspend(self, key: AccountKey, distributor: bytes, reason: str) -> TxView:
        return self._call(key, "suspend", [distributor, reason])

    def unsuspend(self, key: AccountKey, distributor: bytes) -> TxView:
        return self._call(key, "unsuspend", [distributor])

    # reads

    def view(self, method: str, args: list[Any]) -> Any:
        return self.handle.view(method, args)

    def status(self) -> dict[str, int]:
        answer: dict[str, int] = self.view("status", [])
        return answer

    def rules(self, version: int = 0) -> Rules:
        number, modes, grams, over_limit, height, time_ms = self.view("rules", [version])
        table = {mode: ModeRule(rule[0], rule[1]) for mode, rule in modes.items()}
        return Rules(number, table, grams, over_limit, height, time_ms)

    def trips(self, account: bytes, start: int = 0, limit: int = PAGE) -> list[Trip]:
        return [_trip(row) for row in self.view("trips", [account, start, limit])]

    def rewards(self, account: bytes, start: int = 0, limit: int = PAGE) -> list[Reward]:
        return [
            Reward(r[0], r[1], _address(r[2]), r[3], r[4], r[5], r[6])
            for r in self.view("rewards", [account, start, limit])
        ]

    def account(self, account: bytes, recent: int = 10) -> AccountView:
        numbers = self.view("user", [account])
        identity_hash, attester = self.view("identity", [account])
        holding = self.client.read(f"/v1/passes/{s.GOOD}/holders/0x{bytes(account).hex()}")["value"]
        trips_first = max(0, numbers["trips"] - recent)
        rewards_first = max(0, numbers["rewards"] - recent)
        return AccountView(
            account=_address(account),
            enrolled=bool(numbers["enrolled"]),
            identity_hash=bytes(identity_hash).hex(),
            attester=_address(attester) if attester else None,
            points=holding["balance"],
            expired=holding["expired"],
            earned=numbers["points"],
            redeemed=numbers["redeemed"],
            carbon_g=numbers["carbon_g"],
            trips=numbers["trips"],
            rewards=numbers["rewards"],
            lots=[Lot(lot["amount"], lot["expires_at_ms"], lot["expired"]) for lot in holding["lots"]],
            recent_trips=self.trips(account, trips_first, recent) if recent else [],
            recent_rewards=self.rewards(account, rewards_first, recent) if recent else [],
        )

    def consent_of(self, user: bytes, distributor: bytes, purpose: str = s.CONSENT_PURPOSE) -> dict[str, Any]:
        live, granted_ms, until_ms, revoked_ms = self.view("consent_of", [user, distributor, purpose])
        return {"live": live, "granted_ms": granted_ms, "until_ms": until_ms, "revoked_ms": revoked_ms}

    def pools(self) -> list[Pool]:
        return [_pool(sponsor, numbers) for sponsor, numbers in self.view("pools", [])]

    def offers(self, start: int = 1, limit: int = PAGE) -> list[Offer]:
        return [
            Offer(o[0], _address(o[1]), o[2], o[3], o[4], o[5], o[6], o[7])
            for o in self.view("offers", [start, limit])
        ]

    def obligations(self, period: int) -> list[Line]:
        return [Line(_address(a), _address(b), n) for a, b, n in self.view("obligations", [period])]

    def period(self, number: int) -> Period:
        state, numbers, lines, debits, credits, parties, confirmed = self.view("period", [number])
        stated = state in ("stated", "final")
        return Period(
            period=number,
            state=state,
            opened_height=numbers["opened_height"],
            closed_height=numbers["closed_height"],
            settled_height=numbers["settled_height"],
            debits=numbers["debits"],
            credits=numbers["credits"],
            balanced=bool(numbers["balanced"]) if stated else None,
            lines=[Line(_address(a), _address(b), n) for a, b, n in lines],
            debit_entries=[Entry(_address(a), n) for a, n in debits],
            credit_entries=[Entry(_address(a), n) for a, n in credits],
            parties=[_address(a) for a in parties],
            confirmed=[_address(a) for a in confirmed],
            anomaly_from=numbers["anomaly_from"],
            anomaly_to=numbers["anomaly_to"],
        )

    def totals(self, period: int = 0) -> dict[str, dict[str, int]]:
        answer: dict[str, dict[str, int]] = self.view("totals", [period])
        return answer

    def role_accounts(self, role: str, period: int = 0) -> list[dict[str, Any]]:
        return [
            {"account": _address(a), **numbers} for a, numbers in self.view("role_accounts", [role, period])
        ]

    def anomalies(self, start: int, limit: int = PAGE) -> list[Anomaly]:
        return [
            Anomaly(kind=a[1], account=_address(a[2]), period=a[3], height=a[4], detail=a[6])
            for a in self.view("anomalies", [start, limit])
        ]

    def anomalies_between(self, first: int, end: int) -> list[Anomaly]:
        found: list[Anomaly] = []
        for start in range(first, end, PAGE):
            found.extend(self.anomalies(start, min(PAGE, end - start)))
        return found


def statement_args(statement: Statement) -> list[Any]:
    return [
        statement.period,
        [[line.sponsor, line.platform, line.amount] for line in statement.lines],
        [[entry.account, entry.amount] for entry in statement.debits],
        [[entry.account, entry.amount] for entry in statement.credits],
    ]


def _trip(row: list[Any]) -> Trip:
    return Trip(bytes(row[0]).hex(), _address(row[1]), *row[2:10])


def _pool(sponsor: bytes, numbers: dict[str, int]) -> Pool:
    return Pool(
        _address(sponsor),
        numbers["funded"],
        numbers["paid"],
        numbers["owed"],
        numbers["free"],
        bool(numbers["low"]),
    )


# --- supervision ------------------------------------------------------------------------------------


def supervision(
    client: Client, *, period: int | None = None, blocks_max: int = SCAN_BLOCKS_MAX
) -> Supervision:
    """The supervisor's report for one period, or for everything so far (``period`` None)."""
    if blocks_max < 1:
        raise UsageError("scan at least one block")
    goodness = Goodness(client)
    status = goodness.status()
    height = client.status().height
    current = status["period"]
    if period is not None and not 1 <= period <= current:
        raise UsageError(f"there is no period {period}: periods run from 1 to {current}")
    which = period or 0
    accounts = {role: goodness.role_accounts(role, which) for role in (s.DISTRIBUTOR, s.EXCHANGE, s.SPONSOR)}
    if period is None:
        first_period = max(1, current - PERIODS_LISTED_MAX + 1)
        clearing = [goodness.period(n) for n in range(first_period, current + 1)]
        first_anomaly = max(0, status["anomalies"] - ANOMALIES_LISTED_MAX)
        recorded = goodness.anomalies_between(first_anomaly, status["anomalies"])
        low, high = max(1, height - blocks_max + 1), height
        complete = low == 1
    else:
        chosen = goodness.period(period)
        clearing = [chosen]
        end = min(chosen.anomaly_to, chosen.anomaly_from + ANOMALIES_LISTED_MAX)
        recorded = goodness.anomalies_between(chosen.anomaly_from, end)
        low = max(1, chosen.opened_height)
        high = chosen.closed_height if chosen.closed_height else height
        complete = high - low + 1 <= blocks_max
        low = max(low, high - blocks_max + 1)
    duplicates = refused_duplicates(client, low, high, clearing)
    listed = [*recorded, *duplicates]
    counts = Counter(a.kind for a in listed)
    return Supervision(
        period=period,
        totals=goodness.totals(which),
        accounts=accounts,
        anomalies=listed,
        anomaly_counts=dict(sorted(counts.items())),
        clearing=clearing,
        scanned=Scanned(low, high, max(0, high - low + 1), complete),
        height=height,
    )


def refused_duplicates(client: Client, low: int, high: int, periods: Sequence[Period] = ()) -> list[Anomaly]:
    """Reports of a raw record counted already, refused in blocks ``low..high``: one anomaly each,
    for the distributor that sent it (``user`` the account it was reported for), in the period of
    ``periods`` that was open at its height (0 if none of them was)."""
    if high < low:
        return []
    found = asyncio.run(_failed_receipts(client.base_url, range(low, high + 1)))
    anomalies = []
    for height, receipt in found:
        if reason_of(receipt.status, receipt.error) != DUPLICATE:
            continue
        tx = client.tx(bytes(receipt.tx_hash))
        if tx.target != CONTRACT_NAME or tx.method != "report" or tx.sender is None:
            continue
        user = _user_in(receipt.error)
        anomalies.append(
            Anomaly(
                kind=DUPLICATE,
                account=_address(tx.sender),
                period=_period_at(periods, height),
                height=height,
                detail=receipt.error.partition(": ")[2],
                source="receipts",
                user=user,
                tx=bytes(receipt.tx_hash).hex(),
            )
        )
    return anomalies


def _period_at(periods: Sequence[Period], height: int) -> int:
    """The period open at the end of block ``height`` (a period opens where the last one closed)."""
    found = [p.period for p in periods if p.opened_height <= height]
    return max(found, default=0)


def _user_in(error: str) -> str | None:
    """The user a duplicate was reported for: the contract's reason names it (``... for 0x...``)."""
    _, found, rest = error.partition(" for 0x")
    if not found or len(rest) < 40:
        return None
    try:
        return to_checksum_address(bytes.fromhex(rest[:40]))
    except ValueError:
        return None


async def _failed_receipts(url: str, heights: range) -> list[tuple[int, ReceiptView]]:
    semaphore = asyncio.Semaphore(SCAN_CONCURRENCY)
    async with AsyncClient(url, timeout_s=30.0) as client:

        async def one(height: int) -> list[tuple[int, ReceiptView]]:
            async with semaphore:
                receipts = await client.receipts(height)
            return [(height, r) for r in receipts if not r.ok]

        pages = await asyncio.gather(*(one(h) for h in heights))
    return [item for page in pages for item in page]


# --- export ---------------------------------------------------------------------------------------

CSV_HEADER = ("record", "period", "role", "account", "counterparty", "name", "value")


def export_csv(report: Supervision) -> str:
    """The supervision report as CSV: totals per role, numbers per account, each period's state and
    statement lines, each anomaly; one line each, under ``CSV_HEADER``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    period = report.period or 0
    for role, numbers in report.totals.items():
        for name, value in numbers.items():
            writer.writerow(("total", period, role, "", "", name, value))
    for role, rows in report.accounts.items():
        for row in rows:
            for name, value in row.items():
                if name != "account":
                    writer.writerow(("account", period, role, row["account"], "", name, value))
    for entry in report.clearing:
        balanced = "" if entry.balanced is None else str(entry.balanced).lower()
        writer.writerow(("period", entry.period, "clearing", "", "", "state", entry.state))
        writer.writerow(("period", entry.period, "clearing", "", "", "debits", entry.debits))
        writer.writerow(("period", entry.period, "clearing", "", "", "credits", entry.credits))
        writer.writerow(("period", entry.period, "clearing", "", "", "balanced", balanced))
        for line in entry.lines:
            writer.writerow(
                ("line", entry.period, "sponsor", line.sponsor, line.platform, "owed", line.amount)
            )
    for anomaly in report.anomalies:
        writer.writerow(
            (
                "anomaly",
                anomaly.period,
                "supervisor",
                anomaly.account,
                anomaly.user or "",
                anomaly.kind,
                anomaly.detail,
            )
        )
    return out.getvalue()


def encode_json(value: object) -> str:
    """A Struct (or plain values) as the command line's JSON."""
    return msgspec.json.encode(value).decode()
