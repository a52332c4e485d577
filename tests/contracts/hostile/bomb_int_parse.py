# Tries: int() of a 5,000-digit string (quadratic, and past the 4096-bit bound).
# Must fail: int_too_large
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return int('9' * 5000)
