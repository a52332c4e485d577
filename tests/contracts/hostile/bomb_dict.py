# Tries: a dict comprehension of 10**8 entries.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    table = {i: i for i in range(10 ** 8)}
    return len(table)
