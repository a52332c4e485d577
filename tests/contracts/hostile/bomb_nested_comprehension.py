# Tries: nested comprehension loops of 10**4 x 10**4.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    cells = [j for i in range(10 ** 4) for j in range(10 ** 4)]
    return len(cells)
