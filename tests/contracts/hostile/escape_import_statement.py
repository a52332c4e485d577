# Tries: imports a module directly.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address
import os

@public
def attack() -> int:
    return 1
