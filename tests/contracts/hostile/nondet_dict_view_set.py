# Tries: keys() & keys() makes a set, iterated in hash order.
# Must fail: contract_fault
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    a = {'x': 1, 'y': 2}
    b = {'y': 1, 'x': 2}
    both = a.keys() & b.keys()
    return len(both)
