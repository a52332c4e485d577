"""Reads: ``query account``, ``query block`` and ``query tx``, through the SDK.

``--json`` prints the node's answer exactly as the API sent it (the SDK's wire view encoded back by
the wire's own encoder); the text output lists the same fields for people.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from alliance.cli import keyring, localnet
from alliance.cli.options import DEFAULT_DIR, ApiOption, DirOption, JsonOption, print_view, text
from alliance.crypto.keys import to_checksum_address
from alliance.errors import UsageError
from alliance.sdk import wire

app = typer.Typer(help="Read accounts, blocks and transactions.", no_args_is_help=True)


@app.command("account")
def query_account(
    account: Annotated[str, typer.Argument(help="An address or a key name.")],
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """An account's balance, organisation, roles and freeze."""
    address = keyring.resolve_address(directory, account)
    with localnet.open_client(directory, api) as client:
        found = client.account(address)
    if not print_view(found, as_json):
        print(f"{to_checksum_address(found.address)}  balance {found.balance}  (height {found.height})")


@app.command("block")
def query_block(
    height: Annotated[str, typer.Argument(help="'latest' or a height.")] = "latest",
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """A block's header, transactions and commit certificate."""
    if height != "latest" and not height.isdigit():
        raise UsageError(f"a block is 'latest' or a height, not {height!r}")
    with localnet.open_client(directory, api) as client:
        block = client.block("latest" if height == "latest" else int(height))
    if not print_view(block, as_json):
        _print_fields(block)


@app.command("tx")
def query_tx(
    tx_hash: Annotated[str, typer.Argument(metavar="HASH", help="The transaction's hash (hex).")],
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """A transaction: pending, or committed with its receipt."""
    text_hash = tx_hash.removeprefix("0x")
    if len(text_hash) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text_hash):
        raise UsageError(f"a transaction hash is 64 hex digits, not {tx_hash!r}")
    with localnet.open_client(directory, api) as client:
        view = client.tx(bytes.fromhex(text_hash))
    if not print_view(view, as_json):
        _print_fields(view)


@app.command("params")
def query_params(
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """The chain parameters in effect (changed only by a set-param proposal)."""
    with localnet.open_client(directory, api) as client:
        answer = client.module("gov", "params")
    if as_json:
        print(json.dumps(answer))
        return
    for name, value in answer["value"].items():
        print(f"{name:>28}  {value}")
    print(f"{'height':>28}  {answer['height']}")


def _print_fields(view: object) -> None:
    for name, value in wire.to_builtins(view).items():
        shown = json.dumps(value) if isinstance(value, list | dict) else text(value)
        print(f"{name:>18}  {shown}")
