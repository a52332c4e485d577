"""``alliance console``: the explorer on 127.0.0.1 with an action panel that signs with DIR's keys.

Theory of operation: a thin command over ``alliance.explorer.console``. It prints exactly one line
on standard output, ``console: http://127.0.0.1:P/?token=...`` (flushed at once: a script that
starts the console in the background reads it from a file), and serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

from typing import Annotated

import typer

from alliance.cli.options import DEFAULT_DIR, DirOption


def _announce(url: str) -> None:
    print(f"console: {url}", flush=True)


def console_command(
    directory: DirOption = DEFAULT_DIR,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="The port on 127.0.0.1 (0: any free one).")
    ] = 0,
) -> None:
    """Serve the explorer on 127.0.0.1 with actions signed by DIR's keys; print a one-time login URL."""
    from alliance.explorer.console import run_console  # noqa: PLC0415 - the web stack only for this command

    run_console(directory, port, _announce)
