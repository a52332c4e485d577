"""Goodness from the command line: ``alliance goodness ...`` and ``alliance demo goodness``.

Theory of operation: each command parses its options (ACCOUNT is a key name of DIR or an address;
hashes are 64 hex digits), signs with the ``--from`` key of DIR/keys and calls the contract through
``client.Goodness``, which waits for the block. A refusal by the chain raises the typed error its
receipt names (``contract_error`` with the contract's ``code: reason``, ``allowance_exceeded``...):
``alliance.cli.main`` prints it on one line and exits 1; bad input is a usage error, exit 2, before
anything is signed. ``--json`` prints the answer as JSON (the Structs of ``client``); without it, a
line or a table for people. ``register`` mounts the two groups on the root command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from alliance.apps.goodness import CONTRACT_NAME, contract_source
from alliance.apps.goodness import schemes as s
from alliance.apps.goodness.client import Goodness, Supervision, encode_json, export_csv, supervision
from alliance.apps.goodness.demo import Demo, DemoOptions
from alliance.cli import keyring, localnet
from alliance.cli.options import DEFAULT_DIR, ApiOption, DirOption, FromOption, JsonOption, console, emit
from alliance.crypto.keys import to_checksum_address
from alliance.errors import UsageError
from alliance.sdk import contracts as sdk_contracts
from alliance.sdk.wire import parse_hex

app = typer.Typer(
    help="Goodness: low-carbon trips measured, rewarded, redeemed, cleared and supervised.",
    no_args_is_help=True,
)
rules_app = typer.Typer(help="The issuer's rule table.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
demo_app = typer.Typer(help="Demonstrations on the local alliance.", no_args_is_help=True)

UserOption = Annotated[str, typer.Option("--user", help="The user: a key name or an address.")]
PeriodOption = Annotated[int, typer.Option("--period", min=1, help="The clearing period (a day).")]
MODE_NAMES = ", ".join(s.MODES)


def register(root: typer.Typer) -> None:
    """Mount ``goodness`` and ``demo`` on the root command."""
    root.add_typer(app, name="goodness")
    root.add_typer(demo_app, name="demo")


def _hash(text: str, what: str) -> bytes:
    return parse_hex(text, what, size_bytes=32)


def _show(value: msgspec.Struct | dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        print(encode_json(value))
    else:
        console.print(line)


def _tx(view: Any, **extra: Any) -> dict[str, Any]:
    return {**extra, "tx": view.hash.hex(), "height": view.height, "status": view.status}


class _Session:
    """A client of the alliance and the contract, for one command."""

    def __init__(self, directory: Path, api: str | None) -> None:
        self.directory = directory
        self.client = localnet.open_client(directory, api)
        self.goodness = Goodness(self.client)

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()

    def account(self, text: str) -> bytes:
        return keyring.resolve_address(self.directory, text)


# --- identity, consent, trips ---------------------------------------------------------------------


@app.command("enroll")
def enroll(
    user: UserOption,
    identity_hash: Annotated[
        str, typer.Option("--identity-hash", help="SHA-256 of the identity document (64 hex digits).")
    ],
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bind a user's account to an identity (an issuer or attester of a member; only the hash is kept)."""
    digest = _hash(identity_hash, "--identity-hash")
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        address = session.account(user)
        view = session.goodness.enroll(key, address, digest)
    result = _tx(view, user=to_checksum_address(address), identity_hash=digest.hex())
    _show(result, as_json, f"enrolled {result['user']} (transaction {result['tx']})")


