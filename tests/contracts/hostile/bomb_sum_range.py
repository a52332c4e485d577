# Tries: sum() over a huge range walks it in C, inside one call.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return sum(range(10 ** 12))
