"""The public types of every call target: arguments, events, state records and their keys.

Theory of operation: what a module stores, takes and emits is part of the chain's contract with
its users, so its types live here, below the code that executes them (docs/architecture.md,
"layers"). The executor's modules import them to run; the SDK, the API, the CLI and the explorer
import them to build calls and read answers without importing execution code. A type here never
changes its encoding once a chain uses it (canonical msgpack through ``alliance.codec``).

- ``chain``: the system keys every node reads (chain parameters, the validator set);
- ``accounts``: native coin balances and transfers;
- ``gov``: members, nodes, roles, access rules, freezes, proposals and votes.
"""
