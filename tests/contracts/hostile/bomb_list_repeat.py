# Tries: [0] * 10**9 allocates 8 GB at once.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return len([0] * 10 ** 9)
