"""``alliance keys new|list``: named account keys in DIR/keys (``cli.keyring``)."""

from __future__ import annotations

from typing import Annotated

import typer

from alliance.cli.keyring import keys_list, keys_new
from alliance.cli.options import DEFAULT_DIR, DirOption, JsonOption, emit

app = typer.Typer(help="Account keys in DIR/keys.", no_args_is_help=True)


@app.command("new")
def keys_new_command(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    directory: DirOption = DEFAULT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Create a new account key DIR/keys/NAME.key (mode 0600)."""
    made = keys_new(directory, name)
    if not emit(made, as_json):
        print(f"{made['name']}  {made['address']}")


@app.command("list")
def keys_list_command(directory: DirOption = DEFAULT_DIR, as_json: JsonOption = False) -> None:
    """List the account keys in DIR/keys."""
    found = keys_list(directory)
    if not emit(found, as_json):
        for item in found:
            print(f"{item['name']}  {item['address']}")
