# Tries: getattr with a computed name bypasses the attribute checks.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    name = '__cla' + 'ss__'
    return len(str(getattr(1, name)))
