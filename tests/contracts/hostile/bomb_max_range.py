# Tries: max() over a huge range walks it in C.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return max(range(10 ** 12))
