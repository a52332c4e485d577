"""The command groups of the ``alliance`` command line, one module per area.

``keys`` (account keys), ``local`` (the local alliance: ``init``, ``up``, ``down``, ``status``,
``bench``), ``node`` (node and organisation homes, ``node start``), ``tx`` (transfers and the
supervisor's ``freeze``), ``query`` (accounts, blocks, transactions) and ``gov`` (the committee).
Each defines typer apps or commands; ``cli.main`` mounts them. A new area is a new module here
and one line in ``cli.main``.
"""
