# Tries: catches the depth stop of runaway recursion.
# Must fail: call_depth_exceeded
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def down(n):
    try:
        return down(n + 1)
    except (ValueError, LookupError, ArithmeticError, TypeError):
        return n

@public
def attack() -> int:
    return down(0)
