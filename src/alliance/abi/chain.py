"""System state keys: the chain parameters and the validator set, read by every node.

A module changes the validator set by writing a whole new ``ValidatorSet`` under
``VALIDATORS_KEY``; the set written while executing height h votes from height h + 2 (the
consensus core's rule). ``PARAMS_KEY`` holds the governed ``ChainParams``.
"""

from __future__ import annotations

PARAMS_KEY = b"sys/params"
VALIDATORS_KEY = b"sys/validators"
