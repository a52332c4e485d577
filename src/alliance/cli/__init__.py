"""The ``alliance`` command line (typer + rich).

Theory of operation: each command is a thin function over the library: ``alliance.node.bootstrap``
creates alliances, ``alliance.cli.localnet`` runs their node processes, ``alliance.cli.keyring``
keeps named account keys, and everything that talks to a node goes through the SDK
(``alliance.sdk.Client``). Options follow the command words in any order. A command that talks to
an alliance takes ``--dir D`` (the local alliance: its nodes and keys, ``.alliance`` by default) or
``--api URL`` (one node; keys still come from ``--dir``), and ``--json`` for machine-readable output
on standard output; without it, output is for people (rich tables).

Errors: ``main`` runs the typer app in non-standalone mode and converts every failure once, here:
one line ``alliance: <message>`` on standard error, exit status 2 for bad input (``UsageError``,
and click's own usage errors) and 1 for operational failures (a node that does not answer, a
transaction that did not commit or failed). Never a traceback: an unexpected exception is a bug,
reported as one line too, with exit status 1.

New commands (``bench``) are added with ``@app.command()`` in this module, or in their own module
registered here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from alliance import __version__
from alliance.cli import governance, keyring, localnet
from alliance.cli.console import console_command
from alliance.cli.keyring import keys_list, keys_new
from alliance.crypto.keys import to_checksum_address
from alliance.errors import AllianceError, OperationalError, UsageError
from alliance.node.bootstrap import create_alliance, load_alliance
from alliance.sdk.views import view_json

__all__ = ["app", "keys_list", "keys_new", "main", "run"]

DEFAULT_DIR = ".alliance"
EXIT_USAGE = 2
EXIT_FAILURE = 1

app = typer.Typer(
    name="alliance",
    help="Alliance: a consortium blockchain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Account keys in DIR/keys.", no_args_is_help=True)
node_app = typer.Typer(help="Create a node home, or run one node.", no_args_is_help=True)
tx_app = typer.Typer(help="Send transactions.", no_args_is_help=True)
query_app = typer.Typer(help="Read accounts, blocks and transactions.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(node_app, name="node")
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")
# Governance (alliance.cli.governance): organisations, new nodes, the committee, the supervisor's freeze.
app.add_typer(governance.org_app, name="org")
app.add_typer(governance.gov_app, name="gov")
node_app.command("new")(governance.node_new_command)
app.command("freeze")(governance.freeze_command)
app.command("console")(console_command)

DirOption = Annotated[Path, typer.Option("--dir", help="The local alliance's directory.")]
ApiOption = Annotated[str | None, typer.Option("--api", help="A node's API URL (instead of --dir's nodes).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
NodesOption = Annotated[int, typer.Option("--nodes", help="How many organisations and validators.")]

# Without a terminal, rich would wrap tables at 80 columns and cut URLs; a wide page keeps rows whole.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def emit(data: Any, as_json: bool) -> bool:
    """Print ``data`` as JSON when asked; True when it did (the caller prints for people otherwise)."""
    if as_json:
        print(json.dumps(data))
    return as_json


# --- version and keys ------------------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


@keys_app.command("new")
def keys_new_command(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    directory: DirOption = Path(DEFAULT_DIR),
    as_json: JsonOption = False,
) -> None:
    """Create a new account key DIR/keys/NAME.key (mode 0600)."""
    made = keys_new(directory, name)
    if not emit(made, as_json):
        print(f"{made['name']}  {made['address']}")


@keys_app.command("list")
def keys_list_command(directory: DirOption = Path(DEFAULT_DIR), as_json: JsonOption = False) -> None:
    """List the account keys in DIR/keys."""
    found = keys_list(directory)
    if not emit(found, as_json):
        for item in found:
            print(f"{item['name']}  {item['address']}")


# --- the local alliance ----------------------------------------------------------------------------


@app.command()
def init(
    directory: DirOption = Path(DEFAULT_DIR),
    nodes: NodesOption = localnet.DEFAULT_NODES,
    chain_id: Annotated[str | None, typer.Option("--chain-id", help="Chain id (default: random).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an alliance: root CA, organisations with CAs and admins, validators, genesis, configs."""
    layout = create_alliance(directory, nodes, chain_id=chain_id)
    summary = {
        "dir": str(directory),
        "chain_id": layout.chain_id,
        "nodes": [
            {"name": e.name, "org": e.org, "home": str(directory / e.home),
             "api": layout.api_url(e), "p2p": layout.p2p_address(e)}
            for e in layout.nodes
        ],
        "keys": keys_list(directory),
    }
    if emit(summary, as_json):
        return
    console.print(f"created alliance [bold]{layout.chain_id}[/] in {directory} with {nodes} node(s)")
    console.print(f"start it with: alliance up --dir {directory}")


