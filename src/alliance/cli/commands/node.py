"""Node and organisation homes of the local alliance, and running one node.

``org new`` makes an organisation's CA and admin key, ``node new`` a node home with a certificate
from that CA (``alliance.node.bootstrap``'s ``add_org`` and ``add_node``). Neither makes anything a
member or a validator: only the ledger decides that, by a committee vote (``alliance gov``).
``node start`` runs one node in the foreground (``alliance up`` starts them in the background).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from alliance.cli.options import DEFAULT_DIR, DirOption, JsonOption, emit
from alliance.crypto.keys import to_checksum_address
from alliance.node.bootstrap import add_node, add_org

app = typer.Typer(help="Create a node home, or run one node.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations of the local alliance.", no_args_is_help=True)


def org_new(directory: Path, name: str) -> dict[str, Any]:
    made = add_org(directory, name)
    return {
        "org": made.org,
        "ca": str(made.ca_path),
        "admin": {"name": made.admin_key, "address": to_checksum_address(made.admin_address)},
        "member": False,  # the committee decides: gov propose add-member
    }


def node_new(directory: Path, org: str, name: str) -> dict[str, Any]:
    made = add_node(directory, org, name)
    entry = made.entry
    return {
        "name": entry.name,
        "org": entry.org,
        "home": str(made.layout.directory / entry.home),
        "node_id": made.node_id.hex(),
        "api": made.layout.api_url(entry),
        "p2p": made.layout.p2p_address(entry),
        "validator": entry.validator,
    }


@org_app.command("new")
def org_new_command(
    name: Annotated[str, typer.Option("--name", help="The organisation's name.")],
    directory: DirOption = DEFAULT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Create an organisation's CA and admin key (ORG-admin); it is not a member until voted in."""
    made = org_new(directory, name)
    if not emit(made, as_json):
        print(
            f"created organisation {name}: CA {made['ca']}, admin key {made['admin']['name']} "
            f"({made['admin']['address']})"
        )
        print(
            "it is not a member yet: "
            f"alliance gov propose add-member --org {name} --from ADMIN --dir {directory}"
        )


@app.command("new")
def node_new_command(
    org: Annotated[str, typer.Option("--org", help="The node's organisation.")],
    name: Annotated[str, typer.Option("--name", help="The node's name.")],
    directory: DirOption = DEFAULT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Create a node home DIR/nodes/NAME with a certificate from ORG's CA; 'alliance up' starts it."""
    made = node_new(directory, org, name)
    if not emit(made, as_json):
        print(
            f"created node {name} of {org} in {made['home']} (id {made['node_id'][:16]}, api {made['api']})"
        )
        print(
            f"start it with 'alliance up --dir {directory}'; it syncs once {org} is a member "
            "and votes once it is a validator"
        )


@app.command("start")
def node_start(
    home: Annotated[Path, typer.Option("--home", help="The node's home directory.")],
) -> None:
    """Run one node in the foreground until SIGTERM or SIGINT."""
    from alliance.node.config import NodeHome  # noqa: PLC0415 - keep the node's imports off other commands

    NodeHome(home).load_config()  # a missing or bad configuration is a one-line usage error
    from alliance.explorer import api_service  # noqa: PLC0415 - the API with the explorer mounted
    from alliance.node.service import run_node  # noqa: PLC0415

    run_node(home, services=[api_service])