@app.command("consent")
def consent(
    user: UserOption,
    distributor: Annotated[
        str, typer.Option("--distributor", help="The distributor: a key name or an address.")
    ],
    sender: FromOption,
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="How long the consent lasts.")] = 30,
    purpose: Annotated[
        str, typer.Option("--purpose", help="What it allows (reports need 'trips').")
    ] = "trips",
    revoke: Annotated[bool, typer.Option("--revoke", help="Withdraw the consent instead.")] = False,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give (or with --revoke withdraw) a distributor consent to report your trips: you sign it."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        address = session.account(user)
        if address != key.address:
            raise UsageError(f"a consent is signed by the user: --from {sender} is not {user}")
        target = session.account(distributor)
        if revoke:
            view = session.goodness.revoke(key, target, purpose)
            result = _tx(
                view,
                user=to_checksum_address(address),
                distributor=to_checksum_address(target),
                purpose=purpose,
                revoked=True,
            )
        else:
            until_ms = session.goodness.consent(key, target, days, purpose)
            result = {
                "user": to_checksum_address(address),
                "distributor": to_checksum_address(target),
                "purpose": purpose,
                "until_ms": until_ms,
                "revoked": False,
            }
    verb = "revoked the consent of" if revoke else "consented to"
    _show(result, as_json, f"{result['user']} {verb} {result['distributor']} ({purpose})")


