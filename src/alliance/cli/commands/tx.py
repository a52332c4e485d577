"""Transactions: ``tx transfer`` and the supervisor's ``freeze``, signed and sent by the SDK.

The key comes from DIR/keys; the SDK (``Client.transfer``, ``Client.freeze``) signs locally and
submits. A transaction the chain refuses (it committed with a failed receipt) raises the typed
error its receipt's code names (``sdk.errors.from_receipt``): ``main`` prints it on one line,
``alliance: <code>: <message>``, and exits with status 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from alliance.cli import keyring, localnet
from alliance.cli.options import DEFAULT_DIR, ApiOption, DirOption, FromOption, JsonOption, emit
from alliance.crypto.keys import to_checksum_address
from alliance.sdk.client import freeze_args
from alliance.sdk.errors import from_receipt
from alliance.sdk.wire import TxView

app = typer.Typer(help="Send transactions.", no_args_is_help=True)

AccountOption = Annotated[str, typer.Option("--account", help="An address or a key name.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded on the ledger).")]


def _result(view: TxView) -> dict[str, object]:
    return {"hash": view.hash.hex(), "height": view.height, "status": view.status}


@app.command("transfer")
def tx_transfer(
    sender: FromOption,
    to: Annotated[str, typer.Option("--to", help="The recipient: an address or a key name.")],
    amount: Annotated[int, typer.Option("--amount", min=1, help="How much to send.")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it commits.")] = False,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Transfer AMOUNT from a local key to an address."""
    key = keyring.load_named_key(directory, sender)
    recipient = keyring.resolve_address(directory, to)
    with localnet.open_client(directory, api) as client:
        view = client.transfer(key, recipient, amount, wait=wait)
    result = _result(view)
    if not emit(result, as_json):
        where = f"at height {view.height}" if view.height is not None else "(pending)"
        print(f"{result['hash']}  {view.status} {where}")
    if view.committed and view.ok is False:
        where = f"transaction {view.hash.hex()} at height {view.height}"
        raise from_receipt(view.status, f"{view.error or view.status} ({where})")


def freeze_command(
    account: AccountOption,
    reason: ReasonOption,
    sender: FromOption,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """The supervisor freezes an account at once (unfreezing needs the committee)."""
    key = keyring.load_named_key(directory, sender)
    address = keyring.resolve_address(directory, account)
    freeze_args(address, reason)  # a malformed reason is a usage error before dialling
    with localnet.open_client(directory, api) as client:
        view = client.freeze(key, address, reason)
    result = {"account": to_checksum_address(address), **_result(view)}
    if not emit(result, as_json):
        print(f"froze {result['account']} (transaction {result['hash']} at height {result['height']})")
