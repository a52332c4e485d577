"""What every command shares: the default directory, the common options, and printing.

Theory of operation: a command that talks to an alliance takes ``--dir D`` (the local alliance: its
nodes and keys, ``.alliance`` by default) or ``--api URL`` (one node; keys still come from
``--dir``), ``--from NAME`` for the key that signs, and ``--json`` for machine-readable output on
standard output; without it, output is for people. A node's answer is printed with ``--json``
exactly as the API sent it: the SDK's wire view encoded back by the wire's own encoder
(``print_view``), so the CLI has no renderer of ledger data that could disagree with the API.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from alliance.sdk import wire

DEFAULT_DIR = Path(".alliance")

DirOption = Annotated[Path, typer.Option("--dir", help="The local alliance's directory (and its keys).")]
ApiOption = Annotated[str | None, typer.Option("--api", help="A node's API URL (instead of --dir's nodes).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
FromOption = Annotated[str, typer.Option("--from", help="The name of the signing key in DIR/keys.")]
NodesOption = Annotated[int, typer.Option("--nodes", help="How many organisations and validators.")]

# Without a terminal, rich would wrap tables at 80 columns and cut URLs; a wide page keeps rows whole.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def emit(data: Any, as_json: bool) -> bool:
    """Print ``data`` (plain JSON values) as JSON when asked; True when it did (the caller prints
    for people otherwise)."""
    if as_json:
        print(json.dumps(data))
    return as_json


def print_view(view: object, as_json: bool) -> bool:
    """Print a node's answer (a wire view, or a list of them) as the API's JSON when asked."""
    if as_json:
        print(wire.encode(view).decode())
    return as_json


def text(value: object) -> str:
    return "-" if value is None else str(value)
