# Tries: loops forever under except ValueError: the stop must not be caught.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    n = 0
    try:
        while True:
            n += 1
    except (ValueError, ArithmeticError, LookupError, TypeError):
        return -1
    return n
