# Tries: a comprehension of a million lists.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    rows = [[0] * 1000 for i in range(10 ** 6)]
    return len(rows)