@app.command("report")
def report(
    user: UserOption,
    mode: Annotated[str, typer.Option("--mode", help=f"One of {MODE_NAMES}.")],
    meters: Annotated[int, typer.Option("--meters", min=1, max=1_000_000, help="The trip's length.")],
    raw_hash: Annotated[
        str, typer.Option("--raw-hash", help="SHA-256 of the raw trip record (64 hex digits).")
    ],
    sender: FromOption,
    time_ms: Annotated[
        int | None, typer.Option("--time-ms", min=0, help="When the trip was made (default: now).")
    ] = None,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Report a consenting user's trip (a distributor): the carbon it avoided and the points it earned."""
    if mode not in s.MODES:
        raise UsageError(f"--mode is one of {MODE_NAMES}, not {mode!r}")
    digest = _hash(raw_hash, "--raw-hash")
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        outcome = session.goodness.report(key, session.account(user), mode, meters, digest, time_ms)
    _show(
        outcome,
        as_json,
        f"{outcome.carbon_g} g of CO2 avoided, {outcome.points} points (transaction {outcome.tx})",
    )


@app.command("allow")
def allow(
    points: Annotated[
        int, typer.Option("--points", min=0, help="At most this many of your points (0: none).")
    ],
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Let exchange platforms redeem up to POINTS of your points through the contract (your consent)."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        view = session.goodness.allow_redemptions(key, points)
    _show(_tx(view, points=points), as_json, f"the contract may redeem up to {points} of your points")


@app.command("account")
def account(
    who: Annotated[str, typer.Argument(help="A key name or an address.")],
    recent: Annotated[
        int, typer.Option("--recent", min=0, max=100, help="How many recent trips to list.")
    ] = 10,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """A user's points (live lots and their expiry), carbon avoided, trips and rewards."""
    with _Session(directory, api) as session:
        view = session.goodness.account(session.account(who), recent)
    if as_json:
        print(encode_json(view))
        return
    console.print(
        f"{view.account}: {view.points} points live ({view.earned} earned, {view.redeemed} redeemed, "
        f"{view.expired} expired), {view.carbon_g} g of CO2 avoided in {view.trips} trips"
    )
    for lot in view.lots:
        console.print(f"  lot {lot.amount:>8} points, expires {lot.expires_at_ms}")
    for trip in view.recent_trips:
        console.print(
            f"  {trip.mode:<5} {trip.meters:>7} m  {trip.carbon_g:>6} g  {trip.points:>5} points  "
            f"rules v{trip.rules_version}, period {trip.period}"
        )


# --- rules ----------------------------------------------------------------------------------------------


@rules_app.command("show")
def rules_show(
    version: Annotated[int, typer.Option("--version", min=0, help="A version (0: the one in force).")] = 0,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """The rule table: grams of CO2 avoided per km and daily limits by mode, points per gram."""
    with _Session(directory, api) as session:
        table = session.goodness.rules(version)
    if as_json:
        print(encode_json(table))
        return
    console.print(
        f"rules v{table.version} (from height {table.height}): "
        f"100 points per {table.grams_per_100_points} g; over a daily limit: {table.over_limit}"
    )
    for mode, rule in table.modes.items():
        console.print(f"  {mode:<6} {rule.grams_per_km:>5} g/km, at most {rule.limit_m} m a day")


@rules_app.command("publish")
def rules_publish(
    modes: Annotated[
        list[str],
        typer.Option("--mode", help="MODE=GRAMS_PER_KM:DAILY_LIMIT_M, e.g. metro=97:100000 (repeat)."),
    ],
    sender: FromOption,
    grams_per_100_points: Annotated[
        int, typer.Option("--grams-per-100-points", min=1, help="Grams of CO2 that earn 100 points.")
    ] = 1250,
    over_limit: Annotated[
        str, typer.Option("--over-limit", help="cap (count up to the limit, flag) or refuse.")
    ] = "cap",
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish a new rule version (the issuer); it applies from its block on, never to earlier trips."""
    table: dict[str, tuple[int, int]] = {}
    for text in modes:
        mode, _, numbers = text.partition("=")
        grams, _, limit = numbers.partition(":")
        if mode not in s.MODES or not grams.isdigit() or not limit.isdigit():
            raise UsageError(
                f"--mode takes MODE=GRAMS_PER_KM:DAILY_LIMIT_M with MODE one of {MODE_NAMES}: {text!r}"
            )
        table[mode] = (int(grams), int(limit))
    if over_limit not in ("cap", "refuse"):
        raise UsageError(f"--over-limit is cap or refuse, not {over_limit!r}")
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        version = session.goodness.publish_rules(key, table, grams_per_100_points, over_limit)
    _show({"version": version}, as_json, f"rules v{version} in force from now on")


# --- sponsors, offers, redemption --------------------------------------------------------------------


@app.command("fund")
def fund(
    amount: Annotated[int, typer.Option("--amount", min=1, help="CNY units (fen) to put in your pool.")],
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move CNY you hold into your reward pool (a sponsor): approves the contract, then funds."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        free = session.goodness.fund(key, amount)
    _show({"funded": amount, "free": free}, as_json, f"funded {amount}; the pool has {free} free")


@app.command("offer")
def offer(
    title: Annotated[str, typer.Option("--title", help="What the reward is.")],
    points: Annotated[int, typer.Option("--points", min=1, help="Points it takes.")],
    value: Annotated[int, typer.Option("--value", min=1, help="What it is worth, in CNY units (fen).")],
    sender: FromOption,
    count: Annotated[int, typer.Option("--count", min=1, help="At most this many rewards.")] = 1000,
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="How long the offer runs.")] = 30,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish an offer (a sponsor with a pool): POINTS for a reward worth VALUE, COUNT times."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        number = session.goodness.publish_offer(key, title, points, value, count, days)
    _show({"offer": number}, as_json, f"offer {number} published")


@app.command("offers")
def offers(
    start: Annotated[int, typer.Option("--start", min=1, help="From this offer number.")] = 1,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="How many.")] = 100,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """The sponsors' offers."""
    with _Session(directory, api) as session:
        found = session.goodness.offers(start, limit)
    if as_json:
        print(encode_json(found))
        return
    for o in found:
        console.print(
            f"{o.offer:>4}  {o.title:<24} {o.points:>6} points -> {o.value:>6}  "
            f"{o.redeemed}/{o.count}  {o.sponsor}"
        )


@app.command("pools")
def pools(directory: DirOption = DEFAULT_DIR, api: ApiOption = None, as_json: JsonOption = False) -> None:
    """The sponsors' pools: funded, paid, owed and free."""
    with _Session(directory, api) as session:
        found = session.goodness.pools()
    if as_json:
        print(encode_json(found))
        return
    for pool in found:
        low = "  near empty" if pool.low else ""
        console.print(
            f"{pool.sponsor}  funded {pool.funded}, paid {pool.paid}, owed {pool.owed}, free {pool.free}{low}"
        )


@app.command("redeem")
def redeem(
    user: UserOption,
    offer_number: Annotated[int, typer.Option("--offer", min=1, help="The offer's number.")],
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Redeem a user's points against an offer (an exchange platform; within the user's allowance)."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        number = session.goodness.redeem(key, session.account(user), offer_number)
    _show({"reward": number, "offer": offer_number}, as_json, f"reward {number} recorded")


# --- clearing -----------------------------------------------------------------------------------------


@app.command("clear")
def clear(
    sender: FromOption,
    period: Annotated[int | None, typer.Option("--period", min=1, help="State this closed period.")] = None,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close the open period and state it (the clearing provider); --period states a closed one.

    The statement is what the contract recorded: each pool's total owed to each platform, each
    sponsor's debit and each platform's credit."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        number = period if period is not None else session.goodness.close_period(key)
        statement = session.goodness.statement(number)
        session.goodness.submit_statement(key, statement)
    _show(
        statement, as_json, f"period {number} stated: {len(statement.lines)} lines; the parties confirm next"
    )


@app.command("confirm")
def confirm(
    period: PeriodOption,
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Confirm a period's statement (a sponsor or platform named in it)."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        view = session.goodness.confirm(key, period)
    _show(_tx(view, period=period), as_json, f"confirmed period {period}")


@app.command("settle")
def settle(
    period: PeriodOption,
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pay every platform its credit in one step once all parties confirmed (the clearing provider)."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        total = session.goodness.settle(key, period)
    _show({"period": period, "settled": total}, as_json, f"period {period} is final: {total} paid out")


# --- supervision -------------------------------------------------------------------------------------


@app.command("suspend")
def suspend(
    distributor: Annotated[str, typer.Option("--distributor", help="A key name or an address.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")],
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Suspend a distributor's reporting (the supervisor); freezing an account is 'alliance freeze'."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        target = session.account(distributor)
        view = session.goodness.suspend(key, target, reason)
    _show(
        _tx(view, distributor=to_checksum_address(target)),
        as_json,
        f"suspended {to_checksum_address(target)}",
    )


@app.command("unsuspend")
def unsuspend(
    distributor: Annotated[str, typer.Option("--distributor", help="A key name or an address.")],
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lift a distributor's suspension (the supervisor)."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        target = session.account(distributor)
        view = session.goodness.unsuspend(key, target)
    _show(
        _tx(view, distributor=to_checksum_address(target)),
        as_json,
        f"lifted the suspension of {to_checksum_address(target)}",
    )


def _report(directory: Path, api: str | None, period: int | None, blocks: int) -> Supervision:
    with _Session(directory, api) as session:
        return supervision(session.client, period=period, blocks_max=blocks)


BlocksOption = Annotated[
    int,
    typer.Option(
        "--blocks", min=1, max=100_000, help="Scan at most this many blocks for refused duplicates."
    ),
]


@app.command("supervise")
def supervise(
    period: Annotated[
        int | None, typer.Option("--period", min=1, help="One period (default: everything).")
    ] = None,
    blocks: BlocksOption = 2_000,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """The supervisor's view: totals per role, anomalies, clearing (balanced or not)."""
    report = _report(directory, api, period, blocks)
    if as_json:
        print(encode_json(report))
        return
    table = Table(
        title=f"Goodness, {'period ' + str(period) if period else 'all periods'} (height {report.height})"
    )
    for column in ("role", "figures"):
        table.add_column(column)
    for role, numbers in report.totals.items():
        table.add_row(role, ", ".join(f"{k} {v}" for k, v in numbers.items()))
    console.print(table)
    counts = ", ".join(f"{k} {v}" for k, v in report.anomaly_counts.items()) or "none"
    console.print(f"anomalies: {counts}")
    for anomaly in report.anomalies[-20:]:
        console.print(f"  {anomaly.kind:<18} {anomaly.account}  period {anomaly.period}  {anomaly.detail}")
    for entry in report.clearing:
        console.print(
            f"  period {entry.period}: {entry.state}, debits {entry.debits}, credits {entry.credits}"
        )


@app.command("export")
def export(
    period: Annotated[
        int | None, typer.Option("--period", min=1, help="One period (default: everything).")
    ] = None,
    csv_lines: Annotated[bool, typer.Option("--csv", help="CSV lines instead of JSON.")] = False,
    blocks: BlocksOption = 2_000,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
) -> None:
    """A period's supervision report for the record: JSON, or CSV with --csv."""
    report = _report(directory, api, period, blocks)
    if csv_lines:
        print(export_csv(report), end="")
    else:
        print(encode_json(report))


@app.command("status")
def status(directory: DirOption = DEFAULT_DIR, api: ApiOption = None, as_json: JsonOption = False) -> None:
    """The contract's open period, rule version and counts."""
    with _Session(directory, api) as session:
        numbers = session.goodness.status()
    if not emit(numbers, as_json):
        console.print(", ".join(f"{k} {v}" for k, v in numbers.items()))


@app.command("deploy")
def deploy(
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit the Goodness contract and propose it live (an admin; the committee votes with 'gov vote')."""
    key = keyring.load_named_key(directory, sender)
    with _Session(directory, api) as session:
        code_hash, outcome = sdk_contracts.deploy(
            session.client, key, CONTRACT_NAME, contract_source(), [s.GOOD, s.CNY]
        )
    result = {
        "name": CONTRACT_NAME,
        "code_hash": code_hash.hex(),
        "proposal": outcome.proposal,
        "status": outcome.proposal_status,
    }
    _show(
        result, as_json, f"proposal {outcome.proposal} to deploy {CONTRACT_NAME}: {outcome.proposal_status}"
    )
    if not as_json and outcome.proposal_status == "open":
        vote = f"alliance gov vote --proposal {outcome.proposal} --yes --from ORG-admin"
        console.print(f"the other members vote: {vote}")


# --- the demo ----------------------------------------------------------------------------------------


@demo_app.command("goodness")
def demo_goodness(
    users: Annotated[int, typer.Option("--users", min=1, max=100_000, help="How many users.")] = 40,
    days: Annotated[
        int, typer.Option("--days", min=1, max=366, help="How many days (clearing periods).")
    ] = 3,
    seed: Annotated[int, typer.Option("--seed", help="The story's seed.")] = 1,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """The low-carbon travel alliance, seeded: N users over D days, every role, injected frauds."""
    options = DemoOptions(users=users, days=days, seed=seed)
    err = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(
        *columns, console=err, transient=not err.is_terminal, disable=not err.is_terminal
    ) as progress:
        task = progress.add_task("starting", total=None)

        def on_round(name: str, count: int) -> None:
            progress.update(task, description=name, total=count or None, completed=0)

        demo = Demo(
            directory, options, api=api, on_round=on_round, on_commit=lambda n: progress.advance(task, n)
        )
        try:
            summary = demo.run()
        finally:
            demo.close()
    if as_json:
        print(json.dumps(summary))
        return
    _print_summary(summary, directory)


def _print_summary(summary: dict[str, Any], directory: Path) -> None:
    table = Table(
        title=f"Goodness demo: {summary['users']} users, {summary['days']} days, seed {summary['seed']}"
    )
    table.add_column("")
    table.add_column("")
    rows = [
        ("trips counted", summary["trips_accepted"]),
        ("trips refused", _counts(summary["trips_refused"])),
        ("CO2 avoided", f"{summary['carbon_g'] / 1000:.1f} kg"),
        ("points issued / redeemed", f"{summary['points_issued']} / {summary['points_redeemed']}"),
        ("redemptions (refused)", f"{summary['redemptions']} ({_counts(summary['redemptions_refused'])})"),
        ("owed to platforms / settled", f"{summary['value_owed_cny']} / {summary['settled_cny']} fen"),
        ("clearing periods", f"{summary['clearing_periods']}, balanced: {summary['clearing_balanced']}"),
        ("anomalies", _counts(summary["anomalies"])),
        ("transactions", f"{summary['transactions']} in {summary['duration_s']} s"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    for item in summary["injected"]:
        console.print(f"injected: {item['what']}: {item['outcome']}")
    console.print(
        f"look: alliance goodness supervise --dir {directory}; "
        f"alliance goodness account user-0001 --dir {directory}; explorer {summary['explorer']}"
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


__all__ = ["app", "demo_app", "register"]
