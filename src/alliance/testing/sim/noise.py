"""A deliberately non-deterministic module, for the ``nondeterministic`` broken variant.

Theory of operation: execution must be a pure function of the chain (its blocks and genesis),
or honest nodes part ways on their state (S4). ``SimNoiseModule`` (target ``"simnoise"``, method
``"note"``) writes a value that depends on the node that executes it, as a module reading its
node's configuration, clock or hash-seeded iteration order would, or one member's node running
another library version. Only runs with ``--broken nondeterministic`` register it and send it
transactions; the checker that must catch it is ``checkers.check_app_hashes``.

One node differs from all the others (``SimNode`` makes the first honest node the odd one out):
the others keep a common state and go on committing, the odd one halts at the next block (its
header check), and the checkers judge a run that ends in time. Had every node written its own
value, no proposal would have passed any other node's check, and the whole cluster would have
spun through rounds until the liveness deadline, about 35 s of CPU a seed.
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

    def __init__(self, local_value: int) -> None:
        self.local_value = local_value  # what this node writes: the bug

    def call(self, ctx: CallContext, method: str, args: bytes) -> bytes | None:
        if method != NOTE:
            raise self.unknown_method(method)
        ctx.write(NOTE_KEY, codec.encode(self.local_value))
        return None
