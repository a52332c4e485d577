# Tries: a list nested 100,000 deep, then stored (encoding recurses).
# Must fail: value_too_large
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    x = []
    for i in range(100000):
        x = [x]
    storage['deep'] = x
    return 0
