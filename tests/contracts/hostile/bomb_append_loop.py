# Tries: appends to a list forever.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    items = []
    while True:
        items.append(items)
    return 0
