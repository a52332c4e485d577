# Tries: writes large values until the call has written too much.
# Must fail: write_limit_exceeded
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    blob = b'x' * 60000
    for i in range(10):
        storage[i] = blob
    return 0
