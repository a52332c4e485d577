# Tries: a finally clause runs code while the engine unwinds its stop.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    try:
        return 1
    finally:
        storage['x'] = 1
