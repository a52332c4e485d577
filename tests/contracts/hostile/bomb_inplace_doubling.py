# Tries: doubles a list in place with +=.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    items = [1]
    while True:
        items += items
    return len(items)
