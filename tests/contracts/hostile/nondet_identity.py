# Tries: 'is' between values depends on CPython's caches.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    a = 10 ** 3
    b = 1000
    return 1 if a is b else 0
