"""System state keys: the chain parameters and the validator set, read by every node.

A module changes the validator set by writing a whole new ``ValidatorSet`` under
``VALIDATORS_KEY``; the set written while executing height h votes from height h + 2 (the
consensus core's rule). ``PARAMS_KEY`` holds the governed ``ChainParams``.
"""

from __future__ import annotations

from alliance.crypto.hashing import Domain, hash_domain

PARAMS_KEY = b"sys/params"
VALIDATORS_KEY = b"sys/validators"


def module_address(module: str) -> bytes:
    """A module's own account (governance executing a passed proposal acts as ``gov``'s): derived
    from its name, the same on every node, with no key behind it."""
    return hash_domain(Domain.MODULE_ACCOUNT, module.encode())[:20]
