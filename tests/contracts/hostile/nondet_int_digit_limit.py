# Tries: relies on the process's int-to-str digit limit (a per-process setting).
# Must fail: int_too_large
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    return len(str(int('1' * 2000)))
