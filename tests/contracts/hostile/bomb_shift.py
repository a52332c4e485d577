# Tries: 1 << 10**9 allocates 125 MB.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return 1 << 10 ** 9
