"""A minimal token: balances in storage, minted by the owner, moved by transfer.

The deployer passes the owner to ``init``; only the owner mints. ``transfer`` moves an amount of
the sender's balance to another address; ``balance_of`` answers without a transaction.
"""

from alliance.contract import Address, ctx, emit, public, require, storage, view

SUPPLY_MAX = 2**63 - 1


@public
def init(owner: Address) -> None:
    storage["owner"] = owner
    storage["supply"] = 0


@public
def mint(to: Address, amount: int) -> None:
    require(ctx.sender == storage["owner"], "only the owner mints")
    require(amount > 0, "the amount must be positive")
    supply = storage["supply"] + amount
    require(supply <= SUPPLY_MAX, "the supply would exceed its maximum")
    storage["supply"] = supply
    storage[("balance", to)] = storage.get(("balance", to), 0) + amount
    emit("mint", to=to, amount=amount)


@public
def transfer(to: Address, amount: int) -> None:
    require(amount > 0, "the amount must be positive")
    sender = ctx.sender
    balance = storage.get(("balance", sender), 0)
    require(balance >= amount, "insufficient balance")
    if to != sender:
        storage[("balance", sender)] = balance - amount
        storage[("balance", to)] = storage.get(("balance", to), 0) + amount
    emit("transfer", sender=sender, to=to, amount=amount)


@view
def balance_of(owner: Address) -> int:
    return storage.get(("balance", owner), 0)


@view
def total_supply() -> int:
    return storage["supply"]
