"""``alliance demo goodness``: a seeded story of N users over D days on the local alliance.

Theory of operation
-------------------
The demo plays every role with keys it keeps in the alliance's keyring (``issuer``,
``distributor-metro|bus|bike``, ``sponsor-1|2``, ``exchange-1|2``, ``clearing``, ``gateway``,
``user-0001``...), so a person can go on by hand afterwards. It works in *rounds*: a round is a
list of signed transactions sent in batches (``batch.Batcher``) and awaited until every receipt is
in; what a round needs from the chain (a role, a pool, points) was committed by an earlier one.

1. Set-up, skipping whatever the directory has already (a second run reuses it): the role grants,
   proposed by the first member's admin and voted through by as many other admins as the threshold
   needs, the roles spread over the member organisations; the contract submitted and deployed by a
   vote; GOOD and CNY created; CNY deposited to the sponsors by the gateway; users enrolled (the
   SHA-256 of a made-up identity document), their consents (each user to one to three
   distributors) and their redemption allowance; the sponsors' pools funded, their offers published.
2. Each day is a clearing period: trips (0-3 a user, by the modes their distributors carry), then
   redemptions (users with enough points, at either platform), then the clearing: close the period,
   state it from the records, every party confirms, settle. A day's trips are dated within the hour
   before they are sent: block time does not move by days, the periods do (decision 016).
3. Injected every run: on the first day a user travels 60 km by bike (over the 50 km limit: counted
   to it and flagged), a user who revoked their consent to the metro is reported by it (refused), a
   distributor reports a raw record again (refused), and a platform redeems the small pool's offer
   once more than the pool can pay (refused); on the second day the bike distributor's volume
   quadruples (flagged as a spike).

Everything random comes from ``random.Random(seed)``, so a seed on a fresh alliance tells the same
story (the same counts); only nonces and block times differ. The summary counts come from the
receipts of this run, its anomalies from the supervision view over this run's periods and blocks.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from alliance import codec
from alliance.abi import contracts as c
from alliance.abi import gov
from alliance.abi import passes as p
from alliance.apps.goodness import CONTRACT_NAME, contract_source
from alliance.apps.goodness import schemes as s
from alliance.apps.goodness.batch import Batcher, Outcome
from alliance.apps.goodness.client import CONTRACT_ADDRESS, Goodness, reason_of, refused_duplicates
from alliance.cli import keyring, localnet
from alliance.contracts import engine
from alliance.crypto.keys import AccountKey, load_account_key, save_account_key
from alliance.errors import NotFound, OperationalError, UsageError
from alliance.sdk import Client

USERS_MAX = 100_000
DAYS_MAX = 366
TRIP_GAS = 1_000_000
CALL_GAS = 2_000_000
SUBMIT_GAS = 10_000_000
BIKE_LIMIT_M = 50_000
OVER_LIMIT_M = 60_000
TREE_POOL = 2_000
TREE_POINTS = 100
TREE_VALUE = 850
GOOD_ALLOWANCE = 10**12
CONSENT_DAYS = 365
OFFER_DAYS = 365
HOUR_MS = 3_600_000
REDEEM_CHANCE = 0.5
CONSENT_CHANCE = 0.55
METRO, BUS, BIKE = "distributor-metro", "distributor-bus", "distributor-bike"
CARRIES = {METRO: ("metro", "walk"), BUS: ("bus",), BIKE: ("bike",)}
DISTANCE_M = {"metro": (3_000, 25_000), "walk": (500, 3_000), "bus": (2_000, 15_000), "bike": (1_000, 8_000)}
TRIPS_A_DAY = (0, 1, 1, 1, 2, 2, 2, 3)
SPIKE_TRIPS = (2, 3, 3)
ROLE_KEYS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("issuer", (s.ISSUER,), 0),
    (METRO, (s.DISTRIBUTOR,), 1),
    (BUS, (s.DISTRIBUTOR,), 1),
    (BIKE, (s.DISTRIBUTOR,), 2),
    ("sponsor-1", (s.SPONSOR,), 2),
    ("sponsor-2", (s.SPONSOR,), 3),
    ("exchange-1", (s.EXCHANGE,), 3),
    ("exchange-2", (s.EXCHANGE,), 0),
    ("clearing", (s.CLEARING,), 1),
    ("gateway", (s.ISSUER, s.GATEWAY), 1),
)
"""Each key, its roles, and its organisation: the alliance's members in turn (index modulo their number)."""
SPONSORS = ("sponsor-1", "sponsor-2")
PLATFORMS = ("exchange-1", "exchange-2")