@app.command()
def up(
    directory: DirOption = Path(DEFAULT_DIR),
    nodes: NodesOption = localnet.DEFAULT_NODES,
    wait_s: Annotated[float, typer.Option("--wait-s", help="Wait bound, seconds.")] = localnet.UP_WAIT_S,
    as_json: JsonOption = False,
) -> None:
    """Start the local alliance (creating it first if DIR holds none); wait until it commits."""
    if as_json or not sys.stderr.isatty():
        processes = localnet.up(directory, nodes, wait_s)
    else:
        with Console(stderr=True).status("starting nodes and waiting for the first block..."):
            processes = localnet.up(directory, nodes, wait_s)
    rows = [
        {"name": p.name, "pid": p.pid, "api": p.api, "p2p": p.p2p, "started": p.started} for p in processes
    ]
    if emit({"dir": str(directory), "nodes": rows}, as_json):
        return
    table = Table(title=f"alliance {load_alliance(directory).chain_id} is up")
    for column in ("node", "API", "p2p", "pid", ""):
        table.add_column(column)
    for p in processes:
        table.add_row(p.name, p.api, p.p2p, str(p.pid), "started" if p.started else "was running")
    console.print(table)
    console.print(
        f"send a transfer:  alliance keys new bob --dir {directory} && "
        f"alliance tx transfer --from dev --to bob --amount 5 --wait --dir {directory}"
    )
    console.print(f"stop it:          alliance down --dir {directory}")


@app.command()
def down(directory: DirOption = Path(DEFAULT_DIR), as_json: JsonOption = False) -> None:
    """Stop the local alliance's nodes."""
    stopped = localnet.down(directory)
    if not emit({"stopped": stopped}, as_json):
        print(f"stopped {', '.join(stopped)}" if stopped else "no node was running")


@app.command()
def status(
    directory: DirOption = Path(DEFAULT_DIR), api: ApiOption = None, as_json: JsonOption = False
) -> None:
    """Heights, hashes and processes of the alliance's nodes, and its validators."""
    report = localnet.status_of_api(api) if api else localnet.status(directory)
    if emit(report, as_json):
        return
    table = Table(title=f"chain {report['chain_id']}  height {report['height']}")
    for column in ("node", "running", "validator", "height", "app hash", "API", "p2p", "pid"):
        table.add_column(column)
    for n in report["nodes"]:
        table.add_row(
            n["name"], "yes" if n["running"] else "[red]no[/]", "yes" if n["validator"] else "no",
            _text(n["height"]), (n["app_hash"] or "-")[:16], n["api"], _text(n["p2p"]), _text(n["pid"]),
        )
    console.print(table)
    if report["validators"]:
        console.print("validators: " + ", ".join(f"{v['node']} ({v['power']})" for v in report["validators"]))


@app.command()
def bench(
    directory: DirOption = Path(DEFAULT_DIR),
    txs: Annotated[int, typer.Option("--txs", min=1, help="Transfers in the saturated run.")] = 20_000,
    accounts: Annotated[int, typer.Option("--accounts", min=1, help="Sender accounts.")] = 200,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Transactions per submitted batch.")] = 1_000,
    recipients: Annotated[str, typer.Option(
        "--recipients",
        help="existing: pay funded bench accounts; fresh: a new account per transfer (the state grows).",
    )] = "existing",
    nodes: NodesOption = localnet.DEFAULT_NODES,
    as_json: JsonOption = False,
) -> None:
    """Committed transfers per second of the local alliance, against this machine's signature ceiling.

    Starts the alliance in DIR first if it is not running (``alliance up``)."""
    from alliance.cli import benchmark  # noqa: PLC0415 - heavy; only this command needs it

    # Options first: a bad one is a usage error before any node is started.
    options = benchmark.BenchOptions(txs=txs, accounts=accounts, batch_txs=batch, recipients=recipients)
    localnet.up(directory, nodes, localnet.UP_WAIT_S)
    layout = load_alliance(directory)
    urls = [layout.api_url(entry) for entry in layout.nodes]
    pids = [localnet.read_pid(layout.home(entry)) for entry in layout.nodes]
    node_pids = [pid for pid in pids if pid is not None] if None not in pids else []
    funder = keyring.load_named_key(directory, "dev")
    if not as_json and sys.stderr.isatty():
        with Console(stderr=True).status("measuring the ceiling, funding, signing, then loading..."):
            report = benchmark.run_bench_sync(urls, funder, options, node_pids)
    else:
        report = benchmark.run_bench_sync(urls, funder, options, node_pids)
    if emit(report, as_json):
        return
    latency = report["latency_ms"]
    saturated = report["saturated_latency_ms"]
    nodes_count = report["nodes"]
    console.print(
        f"{report['committed']} transfers committed by {nodes_count} validators in {report['duration_s']} s: "
        f"[bold]{report['tps']} tx/s[/]"
    )
    console.print(
        f"ceiling {report['ceiling_tps']} tx/s ({report['ceiling_verifier']} / {nodes_count} nodes); "
        f"ratio {report['ratio']}"
    )
    console.print(
        f"commit latency at half load ({latency['load_tps']} tx/s): p50 {latency['p50']} ms, "
        f"p99 {latency['p99']} ms; saturated: p50 {saturated['p50']} ms, p99 {saturated['p99']} ms"
    )
    if report["node_cpu_us_per_tx"] is not None:
        console.print(
            f"node CPU per transaction and node: {report['node_cpu_us_per_tx']} us "
            f"(the client: {report['client_cpu_s']} s over the saturated run)"
        )


