# Tries: splits a long string into a million parts, again and again.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    s = 'a' * 1000000
    n = 0
    while True:
        n += len(s.split('a'))
    return n
