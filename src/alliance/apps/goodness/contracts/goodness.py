"""Goodness: low-carbon trips measured, rewarded, redeemed, cleared and supervised (one contract).

Theory of operation
-------------------
Every party acts through its own account, and the contract reads its role from governance
(``call("gov", "roles", [account])`` -> ``[org, roles, frozen, member]``): ``issuer`` (the rule
table), ``issuer`` or ``attester`` (enrolling users), ``distributor`` (trip reports), ``sponsor``
(pools and offers), ``exchange`` (redemptions), ``clearing`` (periods and statements) and
``supervisor`` (suspending distributors). A member role counts only while the account's
organisation is a member; the supervisor, who belongs to no member, needs only its role. Users need
no role: they are enrolled by an attester, with only the hash of their identity document on chain.

- Rules are versioned: ``("rules", v)`` (and ``state["rules"]``, the version in force) holds the
  grams of CO2 avoided per km and the daily limit in metres for each mode, the grams that earn 100
  points, and what happens over a limit (``cap``: counted up to the limit and flagged; ``refuse``).
  A new version applies from the block that publishes it; every trip records its version. Version
  1: metro 97 g/km and bike 98 g/km (the digital-yuan pilots' published figures), bus 60 g/km and
  walk 98 g/km (assumptions), 100 points per 1,250 g (the published 1 yuan per 1,250 g).
- Days are clearing periods: ``state["period"]`` is the open period, which the clearing provider
  closes (``close_period``) to open the next. Daily limits and a distributor's daily volume are per
  period; a trip's declared time must lie within two days before, and five minutes after, the
  block's time, so a distributor cannot date trips freely, and a trip counts in the period open
  when it is reported, whatever its declared time.
- A report needs the user's live consent to that distributor for the purpose ``trips``, an
  enrolled and unfrozen user, an unsuspended distributor, and a raw-record hash never counted
  (``("trip", hash)`` is the trip's record and the duplicate check). Points are minted as the
  pass ``GOOD`` by this contract's own account (the committee grants it the scheme's minter role).
- Sponsors fund a pool in the settlement pass ``CNY`` (``approve`` this contract, then ``fund``)
  and publish offers. An exchange redeems a user's points against an offer: the points are redeemed
  through the passes module within the allowance the user gave this contract (the user's consent),
  and the pool owes the exchange the reward's value. ``paid + owed <= funded`` for every pool.
- Clearing: the clearing provider closes a period, then states every pool's obligation to every
  platform; the statement must equal what was recorded and its debits must equal its credits. Each
  party confirms; then ``settle`` pays the platforms from this contract's CNY and the period is final.
- Anomalies are recorded in state: a user over a limit, a distributor's daily volume over three
  times its mean of the last seven periods (and at least 20 trips), a pool whose free funds fall
  below a fifth of its funding. A duplicate raw record is refused, so it leaves no state: its
  refusal's reason starts with ``duplicate_raw_hash`` (the supervision view finds it in receipts).
- ``report_batch`` counts up to 64 trips of one distributor in one call, each judged as ``report``
  judges it, with an outcome per trip (its reason when refused): the distributor's role is read
  once, the points minted in one ``mint_batch``. Its receipt is ok whatever its trips' outcomes,
  so a duplicate it refuses is flagged in state (``duplicate_raw_hash``) rather than left to the
  receipts (decision 016, "Batched reports").

Every refusal is ``require(condition, "code: why")``: the code first, for programs, then the reason
for people. State grows only through keys (``storage`` is not enumerable); the lists kept in one
value (distributors, sponsors, platforms, a period's pairs) are bounded.
"""

from alliance.contract import Address, call, ctx, emit, public, require, storage, view

DAY_MS = 86_400_000
TRIPS = "trips"
MODES = ("metro", "bus", "bike", "walk")
DEFAULT_MODES = {
    "metro": [97, 100_000],
    "bus": [60, 100_000],
    "bike": [98, 50_000],
    "walk": [98, 30_000],
}
GRAMS_PER_100_POINTS = 1_250
GRAMS_PER_KM_MAX = 10_000
LIMIT_METERS_MAX = 2_000_000
TRIP_METERS_MAX = 1_000_000
TRIP_AGE_MS_MAX = 2 * DAY_MS
TRIP_AHEAD_MS_MAX = 300_000
CONSENT_DAYS_MAX = 3_650
OFFER_DAYS_MAX = 3_650
PURPOSE_LENGTH_MAX = 32
TEXT_LENGTH_MAX = 120
AMOUNT_MAX = 2**62
SPIKE_FACTOR = 3
SPIKE_TRIPS_MIN = 20
HISTORY_PERIODS = 7
LOW_POOL_PERCENT = 20
PARTIES_MAX = 64
BATCH_TRIPS_MAX = 64  # a trip can emit three events (trip, minted, anomaly): 64 stay under 256
PAIRS_MAX = 256
PAGE_MAX = 100
EMPTY_HASH = b"\x00" * 32
TOTAL_FIELDS = (
    "trips",
    "carbon_g",
    "points",
    "capped_m",
    "enrolled",
    "consents",
    "revocations",
    "funded",
    "offers",
    "redemptions",
    "points_redeemed",
    "value",
    "settled",
    "anomalies",
    "suspensions",
)


# --- set-up and rules ----------------------------------------------------------------------------


@public
def init(good: str, cny: str) -> None:
    table = {
        "modes": DEFAULT_MODES,
        "grams_per_100_points": GRAMS_PER_100_POINTS,
        "over_limit": "cap",
        "height": ctx.height,
        "time_ms": ctx.time_ms,
    }
    storage[("rules", 1)] = table
    # The rules in force ride along with the open period: a report reads one value for both.
    storage["state"] = {"period": 1, "version": 1, "good": good, "cny": cny, "rules": table}
    open_period(1)


