# Tries: an f-string !r conversion calls repr on any object.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

def helper():
    return 1

@public
def attack() -> int:
    text = f'{helper!r}'
    return len(text)
