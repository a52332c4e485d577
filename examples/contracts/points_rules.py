"""Points by rule: a contract that awards a pass (the passes module) by a table of rules.

The deployer names, in ``init``, the operator (who may report trips and change the rules) and the
pass symbol to award. A rule gives, for a travel mode, the grams of CO2 a kilometre avoids against a
car; a point is worth ``GRAMS_PER_POINT`` grams. ``award(user, mode, meters)`` computes the points and
mints them to the user *as this contract's own account*: the pass scheme must let this contract mint
(the committee grants the contract's address the scheme's minter role). The table starts with the
figures of China's digital-yuan low-carbon pilots (grams a kilometre): metro 97, bike 98, electric
ride-hailing 88.
"""

from alliance.contract import Address, call, ctx, emit, public, require, storage, view

GRAMS_PER_POINT = 100
DEFAULT_RULES = {"metro": 97, "bike": 98, "ev": 88}
METERS_MAX = 1_000_000
EMPTY_HASH = b"\x00" * 32


@public
def init(operator: Address, symbol: str) -> None:
    storage["operator"] = operator
    storage["symbol"] = symbol
    for mode, grams in DEFAULT_RULES.items():
        storage[("rule", mode)] = grams


@public
def set_rule(mode: str, grams_per_km: int) -> None:
    require(ctx.sender == storage["operator"], "only the operator changes the rules")
    require(0 <= grams_per_km <= 10_000, "grams per km must be within 0..10000")
    storage[("rule", mode)] = grams_per_km
    emit("rule", mode=mode, grams_per_km=grams_per_km)


@view
def points_for(mode: str, meters: int) -> int:
    grams = storage.get(("rule", mode))
    require(grams is not None, "no rule for this mode")
    require(0 < meters <= METERS_MAX, "a trip is 1 m to 1000 km")
    return meters * grams // 1000 // GRAMS_PER_POINT


@public
def award(user: Address, mode: str, meters: int) -> int:
    require(ctx.sender == storage["operator"], "only the operator reports trips")
    points = points_for(mode, meters)
    require(points > 0, "this trip earns no points")
    call("passes", "mint", [storage["symbol"], user, points, "trip " + mode, "", EMPTY_HASH])
    emit("awarded", user=user, mode=mode, meters=meters, points=points)
    return points
