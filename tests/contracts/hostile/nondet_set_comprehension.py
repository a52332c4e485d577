# Tries: a set comprehension.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    names = {n for n in ['a', 'b']}
    return len(names)
