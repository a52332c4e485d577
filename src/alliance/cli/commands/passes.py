"""Passes and the gateway from the command line: ``alliance pass ...`` and ``alliance gateway ...``.

Theory of operation: a signing command builds the ``passes`` module's arguments (ACCOUNT is a key
name of DIR or an address, as ``tx transfer`` takes it), checks them as the node will decode them
(a malformed one is a usage error before anything is dialled), signs with the key from DIR/keys,
submits through the SDK and waits for the block. It prints the receipt's outcome; a refusal raises
the typed error its code names (``symbol_taken``, ``not_eligible``, ``cap_exceeded``...), which
``main`` prints on one line and exits 1 with. The reads print the API's answers (``GET
/v1/passes/...``): ``--json`` is the node's JSON.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
import typer

from alliance import codec
from alliance.abi import passes as p
from alliance.cli import keyring, localnet
from alliance.cli.options import DEFAULT_DIR, ApiOption, DirOption, FromOption, JsonOption, console, emit
from alliance.crypto.keys import to_checksum_address
from alliance.errors import UsageError
from alliance.sdk.wire import TxView, parse_hex

app = typer.Typer(
    help="Passes: token schemes with declared rights (issue, move, redeem, freeze).", no_args_is_help=True
)
gateway_app = typer.Typer(help="The gateway: settlement money in and out, reconciled.", no_args_is_help=True)

PASS_GAS = 2_000_000
SymbolOption = Annotated[str, typer.Option("--symbol", help="The scheme's symbol (A-Z, 0-9).")]
AccountOption = Annotated[str, typer.Option("--account", help="An address or a key name.")]
AmountOption = Annotated[int, typer.Option("--amount", min=1, help="How many units.")]


def _checked_args(struct_type: type[msgspec.Struct], /, **fields: Any) -> Any:
    """The module's arguments, checked as the node decodes them (a usage error before dialling)."""
    try:
        return codec.decode(struct_type, codec.encode(struct_type(**fields)))
    except UsageError as exc:
        raise UsageError(f"invalid arguments: {exc.message}") from None
    except OverflowError:  # an integer past 64 bits cannot even be encoded
        raise UsageError(f"invalid arguments: a number is beyond {p.AMOUNT_MAX}") from None


def _symbol(symbol: str) -> str:
    """A symbol checked before it goes into a URL."""
    if not p.valid_symbol(symbol):
        raise UsageError(f"{symbol!r} is not a pass symbol (A-Z then A-Z or 0-9, at most 16)")
    return symbol


def _send(directory: Any, api: str | None, sender: str, method: str, args: msgspec.Struct) -> TxView:
    key = keyring.load_named_key(directory, sender)
    with localnet.open_client(directory, api) as client:
        return client.call_checked(key, p.MODULE_NAME, method, args, gas_limit=PASS_GAS)


def _outcome(view: TxView, **extra: Any) -> dict[str, Any]:
    return {**extra, "tx": view.hash.hex(), "height": view.height, "status": view.status}


def _print(result: dict[str, Any], as_json: bool, line: str) -> None:
    if not emit(result, as_json):
        console.print(f"{line} (transaction {result['tx']} at height {result['height']})")


# --- schemes ---------------------------------------------------------------------------------------------


