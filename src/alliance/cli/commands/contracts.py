"""Contracts from the command line: ``alliance contract deploy|call|view|show|list``.

Theory of operation: ``deploy`` reads a source file, loads it with the chain's own engine (an escape,
a forbidden construct or a missing type hint is refused here, naming the line, before anything is
signed), submits it, and proposes ``deploy-contract`` (``--upgrade`` proposes ``upgrade-contract``);
the committee's vote makes it live. ``call`` and ``view`` take the method's arguments as one JSON
array, typed by the contract's ABI (bytes and addresses as hex), so a wrong argument is a usage
error before dialling; a call the chain refused exits 1 with its code (``out_of_gas``,
``contract_error``...). The SDK's ``alliance.sdk.contracts`` does the work; this module parses and
prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from alliance.abi import contracts as c
from alliance.abi import gov
from alliance.cli import keyring, localnet
from alliance.cli.options import DEFAULT_DIR, ApiOption, DirOption, FromOption, JsonOption, console, emit
from alliance.crypto.keys import to_checksum_address
from alliance.errors import UsageError
from alliance.sdk import contracts as sdk_contracts
from alliance.sdk import wire

app = typer.Typer(help="Contracts: plain Python, live by committee vote.", no_args_is_help=True)

NameArgument = Annotated[str, typer.Argument(help="The contract's name.")]
MethodArgument = Annotated[str, typer.Argument(help="The method.")]
ArgsOption = Annotated[str, typer.Option("--args", help="The arguments as a JSON array (bytes as hex).")]


def _json_list(text: str, what: str) -> list[Any]:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} is not JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(values, list):
        raise UsageError(f"{what} is a JSON array, got {type(values).__name__}")
    return values


def _source(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > c.SOURCE_SIZE_BYTES_MAX:
        raise UsageError(f"{path} is {len(raw)} bytes; a contract is at most {c.SOURCE_SIZE_BYTES_MAX}")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None


@app.command("deploy")
def deploy(
    source_file: Annotated[Path, typer.Argument(help="The contract's Python source.")],
    name: Annotated[str, typer.Option("--name", help="The name it will live under.")],
    sender: FromOption,
    init_args: Annotated[str, typer.Option("--init-args", help="Its init's arguments (JSON array).")] = "[]",
    upgrade: Annotated[bool, typer.Option("--upgrade", help="A new version of a live contract.")] = False,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a source and propose it live (an admin or a deployer; the committee votes)."""
    source = _source(source_file)
    values = _json_list(init_args, "--init-args")
    key = keyring.load_named_key(directory, sender)
    with localnet.open_client(directory, api) as client:
        if upgrade:
            if values:
                raise UsageError("an upgrade keeps the contract's storage and runs no init: drop --init-args")
            hash_of_code = sdk_contracts.submit(client, key, source)
            outcome = client.propose(key, gov.UpgradeContract(name, hash_of_code))
        else:
            hash_of_code, outcome = sdk_contracts.deploy(client, key, name, source, values)
    result: dict[str, Any] = {
        "name": name,
        "code_hash": hash_of_code.hex(),
        "proposal": outcome.proposal,
        "status": outcome.proposal_status,
        "address": to_checksum_address(c.contract_address(name)),
    }
    if not emit(result, as_json):
        console.print(
            f"submitted {source_file} ({result['code_hash'][:16]}...); proposal {result['proposal']} "
            f"to make it live as {name}: {result['status']}"
        )


@app.command("call")
def call(
    name: NameArgument,
    method: MethodArgument,
    sender: FromOption,
    args: ArgsOption = "[]",
    gas: Annotated[
        int, typer.Option("--gas", min=1, help="The gas limit.")
    ] = sdk_contracts.CONTRACT_GAS_DEFAULT,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Call a public method (waits for the block; a refusal exits 1 naming its code)."""
    values = _json_list(args, "--args")
    key = keyring.load_named_key(directory, sender)
    with localnet.open_client(directory, api) as client:
        view = sdk_contracts.ContractHandle(client, name).call(key, method, values, gas_limit=gas)
    result = {
        "tx": view.hash.hex(),
        "height": view.height,
        "status": view.status,
        "gas_used": view.gas_used,
        "result": wire.contract_value_json(sdk_contracts.decode_result(view.result)),
    }
    if not emit(result, as_json):
        console.print(
            f"{name}.{method} -> {result['result']!r} (transaction {result['tx']} at {view.height})"
        )


@app.command("view")
def view(
    name: NameArgument,
    method: MethodArgument,
    args: ArgsOption = "[]",
    height: Annotated[int | None, typer.Option("--height", min=0, help="Read at this height.")] = None,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read a view method's answer (no transaction)."""
    values = _json_list(args, "--args")
    with localnet.open_client(directory, api) as client:
        answer = sdk_contracts.ContractHandle(client, name).view(method, values, height=height)
    result = wire.contract_value_json(answer)
    if as_json:
        print(json.dumps({"result": result}))
    else:
        console.print(result)


@app.command("show")
def show(
    name: NameArgument,
    source: Annotated[bool, typer.Option("--source", help="Print the source too.")] = False,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """A live contract: its address, code hash, version and methods."""
    with localnet.open_client(directory, api) as client:
        info = sdk_contracts.ContractHandle(client, name).info()
    if as_json:
        print(json.dumps(info))
        return
    contract = info["contract"]
    console.print(f"{contract['name']}  version {contract['version']}  code {contract['code_hash']}")
    console.print(f"  account {contract['address']}")
    for method in info["abi"]["methods"]:
        params = ", ".join(f"{p['name']}: {p['type']}" for p in method["params"])
        console.print(f"  {method['kind']:<6} {method['name']}({params}) -> {method['returns']}")
    if source:
        print(info["source"])


@app.command("list")
def list_contracts(
    start: Annotated[int, typer.Option("--start", min=0, help="From this position.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=c.PAGE_LIMIT_MAX, help="How many.")] = 50,
    directory: DirOption = DEFAULT_DIR,
    api: ApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """The live contracts."""
    with localnet.open_client(directory, api) as client:
        answer = client.read("/v1/contracts", {"start": start, "limit": limit})
    if as_json:
        print(json.dumps(answer))
        return
    for contract in answer["value"]:
        console.print(f"{contract['name']:<24} version {contract['version']:<3} {contract['address']}")
