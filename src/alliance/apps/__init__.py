"""Reference applications built on the platform's public interfaces (the SDK, the ABI types, the
contract engine's loader and the command line's helpers), never on a node's internals.

``goodness``: the low-carbon travel alliance (docs/decisions/016-goodness.md).
"""
