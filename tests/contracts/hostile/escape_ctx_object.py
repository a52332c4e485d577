# Tries: takes ctx itself to reach the host.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

@public
def attack() -> int:
    c = ctx
    return 1
