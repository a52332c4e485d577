"""``python -m alliance.cli``: the same command line as the ``alliance`` script."""

from alliance.cli import run

run()
