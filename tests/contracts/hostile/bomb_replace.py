# Tries: replace('', big) multiplies a string's size.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    s = 'a' * 10000
    big = 'x' * 1000
    while True:
        s = s.replace('', big)
    return len(s)
