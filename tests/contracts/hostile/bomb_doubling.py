# Tries: doubles a string by concatenation until memory runs out.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    s = 'ab'
    while True:
        s = s + s
    return len(s)
