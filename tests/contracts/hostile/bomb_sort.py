# Tries: sorts a big list over and over.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    items = list(range(100000))
    while True:
        items = sorted(items, reverse=True)
    return 0