@app.command("create")
def create(
    symbol: SymbolOption,
    name: Annotated[str, typer.Option("--name", help="Its name.")],
    rights: Annotated[str, typer.Option("--rights", help="What a holder is entitled to (shown everywhere).")],
    sender: FromOption,
    kind: Annotated[str, typer.Option("--kind", help="fungible or unique.")] = "fungible",
    decimals: Annotated[int, typer.Option("--decimals", min=0, help="Decimal places of a unit.")] = 0,
    cap: Annotated[int, typer.Option("--cap", min=0, help="Most units in existence (0: no cap).")] = 0,
    eligibility: Annotated[
        str, typer.Option("--eligibility", help="any, members, role:R or allow-list.")
    ] = "any",
    circulation: Annotated[str, typer.Option("--circulation", help="free, closed or none.")] = "free",
    minter_role: Annotated[
        str,
        typer.Option("--minter-role", help="The role that mints (default: the issuer; gateway: settlement)."),
    ] = "",
    redeemer_role: Annotated[
        str, typer.Option("--redeemer-role", help="The role that accepts redemptions.")
    ] = "",
    redeem_moves: Annotated[
        bool, typer.Option("--redeem-moves", help="Redeemed units move to the redeemer instead of burning.")
    ] = False,
    lot_days: Annotated[
        int, typer.Option("--lot-days", min=0, help="Units expire this many days after minting.")
    ] = 0,
    expires_at_ms: Annotated[
        int, typer.Option("--expires-at-ms", min=0, help="A fixed end (ms since epoch).")
    ] = 0,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Declare a scheme for your organisation (an account with the issuer role)."""
    expiry = "lot" if lot_days else "fixed" if expires_at_ms else "none"
    args = _checked_args(
        p.CreateArgs,
        symbol=symbol,
        name=name,
        kind=kind,
        rights=rights,
        decimals=decimals,
        cap=cap,
        minter_role=minter_role,
        eligibility=eligibility,
        circulation=circulation,
        redeemer_role=redeemer_role,
        redeem_burns=not redeem_moves,
        expiry=expiry,
        expires_at_ms=expires_at_ms,
        lot_days=lot_days,
    )
    view = _send(directory, api, sender, "create", args)
    result = _outcome(view, symbol=symbol, rights_hash=p.rights_hash(rights).hex())
    _print(result, as_json, f"created {symbol}")


def _holder_command(method: str, doc: str) -> None:
    def command(
        symbol: SymbolOption,
        account: AccountOption,
        sender: FromOption,
        directory: DirOption = DEFAULT_DIR,
        api: ApiOption = None,
        as_json: JsonOption = False,
    ) -> None:
        address = keyring.resolve_address(directory, account)
        view = _send(
            directory, api, sender, method, _checked_args(p.HolderArgs, symbol=symbol, account=address)
        )
        result = _outcome(view, symbol=symbol, account=to_checksum_address(address))
        _print(result, as_json, f"{method}: {result['account']} in {symbol}")

    command.__doc__ = doc
    app.command(method)(command)


_holder_command("freeze", "Stop a holder moving the scheme's units (its issuer).")
_holder_command("unfreeze", "Let a frozen holder move the scheme's units again (its issuer).")
_holder_command("allow", "Add an account to the scheme's allow-list (its issuer).")
_holder_command("disallow", "Remove an account from the scheme's allow-list (its issuer).")


def _scheme_command(method: str, doc: str) -> None:
    def command(
        symbol: SymbolOption,
        sender: FromOption,
        directory: DirOption = DEFAULT_DIR,
        api: ApiOption = None,
        as_json: JsonOption = False,
    ) -> None:
        view = _send(directory, api, sender, method, _checked_args(p.SymbolArgs, symbol=symbol))
        _print(_outcome(view, symbol=symbol), as_json, f"{method}d {symbol}")

    command.__doc__ = doc
    app.command(method)(command)


_scheme_command("pause", "Stop a whole scheme (its issuer or the supervisor).")
_scheme_command("resume", "Resume a paused scheme (its issuer or the supervisor).")


# --- units --------------------------------------------------------------------------------------------------


@app.command("mint")
def mint(
    symbol: SymbolOption,
    to: Annotated[str, typer.Option("--to", help="The holder: an address or a key name.")],
    sender: FromOption,
    amount: Annotated[int, typer.Option("--amount", min=1, help="How many units (1 for an item).")] = 1,
    memo: Annotated[str, typer.Option("--memo", help="Why (recorded in the event).")] = "",
    item: Annotated[str, typer.Option("--item", help="A unique scheme's item id.")] = "",
    metadata_hash: Annotated[
        str, typer.Option("--metadata-hash", help="The item's metadata hash (hex).")
    ] = "",
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue units (or an item) to an eligible holder."""
    holder = keyring.resolve_address(directory, to)
    meta = _hex32(metadata_hash) if metadata_hash else bytes(32)
    args = _checked_args(
        p.MintArgs, symbol=symbol, to=holder, amount=amount, memo=memo, item=item, metadata_hash=meta
    )
    view = _send(directory, api, sender, "mint", args)
    result = _outcome(view, symbol=symbol, to=to_checksum_address(holder), amount=amount, item=item)
    _print(result, as_json, f"minted {amount} {symbol} to {result['to']}")


@app.command("transfer")
def transfer(
    symbol: SymbolOption,
    to: Annotated[str, typer.Option("--to", help="The receiver: an address or a key name.")],
    sender: FromOption,
    amount: Annotated[int, typer.Option("--amount", min=1, help="How many units (1 for an item).")] = 1,
    item: Annotated[str, typer.Option("--item", help="A unique scheme's item id.")] = "",
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move units (or an item), as the scheme's circulation allows."""
    receiver = keyring.resolve_address(directory, to)
    args = _checked_args(p.TransferArgs, symbol=symbol, to=receiver, amount=amount, item=item)
    view = _send(directory, api, sender, "transfer", args)
    result = _outcome(view, symbol=symbol, to=to_checksum_address(receiver), amount=amount)
    _print(result, as_json, f"moved {amount} {symbol} to {result['to']}")


@app.command("redeem")
def redeem(
    symbol: SymbolOption,
    at: Annotated[
        str, typer.Option("--at", help="The redeemer (an account with the scheme's redeemer role).")
    ],
    sender: FromOption,
    amount: Annotated[int, typer.Option("--amount", min=1, help="How many units (1 for an item).")] = 1,
    item: Annotated[str, typer.Option("--item", help="A unique scheme's item id.")] = "",
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Redeem units at an account that holds the scheme's redeemer role."""
    redeemer = keyring.resolve_address(directory, at)
    args = _checked_args(p.RedeemArgs, symbol=symbol, at=redeemer, amount=amount, item=item)
    view = _send(directory, api, sender, "redeem", args)
    result = _outcome(view, symbol=symbol, at=to_checksum_address(redeemer), amount=amount)
    _print(result, as_json, f"redeemed {amount} {symbol} at {result['at']}")


@app.command("burn")
def burn(
    symbol: SymbolOption,
    sender: FromOption,
    amount: Annotated[int, typer.Option("--amount", min=1, help="How many units (1 for an item).")] = 1,
    item: Annotated[str, typer.Option("--item", help="A unique scheme's item id.")] = "",
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Destroy units (or an item) you hold."""
    view = _send(
        directory, api, sender, "burn", _checked_args(p.BurnArgs, symbol=symbol, amount=amount, item=item)
    )
    _print(_outcome(view, symbol=symbol, amount=amount), as_json, f"burned {amount} {symbol}")


@app.command("sweep")
def sweep(
    symbol: SymbolOption,
    accounts: Annotated[list[str], typer.Option("--account", help="A holder (repeat for more).")],
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove holders' expired units (the issuer), each removal an event."""
    holders = [keyring.resolve_address(directory, a) for a in accounts]
    view = _send(directory, api, sender, "sweep", _checked_args(p.SweepArgs, symbol=symbol, holders=holders))
    _print(_outcome(view, symbol=symbol), as_json, f"swept {symbol}")


# --- reads ------------------------------------------------------------------------------------------------


def _read(directory: Any, api: str | None, path: str, params: dict[str, str | int] | None = None) -> Any:
    with localnet.open_client(directory, api) as client:
        return client.read(path, params)


@app.command("show")
def show(
    symbol: Annotated[str, typer.Argument(help="The scheme's symbol.")],
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """A scheme: its declaration, rules, supply and holder count."""
    answer = _read(directory, api, f"/v1/passes/{_symbol(symbol)}")
    view = answer["value"]
    scheme, rules, supply = view["scheme"], view["rules"], view["supply"]
    result = {
        "symbol": scheme["symbol"],
        "name": scheme["name"],
        "kind": scheme["kind"],
        "decimals": scheme["decimals"],
        "issuer": scheme["issuer"],
        "issuer_org": scheme["issuer_org"],
        "rights": scheme["rights"],
        "rights_hash": scheme["rights_hash"],
        "cap": rules["cap"] or None,
        "supply": supply["supply"],
        "holders": view["holders"],
        "eligibility": rules["eligibility"],
        "circulation": rules["circulation"],
        "minter_role": rules["minter_role"] or None,
        "redeemer_role": rules["redeemer_role"] or None,
        "expiry": rules["expiry"],
        "lot_days": rules["lot_days"] or None,
        "paused": rules["paused"],
        "settlement": rules["settlement"],
        "minted": supply["minted"],
        "redeemed": supply["redeemed"],
        "burned": supply["burned"],
        "swept": supply["swept"],
        "height": answer["height"],
    }
    if not emit(result, as_json):
        for name, value in result.items():
            console.print(f"{name:>13}  {value}")


@app.command("list")
def list_schemes(
    start: Annotated[int, typer.Option("--start", min=0, help="From this position.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=p.PAGE_LIMIT_MAX, help="How many.")] = 100,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """The schemes, a page at a time."""
    answer = _read(directory, api, "/v1/passes", {"start": start, "limit": limit})
    if as_json:
        print(json.dumps(answer))
        return
    for view in answer["value"]:
        scheme, supply = view["scheme"], view["supply"]
        console.print(
            f"{scheme['symbol']:<10} {scheme['name']:<30} {scheme['issuer_org']:<10} "
            f"supply {supply['supply']}"
        )


@app.command("balance")
def balance(
    symbol: SymbolOption,
    account: AccountOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """An account's live balance, lots with their expiry, and locked units."""
    address = keyring.resolve_address(directory, account)
    answer = _read(directory, api, f"/v1/passes/{_symbol(symbol)}/holders/0x{address.hex()}")
    value = answer["value"]
    result = {
        "symbol": symbol,
        "account": to_checksum_address(address),
        "balance": value["balance"],
        "expired": value["expired"],
        "locked": value["locked"],
        "frozen": value["frozen"],
        "items": value["items"],
        "lots": [
            {"amount": lot["amount"], "expires_at_ms": lot["expires_at_ms"], "expired": lot["expired"]}
            for lot in value["lots"]
        ],
        "height": answer["height"],
    }
    if not emit(result, as_json):
        console.print(
            f"{result['account']}: {result['balance']} {symbol} live, {result['expired']} expired, "
            f"{result['locked']} locked"
        )
        for lot in result["lots"]:
            console.print(f"  {lot['amount']:>10}  expires {lot['expires_at_ms'] or 'never'}")


@app.command("history")
def history(
    symbol: Annotated[str, typer.Argument(help="The scheme's symbol.")],
    before: Annotated[int | None, typer.Option("--before", min=1, help="Read below this height.")] = None,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """A scheme's events in recent blocks, newest first (pages back with --before)."""
    params: dict[str, str | int] = {} if before is None else {"before": before}
    answer = _read(directory, api, f"/v1/passes/{_symbol(symbol)}/history", params)
    if as_json:
        print(json.dumps(answer))
        return
    for event in answer["events"]:
        console.print(f"{event['height']:>8}  {event['name']:<12} {json.dumps(event['fields'])}")
    if answer["next_before"]:
        console.print(f"older events: alliance pass history {symbol} --before {answer['next_before']}")


# --- the gateway --------------------------------------------------------------------------------------------


@gateway_app.command("deposit")
def deposit(
    symbol: SymbolOption,
    to: Annotated[str, typer.Option("--to", help="The account credited: an address or a key name.")],
    amount: AmountOption,
    reference: Annotated[str, typer.Option("--ref", help="The bank's reference (credited once).")],
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Credit settlement money against an off-chain payment (the gateway role)."""
    holder = keyring.resolve_address(directory, to)
    args = _checked_args(p.DepositArgs, symbol=symbol, to=holder, amount=amount, reference=reference)
    view = _send(directory, api, sender, "deposit", args)
    result = _outcome(view, symbol=symbol, to=to_checksum_address(holder), amount=amount, reference=reference)
    _print(result, as_json, f"deposited {amount} {symbol} to {result['to']} ({reference})")


@gateway_app.command("withdraw")
def withdraw(
    symbol: SymbolOption,
    amount: AmountOption,
    to_external: Annotated[
        str, typer.Option("--to-external", help="Where the gateway pays out (an IBAN...).")
    ],
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask the gateway to pay units out; they are locked until it confirms or rejects."""
    args = _checked_args(p.WithdrawArgs, symbol=symbol, amount=amount, to_external=to_external)
    view = _send(directory, api, sender, "withdraw", args)
    withdrawal = msgspec.msgpack.decode(bytes(view.result)) if view.result else None
    result = _outcome(view, symbol=symbol, withdrawal=withdrawal, amount=amount)
    _print(result, as_json, f"withdrawal {withdrawal}: {amount} {symbol} locked")


def _settle_command(method: str, doc: str) -> None:
    def command(
        symbol: SymbolOption,
        withdrawal: Annotated[int, typer.Option("--withdrawal", min=1, help="The withdrawal's number.")],
        reference: Annotated[str, typer.Option("--ref", help="The payout's (or refusal's) reference.")],
        sender: FromOption,
        directory: DirOption = DEFAULT_DIR,
        api: ApiOption = None,
        as_json: JsonOption = False,
    ) -> None:
        args = _checked_args(p.SettleArgs, symbol=symbol, withdrawal=withdrawal, reference=reference)
        view = _send(directory, api, sender, method, args)
        _print(
            _outcome(view, symbol=symbol, withdrawal=withdrawal),
            as_json,
            f"withdrawal {withdrawal} {method}ed",
        )

    command.__doc__ = doc
    gateway_app.command(method)(command)


_settle_command("confirm", "The payout went out: burn the withdrawal's locked units (the gateway).")
_settle_command("reject", "The payout failed: return the withdrawal's units to its holder (the gateway).")


@gateway_app.command("report")
def report(
    symbol: SymbolOption,
    csv_lines: Annotated[
        bool, typer.Option("--csv", help="Every deposit and withdrawal, as CSV lines.")
    ] = False,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """The reconciliation: supply == deposits - confirmed withdrawals, locked shown apart."""
    if csv_lines:
        with localnet.open_client(directory, api) as client:
            print(client.read_text(f"/v1/passes/{_symbol(symbol)}/report", {"format": "csv"}), end="")
        return
    answer = _read(directory, api, f"/v1/passes/{_symbol(symbol)}/report")
    value = answer["value"]
    result = {**value, "height": answer["height"]}
    if not emit(result, as_json):
        state = "balanced" if value["balanced"] else "NOT BALANCED"
        console.print(
            f"{symbol}: supply {value['supply']} = deposits {value['deposits']} - confirmed withdrawals "
            f"{value['withdrawals_confirmed']}: {state}; locked {value['locked']}"
        )


def _hex32(text: str) -> bytes:
    return parse_hex(text, "a metadata hash", size_bytes=32)
