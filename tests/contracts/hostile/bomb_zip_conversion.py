# Tries: list() of a zip of huge ranges.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return len(list(zip(range(10 ** 12), range(10 ** 12))))
