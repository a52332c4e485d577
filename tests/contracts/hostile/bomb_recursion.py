# Tries: unbounded recursion.
# Must fail: call_depth_exceeded
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def down(n):
    return down(n + 1)

@public
def attack() -> int:
    return down(0)
