"""The ``alliance`` command line (typer + rich): the root app and the one place errors are printed.

Theory of operation: each command is a thin function over the library, in its area's module
under ``cli.commands``: ``alliance.node.bootstrap`` creates alliances, ``cli.localnet`` runs their
node processes, ``cli.keyring`` keeps named account keys, and everything that talks to a node goes
through the SDK (``alliance.sdk.Client``), which also signs and submits every transaction. The
common options (``--dir``, ``--api``, ``--json``, ``--from``) are defined once, in
``cli.options``; options follow the command words in any order.

Errors: ``main`` runs the typer app in non-standalone mode and converts every failure once, here:
one line ``alliance: <message>`` on standard error, exit status 2 for bad input (``UsageError``,
and click's own usage errors) and 1 for operational failures (a node that does not answer, a
transaction that did not commit). A transaction the chain refused (its receipt's code, raised by
the SDK as the typed ``ExecutionError``) is ``alliance: <code>: <message>``, exit status 1: the
request was well formed, the ledger said no. Never a traceback: an unexpected exception is a bug,
reported as one line too, with exit status 1.
"""

from __future__ import annotations

import sys

import httpx
import typer

from alliance import __version__
from alliance.apps.goodness import cli as goodness
from alliance.cli.commands import contracts, gov, keys, local, node, passes, query, tx
from alliance.cli.console import console_command
from alliance.errors import AllianceError, ExecutionError, UsageError

EXIT_USAGE = 2
EXIT_FAILURE = 1

app = typer.Typer(
    name="alliance",
    help="Alliance: a consortium blockchain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(keys.app, name="keys")
app.add_typer(node.app, name="node")
app.add_typer(node.org_app, name="org")
app.add_typer(tx.app, name="tx")
app.add_typer(query.app, name="query")
app.add_typer(gov.app, name="gov")
app.add_typer(passes.app, name="pass")
app.add_typer(passes.gateway_app, name="gateway")
app.add_typer(contracts.app, name="contract")
app.command("freeze")(tx.freeze_command)
app.command("console")(console_command)
local.register(app)
goodness.register(app)


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


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
    except ExecutionError as exc:  # the chain refused a committed transaction
        return _fail(f"{exc.code}: {exc.message}", EXIT_FAILURE)
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
