"""The local alliance: ``alliance init``, ``up``, ``down``, ``status`` and ``bench``.

Each command is a thin function over ``alliance.node.bootstrap`` (creating alliances) and
``alliance.cli.localnet`` (their node processes); ``bench`` over ``alliance.cli.benchmark``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from alliance.cli import keyring, localnet
from alliance.cli.keyring import keys_list
from alliance.cli.options import (
    DEFAULT_DIR,
    ApiOption,
    DirOption,
    JsonOption,
    NodesOption,
    console,
    emit,
    text,
)
from alliance.node.bootstrap import create_alliance, load_alliance


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    for command in (init, up, down, status, bench):
        app.command()(command)


def init(
    directory: DirOption = DEFAULT_DIR,
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
            {
                "name": e.name,
                "org": e.org,
                "home": str(directory / e.home),
                "api": layout.api_url(e),
                "p2p": layout.p2p_address(e),
            }
            for e in layout.nodes
        ],
        "keys": keys_list(directory),
    }
    if emit(summary, as_json):
        return
    console.print(f"created alliance [bold]{layout.chain_id}[/] in {directory} with {nodes} node(s)")
    console.print(f"start it with: alliance up --dir {directory}")


def up(
    directory: DirOption = DEFAULT_DIR,
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


def down(directory: DirOption = DEFAULT_DIR, as_json: JsonOption = False) -> None:
    """Stop the local alliance's nodes."""
    stopped = localnet.down(directory)
    if not emit({"stopped": stopped}, as_json):
        print(f"stopped {', '.join(stopped)}" if stopped else "no node was running")


def status(directory: DirOption = DEFAULT_DIR, api: ApiOption = None, as_json: JsonOption = False) -> None:
    """Heights, hashes and processes of the alliance's nodes, and its validators."""
    report = localnet.status_of_api(api) if api else localnet.status(directory)
    if emit(report, as_json):
        return
    table = Table(title=f"chain {report['chain_id']}  height {report['height']}")
    for column in ("node", "running", "validator", "height", "app hash", "API", "p2p", "pid"):
        table.add_column(column)
    for n in report["nodes"]:
        table.add_row(
            n["name"],
            "yes" if n["running"] else "[red]no[/]",
            "yes" if n["validator"] else "no",
            text(n["height"]),
            (n["app_hash"] or "-")[:16],
            n["api"],
            text(n["p2p"]),
            text(n["pid"]),
        )
    console.print(table)
    if report["validators"]:
        console.print("validators: " + ", ".join(f"{v['node']} ({v['power']})" for v in report["validators"]))


def bench(
    directory: DirOption = DEFAULT_DIR,
    txs: Annotated[int, typer.Option("--txs", min=1, help="Transfers in the saturated run.")] = 20_000,
    accounts: Annotated[
        int,
        typer.Option(
            "--accounts",
            min=1,
            help="Distinct sender accounts, funded first. With the default 200 every node's key and address "
            "caches always hit; more senders show what a chain with many pays.",
        ),
    ] = 200,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Transactions per submitted batch.")] = 1_000,
    recipients: Annotated[
        str,
        typer.Option(
            "--recipients",
            help="existing: pay funded bench accounts; fresh: a new account per transfer (the state grows).",
        ),
    ] = "existing",
    workload_name: Annotated[
        str,
        typer.Option(
            "--workload",
            help="transfer (native), pass (a closed-loop pass), contract (a token contract), goodness "
            "(trip reports) or goodness-batch (trip reports, 50 a transaction, counted by trip: --txs "
            "counts transactions); any but transfer runs after native transfers, shown as a fraction "
            "of them.",
        ),
    ] = "transfer",
    nodes: NodesOption = localnet.DEFAULT_NODES,
    as_json: JsonOption = False,
) -> None:
    """Committed transfers per second of the local alliance, against this machine's signature ceiling.

    Starts the alliance in DIR first if it is not running (``alliance up``)."""
    from alliance.cli import benchmark, workloads  # noqa: PLC0415 - heavy; only this command needs them
    from alliance.sdk import Client  # noqa: PLC0415

    # Options first: a bad one is a usage error before any node is started.
    options = benchmark.BenchOptions(
        txs=txs, accounts=accounts, batch_txs=batch, recipients=recipients, workload=workload_name
    )
    workload = workloads.workload_named(workload_name)
    localnet.up(directory, nodes, localnet.UP_WAIT_S)
    layout = load_alliance(directory)
    urls = [layout.api_url(entry) for entry in layout.nodes]
    pids = [localnet.read_pid(layout.home(entry)) for entry in layout.nodes]
    node_pids = [pid for pid in pids if pid is not None] if None not in pids else []
    funder = keyring.load_named_key(directory, "dev")
    with Client(urls[0], timeout_s=60.0) as client:
        workload.prepare(client, directory)  # votes, schemes, contracts: before anything is timed
    if not as_json and sys.stderr.isatty():
        with Console(stderr=True).status("measuring the ceiling, funding, signing, then loading..."):
            report = benchmark.run_bench_sync(urls, funder, options, node_pids, workload)
    else:
        report = benchmark.run_bench_sync(urls, funder, options, node_pids, workload)
    if emit(report, as_json):
        return
    for line in benchmark.summary_lines(report):
        console.print(line)
