# Tries: takes the storage object itself to call its internals.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    s = storage
    return 1
