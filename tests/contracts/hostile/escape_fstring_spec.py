# Tries: a nested f-string format spec calls __format__.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    width = 5
    text = f'{1:{width}}'
    return len(text)
