"""The ``alliance`` command line: ``cli.main`` holds the root app, ``main`` and ``run`` (the console
script is ``alliance.cli:run``), ``cli.commands`` one module per area, ``cli.options`` what they
share. (``main`` the function is not re-exported here: it would shadow the module ``cli.main``.)"""

from alliance.cli.main import app, run

__all__ = ["app", "run"]
