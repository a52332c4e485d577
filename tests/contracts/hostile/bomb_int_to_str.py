# Tries: str() of big ints in a loop (quadratic conversion).
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    x = 7 ** 1400
    n = 0
    while True:
        n += len(str(x))
    return n