def _text(value: object) -> str:
    return "-" if value is None else str(value)


@node_app.command("start")
def node_start(
    home: Annotated[Path, typer.Option("--home", help="The node's home directory.")],
) -> None:
    """Run one node in the foreground until SIGTERM or SIGINT."""
    from alliance.node.config import NodeHome  # noqa: PLC0415 - keep the node's imports off other commands

    NodeHome(home).load_config()  # a missing or bad configuration is a one-line usage error
    from alliance.explorer import api_service  # noqa: PLC0415 - the API with the explorer mounted
    from alliance.node.service import run_node  # noqa: PLC0415

    run_node(home, services=[api_service])


# --- transactions and queries ----------------------------------------------------------------------


@tx_app.command("transfer")
def tx_transfer(
    sender: Annotated[str, typer.Option("--from", help="The name of the sender's key in DIR/keys.")],
    to: Annotated[str, typer.Option("--to", help="The recipient: an address or a key name.")],
    amount: Annotated[int, typer.Option("--amount", min=1, help="How much to send.")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it commits.")] = False,
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Transfer AMOUNT from a local key to an address."""
    key = keyring.load_named_key(directory, sender)
    recipient = keyring.resolve_address(directory, to)
    with localnet.open_client(directory, api) as client:
        view = client.transfer(key, recipient, amount, wait=wait)
    result = {"hash": view.hash.hex(), "height": view.height, "status": view.status}
    if not emit(result, as_json):
        where = f"at height {view.height}" if view.height is not None else "(pending)"
        print(f"{result['hash']}  {view.status} {where}")
    if view.committed and view.ok is False:
        reason = f"{view.status}: {view.error}" if view.error else view.status
        raise OperationalError(f"transaction {result['hash']} failed: {reason}")


@query_app.command("account")
def query_account(
    account: Annotated[str, typer.Argument(help="An address or a key name.")],
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """An account's balance."""
    address = keyring.resolve_address(directory, account)
    with localnet.open_client(directory, api) as client:
        found = client.account(address)
    result = {"address": to_checksum_address(found.address), "balance": found.balance}
    if not emit(result, as_json):
        print(f"{result['address']}  balance {found.balance}  (height {found.height})")


@query_app.command("block")
def query_block(
    height: Annotated[str, typer.Argument(help="'latest' or a height.")] = "latest",
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """A block's header, transactions and commit certificate."""
    if height != "latest" and not height.isdigit():
        raise UsageError(f"a block is 'latest' or a height, not {height!r}")
    with localnet.open_client(directory, api) as client:
        block = client.block("latest" if height == "latest" else int(height))
    _print_view(view_json(block), as_json)


@query_app.command("tx")
def query_tx(
    tx_hash: Annotated[str, typer.Argument(metavar="HASH", help="The transaction's hash (hex).")],
    directory: DirOption = Path(DEFAULT_DIR),
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """A transaction: pending, or committed with its receipt."""
    text = tx_hash.removeprefix("0x")
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise UsageError(f"a transaction hash is 64 hex digits, not {tx_hash!r}")
    with localnet.open_client(directory, api) as client:
        view = client.tx(bytes.fromhex(text))
    _print_view(view_json(view), as_json)


def _print_view(data: dict[str, Any], as_json: bool) -> None:
    if emit(data, as_json):
        return
    for name, value in data.items():
        shown = json.dumps(value) if isinstance(value, list | dict) else _text(value)
        print(f"{name:>18}  {shown}")


# --- entry points ----------------------------------------------------------------------------------


def _fail(message: str, code: int) -> int:
    first = " ".join(message.split())  # one line, whatever the message held
    print(f"alliance: {first}", file=sys.stderr)
    return code


def _first_leaf(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups: a node's task group wraps the error
    that stopped it, and the one line should name that error, not the group."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        try:
            result = app(args=argv, prog_name="alliance", standalone_mode=False)
        except BaseExceptionGroup as group:
            raise _first_leaf(group) from group
    except typer.Abort:
        return _fail("interrupted", 130)
    except typer.TyperException as exc:  # typer's own usage errors (unknown option, missing value)
        message = exc.format_message()
        # No arguments: typer has printed the help already, and there is nothing to add.
        return _fail(message, exc.exit_code) if message.strip() else exc.exit_code
    except UsageError as exc:
        return _fail(exc.message, EXIT_USAGE)
    except AllianceError as exc:
        return _fail(exc.message, EXIT_FAILURE)
    except httpx.HTTPError as exc:
        return _fail(f"HTTP error: {exc}", EXIT_FAILURE)
    except OSError as exc:
        return _fail(str(exc), EXIT_FAILURE)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        return _fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_FAILURE)
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
