# Tries: a generator function whose frame outlives the call.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def numbers():
    yield 1

@public
def attack() -> int:
    return 1
