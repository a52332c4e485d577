# Tries: squares an int until it is enormous.
# Must fail: int_too_large
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    x = 3
    while True:
        x = x * x
    return x
