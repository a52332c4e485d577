# Tries: set() of strings, iterated.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    names = set(['a', 'b'])
    return len(names)
