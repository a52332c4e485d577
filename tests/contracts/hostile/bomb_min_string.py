# Tries: min() of a long string walks every character, again and again.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    s = 'x' * 1000000
    n = 0
    while True:
        n += len(min(s))
    return n
