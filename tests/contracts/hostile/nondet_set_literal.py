# Tries: a set's iteration order depends on PYTHONHASHSEED.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    names = {'a', 'b', 'c'}
    return len([n for n in names])
