# Tries: sorted() of a big dict's keys view.
# Must fail: out_of_gas
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    d = {i: i for i in range(100000)}
    while True:
        keys = sorted(d.keys())
    return 0
