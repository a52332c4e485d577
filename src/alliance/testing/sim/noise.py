"""A deliberately non-deterministic module, for the ``nondeterministic`` broken variant.

Theory of operation: execution must be a pure function of the chain (its blocks and genesis),
or honest nodes part ways on their state (S4). ``SimNoiseModule`` (target ``"simnoise"``, method
``"note"``) writes a value that depends on the node that executes it, as a module reading its
node's configuration, clock or hash-seeded iteration order would. Only runs with ``--broken
nondeterministic`` register it and send it transactions; the checker that must catch it is
``checkers.check_app_hashes``.
"""

from __future__ import annotations

from alliance import codec
from alliance.codec import Struct
from alliance.execution.context import CallContext
from alliance.execution.modules import Method, ModuleBase

MODULE_NAME = "simnoise"
NOTE = "note"
NOTE_KEY = b"sim/noise/last-writer"


class NoteArgs(Struct):
    """No arguments: what the module writes comes from the node, which is the bug."""


class SimNoiseModule(ModuleBase):
    name = MODULE_NAME
    methods = (Method(NOTE, NoteArgs, "write which node executed this (a non-deterministic result)"),)

    def __init__(self, node_index: int) -> None:
        self.node_index = node_index

    def call(self, ctx: CallContext, method: str, args: bytes) -> bytes | None:
        if method != NOTE:
            raise self.unknown_method(method)
        ctx.write(NOTE_KEY, codec.encode(self.node_index))
        return None
