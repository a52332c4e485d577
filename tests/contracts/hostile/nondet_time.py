# Tries: reads the clock.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address
import time

@public
def attack() -> int:
    return 0
