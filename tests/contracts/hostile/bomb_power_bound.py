# Tries: an integer over 4096 bits that gas alone would allow.
# Must fail: int_too_large
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return 3 ** 5000
