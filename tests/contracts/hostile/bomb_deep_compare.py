# Tries: compares lists nested 100,000 deep.
# Must fail: value_too_large
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    a = []
    b = []
    for i in range(100000):
        a = [a]
        b = [b]
    return 1 if a == b else 0
