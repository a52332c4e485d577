# Tries: a tuple nested 100,000 deep used as a dict key: C recursion in hash().
# Must fail: value_too_large
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    t = ()
    for i in range(100000):
        t = (t,)
    table = {t: 1}
    return len(table)
