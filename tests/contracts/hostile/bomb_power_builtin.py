# Tries: pow(10, 10**8) through the builtin.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return pow(10, 10 ** 8)
