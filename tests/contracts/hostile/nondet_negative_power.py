# Tries: 2 ** -n makes a float at run time.
# Must fail: forbidden_operation
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    n = 3
    x = 2 ** -n
    return 0