@public
def publish_rules(modes: dict[str, list[int]], grams_per_100_points: int, over_limit: str) -> int:
    require_role("issuer", "publishing the rule table")
    require(len(modes) > 0, "bad_rules: name at least one mode")
    for mode, rule in modes.items():
        require(mode in MODES, f"bad_rules: unknown mode {mode}; the modes are metro, bus, bike, walk")
        require(len(rule) == 2, f"bad_rules: {mode} takes [grams of CO2 per km, daily limit in metres]")
        require(0 <= rule[0] <= GRAMS_PER_KM_MAX, f"bad_rules: {mode}: grams per km within 0..10000")
        require(1 <= rule[1] <= LIMIT_METERS_MAX, f"bad_rules: {mode}: a daily limit of 1 m to 2000 km")
    require(1 <= grams_per_100_points <= AMOUNT_MAX, "bad_rules: grams per 100 points must be positive")
    require(over_limit in ("cap", "refuse"), "bad_rules: over a limit, trips are either cap or refuse")
    state = storage["state"]
    version = state["version"] + 1
    table = {
        "modes": modes,
        "grams_per_100_points": grams_per_100_points,
        "over_limit": over_limit,
        "height": ctx.height,
        "time_ms": ctx.time_ms,
    }
    storage[("rules", version)] = table
    state["version"] = version
    state["rules"] = table
    storage["state"] = state
    emit("rules", version=version, by=ctx.sender)
    return version


# --- identity and consent ------------------------------------------------------------------------


@public
def enroll(user: Address, identity_hash: bytes) -> None:
    found = roles_of(ctx.sender)
    attests = "issuer" in found[1] or "attester" in found[1]
    require(
        found[3] and attests,
        f"not_attester: enrolling takes the issuer or attester role of a member; {ctx.sender} has neither",
    )
    require(len(identity_hash) == 32, "bad_identity: the identity hash is 32 bytes (SHA-256)")
    require(("user", user) not in storage, f"already_enrolled: {user} is bound to an identity already")
    require(("identity", identity_hash) not in storage, "identity_bound: this identity binds another account")
    storage[("identity", identity_hash)] = user
    storage[("user", user)] = {
        "identity": identity_hash,
        "by": ctx.sender,
        "enrolled_ms": ctx.time_ms,
        "trips": 0,
        "carbon_g": 0,
        "points": 0,
        "redeemed": 0,
        "rewards": 0,
        "day": 0,
        "day_m": {},
    }
    storage["users"] = storage.get("users", 0) + 1
    add_total(storage["state"]["period"], "enrolled", 1)
    emit("enrolled", user=user, by=ctx.sender)


@public
def consent(distributor: Address, purpose: str, days: int) -> int:
    require(distributor != ctx.sender, "bad_consent: consent is given to another account")
    require(0 < len(purpose) <= PURPOSE_LENGTH_MAX, "bad_consent: a purpose is 1 to 32 characters")
    require(0 < days <= CONSENT_DAYS_MAX, "bad_consent: a consent lasts 1 to 3650 days")
    until_ms = ctx.time_ms + days * DAY_MS
    storage[("consent", ctx.sender, distributor, purpose)] = [ctx.time_ms, until_ms, 0]
    add_total(storage["state"]["period"], "consents", 1)
    emit("consent", user=ctx.sender, distributor=distributor, purpose=purpose, until_ms=until_ms)
    return until_ms


@public
def revoke_consent(distributor: Address, purpose: str) -> None:
    key = ("consent", ctx.sender, distributor, purpose)
    given = storage.get(key)
    live = given is not None and given[2] == 0
    require(live, f"no_consent: there is no live consent to {distributor} to revoke")
    given[2] = ctx.time_ms
    storage[key] = given
    add_total(storage["state"]["period"], "revocations", 1)
    emit("revoked", user=ctx.sender, distributor=distributor, purpose=purpose)


# --- trips ---------------------------------------------------------------------------------------


@public
def report(user: Address, mode: str, meters: int, time_ms: int, raw_hash: bytes) -> tuple[int, int]:
    """Count a trip: (carbon_g, points) for the user, by the rules in force."""
    distributor = ctx.sender
    found = roles_of(distributor)
    require(
        found[3] and "distributor" in found[1],
        f"not_distributor: reporting trips takes the distributor role of a member; {distributor} has none",
    )
    require(("suspended", distributor) not in storage, f"distributor_suspended: {distributor} is suspended")
    require(len(raw_hash) == 32, "bad_trip: the raw record's hash is 32 bytes (SHA-256)")
    require(0 < meters <= TRIP_METERS_MAX, "bad_trip: a trip is 1 m to 1000 km")
    require(
        ctx.time_ms - TRIP_AGE_MS_MAX <= time_ms <= ctx.time_ms + TRIP_AHEAD_MS_MAX,
        "trip_time: a trip is reported within two days of it, and not dated in the future",
    )
    record = storage.get(("user", user))
    require(record is not None, f"not_enrolled: {user} is not bound to an identity")
    require(not roles_of(user)[2], f"user_frozen: {user} is frozen")
    given = storage.get(("consent", user, distributor, TRIPS))
    require(given is not None, f"no_consent: {user} gave {distributor} no consent to report trips")
    require(given[2] == 0, f"consent_revoked: {user} revoked the consent to {distributor}")
    require(ctx.time_ms < given[1], f"consent_expired: the consent of {user} to {distributor} expired")
    require(
        ("trip", raw_hash) not in storage,
        f"duplicate_raw_hash: raw record {raw_hash.hex()} reported for {user} was counted already",
    )
    state = storage["state"]
    period = state["period"]
    version = state["version"]
    rules = state["rules"]
    rule = rules["modes"].get(mode)
    require(rule is not None, f"unknown_mode: rule version {version} has no mode {mode}")
    grams_per_km = rule[0]
    limit_m = rule[1]
    if record["day"] != period:  # the user's first trip of this period: a new day's distances
        record["day"] = period
        record["day_m"] = {}
    day_m = record["day_m"]
    so_far = day_m.get(mode, 0)
    counted = meters
    over = so_far + meters > limit_m
    if over:
        require(
            rules["over_limit"] == "cap",
            f"over_limit: {user} would travel {so_far + meters} m by {mode} today; the limit is {limit_m} m",
        )
        counted = max(0, limit_m - so_far)
    carbon_g = counted * grams_per_km // 1000
    points = carbon_g * 100 // rules["grams_per_100_points"]
    day_m[mode] = so_far + counted
    record["day_m"] = day_m
    storage[("trip", raw_hash)] = [
        user,
        distributor,
        mode,
        meters,
        counted,
        carbon_g,
        points,
        version,
        period,
        time_ms,
        ctx.height,
    ]
    storage[("utrip", user, record["trips"])] = raw_hash
    record["trips"] = record["trips"] + 1
    record["carbon_g"] = record["carbon_g"] + carbon_g
    record["points"] = record["points"] + points
    storage[("user", user)] = record
    if points > 0:
        call("passes", "mint", [state["good"], user, points, "trip", "", EMPTY_HASH])
    count_distributor(distributor, period, carbon_g, points, meters - counted)
    if over:
        flag("over_limit", user, period, f"{so_far + meters} m by {mode} today, limit {limit_m} m")
    emit(
        "trip",
        user=user,
        distributor=distributor,
        mode=mode,
        meters=meters,
        counted_m=counted,
        carbon_g=carbon_g,
        points=points,
        raw_hash=raw_hash,
    )
    return (carbon_g, points)


