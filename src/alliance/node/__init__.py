"""One node: the driver that runs consensus, execution and block sync, and the runtime around it.

Theory of operation (docs/architecture.md, "the node"):

- ``driver``: the sans-IO heart of a node. It owns the consensus core, hands the application the
  blocks to execute, answers the core's requests, applies blocks (checking each header against the
  node's own state, halting on a mismatch), paces empty blocks, rereads membership and chain
  parameters after each commit, and runs block sync. It reaches the world only through a ``Host``.
- ``sync``: block sync as a state machine (requests, penalties, answer budgets), driven by the driver.
- ``membership``: who may connect (member organisations and the nodes the ledger records for them).
- ``runtime``: the asyncio ``Host`` of the driver on a real machine (inbox, timers, clocks, transport,
  admission) and the ``NodeFacade`` the API reads through. The simulator (``testing.sim``) is the
  other host, over simulated time: both run the same driver.
- ``service``: the composition root: reads a node's home, builds the parts, runs them, closes them.
- ``config``, ``bootstrap``: a node's configuration file and the making of a local alliance.
- ``wire``: the messages nodes exchange; ``facade``: what a running node offers the layers above.
"""