@dataclass(frozen=True, slots=True)
class DemoOptions:
    users: int = 40
    days: int = 3
    seed: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.users <= USERS_MAX:
            raise UsageError(f"--users is 1 to {USERS_MAX}, got {self.users}")
        if not 1 <= self.days <= DAYS_MAX:
            raise UsageError(f"--days is 1 to {DAYS_MAX}, got {self.days}")


def user_name(number: int, users: int) -> str:
    return f"user-{number:0{max(4, len(str(users)))}d}"


@dataclass
class Tally:
    """What this run's receipts said."""

    trips_accepted: int = 0
    trips_refused: Counter[str] = field(default_factory=Counter)
    points_issued: int = 0
    carbon_g: int = 0
    redemptions: int = 0
    redemptions_refused: Counter[str] = field(default_factory=Counter)
    points_redeemed: int = 0
    value_owed: int = 0
    settled: int = 0
    periods: list[int] = field(default_factory=list)
    txs: int = 0


@dataclass(frozen=True, slots=True)
class Offers:
    """The numbers of the three offers and their terms (points, value)."""

    ticket: int
    coffee: int
    tree: int

    def terms(self, offer: int) -> tuple[int, int]:
        if offer == self.tree:
            return TREE_POINTS, TREE_VALUE
        return (100, 100) if offer == self.ticket else (250, 250)


PhaseHook = Callable[[str, int], None]
"""Called as each round starts: its name and how many transactions it sends."""


