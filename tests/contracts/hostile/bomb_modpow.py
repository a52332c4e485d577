# Tries: pow with a huge exponent and modulus.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    m = 2 ** 4000 + 1
    total = 0
    while True:
        total += pow(3, m - 2, m)
    return total
