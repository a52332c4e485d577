# Tries: a comprehension that appends to the list it walks.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    items = [1]
    total = 0
    while True:
        grown = [items.append(x) for x in items]
        total += len(grown)
    return total
