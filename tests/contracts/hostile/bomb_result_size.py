# Tries: a result of 100 KB.
# Must fail: value_too_large
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> str:
    return 'x' * 100000