def count_distributor(distributor: Address, period: int, carbon_g: int, points: int, capped_m: int) -> None:
    """The distributor's volume in this period: [trips, carbon_g, points, the spike threshold,
    flagged (0/1), metres over the limits]; the period's trip totals are the sums of these rows."""
    key = ("dp", distributor, period)
    row = storage.get(key)
    if row is None:
        row = [0, 0, 0, spike_threshold(distributor, period), 0, 0]
    row[0] = row[0] + 1
    row[1] = row[1] + carbon_g
    row[2] = row[2] + points
    row[5] = row[5] + capped_m
    if row[3] > 0 and row[0] >= row[3] and row[4] == 0:
        row[4] = 1
        flag("volume_spike", distributor, period, f"{row[0]} trips this period, threshold {row[3]}")
    storage[key] = row


@public
def report_batch(trips: list[tuple[Address, str, int, int, bytes]]) -> list[tuple[str, int, int]]:
    """Count up to 64 trips of one distributor in one call: for each, in order, ("", carbon_g,
    points) when it counts, or (the reason ``report`` would refuse it with, 0, 0). Each trip is
    judged exactly as ``report`` judges it, over the state the trips before it left; a refused
    trip changes nothing, except that a duplicate raw record is flagged (``duplicate_raw_hash``):
    the batch's receipt is ok, so the refusal is not in a failed receipt as a report's would be."""
    require(0 < len(trips) <= BATCH_TRIPS_MAX, f"bad_batch: a batch holds 1 to {BATCH_TRIPS_MAX} trips")
    batch = open_batch()
    outcomes = []
    for trip in trips:
        outcome = count_trip(batch, trip[0], trip[1], trip[2], trip[3], trip[4])
        if outcome[0].startswith("duplicate_raw_hash"):
            flag("duplicate_raw_hash", batch["distributor"], batch["period"], outcome[0][20:])
        outcomes.append(outcome)
    close_batch(batch)
    return outcomes


def open_batch() -> dict:
    """What every trip of a batch shares: the distributor's role and standing (checked once), the
    rules in force and the open period (trips never change them), the records it has read."""
    distributor = ctx.sender
    found = roles_of(distributor)
    require(
        found[3] and "distributor" in found[1],
        f"not_distributor: reporting trips takes the distributor role of a member; {distributor} has none",
    )
    require(("suspended", distributor) not in storage, f"distributor_suspended: {distributor} is suspended")
    state = storage["state"]
    return {
        "distributor": distributor,
        "period": state["period"],
        "version": state["version"],
        "rules": state["rules"],
        "good": state["good"],
        "users": {},
        "frozen": {},
        "counted": {},
        "row": None,
        "mints": [],
    }


