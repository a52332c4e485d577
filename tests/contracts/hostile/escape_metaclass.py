# Tries: a class statement to reach type() and metaclasses.
# Must fail: invalid_contract
# Call: attack
from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address

class Meta(type):
    pass

@public
def attack() -> int:
    return 1