class Demo:
    """One run of the story against the alliance in ``directory`` (or the node at ``api``)."""

    def __init__(
        self,
        directory: Path,
        options: DemoOptions,
        *,
        api: str | None = None,
        on_round: PhaseHook | None = None,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.directory = directory
        self.options = options
        self.rng = random.Random(options.seed)
        self.on_round = on_round or (lambda _name, _count: None)
        urls = [api] if api else _answering_urls(directory)
        self.client = Client(urls[0], timeout_s=60.0)
        self.batcher = Batcher(urls, progress=on_commit)
        self.goodness = Goodness(self.client)
        self.tally = Tally()
        self.keys: dict[str, AccountKey] = {}
        self.injected: list[dict[str, str]] = []
        self.carriers: dict[str, list[str]] = {}
        self.points: dict[str, int] = {}
        self.revoker = ""
        self.tree_free = 0
        self.offers = Offers(0, 0, 0)

    def close(self) -> None:
        self.batcher.close()
        self.client.close()

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        start_height = self.client.status().height
        self.setup()
        status = self.goodness.status()
        anomalies_before = status["anomalies"]
        self.finish_clearing(status["period"])
        run_tag = self.goodness.status()["period"]
        self.people(run_tag)
        for number in range(1, self.options.days + 1):
            self.day(number, run_tag)
        return self.summary(start_height, anomalies_before, time.monotonic() - started)

    # --- keys and rounds ------------------------------------------------------------------------

    def key(self, name: str) -> AccountKey:
        found = self.keys.get(name)
        if found is None:
            path = keyring.key_path(self.directory, name)
            if path.exists():
                found = load_account_key(path)
            else:
                found = AccountKey.generate()
                save_account_key(path, found)
            self.keys[name] = found
        return found

    def address(self, name: str) -> bytes:
        return self.key(name).address

    def round(self, name: str, txs: Sequence[bytes], *, strict: bool = False) -> list[Outcome]:
        """Send ``txs`` and wait for them; ``strict``: any failure stops the demo."""
        self.on_round(name, len(txs))
        outcomes = self.batcher.run(txs)
        self.batcher.refresh()  # what is signed next is valid from the height reached now
        self.tally.txs += len(txs)
        failed = [o for o in outcomes if not o.ok]
        if strict and failed:
            first = failed[0]
            raise OperationalError(
                f"{name}: {len(failed)} of {len(txs)} transactions failed, "
                f"first {first.status}: {first.error}"
            )
        return outcomes

    def sign(self, who: str, target: str, method: str, args: object, gas_limit: int = CALL_GAS) -> bytes:
        return self.batcher.sign(self.key(who), target, method, args, gas_limit=gas_limit)

    def contract(self, who: str, method: str, args: list[Any], gas_limit: int = CALL_GAS) -> bytes:
        # The contract checks its canonical argument list against its ABI itself.
        return self.sign(who, CONTRACT_NAME, method, msgspec.Raw(codec.encode(args)), gas_limit)

    # --- 1. set-up -------------------------------------------------------------------------------

    def setup(self) -> None:
        orgs = [m.org for m in self.client.governance().members]
        if not orgs:
            raise UsageError("the alliance has no member organisations to grant roles in")
        proposer = f"{orgs[0]}-admin"
        if not keyring.key_path(self.directory, proposer).exists():
            raise UsageError(
                f"the demo proposes as {proposer}: its key is not in {keyring.keys_dir(self.directory)}"
            )
        voters = [org for org in orgs[1:] if keyring.key_path(self.directory, f"{org}-admin").exists()]
        source = contract_source()
        code_hash = engine.code_hash(source)
        live = self._live_code_hash()
        if live is not None and live != code_hash:
            raise UsageError(
                f"another '{CONTRACT_NAME}' contract is live in this alliance (code {live.hex()[:16]}); "
                "the demo needs its own: use a fresh --dir"
            )
        txs = []
        if live is None and not self._submitted(code_hash):
            txs.append(self.sign(proposer, c.MODULE_NAME, "submit", c.SubmitArgs(source), SUBMIT_GAS))
        grants = self._missing_grants(orgs)
        txs.extend(self.sign(proposer, gov.MODULE_NAME, "propose", gov.ProposeArgs(g)) for g in grants)
        outcomes = self.round("set-up: roles proposed", txs, strict=True)
        proposals = [_proposal(o) for o in outcomes[len(txs) - len(grants) :]]
        later: list[gov.Action] = []
        if live is None:
            later.append(gov.DeployContract(CONTRACT_NAME, code_hash, codec.encode([s.GOOD, s.CNY])))
        extra = [self.sign(proposer, gov.MODULE_NAME, "propose", gov.ProposeArgs(a)) for a in later]
        outcomes = self.round("set-up: votes", [*self._votes(proposals, voters), *extra], strict=True)
        deploys = [_proposal(o) for o in outcomes[len(outcomes) - len(extra) :]]
        schemes = self._scheme_txs()
        self.round("set-up: contract, schemes", [*self._votes(deploys, voters), *schemes], strict=True)
        for proposal_id, _ in [*proposals, *deploys]:
            view = self.client.proposal(proposal_id)
            if view.status != "passed" or view.error:
                raise OperationalError(
                    f"proposal {proposal_id} ({view.kind}) is {view.status} {view.error}".strip()
                )

    def _live_code_hash(self) -> bytes | None:
        try:
            answer = self.client.read(f"/v1/contracts/{CONTRACT_NAME}", what="contract")
        except NotFound:
            return None
        return bytes.fromhex(answer["value"]["contract"]["code_hash"])

    def _submitted(self, code_hash: bytes) -> bool:
        try:
            self.client.module(c.MODULE_NAME, "code", code_hash=code_hash)
        except NotFound:
            return False
        return True

    def _missing_grants(self, orgs: list[str]) -> list[gov.GrantRole]:
        wanted = [
            (self.address(name), role, orgs[index % len(orgs)])
            for name, roles, index in ROLE_KEYS
            for role in roles
        ]
        wanted.append((CONTRACT_ADDRESS, s.MINTER_ROLE, orgs[0]))
        return [
            gov.GrantRole(address, role, org)
            for address, role, org in wanted
            if role not in self.client.account(address).roles
        ]

    def _votes(self, proposals: list[tuple[int, str]], voters: list[str]) -> list[bytes]:
        """Enough yes votes (the other organisations' admins, in turn) to pass each open proposal."""
        open_ids = [proposal_id for proposal_id, status in proposals if status == "open"]
        if not open_ids:
            return []
        weights = {m.org: m.weight for m in self.client.governance().members}
        total = sum(weights.values())
        txs = []
        for proposal_id in open_ids:
            view = self.client.proposal(proposal_id)
            num, _, den = view.threshold.partition("/")
            yes = sum(weights.get(b.org, 0) for b in view.votes if b.yes)
            voted = {b.org for b in view.votes}
            for org in voters:
                if yes * int(den) > total * int(num):
                    break
                if org not in voted:
                    txs.append(
                        self.sign(f"{org}-admin", gov.MODULE_NAME, "vote", gov.VoteArgs(proposal_id, True))
                    )
                    yes += weights.get(org, 0)
        return txs

    def _scheme_txs(self) -> list[bytes]:
        txs = []
        if not self._scheme_exists(s.GOOD):
            txs.append(self.sign("issuer", p.MODULE_NAME, "create", s.good_scheme()))
        if not self._scheme_exists(s.CNY):
            txs.append(self.sign("gateway", p.MODULE_NAME, "create", s.cny_scheme()))
        return txs

    def _scheme_exists(self, symbol: str) -> bool:
        try:
            self.client.read(f"/v1/passes/{symbol}")
        except NotFound:
            return False
        return True

    # --- users, pools, offers ----------------------------------------------------------------------

    def people(self, run_tag: int) -> None:
        users = self.options.users
        names = [user_name(i, users) for i in range(1, users + 1)]
        self.on_round("keys", 0)
        self.revoker = names[1 % len(names)]
        for number, name in enumerate(names, start=1):
            self.key(name)
            chosen = [d for d in CARRIES if self.rng.random() < CONSENT_CHANCE]
            if number == 1:
                chosen = list(CARRIES)  # the one who goes over the bike limit
            elif name == self.revoker or not chosen:
                chosen = sorted({*chosen, METRO})  # the one who revokes the metro's consent
            self.carriers[name] = chosen
        sponsor_pool = max(100_000, users * self.options.days * 400)
        txs = [
            self.sign(
                "gateway", p.MODULE_NAME, "deposit", p.DepositArgs(s.CNY, self.address(sponsor), amount, ref)
            )
            for sponsor, amount, ref in (
                ("sponsor-1", sponsor_pool, f"demo {run_tag} sponsor-1"),
                ("sponsor-2", TREE_POOL, f"demo {run_tag} sponsor-2"),
            )
        ]
        for sponsor, amount in (("sponsor-1", sponsor_pool), ("sponsor-2", TREE_POOL)):
            txs.append(
                self.sign(sponsor, p.MODULE_NAME, "approve", p.ApproveArgs(s.CNY, CONTRACT_ADDRESS, amount))
            )
        fresh = self.goodness.status()["users"] == 0  # nobody to look up: a first run
        for name in names:
            if fresh or not self.goodness.view("user", [self.address(name)])["enrolled"]:
                document = f"identity document of {name}, seed {self.options.seed}".encode()
                txs.append(
                    self.contract("issuer", "enroll", [self.address(name), hashlib.sha256(document).digest()])
                )
            txs.extend(
                self.contract(name, "consent", [self.address(d), s.CONSENT_PURPOSE, CONSENT_DAYS])
                for d in self.carriers[name]
            )
            allowance = p.ApproveArgs(s.GOOD, CONTRACT_ADDRESS, GOOD_ALLOWANCE)
            txs.append(self.sign(name, p.MODULE_NAME, "approve", allowance))
        self.round("users: enrolment, consents, allowances", txs, strict=True)
        funding = [
            self.contract("sponsor-1", "fund", [sponsor_pool]),
            self.contract("sponsor-2", "fund", [TREE_POOL]),
        ]
        self.round("sponsors: pools", funding, strict=True)
        offers = [
            self.contract("sponsor-1", "publish_offer", ["metro day ticket", 100, 100, 10**9, OFFER_DAYS]),
            self.contract("sponsor-1", "publish_offer", ["coffee", 250, 250, 10**9, OFFER_DAYS]),
            self.contract(
                "sponsor-2", "publish_offer", ["plant a tree", TREE_POINTS, TREE_VALUE, 10**6, OFFER_DAYS]
            ),
            self.contract(self.revoker, "revoke_consent", [self.address(METRO), s.CONSENT_PURPOSE]),
        ]
        outcomes = self.round("sponsors: offers", offers, strict=True)
        ticket, coffee, tree = (o.number() for o in outcomes[:3])
        self.offers = Offers(ticket, coffee, tree)
        pool = self.goodness.view("pool", [self.address("sponsor-2")])
        self.tree_free = int(pool["free"])
        for name in names:
            if fresh:
                self.points[name] = 0
                continue
            numbers = self.goodness.view("user", [self.address(name)])
            self.points[name] = int(numbers["points"] - numbers["redeemed"])

    # --- 2. days -----------------------------------------------------------------------------------

    def day(self, number: int, run_tag: int) -> None:
        now_ms = int(time.time() * 1000)
        reports: list[tuple[str, str, bytes]] = []  # (distributor, user, raw record hash)
        txs: list[bytes] = []

        def trip(distributor: str, name: str, mode: str, meters: int) -> int:
            record = f"{self.options.seed}/{run_tag}/{number}/{name}/{len(txs)}".encode()
            raw = hashlib.sha256(record).digest()
            when = now_ms - self.rng.randrange(HOUR_MS)
            txs.append(
                self.contract(distributor, "report", [self.address(name), mode, meters, when, raw], TRIP_GAS)
            )
            reports.append((distributor, name, raw))
            return len(txs) - 1

        for name, carriers in self.carriers.items():
            for _ in range(self.rng.choice(TRIPS_A_DAY)):
                distributor = self.rng.choice(carriers)
                if distributor == METRO and name == self.revoker:
                    continue
                mode = self.rng.choice(CARRIES[distributor])
                trip(distributor, name, mode, self.rng.randint(*DISTANCE_M[mode]))
            if number == 2 and BIKE in carriers:  # a promotion day: the bike distributor's volume spikes
                for _ in range(self.rng.choice(SPIKE_TRIPS)):
                    trip(BIKE, name, "bike", self.rng.randint(1_000, 2_000))
        first = next(iter(self.carriers))
        over_at = revoked_at = -1
        if number == 1:
            over_at = trip(BIKE, first, "bike", OVER_LIMIT_M)
            revoked_at = trip(METRO, self.revoker, "metro", 12_000)
        outcomes = self.round(f"day {number}: trips", txs)
        first_accepted = -1
        for index, outcome in enumerate(outcomes):
            if outcome.ok:
                carbon_g, points = outcome.pair()
                self.tally.trips_accepted += 1
                self.tally.points_issued += points
                self.tally.carbon_g += carbon_g
                self.points[reports[index][1]] += points
                if first_accepted < 0:
                    first_accepted = index
            else:
                self.tally.trips_refused[reason_of(outcome.status, outcome.error)] += 1
        if number == 1:
            over = outcomes[over_at]
            counted = f"counted {over.pair()[0]} g of CO2, flagged" if over.ok else _outcome_text(over)
            self.injected.append(
                {
                    "what": f"{first} travels {OVER_LIMIT_M} m by bike in a day (limit {BIKE_LIMIT_M} m)",
                    "outcome": counted,
                }
            )
            self.injected.append(
                {
                    "what": f"{METRO} reports a trip of {self.revoker} after the consent was revoked",
                    "outcome": _outcome_text(outcomes[revoked_at]),
                }
            )
        duplicate = reports[first_accepted] if number == 1 and first_accepted >= 0 else None
        self.redemptions(number, duplicate)
        self.clearing()

    def redemptions(self, number: int, duplicate: tuple[str, str, bytes] | None) -> None:
        txs: list[bytes] = []
        planned: list[tuple[str, int]] = []  # (user, offer)
        trees: list[int] = []
        if number == 1:  # before the others take their points
            for _ in range(self.tree_free // TREE_VALUE + 1):  # once more than the small pool can pay
                richest = max(self.carriers, key=lambda n: (self.points[n], n))
                txs.append(
                    self.contract("exchange-1", "redeem", [self.address(richest), self.offers.tree], TRIP_GAS)
                )
                planned.append((richest, self.offers.tree))
                self.points[richest] -= TREE_POINTS
                trees.append(len(txs) - 1)
        for name in self.carriers:
            if self.rng.random() >= REDEEM_CHANCE:
                continue
            offer = self.rng.choice((self.offers.ticket, self.offers.ticket, self.offers.coffee))
            points, _ = self.offers.terms(offer)
            if self.points[name] < points:
                continue
            platform = self.rng.choice(PLATFORMS)
            txs.append(self.contract(platform, "redeem", [self.address(name), offer], TRIP_GAS))
            planned.append((name, offer))
            self.points[name] -= points
        duplicate_at = -1
        if duplicate is not None:
            distributor, name, raw = duplicate
            now_ms = int(time.time() * 1000)
            again = self.contract(
                distributor, "report", [self.address(name), "walk", 1_000, now_ms, raw], TRIP_GAS
            )
            txs.append(again)
            duplicate_at = len(txs) - 1
        outcomes = self.round(f"day {number}: redemptions", txs)
        for index, outcome in enumerate(outcomes):
            if index == duplicate_at:
                if not outcome.ok:
                    self.tally.trips_refused[reason_of(outcome.status, outcome.error)] += 1
                continue
            name, offer = planned[index]
            points, value = self.offers.terms(offer)
            if outcome.ok:
                self.tally.redemptions += 1
                self.tally.points_redeemed += points
                self.tally.value_owed += value
                if offer == self.offers.tree:
                    self.tree_free -= value
            else:
                self.tally.redemptions_refused[reason_of(outcome.status, outcome.error)] += 1
                self.points[name] += points
        if trees:
            # Which of them is the one too many depends on their order in the block: name the refused one.
            beyond = next((outcomes[i] for i in trees if not outcomes[i].ok), outcomes[trees[-1]])
            self.injected.append(
                {
                    "what": "exchange-1 redeems the small pool's offer once more than the pool can pay",
                    "outcome": _outcome_text(beyond),
                }
            )
        if duplicate is not None:
            self.injected.append(
                {
                    "what": f"{duplicate[0]} reports raw record {duplicate[2].hex()[:16]}... a second time",
                    "outcome": _outcome_text(outcomes[duplicate_at]),
                }
            )

    # --- clearing ------------------------------------------------------------------------------------

    def finish_clearing(self, current: int) -> None:
        """Settle what an earlier, interrupted run left closed or stated (the last few periods)."""
        for period in range(max(1, current - 10), current):
            if self.goodness.period(period).state != "final":
                self.clear(period)

    def clearing(self) -> None:
        """Close the open period, state it, have every party confirm it, settle it."""
        (closed,) = self.round(
            "clearing: close", [self.contract("clearing", "close_period", [])], strict=True
        )
        self.clear(closed.number())

    def clear(self, period: int) -> None:
        state = self.goodness.period(period).state
        if state == "closed":
            lines = self.goodness.view("obligations", [period])
            debits: dict[bytes, int] = {}
            credits: dict[bytes, int] = {}
            for sponsor, platform, amount in lines:
                debits[bytes(sponsor)] = debits.get(bytes(sponsor), 0) + amount
                credits[bytes(platform)] = credits.get(bytes(platform), 0) + amount
            args = [period, lines, [list(d) for d in debits.items()], [list(c) for c in credits.items()]]
            self.round(
                "clearing: statement", [self.contract("clearing", "submit_statement", args)], strict=True
            )
        if state in ("closed", "stated"):
            names = {self.address(n): n for n in (*SPONSORS, *PLATFORMS)}
            _, _, _, _, _, parties, confirmed = self.goodness.view("period", [period])
            waiting = [bytes(a) for a in parties if a not in confirmed]
            strangers = [a for a in waiting if a not in names]
            if strangers:
                raise OperationalError(
                    f"period {period} waits for {strangers[0].hex()}, whose key the demo does not hold"
                )
            confirms = [self.contract(names[a], "confirm", [period]) for a in waiting]
            self.round("clearing: confirmations", confirms, strict=True)
            (settled,) = self.round(
                "clearing: settle", [self.contract("clearing", "settle", [period])], strict=True
            )
            self.tally.settled += settled.number()
        self.tally.periods.append(period)

    # --- 3. the report -------------------------------------------------------------------------------

    def summary(self, start_height: int, anomalies_before: int, duration_s: float) -> dict[str, Any]:
        self.on_round("the supervisor's report", 0)
        tally = self.tally
        periods = [self.goodness.period(n) for n in tally.periods]
        balanced = bool(periods) and all(
            x.state == "final" and x.balanced is True and x.debits == x.credits for x in periods
        )
        end_height = self.client.status().height
        recorded = self.goodness.anomalies_between(anomalies_before, self.goodness.status()["anomalies"])
        duplicates = refused_duplicates(self.client, start_height + 1, end_height, periods)
        anomalies = Counter(a.kind for a in [*recorded, *duplicates])
        layout_url = self.client.base_url
        return {
            "users": self.options.users,
            "days": self.options.days,
            "seed": self.options.seed,
            "trips_accepted": tally.trips_accepted,
            "trips_refused": dict(sorted(tally.trips_refused.items())),
            "points_issued": tally.points_issued,
            "points_redeemed": tally.points_redeemed,
            "carbon_g": tally.carbon_g,
            "redemptions": tally.redemptions,
            "redemptions_refused": dict(sorted(tally.redemptions_refused.items())),
            "value_owed_cny": tally.value_owed,
            "settled_cny": tally.settled,
            "clearing_periods": len(periods),
            "clearing_balanced": balanced,
            "periods": [x.period for x in periods],
            "anomalies": dict(sorted(anomalies.items())),
            "injected": self.injected,
            "transactions": tally.txs,
            "heights": [start_height + 1, end_height],
            "duration_s": round(duration_s, 1),
            "contract": CONTRACT_NAME,
            "explorer": f"{layout_url}/",
        }


def _proposal(outcome: Outcome) -> tuple[int, str]:
    """(id, status after the transaction) of the proposal a ``propose`` receipt made."""
    proposal_id, status = None, "open"
    for event in outcome.events:
        if event.emitter != gov.MODULE_NAME or event.fields is None:
            continue
        if event.name == "proposed":
            proposal_id = int(event.fields["id"])
        elif event.name in ("passed", "rejected"):
            status = event.name
    if proposal_id is None:
        raise OperationalError("a proposal's receipt has no gov.proposed event")
    return proposal_id, status


def _outcome_text(outcome: Outcome) -> str:
    if outcome.ok:
        return "accepted (it should not have been)"
    if outcome.status == "contract_error":
        return f"refused: {outcome.error}"
    return f"refused: {outcome.status}: {outcome.error}"


def _answering_urls(directory: Path) -> list[str]:
    """The API URLs of the alliance's nodes that answer (the command line's view of the directory)."""
    answering = [
        row["api"] for row in localnet.status(directory, timeout_s=2.0)["nodes"] if row["height"] is not None
    ]
    if not answering:
        raise OperationalError(
            f"no node of the alliance in {directory} answers (is it up? 'alliance up --dir {directory}')"
        )
    return answering
