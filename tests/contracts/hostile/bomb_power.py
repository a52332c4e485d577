# Tries: 2 ** 10**9 would take minutes and gigabytes.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return 2 ** 10 ** 9