def count_trip(batch: dict, user: Address, mode: str, meters: int, time_ms: int, raw_hash: bytes) -> tuple:
    """Judge one trip of a batch and, if it counts, record it: ("", carbon_g, points), or (why
    not, 0, 0) with nothing changed. These are ``report``'s checks, in its order and with its
    reasons, and its effects (tests/apps/goodness/test_goodness_batch.py holds the two to each
    other): ``report`` keeps its own straight-line code, which a single trip runs cheaper. The
    user's record, the distributor's period row and the points to mint are kept in ``batch``
    and written by ``close_batch``."""
    distributor = batch["distributor"]
    if len(raw_hash) != 32:
        return ("bad_trip: the raw record's hash is 32 bytes (SHA-256)", 0, 0)
    if not 0 < meters <= TRIP_METERS_MAX:
        return ("bad_trip: a trip is 1 m to 1000 km", 0, 0)
    if not ctx.time_ms - TRIP_AGE_MS_MAX <= time_ms <= ctx.time_ms + TRIP_AHEAD_MS_MAX:
        return ("trip_time: a trip is reported within two days of it, and not dated in the future", 0, 0)
    users = batch["users"]
    if user not in users:
        users[user] = storage.get(("user", user))
    record = users[user]
    if record is None:
        return (f"not_enrolled: {user} is not bound to an identity", 0, 0)
    frozen = batch["frozen"]
    if user not in frozen:
        frozen[user] = roles_of(user)[2]
    if frozen[user]:
        return (f"user_frozen: {user} is frozen", 0, 0)
    given = storage.get(("consent", user, distributor, TRIPS))
    if given is None:
        return (f"no_consent: {user} gave {distributor} no consent to report trips", 0, 0)
    if given[2] != 0:
        return (f"consent_revoked: {user} revoked the consent to {distributor}", 0, 0)
    if ctx.time_ms >= given[1]:
        return (f"consent_expired: the consent of {user} to {distributor} expired", 0, 0)
    if ("trip", raw_hash) in storage:
        return (
            f"duplicate_raw_hash: raw record {raw_hash.hex()} reported for {user} was counted already",
            0,
            0,
        )
    period = batch["period"]
    version = batch["version"]
    rules = batch["rules"]
    rule = rules["modes"].get(mode)
    if rule is None:
        return (f"unknown_mode: rule version {version} has no mode {mode}", 0, 0)
    grams_per_km = rule[0]
    limit_m = rule[1]
    so_far = 0
    if record["day"] == period:  # else the user's first trip of this period: a new day's distances
        so_far = record["day_m"].get(mode, 0)
    counted = meters
    over = so_far + meters > limit_m
    if over:
        if rules["over_limit"] != "cap":
            return (
                f"over_limit: {user} would travel {so_far + meters} m by {mode} today; "
                f"the limit is {limit_m} m",
                0,
                0,
            )
        counted = max(0, limit_m - so_far)
    carbon_g = counted * grams_per_km // 1000
    points = carbon_g * 100 // rules["grams_per_100_points"]
    if record["day"] != period:
        record["day"] = period
        record["day_m"] = {}
    record["day_m"][mode] = so_far + counted
    storage[("trip", raw_hash)] = [
        user,
        distributor,
        mode,
        meters,
        counted,
        carbon_g,
        points,
        version,
        period,
        time_ms,
        ctx.height,
    ]
    storage[("utrip", user, record["trips"])] = raw_hash
    record["trips"] = record["trips"] + 1
    record["carbon_g"] = record["carbon_g"] + carbon_g
    record["points"] = record["points"] + points
    batch["counted"][user] = True
    if points > 0:
        batch["mints"].append([user, points])
    count_batch_distributor(batch, carbon_g, points, meters - counted)
    if over:
        flag("over_limit", user, period, f"{so_far + meters} m by {mode} today, limit {limit_m} m")
    emit(
        "trip",
        user=user,
        distributor=distributor,
        mode=mode,
        meters=meters,
        counted_m=counted,
        carbon_g=carbon_g,
        points=points,
        raw_hash=raw_hash,
    )
    return ("", carbon_g, points)


def close_batch(batch: dict) -> None:
    """Write what the counted trips changed: the users' records, the distributor's period row, and
    the points, minted as the pass GOOD by this contract's account in one call (``mint_batch``:
    a failure there, such as a holder the GOOD issuer froze, fails the whole batch, as it fails
    a report)."""
    users = batch["users"]
    for user in batch["counted"]:
        storage[("user", user)] = users[user]
    row = batch["row"]
    if row is not None:
        storage[("dp", batch["distributor"], batch["period"])] = row
    mints = batch["mints"]
    if len(mints) == 1:
        call("passes", "mint", [batch["good"], mints[0][0], mints[0][1], "trip", "", EMPTY_HASH])
    elif len(mints) > 1:
        call("passes", "mint_batch", [batch["good"], mints, "trip"])


def count_batch_distributor(batch: dict, carbon_g: int, points: int, capped_m: int) -> None:
    """``count_distributor`` for a batch: the row is read once and written by ``close_batch``."""
    distributor = batch["distributor"]
    period = batch["period"]
    row = batch["row"]
    if row is None:
        row = storage.get(("dp", distributor, period))
        if row is None:
            row = [0, 0, 0, spike_threshold(distributor, period), 0, 0]
        batch["row"] = row
    row[0] = row[0] + 1
    row[1] = row[1] + carbon_g
    row[2] = row[2] + points
    row[5] = row[5] + capped_m
    if row[3] > 0 and row[0] >= row[3] and row[4] == 0:
        row[4] = 1
        flag("volume_spike", distributor, period, f"{row[0]} trips this period, threshold {row[3]}")


