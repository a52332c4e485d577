# Tries: draws random numbers.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address
from random import random

@public
def attack() -> int:
    return 0
