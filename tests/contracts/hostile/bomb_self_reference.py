# Tries: a list that contains itself, compared and stored.
# Must fail: value_too_large
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    a = [1]
    a.append(a)
    return 1 if a == a else 0