def spike_threshold(distributor: Address, period: int) -> int:
    """At a distributor's first report of a period: roll its history of daily volumes (periods
    without a report count as 0) and return this period's spike threshold (0: no history yet)."""
    key = ("dist", distributor)
    known = storage.get(key)
    if known is None:
        listed = storage.get("distributors", [])
        require(len(listed) < PARTIES_MAX, "too_many: the contract serves at most 64 distributors")
        listed.append(distributor)
        storage["distributors"] = listed
        known = {"last": 0, "history": []}
    history = known["history"]
    last = known["last"]
    if last > 0:
        history.append(storage[("dp", distributor, last)][0])
        gap = min(period - last - 1, HISTORY_PERIODS)
        history = history + [0] * gap
        history = history[-HISTORY_PERIODS:]
    storage[key] = {"last": period, "history": history}
    if not history:
        return 0
    return max(SPIKE_TRIPS_MIN, SPIKE_FACTOR * sum(history) // len(history) + 1)


def flag(kind: str, account: Address, period: int, detail: str) -> None:
    index = storage.get("anomalies", 0)
    storage[("anomaly", index)] = [kind, account, period, ctx.height, ctx.time_ms, detail]
    storage["anomalies"] = index + 1
    add_total(period, "anomalies", 1)
    emit("anomaly", kind=kind, account=account, period=period, detail=detail)


# --- sponsors, offers, redemption ---------------------------------------------------------------


@public
def fund(amount: int) -> int:
    """Move ``amount`` CNY from the sponsor (within its allowance to this contract) into its pool;
    the pool's free funds after it."""
    require_role("sponsor", "funding a pool")
    require(0 < amount <= AMOUNT_MAX, "bad_amount: fund a positive amount")
    state = storage["state"]
    call("passes", "transfer_from", [state["cny"], ctx.sender, ctx.contract, amount])
    key = ("pool", ctx.sender)
    pool = storage.get(key)
    if pool is None:
        listed = storage.get("sponsors", [])
        require(len(listed) < PARTIES_MAX, "too_many: the contract serves at most 64 sponsors")
        listed.append(ctx.sender)
        storage["sponsors"] = listed
        pool = {"funded": 0, "paid": 0, "owed": 0, "low": 0}
    pool["funded"] = pool["funded"] + amount
    free = pool["funded"] - pool["paid"] - pool["owed"]
    if free * 100 >= LOW_POOL_PERCENT * pool["funded"]:
        pool["low"] = 0
    storage[key] = pool
    add_total(state["period"], "funded", amount)
    emit("funded", sponsor=ctx.sender, amount=amount)
    return free


@public
def publish_offer(title: str, points: int, value: int, count: int, days: int) -> int:
    """An offer: ``points`` for a reward worth ``value`` CNY units, at most ``count`` times, for
    ``days`` days. Its number."""
    require_role("sponsor", "publishing an offer")
    require(("pool", ctx.sender) in storage, "no_pool: fund a pool before publishing offers")
    require(0 < len(title) <= TEXT_LENGTH_MAX, "bad_offer: a title is 1 to 120 characters")
    require(0 < points <= AMOUNT_MAX and 0 < value <= AMOUNT_MAX, "bad_offer: points and value are positive")
    require(0 < count <= AMOUNT_MAX, "bad_offer: an offer is for at least one reward")
    require(0 < days <= OFFER_DAYS_MAX, "bad_offer: an offer runs 1 to 3650 days")
    number = storage.get("offers", 0) + 1
    storage[("offer", number)] = [ctx.sender, points, value, count, 0, ctx.time_ms + days * DAY_MS, title]
    storage["offers"] = number
    add_total(storage["state"]["period"], "offers", 1)
    emit("offer", offer=number, sponsor=ctx.sender, points=points, value=value, count=count)
    return number


@public
def redeem(user: Address, offer: int) -> int:
    """The exchange (the sender) redeems ``user``'s points against ``offer``; the reward's number."""
    platform = ctx.sender
    require_role("exchange", "redeeming points")
    terms = storage.get(("offer", offer))
    require(terms is not None, f"unknown_offer: there is no offer {offer}")
    sponsor = terms[0]
    points = terms[1]
    value = terms[2]
    require(ctx.time_ms <= terms[5], f"offer_expired: offer {offer} has ended")
    require(terms[4] < terms[3], f"offer_exhausted: all {terms[3]} rewards of offer {offer} are redeemed")
    pool = storage[("pool", sponsor)]
    free = pool["funded"] - pool["paid"] - pool["owed"]
    require(
        free >= value,
        f"pool_exhausted: the pool of {Address(sponsor)} has {free} free, less than the reward's {value}",
    )
    record = storage.get(("user", user))
    require(record is not None, f"not_enrolled: {user} is not bound to an identity")
    require(not roles_of(user)[2], f"user_frozen: {user} is frozen")
    held = record["points"] - record["redeemed"]
    require(held >= points, f"not_enough_points: {user} has {held} points, the offer takes {points}")
    state = storage["state"]
    period = state["period"]
    call("passes", "redeem_from", [state["good"], user, platform, points, f"offer {offer}"])
    terms[4] = terms[4] + 1
    storage[("offer", offer)] = terms
    pool["owed"] = pool["owed"] + value
    free = free - value
    if pool["low"] == 0 and free * 100 < LOW_POOL_PERCENT * pool["funded"]:
        pool["low"] = 1
        flag("pool_near_empty", Address(sponsor), period, f"{free} of {pool['funded']} free")
    storage[("pool", sponsor)] = pool
    owed_key = ("owed", period, sponsor, platform)
    owed = storage.get(owed_key, 0)
    if owed == 0:
        pairs = storage.get(("pairs", period), [])
        require(len(pairs) < PAIRS_MAX, "too_many: a period holds at most 256 sponsor-platform pairs")
        pairs.append([sponsor, platform])
        storage[("pairs", period)] = pairs
    storage[owed_key] = owed + value
    count_platform(platform, period, points, value)
    number = storage.get("rewards", 0) + 1
    storage["rewards"] = number
    storage[("reward", number)] = [user, offer, platform, points, value, period, ctx.time_ms]
    storage[("ureward", user, record["rewards"])] = number
    record["redeemed"] = record["redeemed"] + points
    record["rewards"] = record["rewards"] + 1
    storage[("user", user)] = record
    totals = storage.get(("pt", period), {})
    totals["redemptions"] = totals.get("redemptions", 0) + 1
    totals["points_redeemed"] = totals.get("points_redeemed", 0) + points
    totals["value"] = totals.get("value", 0) + value
    storage[("pt", period)] = totals
    emit("redeemed", user=user, offer=offer, platform=platform, points=points, value=value, reward=number)
    return number


def count_platform(platform: Address, period: int, points: int, value: int) -> None:
    key = ("xp", platform, period)
    row = storage.get(key)
    if row is None:
        row = [0, 0, 0]
        if ("platform", platform) not in storage:
            listed = storage.get("platforms", [])
            require(len(listed) < PARTIES_MAX, "too_many: the contract serves at most 64 platforms")
            listed.append(platform)
            storage["platforms"] = listed
            storage[("platform", platform)] = True
    row[0] = row[0] + 1
    row[1] = row[1] + points
    row[2] = row[2] + value
    storage[key] = row


# --- clearing ------------------------------------------------------------------------------------


def open_period(period: int) -> None:
    storage[("period", period)] = {
        "state": "open",
        "opened_height": ctx.height,
        "opened_ms": ctx.time_ms,
        "closed_height": 0,
        "closed_ms": 0,
        "settled_height": 0,
        "anomaly_from": storage.get("anomalies", 0),
        "anomaly_to": 0,
        "lines": [],
        "debits": [],
        "credits": [],
        "parties": [],
        "confirmed": [],
    }


@public
def close_period() -> int:
    """End the open period (no more trips or redemptions count in it) and open the next."""
    require_role("clearing", "closing a period")
    state = storage["state"]
    period = state["period"]
    record = storage[("period", period)]
    record["state"] = "closed"
    record["closed_height"] = ctx.height
    record["closed_ms"] = ctx.time_ms
    record["anomaly_to"] = storage.get("anomalies", 0)
    storage[("period", period)] = record
    state["period"] = period + 1
    storage["state"] = state
    open_period(period + 1)
    emit("closed", period=period)
    return period


@public
def submit_statement(
    period: int,
    lines: list[tuple[Address, Address, int]],
    debits: list[tuple[Address, int]],
    credits: list[tuple[Address, int]],
) -> None:
    """The clearing statement of a closed period: every pool's obligation to every platform
    (``lines``), each sponsor's debit and each platform's credit."""
    require_role("clearing", "stating a period")
    record = storage.get(("period", period))
    require(record is not None, f"unknown_period: there is no period {period}")
    require(record["state"] == "closed", f"period_state: period {period} is {record['state']}, not closed")
    debited = sum([entry[1] for entry in debits])
    credited = sum([entry[1] for entry in credits])
    require(debited == credited, f"unbalanced: the debits ({debited}) and credits ({credited}) differ")
    pairs = storage.get(("pairs", period), [])
    require(
        len(lines) == len(pairs),
        f"statement_mismatch: {len(lines)} lines; period {period} recorded {len(pairs)} obligations",
    )
    seen = {}
    per_sponsor = {}
    per_platform = {}
    for line in lines:
        sponsor = line[0]
        platform = line[1]
        amount = line[2]
        twice = (sponsor, platform) in seen
        require(not twice, f"statement_mismatch: {sponsor} to {platform} is stated twice")
        seen[(sponsor, platform)] = True
        recorded = storage.get(("owed", period, sponsor, platform), 0)
        require(
            recorded > 0 and amount == recorded,
            f"statement_mismatch: {sponsor} owes {platform} {recorded} for period {period}, not {amount}",
        )
        per_sponsor[sponsor] = per_sponsor.get(sponsor, 0) + amount
        per_platform[platform] = per_platform.get(platform, 0) + amount
    require(
        same_totals(debits, per_sponsor),
        "statement_mismatch: the debits are not each sponsor's total of the lines",
    )
    require(
        same_totals(credits, per_platform),
        "statement_mismatch: the credits are not each platform's total of the lines",
    )
    parties = list(per_sponsor.keys())
    for platform in per_platform:
        if platform not in parties:
            parties.append(platform)
    record["state"] = "stated"
    record["lines"] = lines
    record["debits"] = debits
    record["credits"] = credits
    record["parties"] = parties
    record["confirmed"] = []
    storage[("period", period)] = record
    emit("stated", period=period, debits=debited, credits=credited, lines=len(lines))


def same_totals(entries: list[tuple[Address, int]], totals: dict[bytes, int]) -> bool:
    stated = {}
    for entry in entries:
        if entry[0] in stated:
            return False
        stated[entry[0]] = entry[1]
    return len(stated) == len(totals) and all([totals.get(k, -1) == v for k, v in stated.items()])


@public
def confirm(period: int) -> None:
    """A sponsor or platform of a period's statement agrees with it."""
    record = storage.get(("period", period))
    require(record is not None, f"unknown_period: there is no period {period}")
    require(record["state"] == "stated", f"period_state: period {period} is {record['state']}, not stated")
    require(
        ctx.sender in record["parties"],
        f"not_a_party: {ctx.sender} is not a party to the statement of period {period}",
    )
    confirmed = record["confirmed"]
    require(ctx.sender not in confirmed, f"already_confirmed: {ctx.sender} confirmed period {period} already")
    confirmed.append(ctx.sender)
    record["confirmed"] = confirmed
    storage[("period", period)] = record
    emit("confirmed", period=period, party=ctx.sender)


@public
def settle(period: int) -> int:
    """Pay every platform its credit from this contract's CNY, in one step; the period is final."""
    require_role("clearing", "settling a period")
    record = storage.get(("period", period))
    require(record is not None, f"unknown_period: there is no period {period}")
    require(record["state"] == "stated", f"period_state: period {period} is {record['state']}, not stated")
    waiting = [party for party in record["parties"] if party not in record["confirmed"]]
    require(not waiting, f"not_confirmed: {len(waiting)} parties have not confirmed period {period}")
    state = storage["state"]
    total = 0
    for entry in record["credits"]:
        call("passes", "transfer", [state["cny"], entry[0], entry[1], ""])
        total = total + entry[1]
    for line in record["lines"]:
        key = ("pool", line[0])
        pool = storage[key]
        pool["owed"] = pool["owed"] - line[2]
        pool["paid"] = pool["paid"] + line[2]
        storage[key] = pool
    record["state"] = "final"
    record["settled_height"] = ctx.height
    storage[("period", period)] = record
    add_total(state["period"], "settled", total)
    emit("settled", period=period, total=total)
    return total


# --- supervision ---------------------------------------------------------------------------------


@public
def suspend(distributor: Address, reason: str) -> None:
    require_role("supervisor", "suspending a distributor")
    require(0 < len(reason) <= TEXT_LENGTH_MAX, "bad_reason: a reason is 1 to 120 characters")
    require(("suspended", distributor) not in storage, f"already_suspended: {distributor} is suspended")
    storage[("suspended", distributor)] = [reason, ctx.sender, ctx.height]
    add_total(storage["state"]["period"], "suspensions", 1)
    emit("suspended", distributor=distributor, reason=reason)


@public
def unsuspend(distributor: Address) -> None:
    require_role("supervisor", "lifting a suspension")
    require(("suspended", distributor) in storage, f"not_suspended: {distributor} is not suspended")
    del storage[("suspended", distributor)]
    emit("unsuspended", distributor=distributor)


# --- helpers -------------------------------------------------------------------------------------


def roles_of(account: Address) -> list:
    """Governance's record of ``account``: [org, roles, frozen, member]."""
    return call("gov", "roles", [account])


def require_role(role: str, what: str) -> None:
    found = roles_of(ctx.sender)
    member_or_regulator = found[3] or role == "supervisor"
    require(
        member_or_regulator and role in found[1],
        f"not_{role}: {what} takes the {role} role of a member; {ctx.sender} has none",
    )


def add_total(period: int, name: str, amount: int) -> None:
    totals = storage.get(("pt", period), {})
    totals[name] = totals.get(name, 0) + amount
    storage[("pt", period)] = totals


# --- views ---------------------------------------------------------------------------------------


@view
def status() -> dict[str, int]:
    state = storage["state"]
    return {
        "period": state["period"],
        "version": state["version"],
        "users": storage.get("users", 0),
        "offers": storage.get("offers", 0),
        "rewards": storage.get("rewards", 0),
        "anomalies": storage.get("anomalies", 0),
        "distributors": len(storage.get("distributors", [])),
        "sponsors": len(storage.get("sponsors", [])),
        "platforms": len(storage.get("platforms", [])),
    }


@view
def symbols() -> tuple[str, str]:
    state = storage["state"]
    return (state["good"], state["cny"])


@view
def rules(version: int) -> tuple[int, dict[str, list[int]], int, str, int, int]:
    """A rule version (0: the one in force): (version, {mode: [g/km, daily limit m]}, grams per 100
    points, over-limit policy, height and time it took effect)."""
    if version == 0:
        version = storage["state"]["version"]
    table = storage.get(("rules", version))
    require(table is not None, f"unknown_rules: there is no rule version {version}")
    return (
        version,
        table["modes"],
        table["grams_per_100_points"],
        table["over_limit"],
        table["height"],
        table["time_ms"],
    )


@view
def user(account: Address) -> dict[str, int]:
    """An account's totals: enrolled (0/1), enrolled_ms, trips, carbon_g, points (earned), redeemed,
    rewards."""
    record = storage.get(("user", account))
    if record is None:
        return {
            "enrolled": 0,
            "enrolled_ms": 0,
            "trips": 0,
            "carbon_g": 0,
            "points": 0,
            "redeemed": 0,
            "rewards": 0,
        }
    return {
        "enrolled": 1,
        "enrolled_ms": record["enrolled_ms"],
        "trips": record["trips"],
        "carbon_g": record["carbon_g"],
        "points": record["points"],
        "redeemed": record["redeemed"],
        "rewards": record["rewards"],
    }


@view
def identity(account: Address) -> tuple[bytes, bytes]:
    """(identity hash, attester) of an enrolled account; empty bytes otherwise."""
    record = storage.get(("user", account))
    if record is None:
        return (b"", b"")
    return (record["identity"], record["by"])


@view
def trips(
    account: Address, start: int, limit: int
) -> list[tuple[bytes, Address, str, int, int, int, int, int, int, int]]:
    """An account's trips from ``start``: (raw hash, distributor, mode, metres, metres counted,
    carbon_g, points, rule version, period, declared time)."""
    record = storage.get(("user", account))
    if record is None:
        return []
    last = min(record["trips"], start + min(limit, PAGE_MAX))
    out = []
    for index in range(max(0, start), last):
        raw_hash = storage[("utrip", account, index)]
        trip = storage[("trip", raw_hash)]
        out.append(
            (raw_hash, trip[1], trip[2], trip[3], trip[4], trip[5], trip[6], trip[7], trip[8], trip[9])
        )
    return out


@view
def trip(raw_hash: bytes) -> tuple[Address, Address, str, int, int, int, int, int, int, int, int]:
    """A counted trip by its raw record's hash: (user, distributor, mode, metres, metres counted,
    carbon_g, points, rule version, period, declared time, height)."""
    found = storage.get(("trip", raw_hash))
    require(found is not None, "unknown_trip: no trip with this raw record was counted")
    return found


@view
def rewards(account: Address, start: int, limit: int) -> list[tuple[int, int, Address, int, int, int, int]]:
    """An account's rewards from ``start``: (reward, offer, platform, points, value, period, time)."""
    record = storage.get(("user", account))
    if record is None:
        return []
    last = min(record["rewards"], start + min(limit, PAGE_MAX))
    out = []
    for index in range(max(0, start), last):
        number = storage[("ureward", account, index)]
        found = storage[("reward", number)]
        out.append((number, found[1], found[2], found[3], found[4], found[5], found[6]))
    return out


@view
def consent_of(user: Address, distributor: Address, purpose: str) -> tuple[bool, int, int, int]:
    """(live, granted_ms, until_ms, revoked_ms) of a user's consent; zeros if never given."""
    given = storage.get(("consent", user, distributor, purpose))
    if given is None:
        return (False, 0, 0, 0)
    return (given[2] == 0 and ctx.time_ms < given[1], given[0], given[1], given[2])


@view
def suspension(distributor: Address) -> tuple[bool, str]:
    found = storage.get(("suspended", distributor))
    if found is None:
        return (False, "")
    return (True, found[0])


@view
def pool(sponsor: Address) -> dict[str, int]:
    """A sponsor's pool: funded, paid, owed, free (funded - paid - owed), low (0/1)."""
    found = storage.get(("pool", sponsor))
    require(found is not None, f"unknown_pool: {sponsor} has no pool")
    return pool_view(found)


def pool_view(found: dict) -> dict:
    return {
        "funded": found["funded"],
        "paid": found["paid"],
        "owed": found["owed"],
        "free": found["funded"] - found["paid"] - found["owed"],
        "low": found["low"],
    }


@view
def pools() -> list[tuple[Address, dict[str, int]]]:
    return [(sponsor, pool_view(storage[("pool", sponsor)])) for sponsor in storage.get("sponsors", [])]


@view
def offers(start: int, limit: int) -> list[tuple[int, Address, int, int, int, int, int, str]]:
    """Offers from number ``start`` (1 is the first): (offer, sponsor, points, value, count,
    redeemed, until_ms, title)."""
    first = max(1, start)
    last = min(storage.get("offers", 0), first + min(limit, PAGE_MAX) - 1)
    out = []
    for number in range(first, last + 1):
        terms = storage[("offer", number)]
        out.append((number, terms[0], terms[1], terms[2], terms[3], terms[4], terms[5], terms[6]))
    return out


@view
def obligations(period: int) -> list[tuple[Address, Address, int]]:
    """What each pool owes each platform for a period, as recorded: (sponsor, platform, amount)."""
    return [
        (pair[0], pair[1], storage[("owed", period, pair[0], pair[1])])
        for pair in storage.get(("pairs", period), [])
    ]


@view
def period(
    number: int,
) -> tuple[
    str,
    dict[str, int],
    list[tuple[Address, Address, int]],
    list[tuple[Address, int]],
    list[tuple[Address, int]],
    list[Address],
    list[Address],
]:
    """A period: (state, numbers, statement lines, debits, credits, parties, confirmed). ``state``
    is open, closed, stated or final; numbers: opened/closed/settled height and time, the anomalies
    recorded in it [anomaly_from, anomaly_to), debits, credits, balanced (1: debits == credits)."""
    record = storage.get(("period", number))
    require(record is not None, f"unknown_period: there is no period {number}")
    debited = sum([entry[1] for entry in record["debits"]])
    credited = sum([entry[1] for entry in record["credits"]])
    anomaly_to = record["anomaly_to"] if record["state"] != "open" else storage.get("anomalies", 0)
    numbers = {
        "period": number,
        "opened_height": record["opened_height"],
        "opened_ms": record["opened_ms"],
        "closed_height": record["closed_height"],
        "closed_ms": record["closed_ms"],
        "settled_height": record["settled_height"],
        "anomaly_from": record["anomaly_from"],
        "anomaly_to": anomaly_to,
        "debits": debited,
        "credits": credited,
        "balanced": 1 if debited == credited else 0,
    }
    return (
        record["state"],
        numbers,
        record["lines"],
        record["debits"],
        record["credits"],
        record["parties"],
        record["confirmed"],
    )


@view
def totals(period: int) -> dict[str, dict[str, int]]:
    """What each role did in a period (0: in every period so far)."""
    numbers = range(1, storage["state"]["period"] + 1) if period == 0 else [period]
    counts = {}
    for number in numbers:
        for name, amount in storage.get(("pt", number), {}).items():
            counts[name] = counts.get(name, 0) + amount
    trips = [0, 0, 0, 0]  # trips, carbon_g, points, capped_m: the distributors' rows
    for account in storage.get("distributors", []):
        for number in numbers:
            row = storage.get(("dp", account, number))
            if row is not None:
                trips = [trips[0] + row[0], trips[1] + row[1], trips[2] + row[2], trips[3] + row[5]]
    counts["trips"] = trips[0]
    counts["carbon_g"] = trips[1]
    counts["points"] = trips[2]
    counts["capped_m"] = trips[3]
    got = {name: counts.get(name, 0) for name in TOTAL_FIELDS}
    return {
        "issuer": {"points_issued": got["points"], "carbon_g": got["carbon_g"]},
        "distributor": {
            "trips": got["trips"],
            "carbon_g": got["carbon_g"],
            "points": got["points"],
            "capped_m": got["capped_m"],
        },
        "user": {"enrolled": got["enrolled"], "consents": got["consents"], "revocations": got["revocations"]},
        "sponsor": {"funded": got["funded"], "offers": got["offers"], "owed": got["value"]},
        "exchange": {
            "redemptions": got["redemptions"],
            "points_redeemed": got["points_redeemed"],
            "value": got["value"],
        },
        "clearing": {"settled": got["settled"]},
        "supervisor": {"anomalies": got["anomalies"], "suspensions": got["suspensions"]},
    }


@view
def role_accounts(role: str, period: int) -> list[tuple[Address, dict[str, int]]]:
    """Per account of a role (distributor, exchange or sponsor), its numbers in a period (0: all)."""
    current = storage["state"]["period"]
    numbers = range(1, current + 1) if period == 0 else [period]
    out = []
    if role == "distributor":
        for account in storage.get("distributors", []):
            sums = [0, 0, 0]
            for number in numbers:
                row = storage.get(("dp", account, number), [0, 0, 0])
                sums = [sums[0] + row[0], sums[1] + row[1], sums[2] + row[2]]
            suspended = 1 if ("suspended", account) in storage else 0
            row_out = {"trips": sums[0], "carbon_g": sums[1], "points": sums[2], "suspended": suspended}
            out.append((account, row_out))
    elif role == "exchange":
        for account in storage.get("platforms", []):
            sums = [0, 0, 0]
            for number in numbers:
                row = storage.get(("xp", account, number), [0, 0, 0])
                sums = [sums[0] + row[0], sums[1] + row[1], sums[2] + row[2]]
            out.append((account, {"redemptions": sums[0], "points": sums[1], "value": sums[2]}))
    else:
        require(role == "sponsor", "bad_role: one of distributor, exchange, sponsor")
        for account in storage.get("sponsors", []):
            out.append((account, pool_view(storage[("pool", account)])))
    return out


@view
def anomalies(start: int, limit: int) -> list[tuple[int, str, Address, int, int, int, str]]:
    """Anomalies from index ``start``: (index, kind, account, period, height, time_ms, detail)."""
    last = min(storage.get("anomalies", 0), max(0, start) + min(limit, PAGE_MAX))
    out = []
    for index in range(max(0, start), last):
        found = storage[("anomaly", index)]
        out.append((index, found[0], found[1], found[2], found[3], found[4], found[5]))
    return out
