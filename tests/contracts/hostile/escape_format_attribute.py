# Tries: '{0.__class__}'.format(x) reaches attributes inside a format string.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    text = '{0.__class__.__mro__}'.format(1)
    return len(text)
