"""Goodness: the low-carbon travel alliance, end to end (docs/decisions/016-goodness.md).

Theory of operation
-------------------
The business rules are one contract (``contracts/goodness.py``), deployed by committee vote under
the name ``goodness``, on top of the passes module: the points are the non-transferable pass
``GOOD`` (minted by the contract's own account, which the committee grants the role
``goodness-minter``), the sponsors' money is the gateway's settlement pass ``CNY``. This package
adds, over the SDK only:

- ``schemes``: the two schemes' declarations and the roles the app uses;
- ``client``: typed calls and views of the contract (``Goodness``), and the supervision report,
  which reads the contract's views and scans the receipts of a period's blocks for refused
  duplicates (the one thing the contract cannot keep: a refusal leaves no state);
- ``demo``: ``alliance demo goodness``, a seeded story of N users over D days;
- ``cli``: the ``alliance goodness ...`` and ``alliance demo ...`` command groups.
"""

from __future__ import annotations

from importlib import resources

CONTRACT_NAME = "goodness"
CONTRACT_FILE = "goodness.py"


def contract_source() -> str:
    """The contract's source text, as the chain keeps it (its code hash is the source's)."""
    return (resources.files("alliance.apps.goodness.contracts") / CONTRACT_FILE).read_text(encoding="utf-8")
