# Tries: stores an int the codec cannot hold.
# Must fail: invalid_value
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    storage['n'] = 2 ** 70
    return 0
