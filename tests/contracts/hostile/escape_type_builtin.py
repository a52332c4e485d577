# Tries: type() to reach object's subclasses.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    t = type(1)
    return 1
