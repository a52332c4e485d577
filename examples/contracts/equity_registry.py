"""Equity registry: one company's shares, its cap table, and the issuer's corporate actions.

``init(issuer, company, lockup_until_height)`` sets the issuer (who runs the corporate actions)
and a lock-up: no transfer of shares before that block height. The issuer approves investors
(know-your-customer happens off chain); shares are issued and transferred only to approved
investors (the issuer counts as one). Corporate actions: ``issue`` new shares, ``split`` every
holding by a ratio, ``extend_lockup``. ``cap_table`` lists holders with their shares, in the order
they first held some.
"""

from alliance.contract import Address, ctx, emit, public, require, storage, view

SHARES_MAX = 2**63 - 1
HOLDERS_MAX = 500


@public
def init(issuer: Address, company: str, lockup_until_height: int) -> None:
    require(len(company) > 0, "the company needs a name")
    require(lockup_until_height >= 0, "a lock-up height is not negative")
    storage["issuer"] = issuer
    storage["company"] = company
    storage["lockup"] = lockup_until_height
    storage["total"] = 0
    storage["holders"] = []


@public
def approve_investor(investor: Address) -> None:
    only_issuer()
    storage[("approved", investor)] = True
    emit("approved", investor=investor)


@public
def remove_investor(investor: Address) -> None:
    only_issuer()
    require(("approved", investor) in storage, "this investor is not approved")
    del storage[("approved", investor)]
    emit("removed", investor=investor)


@public
def issue(to: Address, shares: int) -> None:
    only_issuer()
    require(shares > 0, "issue at least one share")
    require(is_approved(to), "shares go only to approved investors")
    total = storage["total"] + shares
    require(total <= SHARES_MAX, "the total number of shares would exceed its maximum")
    storage["total"] = total
    credit(to, shares)
    emit("issued", to=to, shares=shares, total=total)


@public
def transfer(to: Address, shares: int) -> None:
    require(ctx.height >= storage["lockup"], f"shares are locked up until height {storage['lockup']}")
    require(shares > 0, "transfer at least one share")
    require(to != ctx.sender, "a transfer goes to someone else")
    require(is_approved(to), "shares go only to approved investors")
    balance = storage.get(("shares", ctx.sender), 0)
    require(balance >= shares, f"you hold {balance} shares, fewer than {shares}")
    storage[("shares", ctx.sender)] = balance - shares
    credit(to, shares)
    emit("transferred", sender=ctx.sender, to=to, shares=shares)


@public
def split(ratio: int) -> None:
    only_issuer()
    require(ratio >= 2, "a split multiplies holdings by 2 or more")
    total = storage["total"] * ratio
    require(total <= SHARES_MAX, "the total number of shares would exceed its maximum")
    for holder in storage["holders"]:
        storage[("shares", holder)] = storage.get(("shares", holder), 0) * ratio
    storage["total"] = total
    emit("split", ratio=ratio, total=total)


@public
def extend_lockup(until_height: int) -> None:
    only_issuer()
    require(until_height > storage["lockup"], "a lock-up can only be extended")
    storage["lockup"] = until_height
    emit("lockup", until_height=until_height)


@view
def balance_of(holder: Address) -> int:
    return storage.get(("shares", holder), 0)


@view
def total_shares() -> int:
    return storage["total"]


@view
def cap_table() -> list[tuple[Address, int]]:
    table = []
    for holder in storage["holders"]:
        shares = storage.get(("shares", holder), 0)
        if shares > 0:
            table.append((holder, shares))
    return table


@view
def is_approved(investor: Address) -> bool:
    return investor == storage["issuer"] or ("approved", investor) in storage


def only_issuer():
    require(ctx.sender == storage["issuer"], "only the issuer may do this")


def credit(holder, shares):
    if ("shares", holder) not in storage:
        holders = storage["holders"]
        require(len(holders) < HOLDERS_MAX, "the cap table is full")
        holders.append(holder)
        storage["holders"] = holders
    storage[("shares", holder)] = storage.get(("shares", holder), 0) + shares
