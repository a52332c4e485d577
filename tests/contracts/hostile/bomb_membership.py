# Tries: searches a long list again and again.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    items = list(range(1000000))
    n = 0
    while -1 not in items:
        n += 1
    return n
