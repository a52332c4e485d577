# Tries: floats round differently.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    x = 0.1 + 0.2
    return 0
