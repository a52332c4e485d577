# Tries: bytes(10**9) allocates a gigabyte.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return len(bytes(10 ** 9))
