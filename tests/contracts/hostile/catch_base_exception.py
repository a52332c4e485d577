# Tries: catches everything with except BaseException.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    try:
        return 1
    except BaseException:
        return 2
