"""Vaccine trace: batches, their custody from holder to holder, and temperature excursions.

Roles: contracts cannot read the chain's governance state, so this contract keeps its own role
table, managed by the admin address given to ``init`` (an alliance mirrors its members' roles here
with the admin's transactions). Roles: ``manufacturer``, ``distributor``, ``pharmacy``.

- ``create_batch``: a manufacturer creates a batch and holds it.
- ``offer`` then ``accept``: the holder offers custody to an account with a supply-chain role, and
  custody moves only when that account accepts (an offer can be replaced by a new one).
- ``report_excursion``: the holder reports a reading outside 2.0-8.0 C (in tenths of a degree:
  no floats in contracts) and for how long; the batch is flagged, for good. A flagged batch can
  only be offered back to a manufacturer (for disposal).
- ``trail(batch)``: the whole history, one entry per step: (action, actor, other party, time_ms,
  value), value being the doses at creation and the reading for an excursion.
"""

from alliance.contract import Address, ctx, emit, public, require, storage, view

ROLES = ("manufacturer", "distributor", "pharmacy")
COLD_CHAIN_MIN_TENTHS = 20
COLD_CHAIN_MAX_TENTHS = 80
BATCH_ID_LENGTH_MAX = 64


@public
def init(admin: Address) -> None:
    storage["admin"] = admin


@public
def grant(account: Address, role: str) -> None:
    require(ctx.sender == storage["admin"], "only the admin grants roles")
    require(role in ROLES, f"unknown role {role}: one of manufacturer, distributor, pharmacy")
    storage[("role", account)] = role
    emit("granted", account=account, role=role)


@public
def revoke(account: Address) -> None:
    require(ctx.sender == storage["admin"], "only the admin revokes roles")
    require(("role", account) in storage, "this account has no role")
    del storage[("role", account)]
    emit("revoked", account=account)


@view
def role_of(account: Address) -> str:
    return storage.get(("role", account), "")


@public
def create_batch(batch: str, product: str, doses: int) -> None:
    require(storage.get(("role", ctx.sender)) == "manufacturer", "only a manufacturer creates batches")
    require(0 < len(batch) <= BATCH_ID_LENGTH_MAX, "a batch id is 1 to 64 characters")
    require(("batch", batch) not in storage, "this batch already exists")
    require(doses > 0, "a batch holds at least one dose")
    storage[("batch", batch)] = {
        "product": product,
        "doses": doses,
        "holder": ctx.sender,
        "offered_to": None,
        "flagged": False,
    }
    record(batch, "created", ctx.sender, doses)


@public
def offer(batch: str, to: Address) -> None:
    state = held_by_sender(batch)
    role = storage.get(("role", to))
    require(role is not None, "custody goes only to an account with a supply-chain role")
    require(to != ctx.sender, "the holder already has custody")
    require(
        not state["flagged"] or role == "manufacturer", "a flagged batch can only go back to a manufacturer"
    )
    state["offered_to"] = to
    storage[("batch", batch)] = state
    record(batch, "offered", to, 0)


@public
def accept(batch: str) -> None:
    state = storage.get(("batch", batch))
    require(state is not None, "no such batch")
    require(state["offered_to"] == ctx.sender, "custody of this batch was not offered to you")
    previous = state["holder"]
    state["holder"] = ctx.sender
    state["offered_to"] = None
    storage[("batch", batch)] = state
    record(batch, "accepted", previous, 0)


@public
def report_excursion(batch: str, celsius_tenths: int, minutes: int) -> None:
    state = held_by_sender(batch)
    outside = celsius_tenths < COLD_CHAIN_MIN_TENTHS or celsius_tenths > COLD_CHAIN_MAX_TENTHS
    require(outside, "a reading within 2.0-8.0 C is not an excursion")
    require(minutes > 0, "an excursion lasts at least a minute")
    state["flagged"] = True
    storage[("batch", batch)] = state
    record(batch, "excursion", ctx.sender, celsius_tenths)


@view
def batch_info(batch: str) -> tuple[str, int, Address, bool]:
    state = storage.get(("batch", batch))
    require(state is not None, "no such batch")
    return (state["product"], state["doses"], state["holder"], state["flagged"])


@view
def trail(batch: str) -> list[tuple[str, Address, Address, int, int]]:
    require(("batch", batch) in storage, "no such batch")
    count = storage.get(("steps", batch), 0)
    return [storage[("step", batch, i)] for i in range(count)]


def held_by_sender(batch):
    state = storage.get(("batch", batch))
    require(state is not None, "no such batch")
    require(state["holder"] == ctx.sender, "only the holder of the batch may do this")
    return state


def record(batch, action, other, value):
    count = storage.get(("steps", batch), 0)
    storage[("step", batch, count)] = (action, ctx.sender, other, ctx.time_ms, value)
    storage[("steps", batch)] = count + 1
    emit(action, batch=batch, actor=ctx.sender, other=other, value=value)
