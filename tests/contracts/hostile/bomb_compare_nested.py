# Tries: compares two big nested lists again and again (each comparison walks them).
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    a = [list(range(1000)) for i in range(1000)]
    b = [list(range(1000)) for i in range(1000)]
    n = 0
    while a == b:
        n += 1
    return n
