"""Smart contracts in plain Python: the engine (sandbox, metering, ABI), knowing nothing of the executor.

Theory of operation
-------------------
A contract is one Python module in a deterministic, bounded subset of Python 3.11. It imports its
API from ``alliance.contract`` (``public``, ``view``, ``ctx``, ``storage``, ``emit``, ``require``,
``revert``, ``call``, ``Address``), keeps state in ``storage`` and exposes ``@public`` (state
changing) and ``@view`` (read-only) functions whose type hints are its ABI.

The pipeline, module by module:

- ``validator``: the source's AST against an allow-list of constructs and names (``language``
  holds the names); anything else is refused at deploy with its line (``invalid_contract``);
- ``compiler``: desugaring, RestrictedPython's transformer, then ``metering``, which rewrites
  every guard hook, costly operator and API form into calls of the engine's helpers (``runtime``,
  ``library``, ``api``) and charges gas per basic block, per comprehension item and by size
  (``gas`` has the numbers);
- ``abi``: type hints -> ABI, argument decoding and result encoding; ``values``: what crosses the
  boundary (``Address``, canonical encoding, keys, bounds, weights);
- ``engine``: ``load`` (validated once, cached by code hash) and ``Program.invoke``, which runs a
  method against a ``host.Host`` the executor provides (state, gas, events, calls).

``errors`` has the failure codes. The package imports only ``alliance.errors``, ``types``,
``codec`` and ``crypto``; it is imported lazily (this file imports nothing), so plain Python that
only needs ``alliance.contract``'s decorators does not load the compiler. Design and gas figures:
docs/decisions/011-contract-sandbox.md.
"""
